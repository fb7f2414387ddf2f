"""The ``course`` command: data, release and the demo class."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from course_utils import data

from . import notebooks
from .grading.device import POLICIES, DeviceUnavailable
from .grading.run_lock import GradingBusy
from .course import Course, NbgraderError
from .process_exit import skip_final_collection
from .paths import course_root, default_course


def cmd_data_fetch(args: argparse.Namespace) -> int:
    path = data.fetch_banknote(mirror=args.mirror, cache_dir=args.cache, allow_download=not args.no_download)
    print(f"banknote data verified (sha256 {data.CSV_SHA256[:12]}…) at {path}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    course = Course(course_root())
    for assignment in tqdm(args.assignments or notebooks.assignments(), desc="release", unit="assignment"):
        course.generate_assignment(assignment)
    print(f"release/ regenerated from source/ in {course.root}")
    return 0


def points_table() -> str:
    """The README's markdown table of grade cells and points per notebook."""
    rows = ["| assignment | notebook | graded cells | points |", "| --- | --- | --- | --- |"]
    for assignment in notebooks.assignments():
        for path in notebooks.notebook_paths(notebooks.source_dir() / assignment):
            cells = notebooks.max_points(notebooks.read(path))
            rows.append(f"| `{assignment}` | `{path.name}` | {len(cells)} | {sum(cells.values()):g} |")
    return "\n".join(rows)


def cmd_points(args: argparse.Namespace) -> int:
    print(points_table())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from course_tooling.demo_class import NotADemoCourse, demo_course, grades_table, score_mismatches

    from .grading.runner import grade_assignment

    data.fetch_banknote()
    where = Path(args.dir or course_root() / "demo-course").resolve()
    assignments = args.assignments or notebooks.assignments()
    print(f"demo course (a scratch folder of its own, never your course): {where}")
    try:
        course, roster = demo_course(where, assignments)
    except NotADemoCourse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    not_graded = 0
    for assignment in assignments:
        run = grade_assignment(course.root, assignment, workers=args.workers, force=args.force)
        print(run.summary())
        not_graded += len(run.not_graded)
        if run.stopped:  # the machinery is broken: every other assignment would fail the same way
            print(f"error: grading {assignment} stopped, nothing more is graded: {run.stopped}", file=sys.stderr)
            return 1
    export = course.root / "exports" / "grades.csv"
    export.parent.mkdir(exist_ok=True)
    course.nbgrader("export", f"--to={export}")
    print(grades_table(export))
    total = sum(len(s) for s in roster.values())
    print(f"\n{total} submissions graded; grades CSV: {export}; per-question CSVs, reports: "
          f"{course.root / 'exports'}; feedback: {course.root / 'feedback'}")
    wrong = score_mismatches(course, roster)
    if not_graded:
        print(f"error: {not_graded} demo submissions were NOT graded (see above): the grading machinery failed",
              file=sys.stderr)
        return 1
    if wrong:
        print(f"error: {len(wrong)} of {total} demo submissions did not get the scores their corpus entries state "
              "(a fault of the grading set-up, not of the submissions):", file=sys.stderr)
        for line in wrong:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"demo check: all {total} submissions got exactly the scores their corpus entries state")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from .grading.runner import grade_assignment
    from .grading.sandbox import SandboxUnavailable, check_tools

    try:
        check_tools()
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run = grade_assignment(args.course or default_course(), args.assignment, students=args.students,
                           workers=args.workers, scheduler=args.scheduler, force=args.force, device=args.device,
                           preflight=not args.skip_preflight)
    print(run.summary())
    return 1 if run.not_graded or run.stopped else 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .grading import cgroups, sandbox_check

    if args.sandbox_command == "delegate":
        import os

        if os.geteuid() != 0:
            print("error: only root can delegate cgroups (run it with sudo)", file=sys.stderr)
            return 2
        for path in cgroups.delegate(args.user):
            print(f"delegated {path} to {args.user}")
        return 0
    guarantees = sandbox_check.check()
    print(sandbox_check.report(guarantees))
    if not all(g.held for g in guarantees):
        print("\n`course grade` refuses to run where a guarantee is missing, unless nbgrader_config.py sets "
              "c.CourseGrade.allow_weaker_sandbox = True", file=sys.stderr)
        return 1
    return 0


def cmd_hub_setup(args: argparse.Namespace) -> int:
    import secrets

    from .hub.provision import HubSetupError, provision
    from .hub.settings import HubSettings

    proxy = course_root() / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    hub = HubSettings(root=args.root.resolve(), ip=args.ip, port=args.port, hub_port=args.hub_port,
                      proxy_api_port=args.proxy_api_port, instructor=args.instructor,
                      proxy_command=str(proxy) if proxy.exists() else "configurable-http-proxy")
    students = {name: secrets.token_urlsafe(9) for name in args.students}
    instructors = {args.instructor: secrets.token_urlsafe(9)}
    try:
        provision(hub, course_root(), students, instructors, args.assignments or notebooks.assignments(),
                  progress=lambda step: print(f"hub set-up: {step}", flush=True))
    except HubSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logins = hub.root / "logins.txt"
    logins.touch(mode=0o600)
    logins.write_text("".join(f"{role:10} {name:20} {password}\n" for role, people in
                              (("instructor", instructors), ("student", students)) for name, password in people.items()))
    print(f"\nThe course hub is set up in {hub.root} (scripts/hub.sh starts it; by hand, as root:\n"
          f"  COURSE_HUB_SETTINGS={hub.file} .venv/bin/jupyterhub -f deploy/jupyterhub_config.py).\n"
          f"Open http://{hub.ip}:{hub.port}/ and log in (the logins are also in {logins}, readable by root only):")
    print(logins.read_text(), end="")
    return 0


