"""``course_utils.check()``: before you submit, what grading would refuse or score 0, found without running anything.

It reads the saved notebook (save it first), never the kernel, and reports:

* answer cells that are still unanswered (``raise NotImplementedError()`` left in);
* answer cells whose last run ended in an error;
* exam answer cells whose typed numbers the grader cannot read;
* outputs so large that grading would cut them.

The visible test cells are the other half of checking: run the whole notebook
(Kernel > Restart Kernel and Run All Cells) and read every message, or press Validate.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .typed_answers import ANSWER_CELLS, read_answer_cell

#: Output kept per notebook when it is graded (``c.CourseGrade.output_bytes``); more is cut.
OUTPUT_LIMIT_BYTES = 4 * 2**20
UNANSWERED = "raise NotImplementedError()"


def find_notebook(notebook: str | os.PathLike | None = None) -> Path:
    """The notebook to check: the argument, else the one this kernel belongs to, else the only one here."""
    if notebook is not None:
        return Path(notebook).expanduser()
    session = os.environ.get("JPY_SESSION_NAME")  # set by Jupyter Server for a notebook's kernel
    if session and Path(session).is_file():
        return Path(session)
    here = sorted(p for p in Path.cwd().glob("*.ipynb") if not p.name.startswith("."))
    if len(here) == 1:
        return here[0]
    raise FileNotFoundError("which notebook? call check('your_notebook.ipynb')")


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _label(cell: dict[str, Any], index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def problems(nb: dict[str, Any]) -> list[str]:
    """What grading would refuse or score 0 in the notebook ``nb`` (its JSON as a dict)."""
    found: list[str] = []
    output_bytes = 0
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        outputs = cell.get("outputs", []) if cell.get("cell_type") == "code" else []
        output_bytes += len(json.dumps(outputs))
        if not meta.get("solution") or cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if UNANSWERED in source:
            found.append(f"{_label(cell, index)} is not answered yet: replace `{UNANSWERED}` by your answer")
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors and UNANSWERED not in source:
            found.append(f"{_label(cell, index)} ended in {errors[0].get('ename', 'an error')} when you last ran it")
        grade_id = meta.get("grade_id")
        if grade_id in ANSWER_CELLS and UNANSWERED not in source:
            answers = read_answer_cell(source, grade_id)
            if "__error__" in answers:
                found.append(f"{_label(cell, index)}: {answers['__error__']}")
    if output_bytes > OUTPUT_LIMIT_BYTES:
        found.append(f"the outputs are {output_bytes / 2**20:.1f} MiB: grading keeps "
                     f"{OUTPUT_LIMIT_BYTES / 2**20:g} MiB and cuts the rest (print less)")
    return found


def check(notebook: str | os.PathLike | None = None) -> list[str]:
    """Check the saved notebook before you submit; print what to fix and return it (empty: nothing found)."""
    path = find_notebook(notebook)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        found = [f"{path.name} cannot be read as a notebook ({exc}): grading would score it 0"]
    else:
        found = problems(nb)
    if found:
        print(f"check({path.name!r}): {len(found)} thing(s) to fix before you submit:")
        for item in found:
            print(f"  - {item}")
    else:
        print(f"check({path.name!r}): nothing found. Now run every cell (Restart Kernel and Run All Cells) "
              "and read the visible tests' messages.")
    return found
