"""What the grader holds of a student's kernel: plain data, and stand-ins for what is not data.

* a student function becomes a :class:`RemoteFunction`: calling it sends the (plain) arguments
  to the kernel, runs the function there and brings the (plain) result back; warnings it
  raised are re-raised here, an exception it raised is raised here with the same type name;
* a Keras model becomes a :class:`ModelSnapshot`: its layers, activations and weights. Its
  ``predict`` is computed here from those weights, so a model whose ``predict`` lies is judged
  by what it is, not by what it says;
* any other object becomes a read-only :class:`RemoteObject` of its public attributes.
"""
from __future__ import annotations

import builtins
import warnings
from typing import Any, Callable

import numpy as np

from . import wire

#: The message a check shows when a call into the kernel ran out of time.
TIMEOUT = "{name} did not return within {seconds:g} s"


class KernelTimeout(AssertionError):
    """A student function did not return in time."""


def _exception_class(answer: dict) -> type[Exception]:
    name = answer.get("type") or "Exception"
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    base: type[Exception] = Exception
    for candidate in answer.get("bases", []):
        cls = getattr(builtins, candidate, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls is not Exception:
            base = cls
            break
    return type(name, (base,), {"__module__": "student"})


def raise_from_answer(answer: dict) -> None:
    if answer.get("$") == "raised":
        raise _exception_class(answer)(answer.get("message", ""))


class RemoteFunction:
    """A callable of the student's kernel (see the module doc)."""

    def __init__(self, kernel: "Kernel", ref: str, name: str) -> None:
        self._kernel, self._ref, self.__name__ = kernel, ref, name
        self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"

    def _op(self, args, kwargs, grad: int | None = None) -> dict:
        errstate = {k: v for k, v in np.geterr().items()}
        return {"op": "call", "ref": self._ref, "args": [encode_argument(a) for a in args],
                "kwargs": {k: encode_argument(v) for k, v in kwargs.items()}, "errstate": errstate, "grad": grad}

    def _answer(self, op: dict) -> dict:
        answer = self._kernel.ask([op], what=f"{self.__name__}(...)")[0]
        raise_from_answer(answer)
        for category, message in answer.get("warnings", []):
            cls = getattr(builtins, category, None)
            if not (isinstance(cls, type) and issubclass(cls, Warning)):
                cls = UserWarning
            warnings.warn(message, cls, stacklevel=3)
        return answer

    def __call__(self, *args, **kwargs):
        return self._kernel.decode(self._answer(self._op(args, kwargs))["value"])

    def with_gradient(self, *args, wrt: int = 0):
        """(result, d sum(result) / d args[wrt]) computed by torch in the kernel; ``args[wrt]`` is a tensor."""
        answer = self._answer(self._op(args, {}, grad=wrt))
        return self._kernel.decode(answer["value"]), self._kernel.decode(answer["grad"])


class RemoteObject:
    """The public attributes of a student object, read-only."""

    def __init__(self, attrs: dict[str, Any]) -> None:
        self.__dict__.update(attrs)

    def __setattr__(self, name, value):
        raise AttributeError("read-only")


#: Activations the grader evaluates itself (Keras names).
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "softmax": lambda z: np.exp(z - z.max(axis=-1, keepdims=True)) / np.exp(z - z.max(axis=-1, keepdims=True)).sum(
        axis=-1, keepdims=True),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "exponential": np.exp,
    "silu": lambda z: z / (1.0 + np.exp(-z)),
    "swish": lambda z: z / (1.0 + np.exp(-z)),
}


