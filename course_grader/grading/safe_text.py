"""Text a student's code produced, made safe for the instructor's terminal and spreadsheet."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """``text`` without terminal escapes and control characters (newlines and tabs kept)."""
    return _CONTROL.sub("", text)


def spreadsheet_cell(value: object) -> object:
    """A CSV value a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value
