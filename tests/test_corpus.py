"""Grade every corpus submission with real nbgrader and assert the exact score of every grade cell.

One test class per assignment (so pytest-xdist's loadscope grades each assignment's
corpus in one nbgrader run on one worker).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_grader import notebooks
from course_tooling import corpus
from course_tooling.corpus_grading import grade_entries, mismatches
from course_grader.paths import course_root

pytestmark = pytest.mark.slow  # grades notebooks

ROOT = course_root()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "entry_name" in metafunc.fixturenames:
        names = [e.name for e in corpus.load_entries(metafunc.cls.assignment)]
        metafunc.parametrize("entry_name", names)


class CorpusSuite:
    assignment: str

    @pytest.fixture(scope="class")
    def workdir(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return tmp_path_factory.mktemp(self.assignment)

    @pytest.fixture(scope="class")
    def graded(self, workdir: Path) -> dict:
        results = grade_entries(self.assignment, workdir)
        return {entry.name: (entry, scores) for entry, scores in results}

    @pytest.fixture(scope="class")
    def max_points(self) -> dict[str, float]:
        (path,) = notebooks.notebook_paths(ROOT / "source" / self.assignment)
        return notebooks.max_points(notebooks.read(path))

    def test_corpus_has_the_required_kinds(self) -> None:
        entries = corpus.load_entries(self.assignment)
        kinds = [e.kind for e in entries]
        names = {e.name for e in entries}
        assert {"reference", "blank"} <= names
        assert kinds.count("correct") >= 3 and kinds.count("wrong") >= 4 and "partial" in kinds

    def test_entry_scores_exactly_as_expected(
        self, entry_name: str, graded: dict, max_points: dict, record_property: pytest.RecordProperty
    ) -> None:
        entry, scores = graded[entry_name]
        record_property("corpus", {"kind": entry.kind, "full": scores == max_points, "match": not mismatches(entry, scores)})
        assert set(entry.expected) == set(max_points), "the entry must state the score of every grade cell"
        bad = mismatches(entry, scores)
        assert not bad, f"{entry.name} ({entry.description}): cell -> (expected, got) {bad}"
        total, best = sum(scores.values()), sum(max_points.values())
        if entry.kind == "correct":
            assert scores == max_points, "a correct submission must get full marks"
        elif entry.kind == "blank":
            assert total == 0, "an untouched release must get 0 on every graded answer"
        else:
            assert total < best, "a wrong, partial or malicious submission must not get full marks"

    def test_autograded_outputs_leak_no_hidden_test(self, entry_name: str, graded: dict, workdir: Path) -> None:
        """What a student sees in feedback (every output of the autograded notebook) holds no hidden-test line."""
        entry, _ = graded[entry_name]
        (source,) = notebooks.notebook_paths(ROOT / "source" / self.assignment)
        secret = set()
        for cell in notebooks.read(source).cells:
            secret |= {
                line.strip()
                for line in notebooks.between_markers(cell.source, notebooks.HIDDEN_BEGIN, notebooks.HIDDEN_END)
                if len(line.strip()) >= 12 and not line.strip().startswith("#")
            }
        autograded = notebooks.read(workdir / "autograded" / entry.student / self.assignment / source.name)
        shown = json.dumps([c.get("outputs", []) for c in autograded.cells])
        leaked = sorted(line for line in secret if json.dumps(line)[1:-1] in shown)
        assert not leaked, f"outputs show hidden-test source: {leaked[:3]}"


for _name in notebooks.assignments(ROOT):
    _cls = type(f"TestCorpus_{_name}", (CorpusSuite,), {"assignment": _name})
    globals()[_cls.__name__] = _cls
