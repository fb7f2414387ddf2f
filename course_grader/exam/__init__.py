"""The exam on the instructor's side: settings, typed-answer verdicts, late penalty, report, preview.

* :mod:`.settings` -- ``c.Exam.*`` in ``nbgrader_config.py`` (the one source of truth) and the
  instructor-only solver (``instructor/<assignment>_solution.py``);
* :mod:`.answers` -- which test cell grades which answer cell, the tolerances, and the verdict on
  the typed answers (read from the answer cells' sources, never from the kernel);
* :mod:`.late_penalty` -- the exam's late penalty (nbgrader's ``LateSubmissionPlugin``);
* :mod:`.report` and :mod:`.preview` -- ``course exam report`` and ``course exam preview``.

The nbgrader hooks that use them are in :mod:`course_grader.preprocessors` (``StampExam``,
``InjectExamVariant``, ``EnforceExamAnswers``), registered in ``nbgrader_config.py``; so
``nbgrader autograde`` and ``course grade`` grade the exam the same way.
"""
