"""The grading run's speed levers change how long it takes, never what it computes: the kernel client
that is ready without waiting for IOPub silence, nbgrader's metadata checks with one validator per
schema, jsonschema imported without its IRI grammar,
and an embedded Dask cluster without the periodic housekeeping only a dashboard reads."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import jsonschema
import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from traitlets import Type

from course_grader.grading import nbgrader_steps as steps
from course_grader.grading.sandboxed_kernel import ReadyKernelClient, SandboxedKernelManager


class _ReadyManager(AsyncKernelManager):
    client_factory = Type(ReadyKernelClient, klass=ReadyKernelClient)


def test_the_sandboxed_kernel_manager_hands_out_the_ready_client() -> None:
    assert isinstance(SandboxedKernelManager().client(), ReadyKernelClient)


def test_a_ready_kernel_loses_no_output_of_its_first_cells() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('first')"), nbformat.v4.new_code_cell("1 + 1"),
                nbformat.v4.new_code_cell("import sys; print('err', file=sys.stderr)")]
    NotebookClient(nb, kernel_manager_class=_ReadyManager, timeout=60).execute()
    assert nb.cells[0].outputs[0]["text"] == "first\n"
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "2"
    assert nb.cells[2].outputs[0]["name"] == "stderr"


@pytest.mark.parametrize("client, waits", [(ReadyKernelClient, False), (None, True)])
def test_ready_does_not_wait_for_iopub_silence(client, waits: bool) -> None:
    """jupyter_client's own client waits 0.2 s of IOPub silence every time; the ready client does not."""
    async def measure() -> float:
        km = _ReadyManager() if client else AsyncKernelManager()
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            started = time.monotonic()
            await kc.wait_for_ready(timeout=60)  # the kernel is up: only the readiness protocol is timed
            return time.monotonic() - started
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    seconds = asyncio.run(measure())
    assert (seconds >= 0.2) is waits, seconds


def _cells(n: int, bad: bool = False) -> list:
    meta = {"grade": True, "solution": False, "locked": True, "points": 1, "schema_version": 3, "task": False}
    if bad:
        meta["points"] = "one"
    return [nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": dict(meta, grade_id=f"c{i}")}) for i in range(n)]


def _verdict(cells: list) -> str:
    try:
        MetadataValidatorV3().validate_nb(nbformat.v4.new_notebook(cells=cells))
    except jsonschema.ValidationError as exc:
        return exc.message
    return "valid"


def test_metadata_checks_give_the_same_verdicts_with_one_validator_per_schema(monkeypatch) -> None:
    cls = jsonschema.validators.validator_for(MetadataValidatorV3().schema)
    checked = []
    original = cls.check_schema.__func__
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, schema, *a, **k: checked.append(1)
                                                         or original(c, schema, *a, **k)))
    stock = [_verdict(_cells(20)), _verdict(_cells(3, bad=True))]
    assert stock[0] == "valid" and "'one'" in stock[1]
    assert len(checked) == 21  # jsonschema.validate checks the schema for every cell
    checked.clear()
    with steps.schemas_checked_once():
        assert [_verdict(_cells(20)), _verdict(_cells(3, bad=True))] == stock
    assert len(checked) == 1  # once per schema (nbgrader loads it again for each validator)


def test_grading_processes_import_jsonschema_without_the_iri_grammar() -> None:
    code = ("import sys, importlib.util; import course_grader, nbformat; "
            "assert 'jsonschema' in sys.modules and 'rfc3987_syntax' not in sys.modules; "
            "nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])); "
            "spec = importlib.util.find_spec('rfc3987_syntax'); "
            "assert spec is None or __import__('rfc3987_syntax').is_valid_syntax('iri', 'http://a.b/c')")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


_EXIT_PROBE = """
import atexit, gc, sys
from pathlib import Path
out = Path(sys.argv[1])
atexit.register(lambda: out.write_text(f"{gc.get_freeze_count()} {int(handler_ran)}"))  # runs last
{entry}
handler_ran = False
def later_handler():
    global handler_ran
    handler_ran = True
atexit.register(later_handler)
garbage = [[[] for _ in range(100)] for _ in range(1000)]
"""


@pytest.mark.parametrize("entry", [
    # a grading worker: its first task (or the warm-up before it)
    "from course_grader.grading.remote_execution import execute_submission\n"
    "assert execute_submission({'student': 's', 'notebooks': [], 'files': {}, 'limits': {}, "
    "'execute_config': {}})['notebooks'] == {}",
    # the course command, whatever the subcommand
    "from course_grader import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass",
])
def test_grading_processes_exit_without_a_final_garbage_collection(tmp_path, entry: str) -> None:
    """A worker that imported Keras spends about 2 s of CPU at exit collecting garbage, while the cluster's
    close waits; frozen objects are skipped, and every exit handler still runs."""
    out = tmp_path / "exit.txt"
    subprocess.run([sys.executable, "-c", _EXIT_PROBE.replace("{entry}", entry), str(out)], check=True,
                   timeout=120, capture_output=True)
    frozen, handler_ran = map(int, out.read_text().split())
    assert frozen > 100_000 and handler_ran == 1


def test_without_it_a_process_collects_at_exit(tmp_path) -> None:
    out = tmp_path / "exit.txt"
    subprocess.run([sys.executable, "-c", _EXIT_PROBE.replace("{entry}", "pass"), str(out)], check=True, timeout=60)
    assert out.read_text() == "0 1"


def test_the_embedded_cluster_runs_without_dashboard_housekeeping() -> None:
    """No stack sampling in the workers, and the event-loop tick and psutil monitors at seconds, not at
    Dask's 10-500 ms: on an idle 2-worker cluster that was about 13% of one core taken from the kernels."""
    from course_grader.grading.runner import _Cluster

    def intervals(server) -> dict[str, float]:  # Dask passes the process's server by parameter name
        return {name: pc.callback_time for name, pc in server.periodic_callbacks.items()}

    cluster = _Cluster(None, 1)
    try:
        (worker,) = cluster.client.run(lambda dask_worker: intervals(dask_worker)).values()
        (nanny,) = cluster.client.run(lambda dask_worker: intervals(dask_worker), nanny=True).values()
        scheduler = cluster.client.run_on_scheduler(lambda dask_scheduler: intervals(dask_scheduler))
    finally:
        cluster.close()
    assert "profile" not in worker and "profile-cycle" not in worker, sorted(worker)
    for server in (worker, nanny, scheduler):
        assert server["tick"] >= 1000, server
        assert server["monitor"] >= 5000, server
    assert nanny["memory_monitor"] >= 1000, nanny
    assert not any(name.startswith("amm") for name in scheduler), sorted(scheduler)
