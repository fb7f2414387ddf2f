"""``generate_assignment``: stamp the exam seed into the released variant cell."""
from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from ..exam.answers import STAMP_RE, VARIANT_CELL, grade_id, is_exam, set_duedate
from ..exam.settings import Exam


class StampExam(NbGraderPreprocessor):
    """``generate_assignment``: write the exam seed into the released variant cell; set the due date.

    Runs before ``SaveCells``, so the gradebook keeps the stamped cell and ``OverwriteCells``
    restores exactly what the students saw.
    """

    def preprocess(self, nb, resources):
        if not is_exam(nb):
            return nb, resources
        exam = Exam(parent=self)
        for cell in nb.cells:
            if grade_id(cell) == VARIANT_CELL:
                cell.source = STAMP_RE.sub(f"course_utils.exam.my_variant(exam_seed={exam.seed})", cell.source)
        info = resources.get("nbgrader", {})
        if info.get("db_url") and info.get("assignment") == exam.assignment:
            set_duedate(info["db_url"], info["assignment"], exam, self.log)
        return nb, resources
