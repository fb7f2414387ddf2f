"""nbgrader as instructors see it in the hub: their private course folder, with its own configuration."""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)
course = Path.home() / os.environ.get("COURSE_FOLDER", "mi-week1")
if (course / "nbgrader_config.py").is_file():
    load_subconfig(str(course / "nbgrader_config.py"))  # noqa: F821 (the course's one configuration)
c.CourseDirectory.root = str(course)
c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "mi-deep-learning-week1")
c.Exchange.root = os.environ.get("COURSE_EXCHANGE_ROOT", "/srv/mi-course-hub/exchange")
