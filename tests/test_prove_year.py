"""prove, issue 13 continued: declared cliffs (exempt from 'monotone', with their citation) and the yearly
limits proved over several claims of one benefit year (counterexamples that explain runs)."""
from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules import nodes
from medrules.check import types as check_types
from medrules.cli import app
from medrules.plan import ops as plan_ops
from medrules.prove import YEAR_PROPERTIES, prove

CASES = ROOT / "tests" / "prove"
QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
FEN = Decimal("0.01")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def by_prop(report):
    return {(f.fund, f.prop): f for f in report.findings}


# ---------------------------------------------------------------- declared cliffs
def test_cliff_has_its_name_in_the_grammar_node_checker_plan_and_prove():
    grammar = (ROOT / "grammar" / "medrules.lark").read_text(encoding="utf-8")
    assert re.search(r"^cliff:", grammar, re.M)
    assert hasattr(nodes, "Cliff") and hasattr(check_types, "check_cliff") and hasattr(plan_ops, "Cliff")
    plan = medrules.load(CASES / "declared-cliff.mr").plan
    (fund,) = plan.top.funds
    assert [type(c).__name__ for c in fund.cliffs] == ["Cliff"]
    assert not any(isinstance(o, plan_ops.Cliff) for o in fund.operations())  # metadata, not a kernel step


def test_a_declared_cliff_is_exempt_with_its_citation_and_the_drop_is_real(tmp_path):
    # 'applies when claim.cost <= 1000' pays 50%: a claim of 1,000.01 is paid 0, one just below is paid
    # half of itself (e.g. 0.04 → 0.02). The fund declares that cliff (S-1 art. 1), so monotone is proved
    # outside it and the drop across it is 'exempt', cited.
    r = invoke("prove", CASES / "declared-cliff.mr", "--json", "--timeout", "60", "--claims-per-year", "0")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    statuses = {(f["fund"], f["property"]): f["status"] for f in doc["findings"]}
    assert statuses[(None, "monotone")] == "proved"
    assert statuses[("f", "cliff")] == "exempt"
    cliff = next(f for f in doc["findings"] if f["property"] == "cliff")
    assert cliff["detail"].startswith("declared cliff, exempt (§ S-1 art. 1 “pays half of a claim of at most 1,000 yuan”)")
    cost = Decimal(cliff["counterexample"]["claims"][0]["cost"])
    assert cost > 1000  # the claim that costs more is beyond the threshold …
    facts = tmp_path / "cx.json"
    facts.write_text(json.dumps(cliff["counterexample"]), "utf-8")
    r = invoke("run", CASES / "declared-cliff.mr", facts, "--json")
    assert r.exit_code == 0 and Decimal(json.loads(r.stdout)["claims"][0]["funds"][0]["paid"]) == 0  # … and paid 0
    text = invoke("prove", CASES / "declared-cliff.mr", "--timeout", "60", "--claims-per-year", "0").output
    assert "every property holds for all inputs" in text and "○ prove/declared-cliff · f: cliff — exempt" in text


def test_a_cliff_declared_where_prove_finds_no_drop_is_a_warning(tmp_path):
    # the same fund without the threshold pays 50% of every claim: more cost never pays less, so the
    # declared cliff is a warning (the rulebook is fine otherwise: exit 0)
    text = (CASES / "declared-cliff.mr").read_text("utf-8").replace("  applies when claim.cost <= 1_000 yuan\n", "")
    path = tmp_path / "no-cliff.mr"
    path.write_text(text, "utf-8")
    report = prove(medrules.load(path), properties=("monotone",), timeout_ms=60_000)
    found = by_prop(report)
    assert found[(None, "monotone")].status == "proved"
    warning = found[("f", "cliff")]
    assert warning.status == "warning" and "never pays less across it" in warning.detail
    assert report.ok and not report.proved


