"""What the instructor reads cannot be weaponised: no terminal escapes, no spreadsheet formulas."""
from __future__ import annotations

import csv
from pathlib import Path

from course_grader.grading.exports import CELL_COLUMNS, export_cells_csv
from course_grader.grading.runner import GradeRun
from course_grader.grading.safe_text import printable, spreadsheet_cell


def test_terminal_escapes_and_control_characters_are_stripped() -> None:
    assert printable("a\x1b[2Jb\x1b]0;title\x07c\x00d\r\ne\tf") == "ab]0;titlecd\ne\tf"
    run = GradeRun("w1")
    run.failed["mallory"] = ["GradingLimitExceeded: \x1b[2J\x1b[31mcleared\x1b[0m"]
    assert "\x1b" not in run.summary() and "cleared" in run.summary()


def test_formulas_in_csv_exports_are_neutralised(tmp_path: Path) -> None:
    assert spreadsheet_cell('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert [spreadsheet_cell(v) for v in ("+1", "-2", "@SUM(A1)", "ok", 2.5)] == ["'+1", "'-2", "'@SUM(A1)", "ok", 2.5]
    row = dict.fromkeys(CELL_COLUMNS, "")
    row.update(student="mallory", message='=HYPERLINK("http://evil","click")')
    out = export_cells_csv([row], tmp_path / "cells.csv")
    (read,) = list(csv.DictReader(out.open()))
    assert read["message"].startswith("'=")
