"""Settlement invariants on every shipped rulebook, varying what the issue found unvaried: the member
(category, birth date, pension, contribution dates), the claims' dates, kinds and every other declared
fact, and the rulebook's parameters (each money or rate parameter moved by −50 % … +100 %, on the fen).

For every claim and fund: 0 ≤ paid ≤ base, paid on the rounding grid, and funds + member = total with
the member's share not negative; a located refusal (MedrulesError) is allowed, a wrong payment is not.
"""
from __future__ import annotations

import functools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from fuzz_generators import ROOT, facts_for
from medrules.facts import facts_from_source
from medrules.source import SourceFile

SHIPPED = sorted((ROOT / "rulebooks").rglob("*.mr"))


@functools.lru_cache(maxsize=None)
def program(path):
    return medrules.load(path)


@st.composite
def overrides(draw, prog):
    """Some parameters of the rulebook at other values (money on the fen, rates within 0–100 %)."""
    out = {}
    for name, value in prog.plan.top.parameters.items():
        if not isinstance(value, Decimal) or isinstance(value, bool) or not draw(st.booleans()):
            continue
        factor = Decimal(draw(st.integers(50, 200))) / 100
        moved = value * factor
        out[name] = min(moved, Decimal(1)).quantize(Decimal("0.0001")) if value <= 1 else moved.quantize(
            Decimal("0.01"))
    return out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@settings(max_examples=6, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_invariants_with_varied_members_parameters_and_dates(path, data):
    base = program(path)
    changed = data.draw(overrides(base), label="parameters")
    try:
        prog = base.with_overrides(changed) if changed and base.base is None else base
    except medrules.MedrulesError:
        return  # a moved parameter can make bands overlap: refused with a located error
    text = data.draw(facts_for(prog.checked, hostile=False), label="facts")
    try:
        facts = facts_from_source(SourceFile("f.json", text), prog.checked)
        settlement = medrules.settle(prog, facts)
    except medrules.MedrulesError as exc:
        assert all(d.span is not None for d in exc.diagnostics), exc.diagnostics
        return
    quantum = prog.plan.top.rounding.quantum
    for c in settlement.claims:
        for f in c.funds:
            assert 0 <= f.paid <= f.base or (f.paid == 0 and not f.applied), (c.id, f)
            assert f.paid % quantum == 0 or f.paid == f.base, (c.id, f)
        assert c.member_pays + c.funds_paid == c.total_cost
        assert c.member_pays >= 0
