#!/usr/bin/env python3
"""Build an nbgrader source notebook from a jupytext percent-format draft.

Maintainers draft notebooks as ``# %%`` Python files (readable diffs, easy review),
then run this to write ``source/<assignment>/<name>.ipynb``: jupytext's own metadata
is dropped, cell ids become stable (the nbgrader grade_id, else ``cell-<n>``) and,
with ``--execute``, outputs are stored so nbval can compare them.

    python scripts/build_notebook.py draft.py source/w1a1_single_neuron/single_neuron.ipynb --execute

To edit an existing notebook as a draft: ``jupytext --to py:percent NOTEBOOK``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

JUPYTEXT_KEYS = ("lines_to_next_cell", "lines_to_end_of_cell_marker", "cell_marker")


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop jupytext metadata and give every cell a stable id."""
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        for key in JUPYTEXT_KEYS:
            cell.metadata.pop(key, None)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = grade_id or f"cell-{index}"
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> None:
    """Run the notebook top to bottom in a fresh kernel, storing outputs in place."""
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("draft", type=Path, help="percent-format .py draft")
    parser.add_argument("notebook", type=Path, help="the .ipynb to write")
    parser.add_argument("--execute", action="store_true", help="store outputs (for nbval)")
    args = parser.parse_args(argv)
    nb = normalise(jupytext.read(args.draft))
    args.notebook.parent.mkdir(parents=True, exist_ok=True)
    if args.execute:
        execute(nb, args.notebook.parent)
    nbformat.validate(nb)
    nbformat.write(nb, args.notebook)
    print(f"wrote {args.notebook}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
