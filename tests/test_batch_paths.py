"""The vector backend's two paths: running sums (grouped cumulative sums over all claims) where the plan
makes them exact, waves (the k-th claim of every member together) otherwise. The path is decided at load
from the plan and shown; both paths equal the scalar backend to the fen on the same rulebooks."""
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
from medrules.batch.columns import encode_records
from medrules.batch.differential import as_facts, differences
from medrules.batch.generate import random_members
from medrules.batch.vector import compile_vector, settle_columns, with_paths
from medrules.facts import Facts
from medrules.source import SourceFile

RULEBOOKS = VECTOR_RULEBOOKS
QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"


def _name(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def _load(path, **kw):
    return medrules.load(path, **kw)


def test_the_path_of_each_fund_is_decided_at_load_and_shown():
    quzhou = compile_vector(_load(QUZHOU, readings={"cap_axis": "payments"})).describe().splitlines()
    assert quzhou[1:] == [
        "  fund outpatient_pool: running sums: a0 as a running sum of bases; the yearly deductible as a clipped "
        "running sum",
        "  fund inpatient_pool: running sums: a0 as a running sum of bases; the yearly payment cap as a clipped "
        "running sum",
        "  fund critical_illness: running sums: the yearly payment cap as a clipped running sum"]
    # Pingyang's inpatient fund reads its own year-to-date cost in an expression: waves for that fund only
    pingyang = compile_vector(_load(ROOT / "rulebooks" / "pingyang" / "residents-2019.mr")).describe()
    assert "fund inpatient_pool: waves: its expressions read its own running total 'inpatient_cost'" in pingyang
    assert "fund outpatient_pool: running sums" in pingyang
    # Qinhuangdao's three funds feed one accumulator: the whole layer in waves
    qhd = compile_vector(_load(ROOT / "rulebooks" / "qinhuangdao" / "residents-2017.mr")).describe()
    assert qhd.splitlines()[0].endswith("waves for every fund, because accumulator 'fund_paid' is fed by more "
                                        "than one fund or role")
    # the veterans' quota is 10% of each member's pension standard, not a constant on the grid: waves
    veterans = compile_vector(_load(ROOT / "rulebooks" / "veterans" / "subsidy.mr")).describe()
    assert "fund outpatient_quota: waves: its yearly payment cap (" in veterans
    assert "rulebooks/veterans/subsidy.mr:170) is not a constant" in veterans


def test_every_shipped_rulebook_has_a_fund_on_each_path():
    paths = set()
    from medrules.batch.run import _compiled
    for path in RULEBOOKS:
        compiled = _compiled(_load(path), {})
        for vp in getattr(compiled, "targets", (compiled,)):  # a membership: its schemes' rulebooks
            paths |= {"layer waves" if y.waves else f.path for y in vp.layers for f in y.funds}
    assert paths == {"running sums", "waves", "layer waves"}


@pytest.mark.parametrize("path", RULEBOOKS, ids=_name)
@pytest.mark.parametrize("forced", ["waves", "layer waves"])
def test_the_fallback_paths_equal_the_scalar_backend(path, forced):
    # the same rulebook with its funds forced into waves: the running-sums funds now take the other path
    program = _load(path)
    members = random_members(program.checked, 500, seed=11)
    assert differences(program, members, path=forced) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), size=st.integers(1, 12), claims=st.integers(1, 30),
       forced=st.sampled_from([None, "waves", "layer waves"]))
def test_quzhou_under_its_payments_reading_on_either_path(seed, size, claims, forced):
    # yearly payment caps of 160,000 and 250,000 reached often: the clipped running sums against the scalar
    program = _PAYMENTS[0] if _PAYMENTS else _PAYMENTS.append(_load(QUZHOU, readings={"cap_axis": "payments"})) \
        or _PAYMENTS[0]
    members = random_members(program.checked, size, seed=seed, max_claims=claims)
    assert differences(program, members, path=forced) == []


_PAYMENTS: list = []


def _inline(rounding: str = "half_up to 0.01 yuan"):
    text = f"""
rulebook "clip" {{
  effective from 2012-01-01
  year starts 01-01 by claim.date
  rounding {rounding} per payment
}}
source S {{ number "n" }}
facts member {{ id: text }}
facts claim {{ id: text  date: date  cost: money }}
accumulator cost_counted: money per year
accumulator deductible_used: money per year
accumulator paid: money per year
fund f cites S "q" {{
  base claim.cost
  accumulate cost in cost_counted
  accumulate deductible in deductible_used
  accumulate payments in paid
  deductible 300 yuan per year
  rate 50%
  cap payments at 1_000 yuan
}}
total cost is claim.cost
"""
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("clip.mr", text))))