def test_an_undeclared_cliff_still_fails_beside_a_declared_one(tmp_path):
    # a second threshold (2,000 yuan) that is not declared: a claim of 2,000.01 … no, the first threshold
    # already stops payment above 1,000; so put the undeclared one below it: the fund pays nothing on
    # claims from 500.01 to 600 yuan ('exclude'), undeclared → monotone fails (600.00 vs 500.00: 0 < 250.00)
    text = (CASES / "declared-cliff.mr").read_text("utf-8").replace(
        "  base claim.cost\n",
        "  exclude when claim.cost > 500 yuan and claim.cost <= 600 yuan because \"a gap\"\n  base claim.cost\n")
    path = tmp_path / "gap.mr"
    path.write_text(text, "utf-8")
    report = prove(medrules.load(path), properties=("monotone",), timeout_ms=60_000)
    found = by_prop(report)
    mono = found[(None, "monotone")]
    assert mono.status == "failed"
    cost = Decimal(mono.facts["claims"][0]["cost"])
    assert 500 < cost <= 600  # the claim that costs more lands in the undeclared gap, not across 1,000
    assert found[("f", "cliff")].status == "exempt"


# ---------------------------------------------------------------- yearly limits over several claims
def _special(cost: Decimal) -> Decimal:
    """special_pool by hand: 80% of the cost, rounded half-up to the fen, at most 2,000 per claim."""
    return min((cost * Decimal("0.8")).quantize(FEN, ROUND_HALF_UP), Decimal(2000))


def _outpatient(cost: Decimal, room: Decimal) -> Decimal:
    """outpatient_pool by hand: 50%, rounded half-up, within what is left of the 3,000 yearly cap."""
    return min((cost * Decimal("0.5")).quantize(FEN, ROUND_HALF_UP), max(room, Decimal(0)))


def test_a_yearly_cap_broken_only_across_two_claims_is_found_and_explain_reproduces_it(tmp_path):
    # tests/prove/year-cap.mr: outpatient (cap 3,000 a year) and special outpatient (cap 2,000 PER CLAIM)
    # both count their payments in pool_paid. One claim never passes 3,000, so every property of one
    # claim holds; two claims of the year do.
    path = CASES / "year-cap.mr"
    single = prove(medrules.load(path), properties=("bounds", "caps", "grid", "member"), timeout_ms=60_000,
                   claims_per_year=0)
    assert single.proved and {f.prop for f in single.findings} == {"bounds", "caps", "grid", "member"}
    report = prove(medrules.load(path), properties=YEAR_PROPERTIES, timeout_ms=20_000, claims_per_year=2)
    (finding,) = report.findings
    assert (finding.fund, finding.prop, finding.status) == ("outpatient_pool", "year_caps", "failed")
    claims = finding.facts["claims"]
    assert [c["id"] for c in claims] == ["C1", "C2"]
    # the year's payments into pool_paid, by hand from the counterexample's facts
    total, room = Decimal(0), Decimal(3000)
    for c in claims:
        cost = Decimal(c["cost"])
        paid = _special(cost) if c["kind"] == "special" else _outpatient(cost, room)
        total += paid
        room -= paid
    assert total > 3000
    facts = tmp_path / "cx.json"
    facts.write_text(json.dumps(finding.facts), "utf-8")
    r = invoke("run", path, facts, "--json")
    assert r.exit_code == 0, r.output
    paid = [sum(Decimal(f["paid"]) for f in c["funds"]) for c in json.loads(r.stdout)["claims"]]
    assert sum(paid) == total
    r = invoke("explain", path, facts)
    assert r.exit_code == 0 and "C2" in r.output, r.output


