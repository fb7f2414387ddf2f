"""The exam's late penalty, as an nbgrader ``LateSubmissionPlugin``."""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin

from .settings import Exam


class ExamLatePenalty(LateSubmissionPlugin):
    """Late penalty of the exam: after ``c.Exam.end`` plus ``c.Exam.grace_minutes``, deduct
    ``c.Exam.late_penalty_per_minute`` of the score per started minute. Other assignments keep
    nbgrader's ``LateSubmissionPlugin`` behaviour (``penalty_method``)."""

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        exam = Exam(parent=self)
        if getattr(self.parent, "assignment_id", None) != exam.assignment:
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        return exam_penalty(score, total_seconds_late, exam)


def exam_penalty(score: float, seconds_late: float, exam: Exam) -> float:
    """The points deducted from ``score`` for handing the exam in ``seconds_late`` after the due date."""
    beyond = seconds_late - 60.0 * exam.grace_minutes
    if beyond <= 0:
        return 0.0
    return float(min(score, score * exam.late_penalty_per_minute * math.ceil(beyond / 60.0)))
