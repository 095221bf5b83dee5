"""prove's 'monotone' decided by structure first (medrules.prove.monotone): every shipped rulebook decided,
deliberately non-monotone rulebooks never marked structural and failing with a counterexample the
evaluator replays, and random pairs of claims on every structurally proved rulebook."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import medrules
from conftest import ROOT
from medrules.diagnostics import MedrulesError
from medrules.facts import facts_from_source
from medrules.prove import prove
from medrules.prove.monotone import ANY, CONST, DOWN, UP, analyse, flip, join
from medrules.source import SourceFile
from test_trace_schema import EXAMPLE_FILES, _rulebook_for

CASES = ROOT / "tests" / "prove"
_PROGRAMS: dict = {}


def load(path):
    path = str(path)
    if path not in _PROGRAMS:
        _PROGRAMS[path] = medrules.load(ROOT / path)
    return _PROGRAMS[path]


def monotone(path, timeout_ms=20_000):
    report = prove(load(path), properties=("monotone",), timeout_ms=timeout_ms, claims_per_year=0)
    return [f for f in report.findings if f.prop == "monotone"]


def settle_one(program, claim: dict, member: dict | None = None, opening: dict | None = None):
    doc = {"member": member or {"id": "M1"}, "claims": [claim]} | ({"opening": opening} if opening else {})
    facts = facts_from_source(SourceFile("pair.json", json.dumps(doc)), program.checked)
    return medrules.settle(program, facts).claims[0]


def test_the_direction_lattice():
    assert join(UP, CONST, UP) == UP and join(UP, DOWN) == ANY and join() == CONST
    assert flip(UP) == DOWN and flip(CONST) == CONST and flip(ANY) == ANY


# -------------------------------------------------------------------- shipped rulebooks, by structure
STRUCTURAL = ["anji/residents-2014.mr", "anji/residents-2015.mr", "cangzhou/yanshan-residents-2017.mr",
              "chongqing/residents-2017.mr", "pingyang/residents-2019.mr", "pingyang/residents-earlier.mr",
              "qinhuangdao/residents-2017.mr", "qinhuangdao/students-2017-2018.mr",
              "qinhuangdao-integration/ncms-2016.mr", "qinhuangdao-integration/urban-residents-2016.mr",
              "quzhou/employee-2012.mr", "quzhou/employee-mutual-aid-2012.mr", "quzhou/residents-2020.mr",
              "tianjin/employee-continuity.mr", "veterans/subsidy.mr", "weifang/kuiwen-residents-2011.mr"]


@pytest.mark.parametrize("path", STRUCTURAL)
def test_monotone_is_proved_by_structure_on_a_shipped_rulebook(path):
    # no solver question: a 1 s limit would leave any solver question unknown
    findings = monotone(f"rulebooks/{path}", timeout_ms=1000)
    assert findings and all(f.status == "proved" and f.method == "structural" for f in findings), findings


def test_chongqing_outpatient_quota_pays_what_the_subsidies_left_and_is_still_structural():
    # quota base = cost − inpatient − trauma − delivery − caesarean subsidy: the four never apply together
    # (claim.kind, claim.trauma, claim.caesarean), each pays at most what the cost grows by (rates ≤ 1,
    # rounding to the fen), so the base never shrinks; the pool's base is what the quota left
    signs = analyse(load("rulebooks/chongqing/residents-2017.mr"), load("rulebooks/chongqing/residents-2017.mr").plan.top)
    funds = {f.name: f for f in signs.funds}
    assert funds["outpatient_quota"].outputs["base"] == UP and funds["outpatient_quota"].paid == UP
    assert funds["outpatient_pool"].paid == UP and signs.residual == ()


def test_veterans_disabled_subsidy_pays_what_the_basic_scheme_left_below_its_cap():
    # disabled_1_6 pays cost − the basic scheme's payment − the basic cost above its payment cap. Basic:
    # 55% above a 700 deductible, capped at 180,000 a year. The kernel lemma Δpaid + Δabove_cap ≤ Δpayable
    # (two roundings to the fen err by less than a fen together) makes its base non-decreasing
    program = load("rulebooks/veterans/subsidy.mr")
    signs = analyse(program, program.plan.top)
    assert {f.name: f.paid for f in signs.funds}["disabled_1_6_subsidy"] == UP and signs.residual == ()
    # by hand, 10.00 of room left under the basic cap (179,990.00 paid this year), the cap reached at
    # 700 + 10 / 55% = 718.1818…: a claim of 718.18 → basic 18.18 × 55% = 9.999 → 10.00 (not above the
    # room), above_cap 0, disabled 718.18 − 10.00 = 708.18; a claim of 718.19 → basic 10.00 (capped),
    # above_cap = 718.19 − 718.1818… = 0.0081… → 0.01, disabled 718.19 − 10.00 − 0.01 = 708.18
    member = {"id": "M1", "categories": ["disabled_1_6"], "pension_standard": "60000.00"}
    opening = {"resident.inpatient_paid": "179990.00"}
    claim = {"id": "C1", "date": "2011-06-01", "kind": "tertiary_inpatient"}
    for cost, basic, disabled in (("718.18", "10.00", "708.18"), ("718.19", "10.00", "708.18")):
        c = settle_one(program, claim | {"compliant_cost": cost}, member, opening)
        paid = {f.fund: f.paid for f in c.funds}
        assert paid["resident.inpatient_pool"] == Decimal(basic) and paid["disabled_1_6_subsidy"] == Decimal(disabled)


@settings(max_examples=300, deadline=None)
@given(room=st.integers(1, 2_000), below=st.integers(-300, 300), step=st.integers(1, 300))
def test_veterans_disabled_subsidy_never_drops_across_the_basic_cap(room, below, step):
    # where the lemma's two roundings meet: claims a few fen either side of the point where the basic
    # scheme's 55% reaches the room left under its cap (700 + room / 55%)
    program = load("rulebooks/veterans/subsidy.mr")
    member = {"id": "M1", "categories": ["disabled_1_6"], "pension_standard": "60000.00"}
    left = Decimal(room) / 100
    opening = {"resident.inpatient_paid": str(Decimal(180_000) - left)}
    point = (700 + left / Decimal("0.55")).quantize(Decimal("0.01"))
    cost = max(Decimal(0), point + Decimal(below) / 100)
    claim = {"id": "C1", "date": "2011-06-01", "kind": "tertiary_inpatient"}
    paid = settle_one(program, claim | {"compliant_cost": str(cost)}, member, opening).funds_paid
    more = settle_one(program, claim | {"compliant_cost": str(cost + Decimal(step) / 100)}, member, opening).funds_paid
    assert more >= paid


@pytest.mark.slow
@pytest.mark.parametrize("path", ["anji/residents-2014.mr", "chongqing/residents-2017.mr", "pingyang/residents-2019.mr",
                                  "quzhou/employee-2012.mr", "veterans/subsidy.mr"])
def test_every_property_of_the_rulebooks_monotone_was_unknown_on_is_proved(path):
    report = prove(load(f"rulebooks/{path}"), timeout_ms=60_000)
    assert report.proved, [f for f in report.findings if f.status != "proved"]


# -------------------------------------------------------------------- deliberately non-monotone rulebooks
BROKEN = {  # rulebook -> (the fund structure cannot settle, why, a pair worked by hand: (claim, more), (paid, paid))
    # 80% up to 1,000, 50% above: 1,000.00 × 80% = 800.00; 1,000.01 × 50% = 500.005 → 500.01
    "rate-drop.mr": ("f", "a rate or amount can shrink",
                     ({"cost": "1000.00"}, {"cost": "1000.01"}), ("800.00", "500.01")),
    # 80% capped at 500 per claim, at 100 above 1,000: 1,000.00 → 800.00 capped 500.00; 1,000.01 → 100.00
    "cap-drop.mr": ("f", "a payment cap can shrink",
                    ({"cost": "1000.00"}, {"cost": "1000.01"}), ("500.00", "100.00")),
    # a cliff not declared: applies only up to 1,000: 1,000.00 × 50% = 500.00; 1,000.01 → 0.00
    "cliff.mr": ("f", "whether it applies depends on an amount",
                 ({"cost": "1000.00"}, {"cost": "1000.01"}), ("500.00", "0.00")),
    # second pays max(0, cost − discount − first): cost 100, discount 0: 50.00 + 50.00 = 100.00;
    # cost 100, discount 50 (a money fact at least as large): 50.00 + max(0, 100 − 50 − 50) = 50.00
    "discount.mr": ("second", "its base can be smaller",
                    ({"cost": "100.00", "discount": "0.00"}, {"cost": "100.00", "discount": "50.00"}),
                    ("100.00", "50.00")),
    # both funds count the cost on one axis (the total is twice the cost, so that rounding both up never
    # pays more than it), second at 90% up to 1,000 on it: cost 500: 50.00 + (500 on
    # [500, 1,000]) × 90% = 50.00 + 450.00 = 500.00; cost 600: 60.00 + (400 on [600, 1,000]) × 90% = 420.00
    "shared-axis.mr": ("second", "reads a running total an earlier fund adds to",
                       ({"cost": "500.00"}, {"cost": "600.00"}), ("500.00", "420.00")),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_non_monotone_rulebook_is_not_structural_and_fails_with_a_counterexample(name, tmp_path):
    fund, why, (claim, more), (paid, paid_more) = BROKEN[name]
    program = load(f"tests/prove/{name}")
    signs = analyse(program, program.plan.top)
    assert fund in signs.residual
    assert why in next(f.why for f in signs.funds if f.name == fund)
    # the pair worked by hand, through the evaluator: more cost, less paid
    base = {"id": "C1", "date": "2012-03-01"}
    assert settle_one(program, base | claim).funds_paid == Decimal(paid)
    assert settle_one(program, base | more).funds_paid == Decimal(paid_more)
    # prove finds a drop and the evaluator confirms it ('failed' is only reported once it replays)
    [finding] = monotone(f"tests/prove/{name}", timeout_ms=20_000)
    assert finding.status == "failed" and finding.method == "solver", finding
    assert "is paid" in finding.detail and finding.facts["claims"]
    facts = tmp_path / "cx.json"
    facts.write_text(json.dumps(finding.facts), "utf-8")
    from typer.testing import CliRunner

    from medrules.cli import app
    r = CliRunner().invoke(app, ["explain", str(CASES / name), str(facts)])
    assert r.exit_code == 0, r.output


def test_the_json_report_names_the_method():
    from typer.testing import CliRunner

    from medrules.cli import app
    r = CliRunner().invoke(app, ["prove", str(ROOT / "rulebooks/chongqing/residents-2017.mr"), "--json",
                                 "--timeout", "2", "--claims-per-year", "0"])
    doc = json.loads(r.stdout)
    mono = [f for f in doc["findings"] if f["property"] == "monotone"]
    assert mono == [mono[0]] and mono[0]["status"] == "proved" and mono[0]["method"] == "structural"


# -------------------------------------------------------------------- random pairs against the verdict
PAIRS = [p for p in EXAMPLE_FILES if _rulebook_for(p).split("/", 1)[1] in STRUCTURAL]


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_claim_costing_more_is_never_paid_less_where_monotone_is_proved(path, data):
    program = load(_rulebook_for(path))
    doc = json.loads(path.read_text(encoding="utf-8"))
    claim = data.draw(st.sampled_from(doc["claims"]), label="claim")
    ck = program.checked
    money = [n for n, fld in ck.records["claim"].items()
             if ck.field_types.get(fld) is not None and ck.field_types[fld].unit == "money" and n in claim]
    amounts = st.decimals(0, 300_000, places=2)
    low = dict(claim) | {n: str(data.draw(amounts, label=n)) for n in money}
    high = dict(low) | {n: str(Decimal(low[n]) + data.draw(st.sampled_from(
        [Decimal(0), Decimal("0.01"), Decimal("0.02")]) | st.decimals(0, 100_000, places=2), label=f"+{n}"))
        for n in money}
    names = [f"{layer.prefix}.{a.name}" if layer.prefix else a.name
             for layer in program.plan.layers for a in layer.accumulators]
    opening = {n: str(data.draw(st.sampled_from([Decimal(0)]) | amounts, label=n)) for n in names}
    try:
        paid = settle_one(program, low, doc["member"], opening).funds_paid
        more = settle_one(program, high, doc["member"], opening).funds_paid
    except MedrulesError:  # refused (fails closed): not a pair the property speaks of
        assume(False)
    assert more >= paid, (low, high, opening, paid, more)


# -------------------------------------------------------------------- the kernel lemma, against the evaluator
def _kernels(mode: str):
    """tests/prove/kernels.mr (four fund shapes: a per-admission deductible and a yearly payment cap;
    a yearly deductible, cost cap, bands on the claim and payment cap; bands on a yearly cost axis under
    a payment cap and a ceiling; a flat amount under a sub-yuan per-claim cap) rounding by ``mode``."""
    key = f"kernels-{mode}"
    if key not in _PROGRAMS:
        text = (CASES / "kernels.mr").read_text("utf-8").replace("rounding half_up", f"rounding {mode}")
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "kernels.mr").write_text(text, "utf-8")
            _PROGRAMS[key] = medrules.load(Path(folder) / "kernels.mr")
    return _PROGRAMS[key]


@pytest.mark.parametrize("mode", ["half_up", "down", "up", "half_even"])
def test_the_kernel_lemma_is_claimed_only_off_half_even(mode):
    # with only the base moving, each fund pays at most what its base grows by (U = 1 × Δcost); not
    # claimed for half_even, whose rounding is not shifted by a whole number of fen (0.005 → 0.00, 0.015 → 0.02)
    import z3

    from medrules.prove.monotone import _analysis
    program = _kernels(mode)
    analysis = _analysis(program, program.plan.top)
    assert all(f.paid == UP for f in analysis.result.funds)
    at_most = {f.name: analysis.never_negative(z3.Real("Δclaim.cost") - analysis.d[f.name]["paid"])
               for f in program.plan.top.funds}
    assert at_most == dict.fromkeys(at_most, mode != "half_even")


OPENING = {"a_paid": (179_000, 180_000), "b_cost": (0, 3_200), "b_used": (0, 300), "b_paid": (0, 1_200),
           "c_cost": (0, 170_000), "c_paid": (59_000, 60_000)}


@settings(max_examples=400, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["half_up", "down", "up"]))
def test_the_kernel_lemma_holds_on_the_evaluator(data, mode):
    # what medrules.prove.monotone asserts of each fund when only its base moves (Δ: the claim costing
    # more − the claim): 0 ≤ Δpaid ≤ Δpayable, Δpayable + Δabove_ceiling + Δdeductible = Δbase (each ≥ 0),
    # Δremaining = Δbase − Δpaid, 0 ≤ Δabove_cap and Δpaid + Δabove_cap ≤ Δpayable
    program = _kernels(mode)
    opening = {n: str(data.draw(st.decimals(lo, hi, places=2), label=n)) for n, (lo, hi) in OPENING.items()}
    cost = data.draw(st.decimals(0, 5_000, places=2) | st.decimals(0, 200_000, places=2), label="cost")
    step = data.draw(st.decimals("0.01", "0.05", places=2) | st.decimals(0, 5_000, places=2), label="step")
    claim = {"id": "C1", "date": "2012-03-01"}
    try:
        low = settle_one(program, claim | {"cost": str(cost)}, opening=opening)
        high = settle_one(program, claim | {"cost": str(cost + step)}, opening=opening)
    except MedrulesError:
        assume(False)
    for a, b in zip(low.funds, high.funds):
        d = {k: getattr(b, k) - getattr(a, k) for k in
             ("paid", "base", "payable", "above_ceiling", "deductible", "remaining", "above_cap")}
        assert d["base"] == step
        assert 0 <= d["paid"] <= d["payable"], (a, b)
        assert d["payable"] + d["above_ceiling"] + d["deductible"] == d["base"], (a, b)
        assert min(d["payable"], d["above_ceiling"], d["deductible"]) >= 0, (a, b)
        assert d["remaining"] == d["base"] - d["paid"]
        assert 0 <= d["above_cap"] and d["paid"] + d["above_cap"] <= d["payable"], (a, b)
