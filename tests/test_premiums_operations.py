"""Each contribution operation on both backends, under every rounding mode and several quanta.

The shipped rulebooks round half up (to the fen, and to the yuan for part-year shares); here a small
rulebook is written for each drawn combination — the layer's rounding (mode, quantum), the part-year
clause's (mode, quantum, first month) — and drawn members (premiums with fen, shares with decimals so the
subsidy has up to 8 decimals, a subsidy larger than the premium) are assessed by the scalar ``assess``
and by the vector backend, which must agree to the fen. One worked case pins the arithmetic by hand.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from medrules.batch.premiums import assess_table
from medrules.evaluate import assess
from medrules.facts import facts_from_source
from medrules.source import SourceFile

MODES = ["half_up", "half_even", "down", "up"]
TEMPLATE = """rulebook "t/contrib" {{
  title "t" | "t"
  effective from 2021-01-01 to 2021-12-31
    assumed "a test"
  rounding {layer_mode} to {layer_q} yuan per payment
}}

facts member {{
  id: text "id" | "id"
  base: money "b" | "b"
  share: rate "s" | "s"
  part: bool = false "p" | "p"
}}

contribution c "c" | "c" assumed "a test" {{
  premium member.base
  subsidy a "a" | "a": member.base * member.share when member.share > 10%
  subsidy b "b" | "b": 3.33 yuan
  prorate from {month:02d}-01 to 12-31 when member.part rounding {mode} to {q} yuan
}}
"""


def program(**kw):
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("t.mr", TEMPLATE.format(**kw)))))


def both(p, members: list[dict]):
    """[(premium, a, b, owes)] by the scalar backend and by the vector backend."""
    scalar = []
    for m in members:
        c = assess(p, facts_from_source(SourceFile("<m>", json.dumps({"member": m})), p.checked)).contributions[0]
        scalar.append((c.premium, c.subsidy("a"), c.subsidy("b"), c.member_owes))
    table = pa.table({k: pa.array([str(m[k]).lower() if isinstance(m[k], bool) else str(m[k]) for m in members])
                      for k in members[0]})
    results, rejects = assess_table(p, table)
    assert rejects.num_rows == 0, rejects.to_pylist()
    vector = [(r["premium"], r["subsidy.a"], r["subsidy.b"], r["member_owes"]) for r in results.to_pylist()]
    return scalar, vector


def test_a_worked_case():
    # 100.05 from March: 100.05 × 10/12 = 83.375 → 83 (down to the yuan); a: 100.05 × 33.3% = 33.31665, at most
    # 83, → 33.3 (half even to 0.1); b: 3.33 → 3.3; owes 83 − 33.3 − 3.3 = 46.40
    p = program(layer_mode="half_even", layer_q="0.1", mode="down", q="1", month=3)
    scalar, vector = both(p, [{"id": "A", "base": "100.05", "share": "33.3%", "part": True}])
    assert scalar == vector == [(Decimal("83"), Decimal("33.3"), Decimal("3.3"), Decimal("46.4"))]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_mode=st.sampled_from(MODES), layer_q=st.sampled_from(["0.01", "0.1", "1", "10"]),
       mode=st.sampled_from(MODES), q=st.sampled_from(["0.01", "1", "10"]), month=st.integers(1, 12),
       members=st.lists(st.fixed_dictionaries({
           "base": st.integers(0, 2_000_000).map(lambda f: str(Decimal(f).scaleb(-2))),
           "share": st.integers(0, 15_000).map(lambda x: f"{Decimal(x).scaleb(-2)}%"),
           "part": st.booleans()}), min_size=1, max_size=8))
def test_every_rounding_agrees(layer_mode, layer_q, mode, q, month, members):
    p = program(layer_mode=layer_mode, layer_q=layer_q, mode=mode, q=q, month=month)
    members = [{"id": f"M{i}", **m} for i, m in enumerate(members)]
    scalar, vector = both(p, members)
    assert scalar == vector
    for premium, a, b, owes in scalar:  # never more than the premium, never negative
        assert 0 <= a + b <= premium and owes == premium - a - b >= 0


def test_an_amount_too_large_for_int64_is_rejected_not_wrapped():
    # the subsidy has 8 decimals here (fen × a rate of 6), so 999,999,999,999.99 yuan is 10^20 units: the row is
    # rejected with the place of the amount; the other member is assessed (100.05 as in the worked case: 46.40)
    p = program(layer_mode="half_even", layer_q="0.1", mode="down", q="1", month=3)
    table = pa.table({"id": ["A", "B"], "base": ["999999999999.99", "100.05"], "share": ["33.3%", "33.3%"],
                      "part": ["true", "true"]})
    results, rejects = assess_table(p, table)
    assert [r["member_id"] for r in results.to_pylist()] == ["B"] and results.column("member_owes")[0].as_py() == \
        Decimal("46.4")
    (r,) = rejects.to_pylist()
    assert r["member"] == "A" and "too large for exact arithmetic at t.mr:" in r["reason"]
