"""The vector backend proves bounds instead of testing every chunk (round 4, docs/performance.md): one reduction
of a fund's base (its largest value read unsigned) bounds its running sums, its band products and its rounded
payment. Where a bound cannot be proved the tests are still made: an amount beyond int64's exact range is
refused with its place in the rulebook, never wrapped; a payment rounded to a coarser grid than the money scale
is still stopped at the base. Chunked or not, the results are the same (a chunk writes into the whole columns)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

import medrules
from conftest import ROOT
from medrules.batch.columns import encode_records
from medrules.batch.differential import differences
from medrules.batch.vector import LIMIT, compile_vector, everywhere, settle_columns

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"

COARSE = """rulebook "coarse" {
  effective from 2012-01-01
  year starts 01-01 by claim.date
  rounding half_up to 1 yuan per payment
}
source S { number "n" }
facts member { id: text }
facts claim { id: text  date: date  cost: money }
fund f cites S "q" {
  base claim.cost
  rate 100%
}
total cost is claim.cost
"""


def _member(mid: str, category: str, costs: list[str]) -> tuple[dict, list[dict]]:
    member = {"id": mid, "category": category, "enrolled_paid_on": None, "arrears_from": None,
              "arrears_paid_on": None, "resumed_paid_on": None}
    claims = [{"id": f"{mid}-{i}", "date": dt.date(2012, 3, 1 + i), "kind": "inpatient",
               "institution": "other_designated", "compliant_cost": Decimal(c), "self_paid": Decimal(0)}
              for i, c in enumerate(costs)]
    return member, claims


def _settle(program, members, chunk):
    vp = compile_vector(program)
    claims = [c for _, cs in members for c in cs]
    who = np.array([i for i, (_, cs) in enumerate(members) for _ in cs], np.int64)
    return settle_columns(vp, who, encode_records(program.checked, "claim", claims),
                          encode_records(program.checked, "member", [m for m, _ in members]), chunk=chunk)


@pytest.mark.parametrize("chunk", [None, 1])
def test_a_cost_beyond_the_exact_range_is_refused_and_the_others_are_settled(chunk):
    # Quzhou 2012, payments reading. M0 (working): one admission of 10,000.00 yuan: deductible 600 per admission,
    # 9,400.00 in the 84% band (the year's cost stays under 60,000): 9,400 × 84% = 7,896.00 yuan; no cap is
    # reached, the critical-illness layer pays 0; the member pays 10,000 − 7,896 = 2,104.00.
    # M1 (working): one admission of 10^15 yuan = 10^17 fen. Its base is within 2^62 (the bound is proved and the
    # running sums need no test), but the part in the 87% band, ~10^17 fen × 87 (rates in hundredths) ≈ 8.7 × 10^18,
    # is beyond 2^62 ≈ 4.6 × 10^18: refused, with the fund's place in the rulebook.
    program = medrules.load(QUZHOU, readings={"cap_axis": "payments"})
    members = [_member("M0", "working", ["10000.00"]), _member("M1", "working", ["1000000000000000.00"])]
    assert 10 ** 17 <= LIMIT < 10 ** 17 * 87
    r = _settle(program, members, chunk)
    assert r.funds["inpatient_pool"][0] == 789_600 and r.funds["critical_illness"][0] == 0
    assert r.member_pays[0] == 210_400 and r.total[0] == 1_000_000
    assert r.accumulators["inpatient_paid"][0] == 789_600 and r.accumulators["inpatient_cost"][0] == 1_000_000
    assert r.error[0] == ""
    assert r.error[1].startswith("an amount is too large for exact arithmetic at ")
    assert "employee-2012.mr:" in r.error[1]


@pytest.mark.parametrize("chunk", [None, 1])
def test_a_payment_rounded_to_the_yuan_stops_at_the_base(tmp_path, chunk):
    # rounding half up to 1 yuan (100 fen: coarser than the money scale, so the bound that skips the test does
    # not apply): 10.50 × 100% = 10.50 rounds up to 11, above the base: the largest whole yuan within it, 10;
    # 10.40 rounds to 10; 7.00 stays 7.
    path = tmp_path / "coarse.mr"
    path.write_text(COARSE, encoding="utf-8")
    program = medrules.load(path)
    members = [({"id": "M0"}, [{"id": "a", "date": dt.date(2012, 1, 5), "cost": Decimal("10.50")},
                               {"id": "b", "date": dt.date(2012, 2, 5), "cost": Decimal("10.40")}]),
               ({"id": "M1"}, [{"id": "c", "date": dt.date(2012, 1, 5), "cost": Decimal("7.00")}])]
    r = _settle(program, members, chunk)
    assert r.funds["f"].tolist() == [1_000, 1_000, 700]
    assert r.member_pays.tolist() == [50, 40, 0]
    assert differences(program, members, chunk=chunk) == []


def test_a_value_on_every_row_is_a_read_only_view_of_one_element():
    # an accumulator no fund fed: 0 on each of 5 rows, no column of 5 written
    column = everywhere(np.int64(0), 5)
    assert column.tolist() == [0, 0, 0, 0, 0] and column.strides == (0,) and column.dtype == np.int64
    with pytest.raises(ValueError):
        column[2] = 1
