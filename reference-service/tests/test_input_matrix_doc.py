"""The input table in docs/service.md is the one tests/input_matrix.py renders: the outcomes
documented there are the ones tests/integration/test_input_matrix.py asserts."""

from __future__ import annotations

import pytest

from tests.input_matrix import BEGIN, CASES, DOC, END, Fails, render_table, with_table


def test_the_documented_table_is_the_matrix() -> None:
    document = DOC.read_text(encoding="utf-8")
    assert with_table(document) == document, (
        f"the input table in {DOC.name} is stale: cd reference-service && python -m "
        "tests.input_matrix rewrites it"
    )
    assert document.count(BEGIN) == 1 and document.count(END) == 1


def test_each_case_is_one_row() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
    rows = render_table().splitlines()[3:-1]
    assert len(rows) == len(CASES)


def test_a_failure_reason_is_matched_whole() -> None:
    reason = Fails("only {n} s of 2.0 s")
    assert reason.pattern().fullmatch("only 0.8 s of 2.0 s")
    assert not reason.pattern().fullmatch("only 0.8 s of 2.0 s, and more")


def test_a_document_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        with_table("# no table here\n")
