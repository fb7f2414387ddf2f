"""``course grade``: parallel, sandboxed, resumable autograding on top of nbgrader.

nbgrader stays the source of truth (config, gradebook, converters and preprocessors);
this package only changes *where* the Execute step runs:

* :mod:`.nbgrader_steps` -- the coordinator runs nbgrader's sanitize preprocessors and,
  once a notebook comes back executed, every autograde preprocessor except Execute
  (the only gradebook writer);
* :mod:`.remote_execution` -- a Dask task that runs nbgrader's own Execute preprocessor
  against a kernel started by :mod:`.sandboxed_kernel` inside :mod:`.sandbox` (bubblewrap
  plus rlimits plus a throw-away uid), under the :mod:`.limits`;
* :mod:`.runner` -- scheduling, resumability (:mod:`.state`), progress and summary;
* :mod:`.exports`, :mod:`.feedback`, :mod:`.report` -- the CSVs, feedback and class report.
"""
from __future__ import annotations

from .limits import Limits

__all__ = ["Limits"]
