"""``course grade``: schedule every submission of an assignment, collect, score, record, export."""
from __future__ import annotations

import fnmatch
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import nbgrader_steps as steps
from .device import memory_fraction
from .device import resolve as resolve_device
from .limits import Limits
from .run_lock import assignment_lock
from .grader_checks import MACHINERY_ERRORS
from .kernel_templates import preload_modules
from .sandbox import SandboxUnavailable
from .remote_execution import CUT_NOTICE, confinement, execute_submission, mark_failure, warm_template
from .state import GradingState, _files, grader_fingerprint, tree_hash
from .safe_text import printable
from .submission_files import describe, notebook_refusal, vetted_copy

INTERRUPTED = "grading did not finish (interrupted or still running); run `course grade` again"
#: A submission whose sandbox failed before any student code ran is tried this many times more.
RETRIES = 2
#: The same machinery failure for this share of the class (and at least 3 submissions) stops the run.
STOP_SHARE = 1 / 3


@dataclass
class GradeRun:
    """What one ``course grade`` run did."""

    assignment: str
    graded: list[str] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)  # student -> problems (still scored, 0 where fair)
    not_graded: dict[str, list[str]] = field(default_factory=dict)  # student -> machinery failures (no score)
    stopped: str | None = None  # why the run stopped early
    skipped: list[str] = field(default_factory=list)  # unchanged since the last run
    seconds: float = 0.0
    outputs: dict[str, Path] = field(default_factory=dict)
    notebooks: int = 0  # notebooks executed on the cluster (pre-flight not counted)
    cell_seconds: float = 0.0  # wall time their code cells (student and test cells) took to run

    def summary(self) -> str:
        lines = [f"{self.assignment}: {len(self.graded)} graded ({len(self.failed)} with problems), "
                 f"{len(self.not_graded)} NOT graded, {len(self.skipped)} unchanged, {self.seconds:.1f} s"]
        for student, problems in sorted(self.failed.items()):
            lines.append(f"  {student}: " + "; ".join(problems))
        for student, reasons in sorted(self.not_graded.items()):
            lines.append(f"  NOT GRADED {student}: " + "; ".join(reasons))
        if self.stopped:
            lines.append(f"  stopped early: {self.stopped}")
        if self.not_graded:
            lines.append("  no score was stored for the submissions not graded: fix the cause, then run "
                         "`course grade` again (it grades only what is missing)")
        for name, path in self.outputs.items():
            lines.append(f"  {name}: {path}")
        return "\n".join(printable(line) for line in lines)  # student text: no terminal escapes


def find_students(root: Path, assignment: str, pattern: str = "*") -> list[str]:
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir()
                  if (p / assignment).is_dir() and fnmatch.fnmatchcase(p.name, pattern))


def course_limits(app) -> Limits:
    """Limits from ``c.CourseGrade.*`` in nbgrader_config.py; cell wall clock = ``c.Execute.timeout``."""
    values = dict(app.config.get("CourseGrade", {}))
    timeout = app.config.get("Execute", {}).get("timeout", 30)
    return Limits.from_mapping(values).with_cell_wall(timeout)


def execute_config(config) -> dict:
    """The sections of an nbgrader ``config`` that its Execute preprocessor reads, shipped to the workers."""
    return {k: dict(config[k]) for k in ("Execute", "ExecutePreprocessor", "NotebookClient", "NbGraderPreprocessor")
            if k in config}


def shared_data_cache() -> str | None:
    """The verified data cache the sandboxes mount read-only (None when there is none)."""
    from course_utils.paths import default_cache

    cache = default_cache()
    return str(cache) if cache.is_dir() else None


def problems_by_cell(nb_json: str, cut_cells: list[int] = ()) -> dict[str, str]:
    """grade_id -> reason for every cell the grader stopped, cut or timed out.

    Only the grader's own marks count: error names the notebook itself raised were renamed on
    arrival, and which cells had their output cut comes from the executor (``cut_cells``), not from text.
    """
    nb = nbformat.reads(nb_json, as_version=4)
    out: dict[str, list[str]] = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell #{index}"
        if index in cut_cells:
            out.setdefault(grade_id, []).append(CUT_NOTICE)
        for o in cell.get("outputs", []):
            if o.output_type == "error" and o.get("ename") in MACHINERY_ERRORS:
                out.setdefault(grade_id, []).append(o.get("evalue", ""))
    # a cell can hit two limits (its output is cut, then it runs out of time draining it): name both
    return {grade_id: "; ".join(reasons) for grade_id, reasons in out.items()}


