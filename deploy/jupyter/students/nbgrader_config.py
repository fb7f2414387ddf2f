"""nbgrader as students see it: the course's exchange, and Validate with the grader's patience."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "mi-deep-learning-week1")
c.Exchange.root = os.environ.get("COURSE_EXCHANGE_ROOT", "/srv/mi-course-hub/exchange")
# Validate runs the notebook as grading does: the same per-cell time limit and kernel options.
c.Execute.timeout = 120
c.Execute.extra_arguments = ["--IPKernelApp.capture_fd_output=False", "--InteractiveShell.xmode=Minimal"]
