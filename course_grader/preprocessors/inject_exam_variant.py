"""``autograde``, right before Execute: grade the submitting student's true exam variant."""
from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

from course_utils.exam import variant_for
from course_utils.typed_answers import read_answer_cell

from .. import notebooks
from ..exam.answers import CALL_RE, INJECT_RE, VARIANT_CELL, answer_cell_sources, is_exam, released_seed, set_duedate
from ..exam.settings import Exam


class InjectExamVariant(NbGraderPreprocessor):
    """``autograde`` (right before Execute; locked cells are restored): grade the true variant.

    * the student id is ``resources['nbgrader']['student']``: the submission folder, not the kernel;
    * the locked variant cell becomes ``v = course_utils.exam.variant_for(<student>, <seed>)``, so
      the student's own code sees their variant while grading;
    * every ``_V, _A = course_utils.exam.graded_answers("<answer cell>", globals())  # __EXAM_INJECT__``
      line of a locked test cell becomes ``_V, _A = {<variant>}, {<typed answers>}``: literals
      computed here, outside the kernel.
    """

    def preprocess(self, nb, resources):
        if not is_exam(nb):
            return nb, resources
        exam = Exam(parent=self)
        info = resources["nbgrader"]
        student = info["student"]
        seed = released_seed(nb, exam)
        if seed != exam.seed:
            self.log.warning("exam %s was released with seed %s but c.Exam.seed is %s: grading with the released seed",
                             info.get("assignment"), seed, exam.seed)
        variant = variant_for(student, seed).to_dict()
        sources = answer_cell_sources(nb)
        if info.get("db_url") and info.get("assignment") == exam.assignment:
            set_duedate(info["db_url"], info["assignment"], exam, self.log)
        for cell in nb.cells:
            meta = notebooks.meta(cell)
            if cell.cell_type != "code" or not meta.get("locked"):
                continue
            if meta.get("grade_id") == VARIANT_CELL:
                cell.source = CALL_RE.sub(f"course_utils.exam.variant_for({student!r}, {seed})", cell.source)
            elif meta.get("grade"):
                def literal(match: re.Match) -> str:
                    answers = read_answer_cell(sources.get(match["cell"]), match["cell"])
                    return f"{match['indent']}_V, _A = {variant!r}, {answers!r}  # graded variant of {student!r}"
                cell.source = INJECT_RE.sub(literal, cell.source)
        return nb, resources