class _ClusterStartup:
    """Starts the cluster in a background thread and each worker's kernel template as soon as it is up."""

    def __init__(self, scheduler: str | None, workers: int | None, preload: list[str], limits: Limits) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="course-grade-cluster")
        self._future = self._pool.submit(self._start, scheduler, workers, preload, limits)

    @staticmethod
    def _start(scheduler: str | None, workers: int | None, preload: list[str], limits: Limits) -> "_Cluster":
        cluster = _Cluster(scheduler, workers)
        try:
            cluster.client.run(warm_template, preload, limits.to_dict())  # returns once they are started
        except Exception:  # noqa: BLE001 - only a head start: a worker starts its template when it needs it
            pass
        return cluster

    def done(self) -> bool:
        return self._future.done()

    def result(self) -> "_Cluster":
        """The cluster (waits for it; raises what starting it raised)."""
        return self._future.result()

    def close(self) -> None:
        try:
            cluster = self._future.result()
        except Exception:  # noqa: BLE001 - it never started: nothing to close
            cluster = None
        if cluster is not None:
            cluster.close()
        self._pool.shutdown()


def _failed_execution(sanitized_dir: Path, names: list[str], reason: str) -> dict:
    notebooks = {}
    for name in names:
        nb = nbformat.read(str(sanitized_dir / f"{name}.ipynb"), as_version=4)
        mark_failure(nb, None, reason)
        notebooks[name] = {"nb": nbformat.writes(nb), "problems": [reason], "seconds": 0.0}
    return {"notebooks": notebooks}


# The embedded cluster: no HTTP routes, and none of Dask's periodic housekeeping that only a dashboard reads.
# Left at Dask's defaults (a stack sample every 10 ms, an event-loop tick every 20 ms, psutil every 100 and
# 500 ms), an idle 2-worker cluster burns about 13% of one core, CPU that the students' kernels then lack.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.active-memory-manager.start": False,
    "distributed.client.scheduler-info-interval": "10s",
    "distributed.deploy.cluster-repr-interval": "10s",
}


class _Cluster:
    """A Dask client: the given scheduler, or an embedded LocalCluster sized to the machine."""

    def __init__(self, scheduler: str | None, workers: int | None) -> None:
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
        else:
            import dask

            n = workers or os.cpu_count() or 1
            dask.config.set(LOCAL_CLUSTER_CONFIG)
            # private: no dashboard, loopback only, TLS with temporary credentials that only this process holds
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                        dashboard_address=None, silence_logs=40, security=True)
            self.client = Client(self.cluster)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def future_deadline(limits: Limits, notebooks: int) -> float:
    """Seconds a submission may take on the cluster, queueing included, before it is given up."""
    return 2 * (notebooks * (limits.notebook_wall_s + 60) + 60)


def preflight_problem(result: dict, names: list[str]) -> str | None:
    """Why the reference run did not get full marks (None when it did)."""
    from .grader_checks import is_test_cell

    for name in names:
        r = result.get("notebooks", {}).get(name)
        if r is None:
            return f"{name}.ipynb is not in source/"
        if "infrastructure" in r:
            return r["infrastructure"]
        nb = nbformat.reads(r["nb"], as_version=4)
        lost = [f"{cell.metadata['nbgrader']['grade_id']} ({out.get('evalue') or out.get('ename')})"
                for cell in nb.cells if is_test_cell(cell)
                for out in cell.get("outputs", [])[:1] if out.get("output_type") == "error"]
        if lost or r.get("problems"):
            return (f"the reference solution of {name}.ipynb does not get full marks in the sandbox: "
                    + "; ".join(lost[:3] + r.get("problems", [])[:2]))
    return None


def grade_assignment(root: Path | str, assignment: str, students: str = "*", workers: int | None = None,
                     scheduler: str | None = None, force: bool = False, progress: bool = True,
                     export: bool = True, limits: Limits | None = None, device: str | None = None,
                     preflight: bool = True) -> GradeRun:
    """Grade every submission of ``assignment``; ``device`` (auto/cpu/cuda) overrides ``c.CourseGrade.device``.

    ``preflight``: first run the reference solution (``source/``) in the students' sandbox on the
    cluster; unless it gets full marks, nothing is graded and the run says why (``run.stopped``).
    """
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own session noise
    started = time.monotonic()
    root = Path(root).resolve()
    with (steps.course_root_env(root), assignment_lock(root, assignment), steps.one_engine_per_database(),
          steps.schemas_checked_once()):
        return _grade(root, assignment, students, workers, scheduler, force, progress, export, limits, device,
                      started, preflight)