def test_the_broken_yearly_cap_by_hand_two_special_claims_of_4000():
    # two special-outpatient claims of 4,000.00: 80% = 3,200.00, capped at 2,000.00 each (per claim);
    # the pool's year reaches 4,000.00 although its cap is 3,000.00
    program = medrules.load(CASES / "year-cap.mr")
    doc = {"member": {"id": "M1"}, "claims": [
        {"id": "C1", "date": "2012-03-01", "kind": "special", "cost": "4000.00"},
        {"id": "C2", "date": "2012-04-01", "kind": "special", "cost": "4000.00"}]}
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile
    result = medrules.settle(program, facts_from_source(SourceFile("x.json", json.dumps(doc)), program.checked))
    assert [c.funds_paid for c in result.claims] == [Decimal("2000.00"), Decimal("2000.00")]
    assert result.claims[-1].accumulators["pool_paid"] == Decimal("4000.00")


def test_quzhou_yearly_limits_hold_over_two_claims_of_a_year():
    # seed 002 / provisions A1–A3: outpatient deductible 300 a year, outpatient cost ceiling 3,000 a year,
    # inpatient cost ceiling 160,000 (reading cap_axis: cost), critical-illness payments 250,000 a year
    report = prove(medrules.load(QUZHOU), properties=YEAR_PROPERTIES, timeout_ms=20_000, claims_per_year=2)
    assert {(f.fund, f.prop): f.status for f in report.findings} == {
        ("outpatient_pool", "year_deductible"): "proved",
        ("outpatient_pool", "year_ceiling"): "proved",
        ("inpatient_pool", "year_ceiling"): "proved",
        ("critical_illness", "year_caps"): "proved"}


@pytest.mark.slow
def test_quzhou_yearly_limits_hold_over_three_claims_of_a_year():
    report = prove(medrules.load(QUZHOU), properties=YEAR_PROPERTIES, timeout_ms=120_000, claims_per_year=3)
    assert len(report.findings) == 4 and all(f.status == "proved" for f in report.findings), report.findings


def test_the_quzhou_year_is_not_independent_of_the_order_of_its_claims():
    # why prove asserts no order independence: the 3,000 outpatient ceiling is shared by claims paid at
    # 50% (other institutions) and 55% (grassroots, zero mark-up). Working member, deductible 300.
    #   A: 2,000.00 at 'other', B: 2,000.00 at grassroots.
    #   A then B: A pays (2,000 − 300) × 50% = 850.00; B pays on 3,000 − 2,000 = 1,000 at 55% = 550.00 → 1,400.00
    #   B then A: B pays (2,000 − 300) × 55% = 935.00; A pays on 1,000 at 50% = 500.00 → 1,435.00
    program = medrules.load(QUZHOU)
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile

    def year(first, second):
        claims = [{"id": f"C{i + 1}", "date": f"2012-0{i + 3}-01", "kind": "outpatient", "institution": inst,
                   "compliant_cost": "2000.00"} for i, inst in enumerate((first, second))]
        doc = {"member": {"id": "M1", "category": "working"}, "claims": claims}
        result = medrules.settle(program, facts_from_source(SourceFile("x.json", json.dumps(doc)), program.checked))
        return [c.funds_paid for c in result.claims]

    assert year("other_designated", "grassroots_zero_markup") == [Decimal("850.00"), Decimal("550.00")]
    assert year("grassroots_zero_markup", "other_designated") == [Decimal("935.00"), Decimal("500.00")]


