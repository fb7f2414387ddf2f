r"""``generate_feedback``: the maths of every markdown cell as MathML, so the page needs no MathJax.

TeX between ``$$…$$``, ``\[…\]`` or ``\begin{env}…\end{env}`` (display) and ``$…$`` or ``\(…\)``
(inline; also ``\\[``, ``\\(`` as Jupyter writes them) becomes latex2mathml's MathML, rebuilt from
an allow-list of MathML elements and attributes with every text escaped: no TeX (``\href``,
``\style``, ``\text{<script>}``) can put a live tag, link or style into the page, and markdown
reads the result as inline HTML it has nothing to format in. Code spans, fenced and indented
code blocks and HTML tags are left as they are, and so are a lone or escaped dollar (``costs $5``,
``\$``); TeX that latex2mathml rejects stays as escaped text.
"""
from __future__ import annotations

import html
import re
from bisect import bisect_left
from html.parser import HTMLParser

from latex2mathml import converter
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
#: The presentation-MathML elements latex2mathml writes; any other tag in its output becomes text.
MATHML_TAGS = frozenset({
    "math", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover", "mpadded",
    "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt", "mstyle", "msub", "msubsup",
    "msup", "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "none"})
#: Layout attributes only: no href, style, class, id or event handler survives.
MATHML_ATTRIBUTES = frozenset({
    "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth", "display",
    "displaystyle", "fence", "form", "frame", "height", "largeop", "linebreak", "linethickness",
    "lspace", "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize",
    "movablelimits", "notation", "rowalign", "rowlines", "rowspacing", "rspace", "scriptlevel",
    "separator", "stretchy", "symmetric", "voffset", "width"})
_SAFE_VALUE = re.compile(r"[\w .,#%+-]{0,100}")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r" {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
#: An HTML tag or autolink as CommonMark reads them (comments: _Marks.html_end): their text is no maths.
_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>"
    r"|<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>")
_BACKTICKS = re.compile("`+")
_SIGN = re.compile(r"[!-/:-@\[-`{-~]")  # every ASCII sign: markdown, HTML and TeX punctuation
#: The longest formula and HTML tag, in characters (longer is left as text).
MAX_TEX = MAX_TAG = 4000
#: (opener, closer, display) of the backslash forms, the markdown-escaped ``\\[`` first.
_LATEX_DELIMITERS = ((r"\\[", r"\\]", True), (r"\\(", r"\\)", False), (r"\[", r"\]", True), (r"\(", r"\)", False))
_ENVIRONMENT = re.compile(r"\\begin\{([a-z]*\*?)\}.*?\\end\{\1\}", re.S)  # what nbconvert reads as maths too


def _escape_signs(text: str) -> str:
    return _SIGN.sub(lambda m: f"&#{ord(m[0])};", text)


def inert(text: str) -> str:
    """``text`` (HTML entities decoded) with ``<>&"'`` and every markdown or TeX sign as a character
    reference: HTML shows it as typed, markdown and the maths delimiters find nothing in it."""
    return _escape_signs(html.unescape(text))


class _MathMLRebuilder(HTMLParser):
    """latex2mathml's output written again: allowed elements and attributes, every text escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in MATHML_TAGS:
            self.handle_data(html.unescape(self.get_starttag_text() or ""))
            return
        kept = [(k, v) for k, v in attrs if k in MATHML_ATTRIBUTES and v is not None and _SAFE_VALUE.fullmatch(v)]
        if tag == "math":
            kept = [("xmlns", MATHML_NS)] + [(k, v) for k, v in kept if k == "display"]
        self.out.append(f"<{tag}" + "".join(f' {k}="{v}"' for k, v in kept) + ">")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in MATHML_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.open:
            if tag not in MATHML_TAGS:
                self.handle_data(f"</{tag}>")
            return
        while self.open:
            closed = self.open.pop()
            self.out.append(f"</{closed}>")
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(_escape_signs(data.replace("\n", " ")))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def tex_to_mathml(tex: str, display: bool) -> str | None:
    """Safe MathML of ``tex`` (HTML entities decoded first, as a browser would), or None when
    latex2mathml cannot convert it."""
    try:
        raw = converter.convert(html.unescape(tex), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 (any TeX a student typed: latex2mathml raises many kinds)
        return None
    rebuilt = _MathMLRebuilder()
    rebuilt.feed(raw)
    return rebuilt.result()


class _Marks:
    """Sorted positions of the signs that delimit maths and code spans in one text, each lookup a
    bisection: the scan stays fast on any cell (a hostile one full of unclosed delimiters too)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.dollars = [m.start() for m in re.finditer(r"\\.|\$", text, re.S) if m[0] == "$"]  # unescaped
        self.doubles = [d for d in self.dollars if text.startswith("$$", d)]
        self.blank_lines = [m.start() for m in re.finditer(r"\n(?=[ \t]*\n)", text)]
        self.backticks = [m.start() for m in re.finditer("`", text)]
        self.backtick_runs: dict[int, list[int]] = {}
        for m in re.finditer("`+", text):
            self.backtick_runs.setdefault(len(m[0]), []).append(m.start())
        self.comment_ends = [m.end() for m in re.finditer("-->", text)]
        self.closers = {closer: [m.start() for m in re.finditer(re.escape(closer), text)]
                        for _, closer, _ in _LATEX_DELIMITERS}

    @staticmethod
    def first(positions: list[int], start: int) -> int:
        """The first position at or after ``start``, -1 if none."""
        k = bisect_left(positions, start)
        return positions[k] if k < len(positions) else -1

    def any_between(self, positions: list[int], start: int, end: int) -> bool:
        return -1 < self.first(positions, start) < end

    def math_at(self, i: int) -> tuple[str, int, bool] | None:
        """(TeX, end, display) of the maths that starts at ``text[i]``, or None. An inline ``$…$``
        opens before a non-space and closes at the next unescaped ``$``, after a non-space and
        before no digit (so ``costs $5 or $6`` holds no maths). Maths never crosses a blank line,
        never holds a backtick (a code span is never part of it) and has at most MAX_TEX characters."""
        text, found = self.text, None
        if text.startswith("$$", i):
            end = self.first(self.doubles, i + 2)
            if end != -1 and text[i + 2:end].strip():
                found = text[i + 2:end], end + 2, True
        elif text[i] == "$":
            end = self.first(self.dollars, i + 1)
            if (end > i + 1 and not text[i + 1].isspace() and not text[end - 1].isspace()
                    and not text[end + 1:end + 2].isdigit()):
                found = text[i + 1:end], end + 1, False
        elif environment := _ENVIRONMENT.match(text, i, i + MAX_TEX):
            found = environment[0], environment.end(), True
        else:
            for opener, closer, display in _LATEX_DELIMITERS:
                if text.startswith(opener, i):
                    end = self.first(self.closers[closer], i + len(opener))
                    if end != -1 and text[i + len(opener):end].strip():
                        found = text[i + len(opener):end], end + len(closer), display
                    break
        if found is None or found[1] - i > MAX_TEX:
            return None
        if self.any_between(self.blank_lines, i, found[1] - 1) or self.any_between(self.backticks, i, found[1]):
            return None
        return found

    def html_end(self, i: int) -> int:
        """End of the HTML comment, tag or autolink at ``text[i]`` (a ``<``), or -1."""
        if self.text.startswith("<!--", i):
            return self.first(self.comment_ends, i + 4 + 3)
        tag = _TAG.match(self.text, i, i + MAX_TAG)
        return tag.end() if tag else -1

    def code_span_end(self, i: int) -> int:
        """End of the code span that opens with the backticks at ``text[i]`` (a run of as many
        closes it, in the same paragraph), or the end of that run when nothing closes it."""
        run = _BACKTICKS.match(self.text, i).end() - i
        close = self.first(self.backtick_runs.get(run, []), i + run)
        if close != -1 and not self.any_between(self.blank_lines, i, close):
            return close + run
        return i + run


def render_inline_text(text: str) -> str:
    """Markdown text without code blocks, its maths as MathML (code spans and HTML tags kept)."""
    marks = _Marks(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "$\\":
            found = marks.math_at(i)
            if found:
                tex, end, display = found
                out.append(tex_to_mathml(tex, display) or inert(text[i:end]))
                i = end
                continue
            step = 2 if c == "\\" or text.startswith("$$", i) else 1  # an escaped sign, a lone dollar
            out.append(text[i:i + step])
            i += step
        elif c == "`":
            end = marks.code_span_end(i)
            out.append(text[i:end])
            i = end
        elif c == "<" and (end := marks.html_end(i)) != -1:
            out.append(text[i:end])
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_code_blocks(source: str) -> list[tuple[str, bool]]:
    """``source`` in consecutive (text, is_code) pieces: fenced and indented code blocks are code
    (an indented line inside a list item is the item's text)."""
    pieces: list[tuple[str, bool]] = []

    def add(line: str, code: bool) -> None:
        if pieces and pieces[-1][1] == code:
            pieces[-1] = (pieces[-1][0] + line, code)
        else:
            pieces.append((line, code))

    fence = ""
    blank_before, in_code, in_list = True, False, False
    for line in source.splitlines(keepends=True):
        if fence:
            add(line, True)
            stripped = line.strip()
            if (len(line) - len(line.lstrip(" ")) < 4 and stripped.startswith(fence)
                    and not stripped.strip(fence[0])):
                fence = ""
            continue
        opening = _FENCE.match(line)
        if opening and not (opening[1][0] == "`" and "`" in line[opening.end():]):
            fence, in_code = opening[1], False
            add(line, True)
            continue
        if not line.strip():
            add(line, in_code)
            blank_before = True
            continue
        expanded = line.expandtabs(4)
        indent = len(expanded) - len(expanded.lstrip(" "))
        in_code = indent >= 4 and (blank_before or in_code) and not in_list
        if not in_code:
            if _LIST_ITEM.match(line):
                in_list = True
            elif indent < 2 and blank_before:
                in_list = False
        add(line, in_code)
        blank_before = False
    return pieces


def render_math(source: str) -> str:
    """The markdown ``source`` with its maths as MathML, code left as it is."""
    return "".join(text if code else render_inline_text(text) for text, code in split_code_blocks(source))


class RenderMathOffline(NbGraderPreprocessor):
    """Every markdown cell's TeX as MathML: the page shows its maths without MathJax or a network."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type == "markdown" and ("$" in cell.source or "\\" in cell.source):
            cell.source = render_math(cell.source)
        return cell, resources
