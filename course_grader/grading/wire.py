"""The wire format between the grader and a student's kernel: plain data, never objects.

This module runs on both sides. The grader imports it; :func:`kernel_expression` ships its
source to the kernel, which executes it in a private namespace and answers one request
(:func:`serve`). Only JSON travels back: numbers, strings, lists, dicts, arrays as bytes,
Keras models as their layers and weights, functions as opaque references the grader can call.
Whatever a submission does inside its own process, what reaches the grader is data that is
checked there; nothing of the grader (expected values, checks) ever reaches the kernel.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import sys

MAX_BYTES = 64 * 2**20  #: the most a kernel may answer to one request
MAX_DEPTH = 8
REFS_MODULE = "_course_grader_refs"  #: kernel side: objects the grader holds references to


class WireError(Exception):
    """A value could not be encoded or decoded."""


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_BYTES

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise WireError(f"the value is larger than {MAX_BYTES // 2**20} MiB")


def _np():
    import numpy
    return numpy


def _is_torch_tensor(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _keras_model_class():
    keras = sys.modules.get("keras")
    return getattr(keras, "Model", None) if keras is not None else None


def _encode_array(arr, budget: _Budget) -> dict:
    np = _np()
    arr = np.array(arr, copy=True, subok=False)
    if arr.dtype.kind not in "biufc":
        budget.spend(arr.size * 8)
        return {"$": "ndlist", "v": [_plain_item(x) for x in arr.ravel().tolist()], "shape": list(arr.shape)}
    data = np.ascontiguousarray(arr).tobytes()
    budget.spend(len(data))
    return {"$": "nd", "dtype": arr.dtype.str, "shape": list(arr.shape), "data": base64.b64encode(data).decode()}


def _plain_item(x):
    return x if isinstance(x, (str, int, float, bool)) or x is None else repr(x)


def _refs() -> dict:
    module = sys.modules.get(REFS_MODULE)
    if module is None:
        import types
        module = sys.modules[REFS_MODULE] = types.ModuleType(REFS_MODULE)
        module.objects = {}
    return module.objects


def _stack() -> list:
    _refs()
    module = sys.modules[REFS_MODULE]
    if not hasattr(module, "stack"):
        module.stack = []
    return module.stack


def _activation_name(layer):
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "__name__", None) or type(act).__name__


def _class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _encode_keras_model(model, budget: _Budget, depth: int) -> dict:
    layers = []
    for layer in model.layers:
        config = {}
        try:
            for key, value in layer.get_config().items():
                if isinstance(value, (str, int, float, bool)) or value is None:
                    config[key] = value
        except Exception:
            pass
        layers.append({"class": _class_path(layer), "name": getattr(layer, "name", ""),
                       "activation": _activation_name(layer), "config": config,
                       "weights": [_encode_array(w, budget) for w in layer.get_weights()]})
    key = str(id(model))
    _refs()[key] = model  # held, so the id stays this model's: the grader can tell two models apart
    info = {"$": "keras_model", "class": _class_path(model), "layers": layers,
            "built": bool(getattr(model, "built", False)), "ref": key}
    for key in ("input_shape", "output_shape"):
        try:
            info[key] = encode(tuple(getattr(model, key)), budget, depth + 1)
        except Exception:
            info[key] = None
    info.update(_probe_model(model, budget))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        try:
            lr = float(_np().asarray(optimizer.learning_rate))
        except Exception:
            lr = None
        info["optimizer"] = {"class": _class_path(optimizer), "learning_rate": lr}
    loss = getattr(model, "loss", None)
    info["loss"] = loss if isinstance(loss, str) else (getattr(loss, "__name__", None) or
                                                      (type(loss).__name__ if loss is not None else None))
    return info


def _probe_model(model, budget: _Budget) -> dict:
    """What the model computes on a fixed input, through ``predict`` and through calling it: the
    grader recomputes both from the reported layers and weights and rejects a model they do not explain."""
    np = _np()
    try:
        shape = tuple(model.input_shape)
        if not getattr(model, "built", False) or len(shape) != 2 or not shape[1]:
            return {}
        x = np.random.default_rng(20250506).normal(0.0, 1.5, size=(5, int(shape[1]))).astype("float32")
        predicted = np.asarray(model.predict(x, verbose=0))
        called = model(x, training=False)
        keras = sys.modules.get("keras")
        called = keras.ops.convert_to_numpy(called) if keras is not None else np.asarray(called)
        return {"probe_x": _encode_array(x, budget), "probe_predict": _encode_array(predicted, budget),
                "probe_call": _encode_array(called, budget)}
    except Exception as exc:  # noqa: BLE001 - a model that cannot be probed says so
        return {"probe_error": f"{type(exc).__name__}: {str(exc)[:200]}"}


def encode(value, budget: _Budget | None = None, depth: int = 0):
    """``value`` as JSON-able plain data (see the module doc)."""
    budget = budget or _Budget()
    if depth > MAX_DEPTH:
        return {"$": "deep"}
    np = sys.modules.get("numpy")
    if value is None or type(value) in (bool, str):
        budget.spend(len(value) if type(value) is str else 1)
        return value
    if type(value) is int:
        return value if abs(value) < 2**53 else {"$": "int", "v": str(value)}
    if type(value) is float:
        return value if value == value and abs(value) != float("inf") else {"$": "float", "v": repr(value)}
    if np is not None and isinstance(value, np.generic):
        return {"$": "np", "dtype": value.dtype.str, "v": _encode_array(np.asarray(value), budget)}
    if np is not None and isinstance(value, np.ndarray):
        return _encode_array(value, budget)
    if _is_torch_tensor(value):
        tensor = value.detach().cpu()
        try:
            arr = tensor.numpy()
        except Exception:
            arr = tensor.double().numpy()
        return {"$": "torch", "v": _encode_array(arr, budget), "dtype": str(value.dtype),
                "requires_grad": bool(value.requires_grad)}
    model_class = _keras_model_class()
    if model_class is not None and isinstance(value, model_class):
        return _encode_keras_model(value, budget, depth)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        budget.spend(8 * len(value))
        if isinstance(value, dict):
            return {"$": "dict", "v": [[encode(k, budget, depth + 1), encode(v, budget, depth + 1)]
                                       for k, v in list(value.items())]}
        items = [encode(v, budget, depth + 1) for v in list(value)]
        if isinstance(value, list):
            return {"$": "list", "v": items}
        return {"$": "tuple" if isinstance(value, tuple) else "set", "v": items}
    if isinstance(value, (bool, int, float, str, complex)):  # subclasses: their plain value
        for base in (bool, int, float, complex, str):
            if isinstance(value, base):
                return encode(base(value), budget, depth)
    if np is not None and hasattr(type(value), "__array__") or hasattr(value, "to_numpy"):
        try:
            arr = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
            return _encode_array(arr, budget)
        except Exception:
            pass
    if callable(value):
        refs = _refs()
        key = str(id(value))
        refs[key] = value
        return {"$": "ref", "id": key, "name": str(getattr(value, "__name__", type(value).__name__))}
    attrs = {}
    try:
        names = [n for n in vars(value) if not n.startswith("_")][:50]
    except TypeError:
        names = []
    for name in names:
        try:
            attr = getattr(value, name)
        except Exception:
            continue
        if depth < 3 or not callable(attr):
            attrs[name] = encode(attr, budget, depth + 1)
    return {"$": "object", "class": type(value).__name__, "attrs": attrs}


def decode(data, make):
    """The inverse of :func:`encode`; ``make(kind, payload)`` builds what plain types cannot:
    ``ref``, ``keras_model``, ``object`` and ``torch`` (grader side), or resolves them (kernel side)."""
    if not isinstance(data, dict):
        if isinstance(data, list):  # only from hand-made requests
            return [decode(v, make) for v in data]
        return data
    kind = data.get("$")
    if kind == "nd":
        np = _np()
        raw = base64.b64decode(data["data"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
    if kind == "ndlist":
        np = _np()
        return np.array(data["v"], dtype=object).reshape(data["shape"]) if data["shape"] else np.array(data["v"][0])
    if kind == "np":
        return decode(data["v"], make)[()]
    if kind == "int":
        return int(data["v"])
    if kind == "float":
        return float(data["v"])
    if kind == "list":
        return [decode(v, make) for v in data["v"]]
    if kind == "tuple":
        return tuple(decode(v, make) for v in data["v"])
    if kind == "set":
        return {decode(v, make) for v in data["v"]}
    if kind == "dict":
        return {_hashable(decode(k, make)): decode(v, make) for k, v in data["v"]}
    if kind == "deep":
        raise WireError("the value is nested too deeply")
    return make(kind, data)


def _hashable(key):
    return key if getattr(key, "__hash__", None) is not None else repr(key)


# ---- kernel side ---------------------------------------------------------------------------------

def _kernel_make(kind, data):
    if kind == "ref":
        return _refs()[data["id"]]
    if kind == "torch":
        import torch
        tensor = torch.tensor(decode(data["v"], _kernel_make))
        return tensor.requires_grad_(True) if data.get("requires_grad") else tensor
    raise WireError(f"cannot send a {kind} into the kernel")


def _error(exc: BaseException) -> dict:
    return {"$": "raised", "type": type(exc).__name__,
            "bases": [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"],
            "message": str(exc)[:2000]}


def _call(op: dict) -> dict:
    import warnings
    fn = _refs()[op["ref"]]
    args = [decode(a, _kernel_make) for a in op.get("args", [])]
    kwargs = {k: decode(v, _kernel_make) for k, v in op.get("kwargs", {}).items()}
    if op.get("grad") is not None:  # differentiate with respect to this argument
        args[op["grad"]] = args[op["grad"]].detach().clone().requires_grad_(True)
    np = sys.modules.get("numpy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        errstate = np.errstate(**op["errstate"]) if np is not None and op.get("errstate") else None
        if errstate is not None:
            errstate.__enter__()
        try:
            result = fn(*args, **kwargs)
            grad = None
            if op.get("grad") is not None:
                result.sum().backward()
                grad = args[op["grad"]].grad
        finally:
            if errstate is not None:
                errstate.__exit__(None, None, None)
    answer = {"value": encode(result)}
    if op.get("grad") is not None:
        answer["grad"] = encode(grad)
    answer["warnings"] = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
    return answer


def serve(user_ns: dict, request: str) -> str:
    """Kernel side: answer one base64 JSON request against the student's namespace."""
    ops = json.loads(base64.b64decode(request))
    answers = []
    for op in ops:
        try:
            if op["op"] == "get":
                if op["name"] not in user_ns:
                    answers.append({"$": "missing"})
                    continue
                answers.append({"value": encode(user_ns[op["name"]])})
            elif op["op"] == "call":
                answers.append(_call(op))
            elif op["op"] == "push":  # set globals of the notebook, remembering what they were
                saved = {n: user_ns[n] for n in op["values"] if n in user_ns}
                _stack().append((saved, list(op["values"])))
                user_ns.update({n: decode(v, _kernel_make) for n, v in op["values"].items()})
                answers.append({"value": None})
            elif op["op"] == "pop":  # put back what the last push changed
                saved, names = _stack().pop()
                for name in names:
                    if name in saved:
                        user_ns[name] = saved[name]
                    else:
                        user_ns.pop(name, None)
                answers.append({"value": None})
            else:
                answers.append({"$": "raised", "type": "WireError", "bases": [], "message": "unknown request"})
        except BaseException as exc:  # noqa: BLE001 - anything the student's code raises is an answer
            answers.append(_error(exc))
    return base64.b64encode(json.dumps(answers, allow_nan=False).encode()).decode()


@functools.lru_cache(maxsize=1)
def _own_source() -> tuple[str, str]:
    """This module's source and the name its copy in a kernel goes by (which changes with the source)."""
    with open(__file__, encoding="utf-8") as handle:
        source = handle.read()
    return source, "_course_grader_wire_" + hashlib.sha256(source.encode()).hexdigest()[:16]


def kernel_expression(request: str) -> str:
    """A ``user_expressions`` entry that runs :func:`serve` in the kernel without touching its namespace.

    The source travels with every request; the kernel compiles it into a module of its own the first
    time and keeps it in ``sys.modules`` (beside :data:`REFS_MODULE`), so later requests skip the compile.
    """
    source, name = _own_source()
    return ("(lambda b, m: (m.get(%r) or m.setdefault(%r, (lambda mod: (b.exec(b.compile(%r, '<course-grader>', "
            "'exec'), mod.__dict__), mod)[1])(__import__('types').ModuleType(%r)))).serve(b.globals(), %r))"
            "(__import__('builtins'), __import__('sys').modules)" % (name, name, source, name, request))


def request_text(ops: list[dict]) -> str:
    return base64.b64encode(json.dumps(ops).encode()).decode()


def read_answer(text: str) -> list:
    return json.loads(base64.b64decode(text))
