"""The executor's half of :mod:`.grader_checks`: run a test cell's released code in the kernel,
then judge the whole cell in the grader, talking to the live kernel through ``user_expressions``."""
from __future__ import annotations

import ast
import threading

from jupyter_core.utils import run_sync

from . import wire
from .execution_mode import AUTOGRADE, nbgrader_execution
from .grader_checks import Verdict, apply_verdict, is_test_cell, judge, machinery_failure, visible_source
from .kernel_values import TIMEOUT, Kernel, KernelTimeout


#: Checks run one at a time in a grading process: they swap process-wide state (warning filters, stdout).
JUDGE_LOCK = threading.Lock()


class GradeOutsideKernel:
    """Mixin for nbgrader's ``Execute`` (an nbclient ``NotebookClient``): test cells are judged here.

    ``reference_run``: the notebook is the instructor's reference solution (the pre-flight), judged as the
    instructor runs it; otherwise it is a student's submission, judged under ``autograde``.
    """

    reference_run = False

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        full = cell.source
        cell.source = visible_source(full)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = full
        reason = machinery_failure(cell)
        if reason:
            verdict = Verdict(False, reason, "NotGraded")
        else:
            with JUDGE_LOCK, nbgrader_execution(None if self.reference_run else AUTOGRADE):
                verdict = judge(self.nb, index, Kernel(self._ask_kernel))
        apply_verdict(cell, verdict)
        return cell, resources

    def _ask_kernel(self, ops: list[dict], what: str) -> list[dict]:
        expression = wire.kernel_expression(wire.request_text(ops))
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"answer": expression},
                                 allow_stdin=False, stop_on_error=False)
        reply = run_sync(self.async_wait_for_reply)(msg_id)
        if reply is None:
            raise KernelTimeout(TIMEOUT.format(name=what, seconds=self.timeout or 0))
        content = reply["content"]
        result = (content.get("user_expressions") or {}).get("answer") or {}
        if content.get("status") != "ok" or result.get("status") != "ok":
            failure = result if result.get("status") == "error" else content
            if failure.get("ename") == "KeyboardInterrupt":
                raise KernelTimeout(TIMEOUT.format(name=what, seconds=self.timeout or 0))
            raise AssertionError(f"the grader could not read {what} from the notebook "
                                 f"({failure.get('ename')}: {str(failure.get('evalue'))[:200]})")
        try:
            return wire.read_answer(ast.literal_eval(result["data"]["text/plain"]))
        except Exception as exc:  # noqa: BLE001 - a kernel that answers garbage answers nothing
            raise AssertionError(f"the grader could not read {what} from the notebook ({type(exc).__name__})") from None