def _grade(root, assignment, students, workers, scheduler, force, progress, export, limits, device,
           started, preflight) -> GradeRun:
    from distributed import as_completed
    from tqdm import tqdm

    app = steps.load_app(root, assignment)
    db_url = app.coursedir.db_url
    try:
        expected = steps.assignment_notebooks(db_url, assignment)
    except Exception as exc:
        raise SystemExit(f"assignment {assignment!r} is not in the gradebook ({exc}); "
                         "run `nbgrader generate_assignment` (or `course release`) first") from None
    limits = (limits or course_limits(app)).with_cell_wall(app.config.get("Execute", {}).get("timeout", 30))
    chosen = resolve_device(device or limits.device, root, assignment)
    # the GPU memory share follows the worker count only on the GPU (on the CPU it must not force regrades)
    share = memory_fraction(workers or os.cpu_count() or 1) if chosen == "cuda" else Limits.gpu_memory_fraction
    limits = limits.with_device(chosen, share)
    config = execute_config(app.config)
    config.setdefault("Execute", {})["timeout"] = int(limits.cell_wall_s)  # one per-cell wall-clock limit
    data_cache = shared_data_cache()
    source = root / "source" / assignment
    # kernels fork from a template that has imported what the reference solution imports
    preload = preload_modules(source) if source.is_dir() else []
    state = GradingState.for_assignment(root, assignment)
    fingerprint = grader_fingerprint(root, assignment, limits.to_dict())
    run = GradeRun(assignment)
    everyone = find_students(root, assignment, students)
    hashes = {s: tree_hash(root / "submitted" / s / assignment) for s in everyone}
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        in_gradebook = {sub.student_id for sub in gb.find_assignment(assignment).submissions}
    pending = []
    for s in everyone:
        if not force and s in in_gradebook and state.is_current(s, hashes[s], fingerprint):
            run.skipped.append(s)
        else:
            pending.append(s)

    bar = tqdm(total=len(everyone), initial=len(run.skipped), desc=f"grade {assignment}", unit="student",
               disable=not progress)
    pre_failed: dict[str, dict[str, str]] = {}  # student -> notebook -> reason (never executed)
    refusals: dict[str, list[str]] = {}  # student -> entries of the submission refused (links, devices...)
    # nbgrader reads each submission from a vetted copy: plain files only, no link ever followed
    staging = root / "grading-state" / f"vetted-{assignment}"
    app.coursedir.submitted_directory = str(staging.relative_to(root))
    sanitized_names: dict[str, list[str]] = {}

    def finish(student: str, result: dict) -> None:
        results = result.get("notebooks", {})
        executed = {name: r["nb"] for name, r in results.items() if "nb" in r}
        machinery = {name: r["infrastructure"] for name, r in results.items() if "infrastructure" in r}
        problems: list[str] = []
        comments: dict[str, dict[str, str]] = {}
        if executed:
            try:
                steps.score(app, student, executed)
            except steps.ScoringFailed as exc:
                machinery.update({name: f"nbgrader could not score it: {exc}" for name in executed})
                executed = {}
                results = {name: {"infrastructure": machinery[name]} for name in results}
        for name, reason in machinery.items():
            steps.mark_not_graded(db_url, assignment, student, name, reason)
            comments[name] = {"*": f"not graded: {reason}"}
        if machinery:
            run.not_graded[student] = [f"{name}: {reason}" for name, reason in machinery.items()]
        for name, r in results.items():
            if "nb" not in r:
                continue
            run.notebooks += 1
            run.cell_seconds += r.get("cell_seconds", 0.0)
            problems += r.get("problems", [])
            comments[name] = problems_by_cell(r["nb"], r.get("cut_cells", []))
            problems += [f"{cell}: {why}" for cell, why in comments[name].items()
                         if not any(why in p for p in problems)]
            steps.fail_closed(db_url, assignment, student, name, None, comments[name])
        problems += refusals.get(student, [])
        for name, reason in pre_failed.get(student, {}).items():
            problems.append(reason)
            comments[name] = {"*": reason}
            steps.fail_closed(db_url, assignment, student, name, reason)
        if problems:
            run.failed[student] = problems
        if not machinery:
            run.graded.append(student)
        status = "not graded" if machinery else "failed" if problems else "graded"
        state.record(student, submission=hashes[student], grader=fingerprint,
                     status=status, problems=problems + run.not_graded.get(student, []), comments=comments,
                     seconds=round(sum(r.get("seconds", 0) for r in result.get("notebooks", {}).values()), 2),
                     host=result.get("host"))
        bar.update(1)

    if pending and not scheduler:  # this machine's sandboxes: checked before anything is written
        try:
            cgroup = confinement(limits)
        except SandboxUnavailable as exc:
            run.stopped = f"pre-flight failed, nothing was graded: {exc}"
            run.not_graded = {s: [run.stopped] for s in pending}
            pending = []
        else:
            if cgroup is not None:
                cgroup.close()
    # the cluster (and each worker's kernel template) starts while the first submissions are prepared
    startup = _ClusterStartup(scheduler, workers, preload, limits) if pending else None
    cluster: _Cluster | None = None
    try:
        futures = None
        in_flight: dict[str, str] = {}  # future key -> student
        checking: list = []  # the pre-flight's future until its result is in
        queued: list[str] = []  # prepared submissions waiting for the cluster
        max_in_flight = 1

        def connect() -> None:
            """Once the cluster is up: the pre-flight first, then how many submissions may be in flight."""
            nonlocal cluster, futures, max_in_flight
            cluster = startup.result()
            futures = as_completed([], with_results=True, raise_errors=False)
            if preflight and source.is_dir():
                # runs beside the first submissions; no result of theirs is scored before it passed
                reference = {"student": "(pre-flight)", "assignment": assignment, "notebooks": expected,
                             "files": {str(p.relative_to(source)): p.read_bytes() for p in _files(source)},
                             "execute_config": config, "limits": limits.to_dict(), "data_cache": data_cache,
                             "preload": preload, "reference": True}
                checking.append(cluster.client.submit(execute_submission, reference, pure=False,
                                                      key=f"preflight-{assignment}-{uuid.uuid4().hex[:8]}"))
            max_in_flight = 2 * max(1, len(cluster.client.scheduler_info().get("workers", {})))

        def send_queued(wait: bool) -> None:
            """Submit the prepared submissions once the cluster is up (``wait``: wait for it)."""
            if startup is None or (cluster is None and not wait and not startup.done()):
                return
            if cluster is None:
                connect()
            while queued:
                submit(queued.pop(0))
                drain(max_in_flight - 1)

        def preflight_failed(wait: bool) -> bool:
            """Whether the pre-flight failed (stopping the run); waits for its result when ``wait``."""
            if checking and (wait or checking[0].done()):
                future = checking.pop()
                try:
                    result = future.result(timeout=future_deadline(limits, len(expected)))
                except TimeoutError:
                    result = {"notebooks": {n: {"infrastructure": "the pre-flight did not finish within its deadline"}
                                            for n in expected}}
                except Exception as exc:  # noqa: BLE001 - the worker failed: so did the pre-flight
                    result = {"notebooks": {n: {"infrastructure": f"the pre-flight's worker failed: {exc!r}"[:500]}
                                            for n in expected}}
                problem = preflight_problem(result, expected)
                if problem:
                    run.stopped = f"pre-flight failed, nothing was graded: {problem}"
            return bool(run.stopped) and run.stopped.startswith("pre-flight failed")

        payloads: dict[str, dict] = {}
        attempts: dict[str, int] = {}
        machinery_failures: dict[str, set[str]] = {}  # reason -> students

        running: dict[str, tuple[object, float]] = {}  # future key -> (future, when it is given up)

        def submit(student: str) -> None:
            future = cluster.client.submit(execute_submission, payloads[student], pure=False,
                                           key=f"grade-{assignment}-{student}-{uuid.uuid4().hex[:8]}")
            in_flight[future.key] = student
            deadline = time.monotonic() + future_deadline(limits, len(payloads[student]["notebooks"]))
            running[future.key] = (future, deadline)
            futures.add(future)

        def next_result() -> tuple[str, dict | None]:
            """(future key, result) of the next future that finished or ran past its deadline."""
            while not futures.has_ready():
                overdue = [key for key in in_flight if time.monotonic() > running[key][1]]
                if overdue:
                    running[overdue[0]][0].cancel()
                    return overdue[0], {"notebooks": {n: {"infrastructure": "the grading worker did not answer "
                                                           "within its deadline (notebook wall clock plus a margin)"}
                                                       for n in sanitized_names[in_flight[overdue[0]]]}}
                time.sleep(0.02)
            future, result = next(futures)
            ok = future.status == "finished" and isinstance(result, dict)
            return future.key, result if ok else {"notebooks": {
                n: {"infrastructure": f"the grading worker failed: {result!r}"[:500]}
                for n in sanitized_names.get(in_flight.get(future.key, ""), [])}}

        def drain(keep: int) -> None:
            """Score results as they arrive; wait until at most ``keep`` submissions are in flight."""
            while in_flight and (len(in_flight) > keep or futures.has_ready()):
                key, result = next_result()
                if key not in in_flight:  # a future given up on earlier (cancelled), arriving late
                    continue
                student = in_flight.pop(key)
                running.pop(key, None)
                if preflight_failed(wait=True):  # executed, but the reference did not pass: not scored
                    finish(student, {"notebooks": {n: {"infrastructure": run.stopped} for n in sanitized_names[student]}})
                    continue
                failures = [r["infrastructure"] for r in result.get("notebooks", {}).values() if "infrastructure" in r]
                if failures and attempts.get(student, 0) < RETRIES and not run.stopped:
                    attempts[student] = attempts.get(student, 0) + 1
                    submit(student)  # the machinery's fault: try again
                    continue
                for reason in failures:
                    machinery_failures.setdefault(reason, set()).add(student)
                    count = len(machinery_failures[reason])
                    if count >= 3 and count >= STOP_SHARE * len(pending) and not run.stopped:
                        run.stopped = f"{count} submissions failed the same way: {reason}"
                payloads.pop(student, None)
                finish(student, result)

        for student in pending:
            if preflight_failed(wait=False):
                run.not_graded[student] = [run.stopped]
                bar.update(1)
                continue
            refused = vetted_copy(root / "submitted" / student / assignment, staging / student / assignment)
            refusals[student] = describe(refused)
            reasons: dict[str, str] = {nb: why for nb in expected if (why := notebook_refusal(refused, f"{nb}.ipynb"))}
            for nb in reasons:  # a refused notebook: a placeholder, so the student has a row with the reason
                placeholder = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("not graded")])
                nbformat.write(placeholder, str(staging / student / assignment / f"{nb}.ipynb"))
            names, failed, warnings = steps.sanitize(app, student)
            submitted = {p.stem for p in (staging / student / assignment).glob("*.ipynb")}
            whole = failed.pop("*", None)
            for nb in expected:
                if nb in reasons:
                    continue
                if nb in failed:
                    reasons[nb] = failed[nb]
                elif nb not in submitted:
                    extra = sorted(submitted - set(expected))
                    hint = f" (submitted instead: {', '.join(e + '.ipynb' for e in extra)})" if extra else ""
                    reasons[nb] = f"{nb}.ipynb is missing from the submission{hint}"
                elif nb not in names:
                    reasons[nb] = whole or f"{nb}.ipynb could not be prepared for grading"
            pre_failed[student] = reasons
            names = [n for n in names if n not in reasons]
            sanitized_names[student] = names
            autograded = root / app.coursedir.autograded_directory / student / assignment
            for nb in names:  # no score until the result is in
                steps.mark_not_graded(db_url, assignment, student, nb, INTERRUPTED)
            if run.stopped:
                finish(student, {"notebooks": {n: {"infrastructure": f"not tried, the run stopped: {run.stopped}"}
                                               for n in names}})
                continue
            if not names:
                finish(student, {"notebooks": {}})
                continue
            files = {str(p.relative_to(autograded)): p.read_bytes() for p in _files(autograded)}
            size = sum(len(b) for b in files.values())
            if size > limits.payload_bytes:
                finish(student, _failed_execution(autograded, names, f"the submission folder is {size} bytes, "
                                                  f"more than the limit of {limits.payload_bytes}"))
                continue
            payloads[student] = {"student": student, "assignment": assignment, "notebooks": names, "files": files,
                                 "execute_config": config, "limits": limits.to_dict(), "data_cache": data_cache,
                                 "preload": preload}
            queued.append(student)
            send_queued(wait=False)
        send_queued(wait=True)
        drain(0)
        preflight_failed(wait=True)  # nothing left to grade: its verdict still says whether the set-up works
    finally:
        bar.close()
        shutil.rmtree(staging, ignore_errors=True)
        if startup is not None:
            startup.close()
    if export:
        from .exports import write_all

        run.outputs = write_all(root, assignment, db_url, state)
    run.seconds = time.monotonic() - started
    return run
