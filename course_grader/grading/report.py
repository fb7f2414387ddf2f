"""The class report: distribution of total scores and share of students correct per test cell."""
from __future__ import annotations

import base64
import html
from collections import defaultdict
from pathlib import Path


def summarize(rows: list[dict]) -> tuple[dict[str, float], float, dict[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    possible: dict[str, float] = defaultdict(float)
    correct: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        totals[r["student"]] += r["score"]
        possible[r["student"]] += r["max_score"]
        key = f'{r["notebook"]}:{r["grade_id"]}'
        correct[key].append(r["max_score"] > 0 and r["score"] >= r["max_score"])
    top = max(possible.values(), default=0.0)
    share = {k: sum(v) / len(v) for k, v in sorted(correct.items())}
    return dict(totals), top, share


def write_report(rows: list[dict], folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    totals, top, share = summarize(rows)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.hist(list(totals.values()) or [0], bins=min(20, max(1, int(top) + 1)), range=(0, max(top, 1)), color="#4477aa")
    ax1.set(title=f"Total score ({len(totals)} students)", xlabel=f"points (of {top:g})", ylabel="students")
    ax2.barh(list(share) or [""], [v * 100 for v in share.values()] or [0], color="#228833")
    ax2.set(title="Students with full marks per test", xlabel="%", xlim=(0, 100))
    fig.tight_layout()
    png = folder / "report.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.0%}</td></tr>" for k, v in share.items())
    image = base64.b64encode(png.read_bytes()).decode()
    (folder / "report.html").write_text(
        f"<html><body style='font-family:sans-serif'><h1>Grade report</h1>"
        f"<img src='data:image/png;base64,{image}'><table border=1 cellpadding=4>"
        f"<tr><th>test</th><th>full marks</th></tr>{table}</table></body></html>", encoding="utf-8")
    return folder / "report.html"
