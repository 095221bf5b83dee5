"""Invariants on every shipped rulebook, on randomly changed amounts of its example claims.

For every claim and fund: 0 ≤ paid ≤ base (a fund never pays more than what it applies to), every amount
is whole fen, and the member's share plus all funds equals the claim's total cost.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from conftest import ROOT
from medrules.facts import facts_from_source
from medrules.source import SourceFile
from test_trace_schema import EXAMPLE_FILES, _rulebook_for

FEN = Decimal("0.01")
MONEY_FIELDS = ("compliant_cost", "self_paid", "cost")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_invariants_hold_on_changed_amounts(path, data):
    program = _programs(_rulebook_for(path))
    doc = json.loads(path.read_text(encoding="utf-8"))
    for claim in doc["claims"]:
        for field in MONEY_FIELDS:
            if field in claim:
                claim[field] = str(data.draw(st.decimals(0, 400_000, places=2), label=f"{claim['id']}.{field}"))
    facts = facts_from_source(SourceFile("f.json", json.dumps(doc)), program.checked)
    for c in medrules.settle(program, facts).claims:
        for f in c.funds:
            assert 0 <= f.paid <= f.base or (f.paid == 0 and not f.applied), (c.id, f)
            assert f.paid == f.paid.quantize(FEN)
        assert c.member_pays + c.funds_paid == c.total_cost
        assert c.member_pays == c.member_pays.quantize(FEN)


_CACHE: dict = {}


def _programs(rulebook: str):
    if rulebook not in _CACHE:
        _CACHE[rulebook] = medrules.load(ROOT / rulebook)
    return _CACHE[rulebook]
