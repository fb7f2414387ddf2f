"""Static audit of student code: constructs that could change how the hidden tests run.

Student code runs in the same kernel as the hidden tests, so a submission could patch
``np.allclose``, hook IPython so errors vanish, import a prepared solution, read grader
files or end the kernel. Week-1 answers need none of that, so before a notebook is
executed for grading, every student-editable code cell is parsed (after IPython's own
magic transformation) and checked against the rules below. A notebook that breaks a
rule is not run: every test cell fails with the reason, and the student is told which
line to remove.
"""
from __future__ import annotations

import ast
import builtins
import functools
from dataclasses import dataclass

#: Top-level modules a Week-1 answer may import.
ALLOWED_IMPORTS = frozenset({
    "numpy", "math", "torch", "keras", "scipy", "matplotlib", "random", "course_utils",
    "typing", "functools", "itertools", "collections", "statistics", "dataclasses", "os", "time", "warnings",
})
#: Names that always denote modules in course notebooks, whichever cell imported them.
MODULE_NAMES = frozenset({"np", "numpy", "torch", "F", "nn", "keras", "layers", "math", "plt", "matplotlib", "scipy",
                          "course_utils", "checks", "random", "os", "warnings", "time", "SGD", "Sequential", "Dense"})
#: Built-in functions that run or reach arbitrary code, files or the interpreter.
FORBIDDEN_CALLS = frozenset({
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "get_ipython", "exit", "quit", "breakpoint", "input", "help", "memoryview",
})
#: Attributes that reach the interpreter, the kernel, the process or the file system.
FORBIDDEN_ATTRIBUTES = frozenset({
    "modules", "_exit", "exit", "abort", "kill", "killpg", "fork", "forkpty", "system", "popen", "spawnl",
    "spawnv", "execv", "execve", "execl", "execvp", "remove", "unlink", "rmdir", "removedirs", "rename",
    "replace", "chmod", "chown", "open", "fdopen", "write_text", "write_bytes", "read_text", "read_bytes",
    "set_custom_exc", "showtraceback", "showsyntaxerror", "input_transformers_cleanup", "input_transformers_post",
    "ast_transformers", "events", "displayhook", "display_pub", "excepthook", "run_cell", "kernel", "shell",
    "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "tb_frame", "settrace", "setprofile",
    "_getframe", "meta_path", "path_hooks", "setrecursionlimit", "load", "loadtxt", "genfromtxt", "fromfile",
})
#: Dunder attributes that are harmless to read.
SAFE_DUNDERS = frozenset({"__init__", "__name__", "__doc__", "__call__", "__len__", "__version__"})
#: Special methods that let an object lie to comparisons or conversions.
LYING_METHODS = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__abs__", "__sub__", "__rsub__", "__neg__",
    "__float__", "__int__", "__bool__", "__array__", "__array_ufunc__", "__array_function__", "__array_priority__",
    "__getattr__", "__getattribute__", "__instancecheck__", "__subclasscheck__", "__del__", "__hash__",
    "__round__", "__index__", "__complex__", "__truediv__", "__rtruediv__", "__mul__", "__rmul__", "__add__",
    "__radd__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__class_getitem__",
})
BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class Violation:
    """One rule broken at one line of a student cell."""

    line: int
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}"


def transform_ipython(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!shell``) into the Python it runs."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


class _Auditor(ast.NodeVisitor):
    def __init__(self, imported: set[str]) -> None:
        self.violations: list[Violation] = []
        self.imported: set[str] = set(imported) | MODULE_NAMES

    def flag(self, node: ast.AST, rule: str) -> None:
        self.violations.append(Violation(getattr(node, "lineno", 0), rule))

    def _check_module(self, node: ast.AST, name: str | None) -> None:
        root = (name or "").split(".")[0]
        if root not in ALLOWED_IMPORTS:
            self.flag(node, f"imports `{name or '.'}` (only {', '.join(sorted(ALLOWED_IMPORTS))} may be imported)")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            self.imported.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._check_module(node, None if node.level else node.module)
        for alias in node.names:
            self.imported.add(alias.asname or alias.name)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            self.flag(node, f"calls `{node.func.id}()`")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_CALLS or node.id in ("__builtins__", "builtins"):
            if not isinstance(getattr(node, "_parent", None), ast.Call):
                self.flag(node, f"uses `{node.id}`")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = node.attr
        if name in FORBIDDEN_ATTRIBUTES:
            self.flag(node, f"uses `.{name}`")
        elif name.startswith("__") and name.endswith("__") and name not in SAFE_DUNDERS:
            self.flag(node, f"uses `.{name}`")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in self.imported:
                self.flag(node, f"changes the library object `{ast.unparse(node)}`")
        self.generic_visit(node)

    def _check_binding(self, node: ast.AST, name: str) -> None:
        if name in BUILTIN_NAMES:
            self.flag(node, f"redefines the built-in `{name}`")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in LYING_METHODS:
            self.flag(node, f"defines `{node.name}` (objects may not redefine comparisons or conversions)")
        self._check_binding(node, node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._check_binding(node, node.name)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        aliases_module = isinstance(root, ast.Name) and root.id in self.imported
        for target in node.targets:
            if aliases_module and isinstance(target, ast.Name):
                self.imported.add(target.id)  # `x = np` makes `x.allclose = ...` a library change too
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    self._check_binding(sub, sub.id)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self._check_binding(node, name)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and exc.id in ("SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"):
            self.flag(node, f"raises `{exc.id}`")
        self.generic_visit(node)


def imported_names(source: str) -> set[str]:
    """Names a cell binds by ``import`` (so other cells' changes to them count as library changes)."""
    return set(_imported_names(source))


# a class hands in many identical cells (every locked cell, untouched scaffolding): parse each once per process
@functools.lru_cache(maxsize=4096)
def _imported_names(source: str) -> frozenset[str]:
    try:
        tree = ast.parse(transform_ipython(source))
    except SyntaxError:
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return frozenset(names)


def audit(source: str, imported: set[str] | frozenset[str] = frozenset()) -> list[Violation]:
    """The rules ``source`` (one notebook cell, IPython syntax allowed) breaks; [] if none.

    ``imported`` holds names other cells of the notebook imported (see :func:`imported_names`).
    """
    return list(_audit(source, frozenset(imported)))


@functools.lru_cache(maxsize=4096)
def _audit(source: str, imported: frozenset[str]) -> tuple[Violation, ...]:
    try:
        tree = ast.parse(transform_ipython(source))
    except SyntaxError:
        return ()  # a syntax error is the student's own (graded) mistake, not an attack
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent  # type: ignore[attr-defined]
    auditor = _Auditor(set(imported))
    auditor.visit(tree)
    return tuple(sorted(set(auditor.violations), key=lambda v: (v.line, v.rule)))
