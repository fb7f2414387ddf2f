"""Mutation analysis: do the hidden tests notice when a reference solution is broken?

Each mutator makes one small, typical mistake in one place of one solution cell
(drop a bias, swap the activation, transpose a matrix, shift an integer, change a
constant, flip a sign). Every mutant is run against the source notebook's tests and
a grade cell that no longer gets full points (nbgrader's own rule) "kills" it.
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from nbformat import NotebookNode

from course_grader import notebooks

BIAS = re.compile(r"^b\d*$")
MATRIX = re.compile(r"^(W\w*|U\w*|V|X|w)$")
CHOICES = "abcd"
ACTIVATIONS = {"sigmoid": "relu", "relu": "sigmoid", "tanh": "sigmoid", "softmax": "sigmoid"}


@dataclass(frozen=True)
class Mutant:
    """One mutated solution cell."""

    assignment: str
    cell: str
    mutator: str
    index: int
    source: str

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.cell}/{self.mutator}/{self.index}"


def _drop_bias(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        for keep, drop in ((node.left, node.right), (node.right, node.left)):
            if isinstance(drop, ast.Name) and BIAS.match(drop.id):
                return keep
    if isinstance(node, ast.keyword) and node.arg == "use_bias":
        return None
    return None


def _swap_activation(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ACTIVATIONS:
        return ast.Constant(ACTIVATIONS[node.value])
    if isinstance(node, ast.Attribute) and node.attr == "sigmoid":
        return ast.Attribute(value=node.value, attr="tanh", ctx=node.ctx)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sigmoid":
        return ast.Call(func=ast.Name("tanh_like", ast.Load()), args=node.args, keywords=node.keywords)
    return None


def _transpose(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and MATRIX.match(node.id):
        return ast.Attribute(value=node, attr="T", ctx=ast.Load())
    return None


def _off_by_one(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value not in (0,):
        return ast.Constant(node.value + 1)
    return None


def _change_constant(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Constant) and type(node.value) is float:
        return ast.Constant(round(node.value * 1.5 + 0.1, 6))
    return None


def _flip_sign(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return node.operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        return ast.BinOp(left=node.left, op=ast.Add(), right=node.right)
    return None


def _other_choice(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip().lower() in CHOICES and node.value.strip():
        letter = node.value.strip().lower()
        return ast.Constant(CHOICES[(CHOICES.index(letter) + 1) % len(CHOICES)])
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return ast.Constant(not node.value)
    return None


def _swap_operands(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return ast.BinOp(left=node.right, op=node.op, right=node.left)
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("dot", "matmul") and len(node.args) == 2:
        return ast.Call(func=node.func, args=node.args[::-1], keywords=node.keywords)
    return None


MUTATORS: dict[str, Callable[[ast.AST], ast.AST | None]] = {
    "drop_bias": _drop_bias,
    "swap_activation": _swap_activation,
    "transpose": _transpose,
    "off_by_one": _off_by_one,
    "change_constant": _change_constant,
    "flip_sign": _flip_sign,
    "other_choice": _other_choice,
    "swap_operands": _swap_operands,
}
#: Defined before every mutant so ``tanh_like`` (a sigmoid swapped for tanh) resolves.
PRELUDE = "import numpy as _np\ntanh_like = lambda z: _np.tanh(z)\n"


def mutants_of(source: str, assignment: str, cell: str, limit: int = 6) -> Iterator[Mutant]:
    """Every single-site mutant of ``source`` (at most ``limit`` per mutator)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for name, mutate in MUTATORS.items():
        sites = [n for n in ast.walk(tree) if mutate(n) is not None or (name == "drop_bias" and _is_bias_kw(n))]
        seen: set[str] = set()
        for index, site in enumerate(sites):
            mutated = _replace(tree, site, mutate)
            text = ast.unparse(mutated)
            if text in seen or text == ast.unparse(tree):
                continue
            seen.add(text)
            yield Mutant(assignment, cell, name, index, PRELUDE + text)
            if len(seen) >= limit:
                break


def _is_bias_kw(node: ast.AST) -> bool:
    return isinstance(node, ast.keyword) and node.arg == "use_bias"


def _replace(tree: ast.AST, site: ast.AST, mutate: Callable[[ast.AST], ast.AST | None]) -> ast.AST:
    """A copy of ``tree`` with ``site`` mutated (or, for a use_bias keyword, set to False)."""
    target_path = _path_to(tree, site)
    new_tree = copy.deepcopy(tree)
    parent, field, index = _locate(new_tree, target_path)
    old = getattr(parent, field) if index is None else getattr(parent, field)[index]
    new = ast.keyword(arg="use_bias", value=ast.Constant(False)) if _is_bias_kw(old) else mutate(old)
    if index is None:
        setattr(parent, field, new)
    else:
        getattr(parent, field)[index] = new
    return ast.fix_missing_locations(new_tree)


def _path_to(tree: ast.AST, site: ast.AST) -> list[tuple[str, int | None]]:
    def walk(node: ast.AST, path: list) -> list | None:
        for field, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for i, child in enumerate(items):
                if not isinstance(child, ast.AST):
                    continue
                step = path + [(field, i if isinstance(value, list) else None)]
                if child is site:
                    return step
                found = walk(child, step)
                if found:
                    return found
        return None

    return walk(tree, []) or []


