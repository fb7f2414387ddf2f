"""After grading: who handed the exam in late, and how hard each question was across the variants."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from course_utils.exam import Variant, variant_for

from ..paths import course_root
from .settings import Exam, exam_config


def variant_features(v: Variant) -> dict[str, str]:
    """For each variant-dependent test cell, the property of the variant that may make it harder."""
    import numpy as np

    z = v.X @ v.w + v.b
    return {
        "test_neuron": "z signs " + "".join("+" if x > 0 else "-" for x in z),
        "test_boundary": "w2 < 0" if v.w[1] < 0 else "w2 > 0",
        "test_hidden": f"{v.n_hidden} hidden units",
        "test_architecture": "hidden 1 >= 20 units" if v.layers[1] >= 20 else "hidden 1 < 20 units",
        "test_bce": f"{int(np.sum(v.y_bce))} of 5 labels are 1",
        "test_sgd": f"label y = {v.y_sgd}",
    }


def lateness(db_url: str, exam: Exam) -> list[dict[str, Any]]:
    """One row per submission of the exam: timestamp, seconds late, penalty, early/late flags."""
    from nbgrader.api import Gradebook

    start, _ = exam.window()
    rows = []
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(exam.assignment).submissions:
            late = float(sub.total_seconds_late or 0.0)
            rows.append({
                "student": sub.student_id,
                "timestamp": sub.timestamp,
                "seconds_late": late,
                "late": late > 60.0 * exam.grace_minutes,
                "before_start": bool(start and sub.timestamp and sub.timestamp < start),
                "raw_score": float(sub.score),
                "penalty": float(sub.late_submission_penalty or 0.0),
                "score": float(sub.score) - float(sub.late_submission_penalty or 0.0),
                "max_score": float(sub.max_score),
            })
    return sorted(rows, key=lambda r: r["student"])


def cell_scores(db_url: str, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
    """student -> grade cell -> (score, max score)."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(assignment).submissions:
            cells = out.setdefault(sub.student_id, {})
            for nb in sub.notebooks:
                for grade in nb.grades:
                    cells[grade.name] = (float(grade.score), float(grade.max_score))
    return out


def difficulty(scores: dict[str, dict[str, tuple[float, float]]], seed: int) -> list[dict[str, Any]]:
    """Per question: the share of students with full marks, overall and per kind of variant.

    ``scores`` is student -> grade cell -> (score, max score) (:func:`cell_scores`). Rows have
    ``question``, ``group`` ("all" or a variant property), ``students`` and ``full_marks`` (share).
    """
    groups: dict[tuple[str, str], list[bool]] = {}
    for student, cells in scores.items():
        features = variant_features(variant_for(student, seed))
        for cell, (got, best) in cells.items():
            full = best > 0 and got >= best - 1e-9
            groups.setdefault((cell, "all"), []).append(full)
            if cell in features:
                groups.setdefault((cell, features[cell]), []).append(full)
    return [{"question": q, "group": g, "students": len(v), "full_marks": sum(v) / len(v)}
            for (q, g), v in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all", kv[0][1]))]


def report_text(root: Path | None = None, db_url: str | None = None) -> str:
    """Who handed in late (and the penalty), and how hard each question was across the variants."""
    folder = Path(root or course_root())
    exam = exam_config(folder)
    db_url = db_url or os.environ.get("COURSE_DB_URL", f"sqlite:///{folder / 'gradebook.db'}")
    rows = lateness(db_url, exam)
    lines = [f"Exam {exam.assignment}: {len(rows)} submissions, due {exam.end or '(no c.Exam.end)'}, "
             f"grace {exam.grace_minutes:g} min", "",
             f"{'student':24s} {'submitted (UTC)':20s} {'late':>9s} {'penalty':>8s} {'score':>11s}"]
    for r in rows:
        late = f"{r['seconds_late'] / 60:.1f} min" if r["seconds_late"] else "-"
        flag = " (before the exam started!)" if r["before_start"] else ""
        when = r["timestamp"].strftime("%Y-%m-%d %H:%M:%S") if r["timestamp"] else "(no timestamp)"
        lines.append(f"{r['student']:24s} {when:20s} {late:>9s} {r['penalty']:8g} "
                     f"{r['score']:5g}/{r['max_score']:<5g}{flag}")
    lines += ["", f"{'question':20s} {'variants':26s} {'students':>8s} {'full marks':>10s}"]
    for r in difficulty(cell_scores(db_url, exam.assignment), exam.seed):
        lines.append(f"{r['question']:20s} {r['group']:26s} {r['students']:8d} {r['full_marks']:10.0%}")
    return "\n".join(lines)