def test_claims_per_year_through_the_cli():
    # (a short time limit: monotone, the slowest question, may be left 'unknown'; it is not this test's)
    r = invoke("prove", CASES / "year-cap.mr", "--claims-per-year", "2", "--timeout", "10", "--json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert {f["property"] for f in doc["findings"] if f["status"] == "failed"} == {"year_caps"}
    r = invoke("prove", CASES / "declared-cliff.mr", "--claims-per-year", "0", "--timeout", "10")
    assert r.exit_code == 0 and "year_" not in r.output, r.output
    r = invoke("prove", CASES / "year-cap.mr", "--claims-per-year", "9")
    assert r.exit_code == 2 and "claims-per-year" in r.output, r.output


@pytest.mark.parametrize("before, pool, layer", [
    # township admission of 10,000.00 in 2019 (deductible 600, rate 80%; the 120,000 cost limit; (六) 60%):
    # 119,999.99 counted before: charged 600 (the year is below 120,000) → starts at 120,599.99, above the
    #   limit: the pool pays 0, the layer 60% × (129,999.99 − 120,599.99 = 9,400.00) = 5,640.00;
    # 120,000.00 counted before: wholly above the limit, not charged (reading deductible_above_limit):
    #   the layer pays 60% × 10,000.00 = 6,000.00 — more, not less
    ("119999.99", "0", "5640.00"),
    ("120000.00", "0", "6000.00"),
])
def test_pingyang_deductible_waived_above_120000_is_no_cliff_in_the_claims_cost(before, pool, layer):
    # why rulebooks/pingyang declares no cliff: the waiver reads the year's cost BEFORE the claim, so the
    # same state charges two claims alike (monotone is untouched), and crossing it raises the payment
    program = medrules.load(ROOT / "rulebooks" / "pingyang" / "residents-2019.mr")
    doc = {"member": {"id": "M", "birth_date": "1960-05-01"}, "opening": {"inpatient_cost": before},
           "claims": [{"id": "C1", "date": "2019-06-10", "kind": "inpatient", "institution": "township",
                       "compliant_cost": "10000.00"}]}
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile
    claim = medrules.settle(program, facts_from_source(SourceFile("x.json", json.dumps(doc)), program.checked)).claims[0]
    assert claim.fund("inpatient_pool").paid == Decimal(pool) and claim.fund("above_limit").paid == Decimal(layer)


def test_a_cliff_reads_the_same_in_chinese_keywords():
    # 待遇断崖 当 … 时 原因 "…" 引用 …: the same tree in either keyword set
    from medrules.nodes import shape
    from medrules.parse import parse
    from medrules.source import SourceFile
    from medrules.translate import translate
    text = (CASES / "declared-cliff.mr").read_text("utf-8")
    zh_text = translate(text, "zh", "declared-cliff.mr")
    assert "待遇断崖 当 claim.cost <= 1_000元 时 原因" in zh_text
    assert shape(parse(SourceFile("a.mr", text))) == shape(parse(SourceFile("b.mr", zh_text)))


def test_min_and_max_are_encoded_exactly():
    # anji 2014's outpatient base is min(general_and_herbal, compliant_cost) ≤ the total cost; encoded as
    # a free value it let the solver pay more than the total (a model the evaluator never reproduced)
    report = prove(medrules.load(ROOT / "rulebooks" / "anji" / "residents-2014.mr"), properties=("member",),
                   timeout_ms=60_000, claims_per_year=0)
    assert [(f.prop, f.status) for f in report.findings] == [("member", "proved")]


def test_a_supplementary_layer_reads_the_base_schemes_settlement_of_the_same_claim():
    # the mutual-aid layer pays on what the employee scheme left to the member; with that layer's results
    # as free amounts the solver let it pay more than the claim cost (a model the evaluator never
    # reproduced: 'unconfirmed'); encoded on the same claim, 'member' is proved
    report = prove(medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-mutual-aid-2012.mr"),
                   properties=("member",), timeout_ms=60_000, claims_per_year=0)
    assert {(f.layer, f.prop): f.status for f in report.findings} == {
        ("quzhou/employee-2012", "member"): "proved", ("quzhou/employee-mutual-aid-2012", "member"): "proved"}


def test_sets_are_encoded_member_by_member():
    # veterans: 'applies when … has(member.categories, disabled_1_6)' in one fund and '… not has(…)' in
    # the next; as free yes/no values both could apply (a model the evaluator never reproduced); one
    # yes/no per member of the set makes them exclusive, and 'member' is proved
    report = prove(medrules.load(ROOT / "rulebooks" / "veterans" / "subsidy.mr"), properties=("member",),
                   timeout_ms=60_000, claims_per_year=0)
    assert {f.prop: f.status for f in report.findings if f.layer == "veterans/subsidy"} == {"member": "proved"}
