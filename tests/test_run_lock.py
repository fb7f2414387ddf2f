"""One ``course grade`` run per assignment at a time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_grader.cli import main
from course_grader.grading.run_lock import GradingBusy, assignment_lock

HOLD = """
import sys, time
from pathlib import Path
from course_grader.grading.run_lock import assignment_lock
with assignment_lock(Path(sys.argv[1]), "w1a1_single_neuron"):
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_second_run_of_the_same_assignment_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(GradingBusy, match=r"w1a1_single_neuron is being graded by pid \d+"):
            with assignment_lock(tmp_path, "w1a1_single_neuron"):
                pass
        with assignment_lock(tmp_path, "w1a2_forward_pass"):  # another assignment is free
            pass
        assert main(["grade", "w1a1_single_neuron", "--course", str(tmp_path)]) == 2
        assert "is being graded by pid" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with assignment_lock(tmp_path, "w1a1_single_neuron"):  # a killed holder leaves nothing locked
        pass
