"""``course exam preview STUDENT``: a student's variant and what they should type."""
from __future__ import annotations

from pathlib import Path

from course_utils.exam import variant_for

from .settings import exam_config, load_solver


def preview_text(student: str, root: Path | None = None, seed: int | None = None) -> str:
    """A student's variant and its solution (what they should type), for the instructor."""
    exam = exam_config(root)
    seed = exam.seed if seed is None else seed
    variant = variant_for(student, seed)
    lines = [str(variant), ""]
    solver = load_solver(exam.assignment, exam, root)
    if solver is None:
        lines.append(f"(no solution: instructor/{exam.assignment}_solution.py is not in this installation)")
    else:
        lines.append("Solution (typed as the answer cells expect):")
        for cell, source in solver.answer_sources(variant).items():
            lines.append(f"  [{cell}]")
            lines += [f"    {line}" for line in source.splitlines()]
    start, end = exam.start or "?", exam.end or "?"
    lines += ["", f"Exam {exam.assignment}: window {start} .. {end}, grace {exam.grace_minutes:g} min, "
                  f"late penalty {exam.late_penalty_per_minute:.0%} of the score per started minute"]
    return "\n".join(lines)
