"""The vector backend: hand-computed settlements, its integer arithmetic, and the differential test
against the scalar backend on every shipped rulebook (to the fen, per claim, fund and accumulator)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medrules
from conftest import ROOT, VECTOR_RULEBOOKS
from medrules.batch.columns import day_number
from medrules.batch.differential import differences, settle_vector
from medrules.batch.generate import random_members
from medrules.batch.vector import add_months, benefit_year_start, month_start, round_div

RULEBOOKS = VECTOR_RULEBOOKS
QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"


def _name(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


@pytest.fixture(scope="module")
def programs():
    cache = {}

    def load(path):
        if path not in cache:
            cache[path] = medrules.load(path)
        return cache[path]
    return load


def yuan(x, scale=2):
    return Decimal(int(x)).scaleb(-scale)


def test_quzhou_inpatient_year_by_hand(programs):
    program = programs(QUZHOU)
    member = {"id": "M1", "category": "working", "enrolled_paid_on": None, "arrears_from": None,
              "arrears_paid_on": None, "resumed_paid_on": None}

    def claim(i, day, kind, cost, institution="other_designated"):
        return {"id": f"C{i}", "date": day, "kind": kind, "institution": institution,
                "compliant_cost": Decimal(cost), "self_paid": Decimal(0)}
    claims = [claim(2, dt.date(2012, 6, 1), "inpatient", "170000"),  # given out of order: settled by date
              claim(1, dt.date(2012, 3, 1), "inpatient", "50600"),
              claim(3, dt.date(2013, 1, 10), "outpatient", "1000", "grassroots_zero_markup")]
    vp, r = settle_vector(program, [(member, claims)])
    paid = {f: [yuan(v, r.scale) for v in col] for f, col in r.funds.items()}
    # C1: deductible 600 per admission; (50,600 − 600) × 84% = 42,000.00
    assert paid["inpatient_pool"][1] == Decimal("42000.00")
    # C2, under the rulebook's reading (cap_axis = cost: 160,000 is a point on the year's inpatient cost):
    #   the year's axis 50,600 → 220,600, after the 600 deductible 51,200 → 220,600, limited at 160,000:
    #   (60,000 − 51,200) × 84% = 7,392.00 and (160,000 − 60,000) × 87% = 87,000.00, 94,392.00 in all
    assert paid["inpatient_pool"][0] == Decimal("94392.00")
    # the cost above 160,000: (220,600 − 160,000) × 90% = 60,600 × 0.9 = 54,540.00 by the critical-illness layer
    assert paid["critical_illness"][0] == Decimal("54540.00")
    assert yuan(r.member_pays[0]) == Decimal("170000") - Decimal("94392") - Decimal("54540")
    assert yuan(r.accumulators["inpatient_cost"][0]) == Decimal("220600.00")
    # the year's inpatient payments: 42,000 + 94,392 = 136,392.00
    assert yuan(r.accumulators["inpatient_paid"][0]) == Decimal("136392.00")
    # C3, 2013: a new benefit year, the accumulators start again; (1,000 − 300) × 55% = 385.00
    assert paid["outpatient_pool"][2] == Decimal("385.00")
    assert yuan(r.accumulators["inpatient_cost"][2]) == 0
    assert yuan(r.accumulators["outpatient_cost"][2]) == Decimal("1000.00")


@pytest.mark.parametrize("mode, expected", [
    # 25 / 10 = 2.5, 35 / 10 = 3.5, 21 / 10 = 2.1, −25 / 10 = −2.5
    ("half_up", [3, 4, 2, -3]), ("half_even", [2, 4, 2, -2]), ("down", [2, 3, 2, -2]), ("up", [3, 4, 3, -3])])
def test_integer_rounding_matches_decimal_modes(mode, expected):
    assert round_div(np.array([25, 35, 21, -25]), 10, mode).tolist() == expected


def test_calendar_columns():
    days = np.array([day_number(dt.date(2012, 1, 31)), day_number(dt.date(2011, 12, 15))])
    # 31 January + 1 month is 29 February in a leap year; 15 December + 1 month is 15 January
    expected = [day_number(dt.date(2012, 2, 29)), day_number(dt.date(2012, 1, 15))]
    assert add_months(days, np.array([1, 1])).tolist() == expected
    assert month_start(days).tolist() == [day_number(dt.date(2012, 1, 1)), day_number(dt.date(2011, 12, 1))]
    # a September–August year: 2017-08-31 belongs to the year from 2016-09-01, 2017-09-01 starts one
    sept = benefit_year_start(np.array([day_number(dt.date(2017, 8, 31)), day_number(dt.date(2017, 9, 1))]), (9, 1))
    assert sept.tolist() == [day_number(dt.date(2016, 9, 1)), day_number(dt.date(2017, 9, 1))]


@pytest.mark.parametrize("path", RULEBOOKS, ids=_name)
def test_vector_equals_scalar_on_a_seeded_corpus(programs, path):
    program = programs(path)
    members = random_members(program.checked, 2_300, seed=8)  # 1–8 claims each: ≥ 10^4 claims
    assert sum(len(m[1]) for m in members) >= 10_000
    assert differences(program, members) == []


@pytest.mark.parametrize("path", RULEBOOKS, ids=_name)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), size=st.integers(1, 15), claims=st.integers(1, 25))
def test_vector_equals_scalar_hypothesis(programs, path, seed, size, claims):
    program = programs(path)
    assert differences(program, random_members(program.checked, size, seed=seed, max_claims=claims)) == []


def _inline(body: str, rounding: str = "half_up to 0.01 yuan"):
    from medrules.source import SourceFile
    text = f"""
