"""A submission is data, not a view of the host: only its regular files and folders are graded.

Every entry is looked at without following links (``lstat``; files opened with ``O_NOFOLLOW``).
Symbolic links, devices, FIFOs and sockets are refused with a reason, so a link to ``/etc/shadow``,
the gradebook, ``source/`` or a classmate's notebook is never read, hashed, copied or shown.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

MAX_DEPTH = 32
MAX_ENTRIES = 10_000


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _walk(folder: Path, rel: str = "", depth: int = 0, seen: list[int] | None = None):
    """(relative path, lstat result or None, refusal reason or None) for every entry, links not followed."""
    seen = seen if seen is not None else [0]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield rel or ".", None, f"unreadable folder ({exc.strerror})"
        return
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        seen[0] += 1
        if seen[0] > MAX_ENTRIES:
            yield path, None, f"more than {MAX_ENTRIES} files in the submission"
            return
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            if depth >= MAX_DEPTH:
                yield path, None, f"folders nested more than {MAX_DEPTH} deep"
                continue
            yield path, info, None
            yield from _walk(Path(entry.path), path, depth + 1, seen)
        elif stat.S_ISREG(info.st_mode):
            yield path, info, None
        else:
            yield path, None, f"{_kind(info.st_mode)}: not graded (a submission holds plain files only)"


LINKED_FOLDER = {".": "the submission folder (or the student's folder) is a symbolic link: not graded"}


def _linked(folder: Path) -> bool:
    """``submitted/<student>/<assignment>`` or ``submitted/<student>`` is a link (never followed)."""
    return folder.is_symlink() or folder.parent.is_symlink()


def refused_entries(folder: Path) -> dict[str, str]:
    """Relative path -> why it is refused, for every entry of ``folder`` that is not a plain file or folder."""
    if _linked(folder):
        return dict(LINKED_FOLDER)
    if not folder.is_dir():
        return {}
    return {rel: reason for rel, _, reason in _walk(folder) if reason}


def notebook_refusal(refused: dict[str, str], filename: str) -> str | None:
    """Why the notebook ``filename`` is not graded (it, or the whole folder, was refused), or None."""
    reason = refused.get(filename) or refused.get(".")
    return f"{filename}: {reason}" if reason else None


def vetted_copy(src: Path, dst: Path) -> dict[str, str]:
    """Copy the plain files and folders of ``src`` to a fresh ``dst``; return the refused entries."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    refused: dict[str, str] = {}
    if _linked(src):
        return dict(LINKED_FOLDER)
    if not src.is_dir():
        return refused
    for rel, info, reason in _walk(src):
        if reason:
            refused[rel] = reason
        elif stat.S_ISDIR(info.st_mode):
            (dst / rel).mkdir(exist_ok=True)
        else:
            try:
                fd = os.open(src / rel, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
            except OSError as exc:
                refused[rel] = f"unreadable ({exc.strerror})"
                continue
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped for something else meanwhile
                    refused[rel] = "changed while it was read: not graded"
                    continue
                with open(dst / rel, "wb") as out:
                    shutil.copyfileobj(fh, out)
            os.utime(dst / rel, (info.st_atime, info.st_mtime))
    return refused


def describe(refused: dict[str, str]) -> list[str]:
    return [f"`{rel}` refused: {reason}" for rel, reason in sorted(refused.items())]