COSTS = [("2012-01-10", "200.00"), ("2012-02-10", "500.00"), ("2012-03-10", "1500.00"), ("2012-04-10", "800.00"),
         ("2013-01-10", "100.00")]


def _settle(program, opening: dict[str, str], path=None):
    """Both backends on one member with these claims and opening values: (vector paid, scalar paid, paths)."""
    vp = compile_vector(program)
    if path:
        vp = with_paths(vp, path)
    member = {"id": "M"}
    claims = [{"id": f"C{i}", "date": dt.date.fromisoformat(d), "cost": Decimal(c)} for i, (d, c) in enumerate(COSTS, 1)]
    scale = vp.money_scale
    result = settle_columns(vp, np.zeros(len(claims), np.int64), encode_records(program.checked, "claim", claims),
                            encode_records(program.checked, "member", [member]),
                            {k: np.array([int(Decimal(v).scaleb(scale))]) for k, v in opening.items()})
    facts = as_facts(member, claims)
    facts = Facts(facts.file, facts.member, facts.member_id, facts.claims, {k: Decimal(v) for k, v in opening.items()},
                  {})
    scalar = [c.fund("f").paid for c in medrules.settle(program, facts).claims]
    assert not result.error.any()
    return [Decimal(int(x)).scaleb(-scale) for x in result.funds["f"]], scalar, vp.describe()


@pytest.mark.parametrize("path", [None, "waves", "layer waves"])
def test_clipped_running_sums_by_hand(path):
    paid, scalar, shown = _settle(_inline(), {}, path)
    if path is None:
        assert "the yearly deductible as a clipped running sum; the yearly payment cap as a clipped" in shown
    # C1 200: the first 300 of the year stay with the member (200 taken), nothing paid
    # C2 500: 100 of the deductible left: (500 − 100) × 50% = 200.00
    # C3 1,500: × 50% = 750.00, within the 1,000 − 200 = 800 left
    # C4 800: × 50% = 400, but only 1,000 − 950 = 50.00 left
    # C5 2013: a new year, 300 deductible again: 100 taken, nothing paid
    expected = [Decimal(x) for x in ("0.00", "200.00", "750.00", "50.00", "0.00")]
    assert paid == expected and scalar == expected


@pytest.mark.parametrize("path", [None, "waves"])
def test_openings_start_the_running_sums(path):
    # the year opens with 350 of the deductible used (more than 300: nothing more is taken) and 900 paid:
    # C1 200 × 50% = 100.00 fills the 1,000; C2–C4 pay 0; C5 is 2013: the openings no longer count
    paid, scalar, _ = _settle(_inline(), {"deductible_used": "350.00", "paid": "900.00"}, path)
    expected = [Decimal(x) for x in ("100.00", "0.00", "0.00", "0.00", "0.00")]
    assert paid == expected and scalar == expected


def test_an_opening_off_the_rounding_grid_settles_the_layer_in_waves(caplog):
    # rounding to whole yuan; 900.50 already paid. C1 200: all of it goes to the 300 deductible, 0 paid.
    # C2 500: 100 of the deductible, then 400 × 50% = 200, above the room of 1,000 − 900.50 = 99.50; rounding
    # would land above the cap: the largest whole yuan within it, 99 (docs/arithmetic.md). C3: a room of 0.50,
    # 0 whole yuan: 0. C4 likewise; C5 (2013) goes to the new year's deductible. The rooms are off the grid, so
    # a clipped running sum would not be exact: this run settles the layer in waves, and says so
    import logging
    with caplog.at_level(logging.DEBUG, logger="medrules.batch.vector"):
        paid, scalar, _ = _settle(_inline("half_up to 1 yuan"), {"paid": "900.50"})
    expected = [Decimal(x) for x in ("0", "99", "0", "0", "0")]
    assert paid == expected and scalar == expected
    assert "the opening 'paid' of some member is not on the rounding grid" in caplog.text


def test_settle_explain_plan_prints_the_paths(tmp_path):
    from typer.testing import CliRunner

    from medrules.cli import app
    (tmp_path / "claims.csv").write_text("member_id,category,claim_id,date,kind,compliant_cost\n"
                                         "M1,working,C1,2012-03-01,inpatient,50600\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["settle", str(QUZHOU), str(tmp_path / "claims.csv"), "--out",
                                 str(tmp_path / "out.csv"), "--no-progress", "--explain-plan"])
    assert r.exit_code == 0, r.output
    # the rulebook's own reading (a cost ceiling at 160,000): no yearly payment cap on the inpatient fund
    assert "  fund inpatient_pool: running sums: a0 as a running sum of bases\n" in r.output
    assert "settled 1 claims" in r.output