class LayerSnapshot:
    def __init__(self, data: dict, kernel: "Kernel") -> None:
        self.class_path: str = data["class"]
        self.class_name = self.class_path.rsplit(".", 1)[-1]
        self.name: str = data.get("name", "")
        self.activation: str | None = data.get("activation")
        self.config: dict = data.get("config", {})
        self.weights: list[np.ndarray] = [kernel.decode(w) for w in data.get("weights", [])]
        self.units = self.config.get("units")
        self.use_bias = self.config.get("use_bias")

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.weights]

    @property
    def is_keras(self) -> bool:
        return self.class_path.startswith("keras.")

    def apply(self, x: np.ndarray) -> np.ndarray:
        if not self.is_keras:
            raise AssertionError(f"the model uses the layer class {self.class_name} defined in the notebook: "
                                 "build it from Keras' own layers (keras.layers.Dense)")
        if self.class_name == "InputLayer" or self.class_name in ("Dropout", "GaussianNoise"):
            return x
        if self.class_name == "Flatten":
            return x.reshape(len(x), -1)
        if self.class_name == "ReLU" and not any(self.config.get(k) for k in ("max_value", "negative_slope", "threshold")):
            return np.maximum(x, 0.0)
        if self.class_name == "Softmax":
            return ACTIVATIONS["softmax"](x)
        if self.class_name == "Dense":
            kernel = self.weights[0].astype(np.float64)
            x = x @ kernel + (self.weights[1].astype(np.float64) if len(self.weights) > 1 else 0.0)
        elif self.class_name != "Activation":
            raise AssertionError(f"the grader cannot evaluate a {self.class_name} layer here: use Dense layers")
        name = self.activation or "linear"
        if name not in ACTIVATIONS:
            raise AssertionError(f"the activation {name!r} of layer {self.name!r} is not one the course uses")
        return ACTIVATIONS[name](x)


class ModelSnapshot:
    """A Keras model as data: its layers and weights; ``predict`` is computed by the grader."""

    __course_model_snapshot__ = True

    def __init__(self, data: dict, kernel: "Kernel") -> None:
        self.class_path: str = data["class"]
        self.layers = [LayerSnapshot(layer, kernel) for layer in data["layers"]]
        self.built = bool(data.get("built"))
        shape = data.get("input_shape")
        self.input_shape = kernel.decode(shape) if shape is not None else None
        shape = data.get("output_shape")
        self.output_shape = kernel.decode(shape) if shape is not None else None
        self.optimizer = data.get("optimizer")
        self.loss = data.get("loss")
        self.kernel_ref = data.get("ref")  # the same model in the kernel has the same ref
        self.untrusted = self._check_probe(data, kernel)

    def _check_probe(self, data: dict, kernel: "Kernel") -> str | None:
        """Why the model's own outputs are not what its layers and weights compute (None: they are)."""
        if data.get("probe_error"):
            return f"the model cannot compute a prediction ({data['probe_error']})"
        if "probe_x" not in data:
            return None
        x = kernel.decode(data["probe_x"])
        try:
            mine = self._forward(x)
        except AssertionError as exc:
            return str(exc)
        for key, how in (("probe_predict", "model.predict"), ("probe_call", "calling the model")):
            theirs = np.asarray(kernel.decode(data[key]), dtype=np.float64)
            if theirs.shape != mine.shape or not np.allclose(theirs, mine, rtol=1e-3, atol=1e-4, equal_nan=True):
                return (f"what {how} returns does not follow from the model's layers and weights: "
                        "build it from Keras' own layers and do not change predict, call or get_weights")
        return None

    def __repr__(self) -> str:
        return f"<Keras model {self.class_path.rsplit('.', 1)[-1]} with {len(self.layers)} layers>"

    @property
    def optimizer_name(self) -> str | None:
        return self.optimizer["class"].rsplit(".", 1)[-1] if self.optimizer else None

    @property
    def learning_rate(self) -> float | None:
        return self.optimizer.get("learning_rate") if self.optimizer else None

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for layer in self.layers for w in layer.weights]

    def set_weights(self, weights) -> None:
        weights = [np.asarray(w) for w in weights]
        mine = [w for layer in self.layers for w in layer.weights]
        if len(weights) != len(mine) or any(a.shape != b.shape for a, b in zip(weights, mine)):
            raise ValueError(f"the model has weights of shapes {[w.shape for w in mine]}, "
                             f"got {[w.shape for w in weights]}")
        it = iter(weights)
        for layer in self.layers:
            layer.weights = [next(it).copy() for _ in layer.weights]

    def count_params(self) -> int:
        return int(sum(w.size for w in self.get_weights()))

    def _forward(self, x) -> np.ndarray:
        out = np.asarray(x, dtype=np.float64)
        for layer in self.layers:
            out = layer.apply(out)
        return out

    def predict(self, x, verbose: int = 0, batch_size: int | None = None) -> np.ndarray:
        """The model's output for ``x``, computed by the grader from the layers and weights."""
        if self.untrusted:
            raise AssertionError(self.untrusted)
        return self._forward(x)

    def __call__(self, x):
        return self.predict(x)


