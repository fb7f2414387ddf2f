"""``generate_feedback``, after ClearHiddenTests: no output may quote a hidden test.

nbgrader's ClearHiddenTests removes the hidden-test regions from the cell sources, but not
from the outputs: a failing hidden assert can print its own source line (a traceback, a
message built from the source), so every output line that quotes a hidden-test line is
replaced by a notice. The hidden-test lines come from the gradebook (the instructor's locked
cells, which OverwriteCells restored before grading) and from whatever regions are still in
the notebook, so the order of this step and ClearHiddenTests does not matter.
"""
from __future__ import annotations

import html
import re

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import notebooks
from ..notebooks import HIDDEN_BEGIN, HIDDEN_END, between_markers
from .audit_student_code import trusted_sources

REDACTED = "[hidden test: details not shown]"
#: The words of nbgrader's delimiters: a line naming them is redacted whatever its prefix.
MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def hidden_lines(source: str, min_length: int = 4) -> list[str]:
    """The (stripped) lines of every hidden-test region of ``source``, shorter ones left out."""
    return [s.strip() for s in between_markers(source, HIDDEN_BEGIN, HIDDEN_END) if len(s.strip()) >= min_length]


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every line that quotes one of ``secrets`` (ANSI colours ignored) replaced by the notice."""
    lines = []
    for line in text.splitlines(keepends=True):
        plain = ANSI.sub("", line)
        lines.append(REDACTED + "\n" if any(s in plain for s in secrets) else line)
    return "".join(lines)


class RedactHiddenTestOutput(NbGraderPreprocessor):
    """Replace every output line (stream, error traceback and value, text data) and grader comment
    that quotes a hidden-test line, or a hidden-test delimiter, by :data:`REDACTED`."""

    def gradebook_secrets(self, resources: dict) -> list[str]:
        """The hidden-test lines of the instructor's locked cells (hidden tests live in locked test cells)."""
        info = resources.get("nbgrader", {})
        if not all(info.get(k) for k in ("db_url", "assignment", "notebook")):
            return []
        return [line for source in trusted_sources(resources).values() for line in hidden_lines(source or "")]

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        lines = set(self.gradebook_secrets(resources))
        for cell in nb.cells:
            lines.update(hidden_lines(cell.source))
        # as they appear in HTML outputs too (`<` in an assert becomes `&lt;`)
        secrets = sorted(lines | {html.escape(s) for s in lines}) + list(MARKERS)
        for cell in nb.cells:
            self.redact_cell(cell, secrets)
        return nb, resources

    @staticmethod
    def redact_cell(cell: NotebookNode, secrets: list[str]) -> None:
        grader = notebooks.meta(cell)
        if isinstance(grader.get("comment"), str):  # GetGrades' comment, shown under the cell
            grader["comment"] = redact(grader["comment"], secrets)
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                out.traceback = [redact(t, secrets) for t in out.get("traceback", [])]
                out.evalue = redact(out.get("evalue", ""), secrets)
            elif out.output_type == "stream":
                out.text = redact(out.get("text", ""), secrets)
            else:
                for key, value in list(out.get("data", {}).items()):
                    if isinstance(value, str):
                        out.data[key] = redact(value, secrets)
                    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                        out.data[key] = redact("".join(value), secrets)
