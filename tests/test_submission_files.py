"""A submission is data: plain files are copied, everything else is refused without being followed."""
from __future__ import annotations

import os
from pathlib import Path

from course_grader.grading.submission_files import notebook_refusal, refused_entries, vetted_copy


def test_plain_files_are_copied_links_and_fifos_refused(tmp_path: Path) -> None:
    src = tmp_path / "submitted" / "ann" / "w1"
    (src / "data").mkdir(parents=True)
    (src / "nb.ipynb").write_text("{}")
    (src / "data" / "x.csv").write_text("1,2\n")
    (tmp_path / "secret").write_text("s3cret")
    (src / "peek.txt").symlink_to(tmp_path / "secret")
    os.mkfifo(src / "pipe")
    dst = tmp_path / "vetted"
    refused = vetted_copy(src, dst)
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == ["data", "data/x.csv", "nb.ipynb"]
    assert set(refused) == {"peek.txt", "pipe"} and refused == refused_entries(src)
    assert notebook_refusal(refused, "nb.ipynb") is None
    assert "symbolic link" in notebook_refusal(refused_entries(src), "peek.txt")


def test_a_linked_student_or_submission_folder_refuses_every_notebook(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere" / "w1"
    real.mkdir(parents=True)
    (real / "nb.ipynb").write_text("{}")
    (tmp_path / "submitted").mkdir()
    (tmp_path / "submitted" / "bob").symlink_to(tmp_path / "elsewhere")  # the student's folder is a link
    (tmp_path / "submitted" / "eve").mkdir()
    (tmp_path / "submitted" / "eve" / "w1").symlink_to(real)  # the assignment folder is a link
    for student in ("bob", "eve"):
        folder = tmp_path / "submitted" / student / "w1"
        dst = tmp_path / "vetted" / student
        refused = vetted_copy(folder, dst)
        assert list(dst.iterdir()) == [] and refused == refused_entries(folder)
        assert "symbolic link" in notebook_refusal(refused, "nb.ipynb")
