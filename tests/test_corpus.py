"""The corpus of real-world failure cases (tests/corpus/): each case's result is the one
reviewed by hand and kept in its expected.json. `make corpus` rewrites them on purpose."""

from __future__ import annotations

import pytest
from corpus.run import cases, golden, run_case


@pytest.mark.parametrize("folder", cases(), ids=[c.name for c in cases()])
def test_each_case_gives_its_reviewed_result(folder, tmp_path):
    assert run_case(folder, tmp_path) == golden(folder)