def encode_argument(value):
    """A grader value on its way into the kernel (a student function goes back as its reference)."""
    if isinstance(value, RemoteFunction):
        return {"$": "ref", "id": value._ref, "name": value.__name__}
    if isinstance(value, (ModelSnapshot, RemoteObject)):
        raise TypeError("a model or object of the student cannot be passed back into the kernel")
    if isinstance(value, (list, tuple)):
        items = [encode_argument(v) for v in value]
        return {"$": "list" if isinstance(value, list) else "tuple", "v": items}
    if isinstance(value, dict):
        return {"$": "dict", "v": [[encode_argument(k), encode_argument(v)] for k, v in value.items()]}
    return wire.encode(value)


class Kernel:
    """The grader's side of one live kernel: ``ask`` sends requests, ``decode`` builds the stand-ins."""

    def __init__(self, ask: Callable[[list[dict], str], list[dict]]) -> None:
        self._ask = ask

    def ask(self, ops: list[dict], what: str = "the kernel") -> list[dict]:
        return self._ask(ops, what)

    def decode(self, data):
        return wire.decode(data, self._make)

    def _make(self, kind: str, data: dict):
        if kind == "ref":
            return RemoteFunction(self, data["id"], data.get("name", "function"))
        if kind == "keras_model":
            return ModelSnapshot(data, self)
        if kind == "torch":
            import torch
            tensor = torch.from_numpy(np.array(self.decode(data["v"])))
            return tensor.requires_grad_(True) if data.get("requires_grad") and tensor.is_floating_point() else tensor
        if kind == "object":
            cls = type(str(data.get("class") or "object"), (RemoteObject,), {"__module__": "student"})
            return cls({k: self.decode(v) for k, v in data.get("attrs", {}).items()})
        raise wire.WireError(f"unknown value kind {kind!r}")

    def push_globals(self, values: dict[str, Any]) -> None:
        """Set globals of the student's notebook (a test that changes ``W`` before calling a function)."""
        raise_from_answer(self.ask([{"op": "push", "values": {k: encode_argument(v) for k, v in values.items()}}],
                                   "the notebook's variables")[0])

    def pop_globals(self) -> None:
        """Put back the globals the last :meth:`push_globals` changed."""
        raise_from_answer(self.ask([{"op": "pop"}], "the notebook's variables")[0])

    def fetch(self, names: list[str]) -> dict[str, Any]:
        """The student's values of ``names`` (absent ones left out); a value that cannot be read raises."""
        answers = self.ask([{"op": "get", "name": n} for n in names], "the notebook's variables")
        found = {}
        for name, answer in zip(names, answers):
            if answer.get("$") == "missing":
                continue
            if answer.get("$") == "raised":
                found[name] = _Unreadable(name, answer)
                continue
            found[name] = self.decode(answer["value"])
        return found


class _Unreadable:
    """A student value that could not be turned into data: any use of it fails with the reason."""

    def __init__(self, name: str, answer: dict) -> None:
        self._why = f"{name} cannot be read by the grader ({answer.get('type')}: {answer.get('message', '')[:200]})"

    def __getattr__(self, item):
        raise AssertionError(self.__dict__["_why"])

    def __call__(self, *args, **kwargs):
        raise AssertionError(self._why)

    def __array__(self, *args, **kwargs):
        raise AssertionError(self._why)