def _locate(tree: ast.AST, path: list[tuple[str, int | None]]) -> tuple[ast.AST, str, int | None]:
    node = tree
    for field, index in path[:-1]:
        node = getattr(node, field) if index is None else getattr(node, field)[index]
    return (node, *path[-1])


@dataclass
class MutantResult:
    mutant: Mutant
    killed_by: str | None  # the first grade cell that lost points, None if the mutant survived


def run_mutants(source_path: Path, mutants: list[Mutant], timeout: int = 300) -> list[MutantResult]:
    """Run each mutant against the notebook's tests; report the first grade cell that kills it.

    The notebook runs once in an in-process IPython shell. At a solution cell with
    mutants, the process forks once per mutant: the child (an exact copy of the state
    a student's kernel would have there) runs the mutated cell and the cells after it,
    stops at the first grade cell that fails (an error or stderr output, nbgrader's
    rule) and reports it. The parent then runs the original cell and goes on.
    """
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # this process forks: CUDA must never be initialised in it
    import torch

    torch.set_num_threads(1)  # OpenMP thread pools do not survive fork()
    from IPython.core.interactiveshell import InteractiveShell

    nb = notebooks.read(source_path)
    by_cell: dict[str, list[Mutant]] = {}
    for mutant in mutants:
        by_cell.setdefault(mutant.cell, []).append(mutant)
    shell = InteractiveShell.instance()
    cwd = os.getcwd()
    os.chdir(source_path.parent)
    results = []
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for mutant in by_cell.get(notebooks.meta(cell).get("grade_id"), []):
                results.append(MutantResult(mutant, _in_child(shell, nb, index, mutant.source, timeout)))
            _run_cell(shell, cell.source)
    finally:
        os.chdir(cwd)
    return results


def _run_cell(shell, source: str) -> bool:  # noqa: ANN001 (IPython shell)
    """Run one cell; True when it raised nothing and wrote nothing to stderr."""
    import contextlib
    import io
    import sys

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        result = shell.run_cell(source, store_history=False)
        sys.stdout.flush()
    return result.success and not err.getvalue()


def _in_child(shell, nb: NotebookNode, start: int, source: str, timeout: int) -> str | None:  # noqa: ANN001
    """Fork; the child runs ``source`` at cell ``start`` and the rest, returning the first failing grade cell."""
    import os
    import signal

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        signal.alarm(timeout)
        verdict = ""
        for index in range(start, len(nb.cells)):
            cell = nb.cells[index]
            if cell.cell_type != "code":
                continue
            ok = _run_cell(shell, source if index == start else cell.source)
            if notebooks.is_grade(cell) and not ok:
                verdict = notebooks.meta(cell)["grade_id"]
                break
        os.write(write_end, verdict.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        verdict = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not verdict and status != 0:
        return "(crashed)"
    return verdict or None


def all_mutants(assignment: str, source_path: Path) -> list[Mutant]:
    """Every mutant of every solution cell of one source notebook."""
    nb = notebooks.read(source_path)
    return [m for cell, source in notebooks.solution_sources(nb).items() for m in mutants_of(source, assignment, cell)]


def report(results: list[MutantResult], equivalent: dict[str, str]) -> str:
    """A markdown report: kills per solution cell and per grade cell, survivors with their explanation."""
    lines = ["| solution cell | mutants | killed | equivalent | unexplained survivors |", "| --- | --- | --- | --- | --- |"]
    cells: dict[str, list[MutantResult]] = {}
    for result in results:
        cells.setdefault(f"{result.mutant.assignment}/{result.mutant.cell}", []).append(result)
    for name, rows in cells.items():
        killed = sum(r.killed_by is not None for r in rows)
        equiv = sum(r.killed_by is None and r.mutant.key in equivalent for r in rows)
        lines.append(f"| `{name}` | {len(rows)} | {killed} | {equiv} | {len(rows) - killed - equiv} |")
    killers: dict[str, int] = {}
    for result in results:
        if result.killed_by:
            killers[f"{result.mutant.assignment}/{result.killed_by}"] = killers.get(f"{result.mutant.assignment}/{result.killed_by}", 0) + 1
    lines += ["", "| grade cell | mutants it killed first |", "| --- | --- |"]
    lines += [f"| `{name}` | {count} |" for name, count in sorted(killers.items())]
    survivors = [r for r in results if r.killed_by is None]
    if survivors:
        lines += ["", "Surviving mutants:"]
        lines += [f"- `{r.mutant.key}`: {equivalent.get(r.mutant.key, 'NOT EXPLAINED')}" for r in survivors]
    return "\n".join(lines)


def kill_rate(results: list[MutantResult], equivalent: dict[str, str]) -> tuple[int, int]:
    """(killed, non-equivalent mutants)."""
    killed = sum(r.killed_by is not None for r in results)
    real = sum(r.killed_by is not None or r.mutant.key not in equivalent for r in results)
    return killed, real
