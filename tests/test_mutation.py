"""Mutation analysis runs in CI: every mutant of every reference solution is killed or explained."""
from __future__ import annotations

import pytest
import yaml

from course_grader import notebooks
from course_tooling import mutation
from course_grader.paths import course_root

EQUIVALENTS = yaml.safe_load((course_root() / "tests" / "mutation_equivalents.yaml").read_text())


def test_mutators_make_the_typical_mistakes() -> None:
    src = "def f(X):\n    return sigmoid(X @ W + b)\nanswer = 'a'\nshape = (2, 8)\nlr = 0.3\n"
    by_kind = {m.mutator: m.source for m in mutation.mutants_of(src, "a", "c")}
    assert "return sigmoid(X @ W)" in by_kind["drop_bias"]
    assert "tanh_like(X @ W + b)" in by_kind["swap_activation"]
    assert "X.T @ W" in by_kind["transpose"] or "X @ W.T" in by_kind["transpose"]
    assert "(3, 8)" in by_kind["off_by_one"] or "(2, 9)" in by_kind["off_by_one"]
    assert "answer = 'b'" in by_kind["other_choice"]
    assert "lr = 0.55" in by_kind["change_constant"]
    assert "W @ X" in by_kind["swap_operands"]


@pytest.mark.slow  # runs every mutant against the hidden tests
@pytest.mark.parametrize("assignment", notebooks.assignments())
def test_every_mutant_is_killed_or_explained(assignment: str, record_property: pytest.RecordProperty) -> None:
    (path,) = notebooks.notebook_paths(notebooks.source_dir() / assignment)
    mutants = mutation.all_mutants(assignment, path)
    assert len(mutants) >= 10, "too few mutants to say anything"
    results = mutation.run_mutants(path, mutants)
    survivors = {r.mutant.key for r in results if r.killed_by is None}
    unexplained = sorted(survivors - set(EQUIVALENTS))
    assert not unexplained, f"mutants the hidden tests miss: {unexplained}"
    stale = sorted(k for k in EQUIVALENTS if k.startswith(assignment + "/") and k not in survivors)
    assert not stale, f"listed as equivalent but now killed or gone (remove them): {stale}"
    killed, real = mutation.kill_rate(results, EQUIVALENTS)
    record_property("mutation", {"assignment": assignment, "killed": killed, "real": real, "total": len(results)})
    assert killed == real
