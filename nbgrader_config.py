"""nbgrader configuration of the Week-1 deep-learning course (the single source of truth)."""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "mi-deep-learning-week1"
c.CourseDirectory.root = os.environ.get("COURSE_ROOT", str(HERE))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.partial"]
# The embedded default gradebook: SQLite in the course root (COURSE_DB_URL overrides, e.g. PostgreSQL).
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL", f"sqlite:///{Path(c.CourseDirectory.root) / 'gradebook.db'}")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading runs every notebook in a fresh kernel. Library warnings must never reach stderr
# (nbgrader scores a test cell that wrote to stderr as 0): the kernel does not forward
# C-level writes to fd 2, and the locked set-up cell routes Python warnings to stdout.
c.Execute.timeout = 120
# Minimal tracebacks: a failing hidden test shows its message, never its source lines (no leak).
c.Execute.extra_arguments = ["--IPKernelApp.capture_fd_output=False", "--InteractiveShell.xmode=Minimal"]
c.Execute.kernel_name = "python3"
c.LimitOutput.max_lines = 500

c.Exchange.assignment_dir = str(HERE)

# Tamper-proofing (see course_grader/audit.py and README "Attacks defended").
# A cell tagged `skip-execution` is run all the same: no tag may skip a test cell.
c.Execute.skip_cells_with_tag = "course-never-skip-a-cell"
# A deleted test cell is put back and run.
c.OverwriteCells.add_missing_cells = True
# Student code is audited after nbgrader restored the locked cells and before anything runs.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput,
    OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)

from course_grader.preprocessors import AuditStudentCode, DropEmptyGraderMetadata, GradeInSandbox  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    DropEmptyGraderMetadata,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
# GradeInSandbox is nbgrader's Execute step run as `course grade` runs it: the kernel in the bubblewrap
# sandbox, every test cell judged in the grader's process (course_grader/grading/grader_checks.py).
c.Autograde.autograde_preprocessors = [
    AuditStudentCode,
    GradeInSandbox,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# ---- The Week-1 exam `w1exam` (course_utils/exam.py, course_grader/exam/) ------------------------
# Every student's numbers derive from sha256("<seed>:<student id>"); `course release` stamps the seed
# into the released notebook, so change it before releasing (then re-release). Not secret.
c.Exam.assignment = "w1exam"
c.Exam.seed = 20250506
# The exam window: `end` becomes the gradebook's due date (timestamp.txt after it = late).
c.Exam.start = "2025-05-06 09:00:00 Europe/Zurich"
c.Exam.end = "2025-05-06 10:30:00 Europe/Zurich"
c.Exam.grace_minutes = 2.0             # on time up to 2 minutes after `end`
c.Exam.late_penalty_per_minute = 0.1   # then 10% of the exam's score per started minute (0 points after 10 minutes)
c.AssignLatePenalties.plugin_class = "course_grader.exam.late_penalty.ExamLatePenalty"  # other assignments: nbgrader's
from nbgrader.converters import GenerateAssignment as _GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [
    "course_grader.preprocessors.StampExam", *_GenerateAssignment.class_traits()["preprocessors"].default()]
# Grade the submitting student's true variant: after the locked cells are restored (and audited),
# before anything runs; then re-check the typed answers outside the kernel once the scores are saved.
_exam_grading = list(c.Autograde.autograde_preprocessors)
_exam_grading.insert(_exam_grading.index(GradeInSandbox), "course_grader.preprocessors.InjectExamVariant")
_exam_grading.insert(_exam_grading.index(SaveAutoGrades) + 1, "course_grader.preprocessors.EnforceExamAnswers")
c.Autograde.autograde_preprocessors = _exam_grading

# ---- Student feedback: nbgrader's own GenerateFeedback (`nbgrader generate_feedback`, `course grade`) ----
# The autograded notebook holds the hidden tests again (OverwriteCells restored them): nbgrader's
# ClearHiddenTests removes them from the sources (grade cells keep their nbgrader metadata in the
# autograded notebook, so its default enforce_metadata=True holds; a student's own cell that types a
# delimiter fails that student's page, and `course grade` then writes a page of scores and reasons
# only), RedactHiddenTestOutput from the outputs, SanitizeStudentHTML (nbconvert's bleach sanitiser)
# keeps student HTML and JavaScript from running in the page, RenderMathOffline then writes every
# markdown cell's TeX as MathML (its own allow-list: no TeX can add a tag, link or style), and
# FeedbackSummary puts the score table on top. The page's template, course_grader/templates/
# course_feedback, is nbgrader's feedback page with a head that loads no MathJax and no script from
# a CDN: the maths shows on a hub without internet.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

import course_grader  # noqa: E402
import nbgrader  # noqa: E402
from course_grader.preprocessors import (  # noqa: E402
    FeedbackSummary, RedactHiddenTestOutput, RenderMathOffline, SanitizeStudentHTML,
)

c.GenerateFeedback.preprocessors = [
    GetGrades, ClearHiddenTests, RedactHiddenTestOutput, SanitizeStudentHTML, RenderMathOffline, FeedbackSummary,
    CSSHTMLHeaderPreprocessor]
# Set for GenerateFeedback's exporter only: nbgrader's own defaults (GenerateFeedback.__init__, the
# formgrader's "generate feedback") set the global HTMLExporter section and cannot undo it, and the
# formgrader keeps its `formgrade` template. The folders of the chain course_feedback -> nbgrader's
# feedback -> classic are basedirs; nbgrader's template folder is also a plain template path (where
# `extends 'feedback/index.html.j2'` is found), and so is its bootstrap.min.css folder.
_NBGRADER_FORMGRADER = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader"
_feedback_page = c.GenerateFeedback.HTMLExporter
_feedback_page.template_name = "course_feedback"
_feedback_page.extra_template_basedirs = [
    str(Path(course_grader.__file__).resolve().parent / "templates"), str(_NBGRADER_FORMGRADER / "templates")]
_feedback_page.extra_template_paths = [
    str(_NBGRADER_FORMGRADER / "templates"),
    str(_NBGRADER_FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
