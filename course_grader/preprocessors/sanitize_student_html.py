"""``generate_feedback``: what the student wrote or printed cannot run in their feedback page.

nbconvert's own :class:`~nbconvert.preprocessors.SanitizeHTML` (bleach) over every code cell's
outputs and every markdown or raw cell the instructor did not lock: scripts, event handlers, SVG
and JavaScript outputs are removed or escaped. An output that also has a plain-text form (a pandas
table, a rich repr) is shown as that text instead of sanitised HTML.
"""
from __future__ import annotations

from bleach import ALLOWED_TAGS
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool, List, Unicode

from ..grading.grader_checks import is_instructor_cell

SAFE_LAYOUT_TAGS = ["p", "br", "div", "span", "pre", "table", "thead", "tbody", "tr", "th", "td",
                    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "sub", "sup"]


class SanitizeStudentHTML(SanitizeHTML):
    enabled = Bool(True).tag(config=True)
    tags = List(Unicode(), default_value=sorted(set(ALLOWED_TAGS) | set(SAFE_LAYOUT_TAGS))).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type in ("markdown", "raw") and is_instructor_cell(cell):
            return cell, resources
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                data = output.get("data")
                if data and "text/plain" in data:  # the plain form says the same without any markup
                    for key in [k for k in data if k not in self.safe_output_keys]:
                        del data[key]
        return super().preprocess_cell(cell, resources, cell_index)