rulebook "arith" {{
  effective from 2012-01-01
  year starts 01-01 by claim.date
  rounding {rounding} per payment
}}
source S {{ number "n" }}
facts member {{ id: text }}
facts claim {{ id: text  date: date  cost: money }}
{body}
total cost is claim.cost
"""
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("arith.mr", text))))


def _claims(*costs):
    return [({"id": "M"}, [{"id": f"C{i}", "date": dt.date(2012, i, 1), "cost": Decimal(c)}
                           for i, c in enumerate(costs, 1)])]


def test_rounding_up_stays_within_a_yearly_cap():
    # cap 100.5 yuan a year, rounding up to 1 yuan, rate 100%: C1 100.00 pays 100 (room 100.5); C2 3.00 has
    # a room of 0.5, rounding up would pay 1: the largest whole yuan within 0.5 is 0 (docs/arithmetic.md)
    prog = _inline('accumulator paid: money per year\nfund f cites S "q" {\n base claim.cost\n rate 100%\n'
                   ' accumulate payments in paid\n cap payments at 100.5 yuan\n}', rounding="up to 1 yuan")
    _, r = settle_vector(prog, _claims("100.00", "3.00"))
    assert [yuan(x, r.scale) for x in r.funds["f"]] == [Decimal(100), Decimal(0)]


def test_the_veterans_sub_fen_quota_is_not_exceeded(programs):
    # pension standard 1,234.65 × 10% = 123.465, the quota; a 200.00 outpatient claim is above it; half-up
    # would pay 123.47, above the quota: the fund pays 123.46
    prog = programs(ROOT / "rulebooks" / "veterans" / "subsidy.mr")
    member = {"id": "V", "categories": frozenset({"martyr_family"}), "pension_standard": Decimal("1234.65"),
              "quota_brought_forward": Decimal(0)}
    claim = {"id": "C1", "date": dt.date(2011, 3, 1), "kind": "outpatient", "compliant_cost": Decimal("200.00"),
             "self_paid": Decimal(0), "designated": True, "cause": "ordinary", "abroad": False,
             "liable_party": "nobody"}
    _, r = settle_vector(prog, [(member, [claim])])
    assert yuan(r.funds["outpatient_quota"][0], r.scale) == Decimal("123.46")


def test_a_division_is_refused_at_load_naming_it():
    from medrules.batch.vector import compile_vector
    prog = _inline('fund f cites S "q" {\n base claim.cost / 3\n rate 90%\n}')
    with pytest.raises(medrules.MedrulesError) as exc:
        compile_vector(prog)
    d = exc.value.diagnostics[0]
    assert "division" in d.message and (d.span.file, d.span.line) == ("arith.mr", 11)


def test_parameter_overrides_reach_the_vector_backend(programs):
    # the plan is lowered with inpatient_deductible = 1,000: (50,600 − 1,000) × 84% = 41,664.00
    program = medrules.compile_rulebook(programs(QUZHOU).checked, overrides={"inpatient_deductible": Decimal(1000)})
    member = {"id": "M1", "category": "working", "enrolled_paid_on": None, "arrears_from": None,
              "arrears_paid_on": None, "resumed_paid_on": None}
    claim = {"id": "C1", "date": dt.date(2012, 3, 1), "kind": "inpatient", "institution": "other_designated",
             "compliant_cost": Decimal(50600), "self_paid": Decimal(0)}
    _, r = settle_vector(program, [(member, [claim])])
    assert yuan(r.funds["inpatient_pool"][0]) == Decimal("41664.00")


@settings(max_examples=200, deadline=None)
@given(num=st.lists(st.integers(-10 ** 12, 10 ** 12), min_size=1, max_size=5), den=st.integers(1, 10 ** 6),
       mode=st.sampled_from(["half_up", "half_even", "down", "up"]))
def test_integer_rounding_is_decimal_quantize(num, den, mode):
    from medrules.plan.arith import MODES
    expected = [int((Decimal(x) / Decimal(den)).quantize(Decimal(1), rounding=MODES[mode])) for x in num]
    assert round_div(np.array(num, np.int64), den, mode).tolist() == expected
