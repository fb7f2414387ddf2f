"""course_grader: the instructor's side of the Week-1 course (never installed for students).

* :mod:`.cli` -- the ``course`` command (data, release, grade, exam, demo, points);
* :mod:`.course` -- runs nbgrader's own apps on the course folder;
* :mod:`.notebooks` -- reading nbgrader notebooks (cell roles, solutions, assignments);
* :mod:`.preprocessors` -- this course's nbgrader preprocessors, one class per module;
* :mod:`.audit` -- the static audit of student code (reported to the instructor);
* :mod:`.exam` -- the exam's grading side (settings, typed-answer verdicts, late penalty, report);
* :mod:`.grading` -- ``course grade``: runner, sandbox, limits, state, exports, report, feedback.

It depends on the student runtime :mod:`course_utils` (the same checks and typed-answer rules
the students' notebooks use), never the other way round.
"""
from .lean_imports import jsonschema_without_iri_grammar

jsonschema_without_iri_grammar()

