"""Feedback HTML for students: the autograded notebook with every hidden test removed.

Hidden tests (``### BEGIN HIDDEN TESTS`` .. ``### END HIDDEN TESTS``) are stripped from the
cell sources *and* from the outputs: a failing hidden assert prints its own source line in
the traceback, so any output line quoting a hidden test line is replaced by a notice.
"""
from __future__ import annotations

import copy
import html
import re

from nbformat import NotebookNode

from ..notebooks import HIDDEN_BEGIN, HIDDEN_END, between_markers

REDACTED = "[hidden test: details not shown]"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden_source(source: str) -> str:
    """``source`` without the hidden-test regions (markers included)."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            inside = True
        elif line.strip() == HIDDEN_END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _redact(text: str, secrets: list[str]) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        plain = _ANSI.sub("", line)
        lines.append(REDACTED + "\n" if any(s in plain for s in secrets) else line)
    return "".join(lines)


def without_hidden_tests(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` safe to show the student."""
    nb = copy.deepcopy(nb)
    secrets: list[str] = []
    for cell in nb.cells:
        hidden = [s.strip() for s in between_markers(cell.source, HIDDEN_BEGIN, HIDDEN_END) if len(s.strip()) >= 4]
        secrets += hidden
        if hidden or HIDDEN_BEGIN in cell.source:
            cell.source = strip_hidden_source(cell.source)
    if not secrets:
        return nb
    secrets += [HIDDEN_BEGIN, HIDDEN_END]
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                out.traceback = [_redact(t, secrets) for t in out.traceback]
                out.evalue = _redact(out.evalue, secrets)
            elif out.output_type == "stream":
                out.text = _redact(out.text, secrets)
            else:
                for key, value in list(out.get("data", {}).items()):
                    if isinstance(value, str):
                        out.data[key] = _redact(value, secrets)
    return nb


def feedback_html(nb: NotebookNode, title: str, scores: dict[str, tuple[float, float]], comments: dict[str, str]) -> str:
    """The student's feedback page: a score table, then the notebook without hidden tests."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(without_hidden_tests(nb))
    total = sum(s for s, _ in scores.values())
    possible = sum(m for _, m in scores.values())
    rows = "".join(f"<tr><td>{html.escape(g)}</td><td>{s:g} / {m:g}</td><td>{html.escape(comments.get(g, ''))}</td></tr>"
                   for g, (s, m) in sorted(scores.items()))
    general = "".join(f"<p><b>{html.escape(k)}</b>: {html.escape(v)}</p>" for k, v in comments.items() if k not in scores)
    header = (f"<div style='font-family:sans-serif;margin:1em'><h1>{html.escape(title)}</h1>"
              f"<p>Score: <b>{total:g} / {possible:g}</b></p>{general}"
              f"<table border=1 cellpadding=4><tr><th>test</th><th>score</th><th>comment</th></tr>{rows}</table></div>")
    return body.replace("<body>", "<body>" + header, 1) if "<body>" in body else header + body
