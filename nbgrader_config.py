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
c.Execute.extra_arguments = ["--IPKernelApp.capture_fd_output=False"]
c.Execute.kernel_name = "python3"
c.LimitOutput.max_lines = 500
c.LimitOutput.max_length = 20000

c.Exchange.assignment_dir = str(HERE)
