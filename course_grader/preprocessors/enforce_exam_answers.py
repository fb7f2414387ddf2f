"""``autograde``, after SaveAutoGrades: re-check the exam's typed answers outside the kernel."""
from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from ..exam.answers import grade_id, is_exam, released_seed, verdicts
from ..exam.settings import Exam, load_solver


class EnforceExamAnswers(NbGraderPreprocessor):
    """``autograde`` (after SaveAutoGrades): a variant cell keeps its points only if the typed answers
    match the instructor's solution, checked here, outside the student's kernel.

    It can only lower a score: a kernel that fakes a passing test (patched checks, swallowed
    exceptions) gains nothing on the variant questions; the cell then gets an error output that
    says so (the student's feedback). Needs the solver module (:func:`load_solver`); without it
    the in-kernel hidden tests alone grade, with a warning.
    """

    def preprocess(self, nb, resources):
        if not is_exam(nb):
            return nb, resources
        from nbformat.v4 import new_output
        from nbgrader.api import Gradebook, MissingEntry

        exam = Exam(parent=self)
        info = resources["nbgrader"]
        solver = load_solver(info["assignment"], exam)
        if solver is None:
            self.log.warning("exam %s: no instructor solver found, typed answers are graded in the kernel only",
                             info["assignment"])
            return nb, resources
        found = verdicts(nb, info["student"], released_seed(nb, exam), solver)
        cells = {grade_id(c): c for c in nb.cells if c.cell_type == "code"}
        with Gradebook(info["db_url"]) as gb:
            for test_cell, problem in found.items():
                if problem is None:
                    continue
                try:
                    grade = gb.find_grade(test_cell, info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                if grade.auto_score:
                    self.log.warning("exam %s/%s: %s passed in the kernel but the grader's check says: %s",
                                     info["student"], info["assignment"], test_cell, problem)
                    grade.auto_score = 0.0
                    if test_cell in cells:
                        cells[test_cell].outputs.append(new_output(
                            "error", ename="ExamCheck", evalue=f"checked by the grader: {problem}",
                            traceback=[f"ExamCheck: checked by the grader: {problem}"]))
            gb.db.commit()
        return nb, resources
