"""This course's nbgrader preprocessors, one class per module (registered in ``nbgrader_config.py``).

* sanitize: :class:`DropEmptyGraderMetadata` (nbgrader crashes on a duplicated grade cell without it);
* autograde: :class:`AuditStudentCode`, :class:`InjectExamVariant` (before Execute),
  :class:`GradeInSandbox` (the Execute step),
  :class:`EnforceExamAnswers` (after SaveAutoGrades);
* generate_assignment: :class:`StampExam`;
* generate_feedback: :class:`RedactHiddenTestOutput`, :class:`SanitizeStudentHTML`, :class:`RenderMathOffline`,
  :class:`FeedbackSummary` (after GetGrades and nbgrader's ClearHiddenTests).
"""
from .audit_student_code import AuditStudentCode
from .drop_empty_grader_metadata import DropEmptyGraderMetadata
from .enforce_exam_answers import EnforceExamAnswers
from .feedback_summary import FeedbackSummary
from .grade_in_sandbox import GradeInSandbox
from .inject_exam_variant import InjectExamVariant
from .redact_hidden_test_output import RedactHiddenTestOutput
from .render_math_offline import RenderMathOffline
from .sanitize_student_html import SanitizeStudentHTML
from .stamp_exam import StampExam

__all__ = ["AuditStudentCode", "DropEmptyGraderMetadata", "EnforceExamAnswers", "FeedbackSummary",
           "GradeInSandbox", "InjectExamVariant", "RedactHiddenTestOutput", "RenderMathOffline", "SanitizeStudentHTML",
           "StampExam"]