def cmd_exam(args: argparse.Namespace) -> int:
    from .exam.preview import preview_text
    from .exam.report import report_text

    if args.exam_command == "preview":
        print(preview_text(args.student, seed=args.seed))
    else:
        print(report_text(args.course or default_course()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Week-1 deep-learning course tools")
    sub = parser.add_subparsers(dest="command", required=True)

    data_parser = sub.add_parser("data", help="the banknote data set")
    data_sub = data_parser.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="copy from the mirror or download from UCI, verify, cache")
    fetch.add_argument("--mirror", type=Path, help="mirror folder (default $COURSE_DATA_MIRROR or ../shared/data)")
    fetch.add_argument("--cache", type=Path, help="cache folder (default $COURSE_DATA_CACHE or ~/.cache/mi-deep-learning)")
    fetch.add_argument("--no-download", action="store_true", help="never try the internet")
    fetch.set_defaults(func=cmd_data_fetch)

    release = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*")
    release.set_defaults(func=cmd_release)

    points = sub.add_parser("points", help="print the points table (markdown) of every source notebook")
    points.set_defaults(func=cmd_points)

    demo = sub.add_parser("demo", help="release, submit the demo class and grade it with `course grade`")
    demo.add_argument("assignments", nargs="*")
    demo.add_argument("--workers", type=int, help="parallel sandboxed kernels (default: one per CPU)")
    demo.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    demo.add_argument("--dir", type=Path, help="the demo's scratch course folder (default: demo-course/ in this repository)")
    demo.set_defaults(func=cmd_demo)

    grade = sub.add_parser("grade", help="autograde every submission in parallel sandboxes (resumable)")
    grade.add_argument("assignment")
    grade.add_argument("--students", default="*", help="only student ids matching this glob")
    grade.add_argument("--workers", type=int, help="embedded Dask workers (default: one per CPU)")
    grade.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    grade.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    grade.add_argument("--device", choices=POLICIES,
                       help="what student kernels see: the GPU (cuda), the CPU, or the measured faster (auto); "
                            "default c.CourseGrade.device")
    grade.add_argument("--course", type=Path,
                       help="course directory (default: $COURSE_ROOT, else the current folder if it is a course, else this repository)")
    grade.add_argument("--skip-preflight", action="store_true",
                       help="do not first run the reference solution in the sandbox (it must get full marks)")
    grade.set_defaults(func=cmd_grade)

    box = sub.add_parser("sandbox", help="the student sandbox on this machine")
    box_sub = box.add_subparsers(dest="sandbox_command", required=True)
    box_sub.add_parser("check", help="start one sandbox and list which guarantees hold here, and how")
    delegate = box_sub.add_parser("delegate", help="(root) let USER create per-sandbox cgroups (memory, processes, CPU)")
    delegate.add_argument("user")
    box.set_defaults(func=cmd_sandbox)

    hub = sub.add_parser("hub", help="the course's JupyterHub (deploy/)")
    hub_sub = hub.add_subparsers(dest="hub_command", required=True)
    setup = hub_sub.add_parser("setup", help="(root) users, environments, private course folder, exchange, release")
    setup.add_argument("--root", type=Path, default=Path(os.environ.get("COURSE_HUB_ROOT", "/srv/mi-course-hub")),
                       help="the hub's folder (default $COURSE_HUB_ROOT or /srv/mi-course-hub)")
    setup.add_argument("--ip", default="127.0.0.1", help="where browsers connect (default: loopback only)")
    setup.add_argument("--port", type=int, default=8000)
    setup.add_argument("--hub-port", type=int, default=8081)
    setup.add_argument("--proxy-api-port", type=int, default=8001)
    setup.add_argument("--instructor", default="instructor", help="the instructor's user name (its home holds the course)")
    setup.add_argument("--students", nargs="+", default=["student1", "student2"], help="students' user names")
    setup.add_argument("--assignments", nargs="*", help="assignments to release (default: all)")
    setup.set_defaults(func=cmd_hub_setup)

    exam = sub.add_parser("exam", help="the Week-1 exam: a student's variant and solution, lateness, difficulty")
    exam_sub = exam.add_subparsers(dest="exam_command", required=True)
    preview = exam_sub.add_parser("preview", help="print STUDENT's variant and its solution")
    preview.add_argument("student")
    preview.add_argument("--seed", type=int, help="exam seed (default: c.Exam.seed in nbgrader_config.py)")
    report = exam_sub.add_parser("report", help="late submissions and per-question difficulty across variants")
    report.add_argument("--course", type=Path, help="course directory with the gradebook (default: this repository)")
    exam.set_defaults(func=cmd_exam)
    return parser


def main(argv: list[str] | None = None) -> int:
    skip_final_collection()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (data.DataUnavailableError, DeviceUnavailable, GradingBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NbgraderError as exc:
        print(f"error: {explain_nbgrader_error(str(exc))}", file=sys.stderr)
        return 2


def explain_nbgrader_error(message: str) -> str:
    """The lines of a failed nbgrader command that say what went wrong, and what to do where known."""
    reasons = [line.strip() for line in message.splitlines() if "Error:" in line or "| ERROR]" in line]
    text = "\n".join([message.splitlines()[0], *reasons[-3:]])
    if "there are submissions associated with it" in message:
        text += ("\nThe gradebook already holds submissions of this assignment, so nbgrader may not add or remove "
                 "graded cells. Release the changed notebook as a new assignment, or start from a new gradebook "
                 "(move gradebook.db away) if the old grades are no longer needed.")
    return text


if __name__ == "__main__":
    sys.exit(main())
