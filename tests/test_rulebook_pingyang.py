"""E: Pingyang county residents' basic medical insurance, before the 2019 change and in 2019.

Worked by hand from the text headed “城乡居民基本医疗保险制度全文” (seed 003), articles (一)–(八):

| inpatient, per admission       | deductible before → 2019 | rate before → 2019 |
|--------------------------------|--------------------------|--------------------|
| 镇(乡)卫生院 township           | 300 → 600                | 90% → 80%          |
| 县内县级医院 county hospital     | 600 → 900                | 80% → 70%          |
| 县外市内 (and 温医附二)          | 1,000 → 1,300            | 75% → 50%          |
| 市外 outside the city           | 1,000 → 1,300            | 60% → 40%          |

Out of the county without a referral or relocation filing: −5 points. Referral from an in-county
institution to 温医附二: 55% (2019; before 2019 the higher of 55% and 75%, see the rulebook).
Compliant inpatient cost (special outpatient included) counts to 120,000 a year; above it 60%, at
most 60,000 a year. Childbirth 800 flat; high-risk births as admissions. Outpatient 40% at
township/community centres, 20% at county hospitals (15% without a grassroots referral), at most
800 a year; no payment without real-time card settlement. Children 0–14 with a listed disease at a
designated hospital: 70% fund + 20% civil affairs. Senile cataract: 1,800 per eye, 80% fund + 10%
disabled persons' federation + 10% charity.

Every expected amount below is the arithmetic in its test's docstring, rounded half-up to the fen.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT
from medrules.evaluate.compile import parameter_value
from medrules.explain import explain
from medrules.explain.text import render_explanation, to_text
from medrules.facts import facts_from_source
from medrules.source import SourceFile

RULEBOOKS = {
    "earlier": ROOT / "rulebooks" / "pingyang" / "residents-earlier.mr",
    "2019": ROOT / "rulebooks" / "pingyang" / "residents-2019.mr",
}
YEAR = {"earlier": 2018, "2019": 2019}  # the benefit year each rulebook is (assumed to be) in force
BOTH = pytest.mark.parametrize("which", ["earlier", "2019"])


def _load(path):
    def read(p):
        return SourceFile(p.resolve().relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
    return medrules.load(path, read=read)


@pytest.fixture(scope="module")
def programs():
    return {which: _load(path) for which, path in RULEBOOKS.items()}


def settle(program, year, *claims, member=None, opening=None, trace=False):
    """Claims dated the 10th of successive months of ``year`` unless they give a date."""
    facts = {"member": {"id": "M", "birth_date": "1960-05-01", **(member or {})},
             "claims": [{"id": f"C{i}", "date": f"{year}-{i:02d}-10", **c} for i, c in enumerate(claims, 1)]}
    if opening:
        facts["opening"] = opening
    text = json.dumps(facts, ensure_ascii=False)
    return medrules.settle(program, facts_from_source(SourceFile("facts.json", text), program.checked), trace=trace)


def D(x: str) -> Decimal:
    return Decimal(x)


def paid(claim, fund):
    return claim.fund(fund).paid


# ---------------------------------------------------------------- (一) per institution
@BOTH
def test_one_admission_at_each_kind_of_institution(programs, which):
    """Referred where out of the county, so no cut. Deductible per admission, then the rate.

    earlier:
      C1 township 12,345.67 (+ 150.00 self-paid): (12,345.67 − 300) × 90% = 12,045.67 × 0.9 = 10,841.103 → 10,841.10
      C2 county   10,000.00: (10,000 − 600) × 80% = 9,400 × 0.8 = 7,520.00
      C3 县外市内   8,888.88: (8,888.88 − 1,000) × 75% = 7,888.88 × 0.75 = 5,916.66
      C4 市外      20,000.05: (20,000.05 − 1,000) × 60% = 19,000.05 × 0.6 = 11,400.03
    2019:
      C1 township: (12,345.67 − 600) × 80% = 11,745.67 × 0.8 = 9,396.536 → 9,396.54
      C2 county:   (10,000 − 900) × 70% = 9,100 × 0.7 = 6,370.00
      C3 县外市内:  (8,888.88 − 1,300) × 50% = 7,588.88 × 0.5 = 3,794.44
      C4 市外:     (20,000.05 − 1,300) × 40% = 18,700.05 × 0.4 = 7,480.02
    C1 member pays 12,345.67 + 150 − fund; the year has counted 12,345.67 + 10,000 + 8,888.88 + 20,000.05
    = 51,234.60 of inpatient cost (under 120,000: nothing for the layer).
    """
    expected = {"earlier": ["10841.10", "7520.00", "5916.66", "11400.03"],
                "2019": ["9396.54", "6370.00", "3794.44", "7480.02"]}[which]
    s = settle(programs[which], YEAR[which],
               {"kind": "inpatient", "institution": "township", "compliant_cost": "12345.67", "self_paid": "150.00"},
               {"kind": "inpatient", "institution": "county_hospital", "compliant_cost": "10000.00"},
               {"kind": "inpatient", "institution": "city_hospital", "referred": True, "compliant_cost": "8888.88"},
               {"kind": "inpatient", "institution": "outside_city", "referred": True, "compliant_cost": "20000.05"})
    assert [paid(c, "inpatient_pool") for c in s.claims] == [D(x) for x in expected]
    assert all(paid(c, "above_limit") == 0 for c in s.claims)
    assert s.claims[0].member_pays == D("12495.67") - D(expected[0])
    assert s.claims[-1].accumulators["inpatient_cost"] == D("51234.60")


@BOTH
def test_exactly_on_the_deductible_pays_nothing(programs, which):
    """County hospital. earlier: 600.00 is all deductible → 0; 601.00 → 1 × 80% = 0.80.
    2019: 900.00 is all deductible → 0; 901.00 → 1 × 70% = 0.70."""
    deductible, one_more = {"earlier": ("600.00", "0.80"), "2019": ("900.00", "0.70")}[which]
    s = settle(programs[which], YEAR[which],
               {"kind": "inpatient", "institution": "county_hospital", "compliant_cost": deductible},
               {"kind": "inpatient", "institution": "county_hospital",
                "compliant_cost": str(D(deductible) + 1)})
    on, above = s.claims
    assert on.fund("inpatient_pool").deductible == D(deductible)
    assert paid(on, "inpatient_pool") == 0 and on.member_pays == D(deductible)
    assert paid(above, "inpatient_pool") == D(one_more)


@BOTH
def test_the_deductible_is_charged_on_every_admission(programs, which):
    """Two township admissions of 1,000 each.
    earlier: (1,000 − 300) × 90% = 630.00 each; 2019: (1,000 − 600) × 80% = 320.00 each."""
    each = {"earlier": "630.00", "2019": "320.00"}[which]
    s = settle(programs[which], YEAR[which],
               *[{"kind": "inpatient", "institution": "township", "compliant_cost": "1000.00"}] * 2)
    assert [paid(c, "inpatient_pool") for c in s.claims] == [D(each), D(each)]


@BOTH
def test_five_points_less_out_of_the_county_without_referral(programs, which):
    """10,000 each, no referral (转诊转院) and no relocation filing (异地安置), unless stated.

    earlier: C1 县外市内 (10,000 − 1,000) × (75% − 5) = 9,000 × 70% = 6,300.00
             C2 市外     9,000 × (60% − 5) = 9,000 × 55% = 4,950.00
             C3 county hospital (in the county): no cut, (10,000 − 600) × 80% = 7,520.00
    2019:    C1 (10,000 − 1,300) × (50% − 5) = 8,700 × 45% = 3,915.00
             C2 8,700 × (40% − 5) = 8,700 × 35% = 3,045.00
             C3 (10,000 − 900) × 70% = 6,370.00
    A relocated member (异地安置) at 市外 without referral: no cut,
      earlier 9,000 × 60% = 5,400.00; 2019 8,700 × 40% = 3,480.00.
    """
    expected, relocated = {"earlier": (["6300.00", "4950.00", "7520.00"], "5400.00"),
                           "2019": (["3915.00", "3045.00", "6370.00"], "3480.00")}[which]
    claims = [{"kind": "inpatient", "institution": i, "compliant_cost": "10000.00"}
              for i in ("city_hospital", "outside_city", "county_hospital")]
    s = settle(programs[which], YEAR[which], *claims)
    assert [paid(c, "inpatient_pool") for c in s.claims] == [D(x) for x in expected]
    r = settle(programs[which], YEAR[which], claims[1], member={"relocated": True})
    assert paid(r.claims[0], "inpatient_pool") == D(relocated)


@BOTH
def test_referral_to_wenyi_fuer(programs, which):
    """温医附二 is 县外市内: deductible 1,000 (earlier) / 1,300 (2019); 10,000 of compliant cost.

    2019: referred from an in-county institution: 8,700 × 55% = 4,785.00;
          without referral it is an ordinary 县外市内 stay with the cut: 8,700 × (50% − 5) = 3,915.00.
    earlier: referred: the higher of 55% and the 县外市内 75% (the rulebook's reading): 9,000 × 75% = 6,750.00;
          without referral: 9,000 × (75% − 5) = 6,300.00.
    """
    referred, unreferred = {"earlier": ("6750.00", "6300.00"), "2019": ("4785.00", "3915.00")}[which]
    s = settle(programs[which], YEAR[which],
               {"kind": "inpatient", "institution": "wenyi_fuer", "referred": True, "compliant_cost": "10000.00"},
               {"kind": "inpatient", "institution": "wenyi_fuer", "compliant_cost": "10000.00"})
    assert [paid(c, "inpatient_pool") for c in s.claims] == [D(referred), D(unreferred)]


# ---------------------------------------------------------------- (二)(六) 120,000 and the layer above
@BOTH
@pytest.mark.parametrize("reading", ["waived", "charged"])
def test_a_year_that_crosses_120000(programs, which, reading):
    """Compliant inpatient cost counts to 120,000 (deductibles included); above it 60%. C3 lies wholly above
    120,000: reading deductible_above_limit decides whether it is charged its deductible (the rulebook chooses
    'waived', from (六) "超过最高限额标准12万元以上的政策范围内医疗费用,按照60%的比例给予报销").

    earlier (county 600 / 80%, township 300):
      C1 county 100,000: (100,000 − 600) × 80% = 79,520.00; counted 100,000.
      C2 county 50,000 occupies 100,000 → 150,000: deductible 600, so 100,600 → 120,000 = 19,400 × 80%
         = 15,520.00; above 120,000: 150,000 − 120,000 = 30,000 × 60% = 18,000.00;
         member 50,000 − 15,520 − 18,000 = 16,480.00.
      C3 township 20,000 occupies 150,000 → 170,000:
         waived:  no deductible; layer 20,000 × 60% = 12,000.00; member 8,000.00.
         charged: deductible 300 (150,000 → 150,300) stays with the member; pool 0;
                  layer (170,000 − 150,300) = 19,700 × 60% = 11,820.00; member 8,180.00.
    2019 (county 900 / 70%, township 600):
      C1 (100,000 − 900) × 70% = 69,370.00.
      C2 100,900 → 120,000 = 19,100 × 70% = 13,370.00; layer 30,000 × 60% = 18,000.00;
         member 50,000 − 13,370 − 18,000 = 18,630.00.
      C3 waived: layer 20,000 × 60% = 12,000.00; member 8,000.00.
         charged: deductible 600; layer (170,000 − 150,600) = 19,400 × 60% = 11,640.00; member 8,360.00.
    """
    c3_layer, c3_member = {("earlier", "waived"): ("12000.00", "8000.00"), ("2019", "waived"): ("12000.00", "8000.00"),
                           ("earlier", "charged"): ("11820.00", "8180.00"),
                           ("2019", "charged"): ("11640.00", "8360.00")}[which, reading]
    pool, layer, member = {
        "earlier": (["79520.00", "15520.00", "0.00"], ["0.00", "18000.00", c3_layer],
                    ["20480.00", "16480.00", c3_member]),
        "2019": (["69370.00", "13370.00", "0.00"], ["0.00", "18000.00", c3_layer],
                 ["30630.00", "18630.00", c3_member])}[which]
    program = programs[which] if reading == "waived" else medrules.load(
        RULEBOOKS[which], readings={"deductible_above_limit": reading})
    s = settle(program, YEAR[which],
               {"kind": "inpatient", "institution": "county_hospital", "compliant_cost": "100000.00"},
               {"kind": "inpatient", "institution": "county_hospital", "compliant_cost": "50000.00"},
               {"kind": "inpatient", "institution": "township", "compliant_cost": "20000.00"})
    assert [paid(c, "inpatient_pool") for c in s.claims] == [D(x) for x in pool]
    assert [paid(c, "above_limit") for c in s.claims] == [D(x) for x in layer]
    assert [c.member_pays for c in s.claims] == [D(x) for x in member]
    assert s.claims[1].fund("inpatient_pool").above_ceiling == D("30000.00")
    assert s.claims[-1].accumulators["inpatient_cost"] == D("170000.00")
    assert s.claims[-1].accumulators["above_limit_paid"] == D(layer[1]) + D(layer[2])


@BOTH
def test_the_layer_stops_at_60000(programs, which):
    """County hospital admissions of 200,000, 30,000 and 5,000.

    earlier: C1 (120,000 − 600) × 80% = 95,520.00; layer (200,000 − 120,000) × 60% = 48,000.00.
             C2 all above 120,000: no deductible (reading deductible_above_limit = waived);
                30,000 × 60% = 18,000 > room 60,000 − 48,000 = 12,000 → 12,000.00; the cost beyond the cap:
                30,000 − 12,000 / 60% = 30,000 − 20,000 = 10,000.00; member 30,000 − 12,000 = 18,000.00.
             C3 layer has no room: 0; member 5,000.00.
    2019:    C1 (120,000 − 900) × 70% = 83,370.00; layer 48,000.00.
             C2 no deductible; 30,000 × 60% = 18,000 > 12,000 → 12,000.00; beyond: 30,000 − 20,000
                = 10,000.00; member 18,000.00.
             C3 0; member 5,000.00.
    """
    c1_pool, c2_beyond = {"earlier": ("95520.00", "10000.00"), "2019": ("83370.00", "10000.00")}[which]
    s = settle(programs[which], YEAR[which],
               *[{"kind": "inpatient", "institution": "county_hospital", "compliant_cost": cost}
                 for cost in ("200000.00", "30000.00", "5000.00")])
    c1, c2, c3 = s.claims
    assert paid(c1, "inpatient_pool") == D(c1_pool) and paid(c1, "above_limit") == D("48000.00")
    assert paid(c2, "inpatient_pool") == 0 and paid(c2, "above_limit") == D("12000.00")
    assert c2.fund("above_limit").above_cap == D(c2_beyond)
    assert c2.member_pays == D("18000.00")
    assert paid(c3, "above_limit") == 0 and c3.member_pays == D("5000.00")
    assert c3.accumulators["above_limit_paid"] == D("60000.00")


# ---------------------------------------------------------------- (三) special outpatient
@BOTH
def test_special_outpatient_disease_is_settled_as_an_admission(programs, which):
    """Dialysis (one of the ten) at a county hospital, 6,000; treated as inpatient.

    earlier: (6,000 − 600) × 80% = 4,320.00; 2019: (6,000 − 900) × 70% = 3,570.00. It counts toward
    120,000 (inpatient_cost 6,000). A 'special outpatient' claim for a disease not among the ten is an
    ordinary outpatient visit: township 500 × 40% = 200.00 (both).
    """
    expected = {"earlier": "4320.00", "2019": "3570.00"}[which]
    s = settle(programs[which], YEAR[which],
               {"kind": "special_outpatient", "special_disease": "dialysis", "institution": "county_hospital",
                "compliant_cost": "6000.00"},
               {"kind": "special_outpatient", "institution": "township", "compliant_cost": "500.00"})
    dialysis, other = s.claims
    assert paid(dialysis, "inpatient_pool") == D(expected)
    assert dialysis.accumulators["inpatient_cost"] == D("6000.00")
    assert paid(other, "outpatient_pool") == D("200.00") and paid(other, "inpatient_pool") == 0


@BOTH
def test_special_outpatient_counts_toward_120000_and_the_layer_pays_on_it(programs, which):
    """(六) “住院(含特殊门诊)”: 118,000 already counted; schizophrenia treatment at a county hospital, 6,000.

    The claim occupies 118,000 → 124,000.
    earlier: deductible 600 → 118,600 → 120,000 = 1,400 × 80% = 1,120.00; layer 4,000 × 60% = 2,400.00.
    2019:    deductible 900 → 118,900 → 120,000 = 1,100 × 70% = 770.00; layer 4,000 × 60% = 2,400.00.
    """
    pool = {"earlier": "1120.00", "2019": "770.00"}[which]
    s = settle(programs[which], YEAR[which],
               {"kind": "special_outpatient", "special_disease": "schizophrenia", "institution": "county_hospital",
                "compliant_cost": "6000.00"}, opening={"inpatient_cost": "118000.00"})
    c = s.claims[0]
    assert paid(c, "inpatient_pool") == D(pool) and paid(c, "above_limit") == D("2400.00")


# ---------------------------------------------------------------- (四) childbirth
@BOTH
def test_childbirth_is_800_flat(programs, which):
    """Normal birth at a county hospital, 3,500: flat 800.00, member 2,700.00; nothing from the
    inpatient fund and nothing counted toward 120,000. A birth costing 650 gets 650.00 (never more than
    the cost). The same in both years."""
    s = settle(programs[which], YEAR[which],
               {"kind": "childbirth", "institution": "county_hospital", "compliant_cost": "3500.00"},
               {"kind": "childbirth", "institution": "township", "compliant_cost": "650.00"})
    c1, c2 = s.claims
    assert paid(c1, "childbirth_flat") == D("800.00") and paid(c1, "inpatient_pool") == 0
    assert c1.member_pays == D("2700.00")
    assert paid(c2, "childbirth_flat") == D("650.00") and c2.member_pays == 0
    assert c2.accumulators["inpatient_cost"] == 0


@BOTH
def test_a_high_risk_birth_is_settled_as_an_admission(programs, which):
    """High-risk (妊娠合并症) birth at a county hospital, 8,000: no flat amount, inpatient rules.
    earlier: (8,000 − 600) × 80% = 5,920.00; 2019: (8,000 − 900) × 70% = 4,970.00."""
    expected = {"earlier": "5920.00", "2019": "4970.00"}[which]
    c = settle(programs[which], YEAR[which],
               {"kind": "childbirth", "high_risk": True, "institution": "county_hospital",
                "compliant_cost": "8000.00"}).claims[0]
    assert paid(c, "inpatient_pool") == D(expected) and paid(c, "childbirth_flat") == 0
    assert c.accumulators["inpatient_cost"] == D("8000.00")


@BOTH
def test_a_birth_outside_the_family_planning_policy_gets_no_flat_amount(programs, which):
    """“符合计划生育政策的参保妇女”: outside the policy the 800 is not paid (3,500 all the member's)."""
    c = settle(programs[which], YEAR[which],
               {"kind": "childbirth", "family_planning": False, "institution": "county_hospital",
                "compliant_cost": "3500.00"}).claims[0]
    assert paid(c, "childbirth_flat") == 0 and c.member_pays == D("3500.00")
    assert c.fund("childbirth_flat").excluded_by is not None


# ---------------------------------------------------------------- (五) outpatient
@BOTH
def test_outpatient_at_both_levels_up_to_800_a_year(programs, which):
    """No outpatient deductible; the same in both years.

    C1 township 1,000 × 40% = 400.00                      (paid this year 400)
    C2 county hospital, referred from grassroots: 1,000 × 20% = 200.00   (600)
    C3 county hospital, not referred: 1,000 × 15% = 150.00               (750)
    C4 township 500 × 40% = 200 > 800 − 750 = 50 left → 50.00             (800)
    C5 township 100: nothing left → 0.00
    C6 outpatient at a 县外市内 hospital: not a named outpatient institution → 0.00
    """
    s = settle(programs[which], YEAR[which],
               {"kind": "outpatient", "institution": "township", "compliant_cost": "1000.00"},
               {"kind": "outpatient", "institution": "county_hospital", "referred": True, "compliant_cost": "1000.00"},
               {"kind": "outpatient", "institution": "county_hospital", "compliant_cost": "1000.00"},
               {"kind": "outpatient", "institution": "township", "compliant_cost": "500.00"},
               {"kind": "outpatient", "institution": "township", "compliant_cost": "100.00"},
               {"kind": "outpatient", "institution": "city_hospital", "compliant_cost": "300.00"})
    assert [paid(c, "outpatient_pool") for c in s.claims] == [
        D("400.00"), D("200.00"), D("150.00"), D("50.00"), D("0.00"), D("0.00")]
    assert s.claims[-1].accumulators["outpatient_paid"] == D("800.00")
    assert not s.claims[-1].fund("outpatient_pool").applied


@BOTH
@pytest.mark.parametrize("lang,reason", [("zh", "未实时刷卡的门诊费用原则上不予支付"),
                                         ("en", "not settled by card in real time")])
def test_outpatient_not_settled_by_card_is_not_paid(programs, which, lang, reason):
    """Township 300, not settled by card in real time: 0 (it would have been 300 × 40% = 120.00), and it
    uses none of the 800; the explanation says why. The next card-settled visit of 300 pays 120.00."""
    s = settle(programs[which], YEAR[which],
               {"kind": "outpatient", "institution": "township", "card_settled": False, "compliant_cost": "300.00"},
               {"kind": "outpatient", "institution": "township", "compliant_cost": "300.00"}, trace=True)
    c1, c2 = s.claims
    assert paid(c1, "outpatient_pool") == 0 and c1.member_pays == D("300.00")
    assert c1.accumulators["outpatient_paid"] == 0
    assert paid(c2, "outpatient_pool") == D("120.00")
    lines = explain(programs[which], s, lang, claim_ids=["C1"]).claims[0].lines
    excluded = [line for line in lines if line.kind == "exclude"]
    assert len(excluded) == 1 and reason in excluded[0].text
    assert excluded[0].citation.quote == "未实时刷卡的门诊费用原则上不予支付。"


# ---------------------------------------------------------------- (七) children's two diseases
@BOTH
def test_child_with_a_listed_disease(programs, which):
    """Born 2010-06-01 (8 years old); acute leukaemia at a designated hospital. The same in both years.

    C1 50,000, no price limit given: fund 50,000 × 70% = 35,000.00; civil affairs 50,000 × 20% = 10,000.00;
       member 50,000 − 45,000 = 5,000.00.
    C2 45,000 with a price limit of 40,000: both pay on 40,000: 28,000.00 and 8,000.00;
       member 45,000 − 36,000 = 9,000.00.
    Neither counts toward 120,000, and the ordinary inpatient fund pays nothing.
    """
    s = settle(programs[which], YEAR[which],
               {"kind": "inpatient", "child_disease": "acute_leukaemia", "designated": True,
                "institution": "county_hospital", "compliant_cost": "50000.00"},
               {"kind": "inpatient", "child_disease": "congenital_heart", "designated": True,
                "institution": "city_hospital", "referred": True, "price_limit": "40000.00",
                "compliant_cost": "45000.00"},
               member={"birth_date": "2010-06-01"})
    c1, c2 = s.claims
    assert (paid(c1, "child_resident"), paid(c1, "child_civil_affairs")) == (D("35000.00"), D("10000.00"))
    assert c1.member_pays == D("5000.00") and paid(c1, "inpatient_pool") == 0
    assert (paid(c2, "child_resident"), paid(c2, "child_civil_affairs")) == (D("28000.00"), D("8000.00"))
    assert c2.member_pays == D("9000.00")
    assert c2.accumulators["inpatient_cost"] == 0


@BOTH
def test_children_benefit_ends_at_the_15th_birthday(programs, which):
    """0—14周岁: born 15 years before the 1st of March of the rulebook's year.

    C1 on the last day of February, still 14: 50,000 × 70% = 35,000.00 + 20% = 10,000.00.
    C2 on the 15th birthday: ordinary county-hospital admission:
       earlier (50,000 − 600) × 80% = 39,520.00; 2019 (50,000 − 900) × 70% = 34,370.00.
    C3 a listed disease at a hospital that is not designated (still 14, earlier in February): ordinary
       rules, 10,000 at a county hospital: earlier 9,400 × 80% = 7,520.00; 2019 9,100 × 70% = 6,370.00.
    """
    year = YEAR[which]
    ordinary, not_designated = {"earlier": ("39520.00", "7520.00"), "2019": ("34370.00", "6370.00")}[which]
    child = {"kind": "inpatient", "child_disease": "acute_leukaemia", "institution": "county_hospital"}
    s = settle(programs[which], year,
               {**child, "date": f"{year}-02-28", "designated": True, "compliant_cost": "50000.00"},
               {**child, "date": f"{year}-03-01", "designated": True, "compliant_cost": "50000.00"},
               {**child, "date": f"{year}-02-01", "compliant_cost": "10000.00"},
               member={"birth_date": f"{year - 15}-03-01"})
    by_id = {c.id: c for c in s.claims}
    assert paid(by_id["C1"], "child_resident") == D("35000.00")
    assert paid(by_id["C1"], "child_civil_affairs") == D("10000.00")
    assert paid(by_id["C2"], "child_resident") == 0 and paid(by_id["C2"], "inpatient_pool") == D(ordinary)
    assert paid(by_id["C3"], "child_resident") == 0 and paid(by_id["C3"], "inpatient_pool") == D(not_designated)


# ---------------------------------------------------------------- (八) senile cataract
@BOTH
def test_cataract_operation_on_two_eyes(programs, which):
    """1,800 per eye: two eyes → at most 3,600. The same in both years.

    C1 3,600: fund 3,600 × 80% = 2,880.00; federation 3,600 × 10% = 360.00; charity 360.00; member 0.
    C2 4,000: the three pay on 3,600 only: 2,880.00 / 360.00 / 360.00; member 4,000 − 3,600 = 400.00.
    C3 one eye, 1,500: 1,200.00 / 150.00 / 150.00; member 0.
    Nothing counts toward 120,000.
    """
    s = settle(programs[which], YEAR[which],
               *[{"kind": "inpatient", "cataract_eyes": eyes, "designated": True, "institution": "county_hospital",
                  "compliant_cost": cost} for eyes, cost in ((2, "3600.00"), (2, "4000.00"), (1, "1500.00"))])
    funds = ("cataract_fund", "cataract_federation", "cataract_charity")
    assert [[paid(c, f) for f in funds] for c in s.claims] == [
        [D("2880.00"), D("360.00"), D("360.00")],
        [D("2880.00"), D("360.00"), D("360.00")],
        [D("1200.00"), D("150.00"), D("150.00")]]
    assert [c.member_pays for c in s.claims] == [D("0.00"), D("400.00"), D("0.00")]
    assert s.claims[1].fund("cataract_fund").above_ceiling == D("400.00")
    assert s.claims[-1].accumulators["inpatient_cost"] == 0


@BOTH
def test_cataract_outside_a_designated_hospital_is_an_ordinary_admission(programs, which):
    """3,600 at a county hospital that is not designated: earlier (3,600 − 600) × 80% = 2,400.00;
    2019 (3,600 − 900) × 70% = 1,890.00."""
    expected = {"earlier": "2400.00", "2019": "1890.00"}[which]
    c = settle(programs[which], YEAR[which],
               {"kind": "inpatient", "cataract_eyes": 2, "institution": "county_hospital",
                "compliant_cost": "3600.00"}).claims[0]
    assert paid(c, "cataract_fund") == 0 and paid(c, "inpatient_pool") == D(expected)


# ---------------------------------------------------------------- the effective periods (assumed)
@pytest.mark.parametrize("which,outside", [("earlier", "2017-12-31"), ("earlier", "2019-01-01"),
                                           ("2019", "2018-12-31"), ("2019", "2020-01-01")])
def test_claims_outside_the_assumed_period_are_refused(programs, which, outside):
    """The earlier values are assumed to be 2018's, the new ones 2019's (header comments, item 1)."""
    with pytest.raises(medrules.MedrulesError):
        settle(programs[which], YEAR[which], {"date": outside, "kind": "inpatient",
                                              "institution": "township", "compliant_cost": "1000.00"})


def test_the_two_rulebooks_differ_only_where_the_text_says_from_to():
    """Parameters the text gives as “从X调整为Y” differ; every other figure is the same."""
    earlier, now = ({name: parameter_value(ck, name) for name in ck.parameters}
                    for ck in (_load(RULEBOOKS[w]).checked for w in ("earlier", "2019")))
    assert earlier.keys() == now.keys()
    differ = {k for k in now if now[k] != earlier[k]}
    assert differ == {"policy_from", "policy_to", "township_deductible", "township_rate", "county_deductible",
                      "county_rate", "city_deductible", "city_rate", "outside_city_deductible", "outside_city_rate"}


# ---------------------------------------------------------------- explanations
SNAPSHOTS = {
    # 2019: an admission that crosses 120,000 (100,000 already counted) into the 60% layer
    "crosses-120000": ("2019", dict(opening={"inpatient_cost": "100000.00"}, claims=[
        {"kind": "inpatient", "institution": "county_hospital", "compliant_cost": "50000.00"}])),
    # earlier: a referral to 温医附二 (the higher of 55% and 75%)
    "wenyi-referral": ("earlier", dict(claims=[
        {"kind": "inpatient", "institution": "wenyi_fuer", "referred": True, "compliant_cost": "10000.00"}])),
    # 2019: 市外 without referral, −5 points
    "outside-city-unreferred": ("2019", dict(claims=[
        {"kind": "inpatient", "institution": "outside_city", "compliant_cost": "10000.00"}])),
    # 2019: an outpatient visit not settled by card
    "outpatient-no-card": ("2019", dict(claims=[
        {"kind": "outpatient", "institution": "township", "card_settled": False, "compliant_cost": "300.00"}])),
    # 2019: cataract, two eyes, 4,000
    "cataract-two-eyes": ("2019", dict(claims=[
        {"kind": "inpatient", "cataract_eyes": 2, "designated": True, "institution": "county_hospital",
         "compliant_cost": "4000.00"}])),
    # earlier: a child's listed disease
    "child-leukaemia": ("earlier", dict(member={"birth_date": "2010-06-01"}, claims=[
        {"kind": "inpatient", "child_disease": "acute_leukaemia", "designated": True,
         "institution": "county_hospital", "compliant_cost": "50000.00"}])),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_explanation_text(programs, name, lang, snapshot):
    """Checked by hand against the arithmetic above (the snapshot is read, not just recorded):
    crosses-120000 2019: 100,900 → 120,000 = 19,100 × 70% = 13,370.00; 30,000 × 60% = 18,000.00.
    wenyi-referral earlier: (10,000 − 1,000) × max(55%, 75%) = 6,750.00.
    outside-city-unreferred 2019: (10,000 − 1,300) × (40% − 5) = 3,045.00.
    outpatient-no-card: excluded, 0.00, member 300.00.
    cataract-two-eyes: 3,600 × 80% = 2,880.00; × 10% = 360.00 twice; member 400.00.
    child-leukaemia: 35,000.00 + 10,000.00; member 5,000.00.
    """
    which, spec = SNAPSHOTS[name]
    program = programs[which]
    s = settle(program, YEAR[which], *spec["claims"], member=spec.get("member"), opening=spec.get("opening"),
               trace=True)
    assert to_text(render_explanation(explain(program, s, lang)), width=120) == snapshot


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_every_money_step_cites_the_text(programs, name):
    which, spec = SNAPSHOTS[name]
    s = settle(programs[which], YEAR[which], *spec["claims"], member=spec.get("member"),
               opening=spec.get("opening"), trace=True)
    for claim in explain(programs[which], s, "en").claims:
        for line in claim.lines:
            if line.kind in ("applies", "deductible", "cap", "band", "rate", "adjust", "flat", "exclude", "treat"):
                assert line.citation is not None and (line.citation.assumed or line.citation.quote), line.text
                if not line.citation.assumed:
                    assert line.document == "城乡居民基本医疗保险制度全文(平阳县)", line.text


# ---------------------------------------------------------------- the shipped examples
def _example(programs, name):
    return medrules.settle(programs["2019"],
                           medrules.load_facts(ROOT / "examples" / f"pingyang-2019-{name}.json",
                                               programs["2019"].checked))


def test_example_inpatient_year(programs):
    """examples/pingyang-2019-inpatient-year.json (2019 values):

    C1 county 38,600 (+2,100 self-paid): (38,600 − 900) × 70% = 26,390.00; member 12,210 + 2,100 = 14,310.00.
    C2 dialysis, special outpatient at a county hospital, 7,250: (7,250 − 900) × 70% = 4,445.00; member 2,805.00.
    C3 市外, not referred, 52,480 (+6,300): (52,480 − 1,300) × (40% − 5) = 51,180 × 35% = 17,913.00;
       member 34,567 + 6,300 = 40,867.00. Counted so far 38,600 + 7,250 + 52,480 = 98,330.
    C4 温医附二, referred, 60,000: occupies 98,330 → 158,330; deductible 1,300 → 99,630;
       (120,000 − 99,630) = 20,370 × 55% = 11,203.50; above 120,000: 38,330 × 60% = 22,998.00;
       member 60,000 − 34,201.50 = 25,798.50.
    C5 township 4,000: 158,330 → 162,330, wholly above 120,000: no deductible (reading
       deductible_above_limit = waived), 4,000 × 60% = 2,400.00; member 1,600.00. (Charged, it would be
       (162,330 − 158,930) = 3,400 × 60% = 2,040.00; member 1,960.00.)
    The year: inpatient fund 26,390 + 4,445 + 17,913 + 11,203.50 = 59,951.50; layer 22,998 + 2,400 = 25,398.00.
    """
    s = _example(programs, "inpatient-year")
    assert [paid(c, "inpatient_pool") for c in s.claims] == [
        D("26390.00"), D("4445.00"), D("17913.00"), D("11203.50"), D("0.00")]
    assert [paid(c, "above_limit") for c in s.claims] == [D("0.00")] * 3 + [D("22998.00"), D("2400.00")]
    assert [c.member_pays for c in s.claims] == [
        D("14310.00"), D("2805.00"), D("40867.00"), D("25798.50"), D("1600.00")]
    last = s.claims[-1].accumulators
    assert (last["inpatient_cost"], last["inpatient_paid"], last["above_limit_paid"]) == (
        D("162330.00"), D("59951.50"), D("25398.00"))


def test_example_outpatient_year(programs):
    """examples/pingyang-2019-outpatient-year.json:
    C1 township 186.50 × 40% = 74.60; C2 county referred 1,240 × 20% = 248.00; C3 county not referred
    2,000 × 15% = 300.00 (member 1,700 + 85 self-paid = 1,785.00); C4 not by card: 0; C5 township 520 × 40%
    = 208 > 800 − 622.60 = 177.40 → 177.40; C6 nothing left: 0."""
    s = _example(programs, "outpatient-year")
    assert [paid(c, "outpatient_pool") for c in s.claims] == [
        D("74.60"), D("248.00"), D("300.00"), D("0.00"), D("177.40"), D("0.00")]
    assert s.claim("C3").member_pays == D("1785.00")
    assert s.claims[-1].accumulators["outpatient_paid"] == D("800.00")


def test_example_child_cataract_and_childbirth(programs):
    """child-two-diseases: 28,500 within a 30,000 price limit: 70% = 19,950.00, 20% = 5,700.00;
    member 28,500 − 25,650 + 1,200 = 4,050.00.
    cataract: two eyes, 3,900 (+300): on 3,600: 2,880.00 / 360.00 / 360.00; member 300 + 300 = 600.00;
    then township outpatient 150 × 40% = 60.00.
    childbirth: county outpatient, not referred, 400 × 15% = 60.00; birth 4,200 (+380): 800.00 flat,
    member 3,400 + 380 = 3,780.00."""
    child = _example(programs, "child-two-diseases").claims[0]
    assert (paid(child, "child_resident"), paid(child, "child_civil_affairs"), child.member_pays) == (
        D("19950.00"), D("5700.00"), D("4050.00"))
    op, out = _example(programs, "cataract").claims
    assert [paid(op, f) for f in ("cataract_fund", "cataract_federation", "cataract_charity")] == [
        D("2880.00"), D("360.00"), D("360.00")]
    assert op.member_pays == D("600.00") and paid(out, "outpatient_pool") == D("60.00")
    visit, birth = _example(programs, "childbirth").claims
    assert paid(visit, "outpatient_pool") == D("60.00")
    assert paid(birth, "childbirth_flat") == D("800.00") and birth.member_pays == D("3780.00")


@pytest.mark.parametrize("lang,wrong", [("en", "is the member's"), ("zh", "由个人承担")])
def test_cost_above_120000_is_not_called_the_members_when_the_layer_pays_on_it(programs, lang, wrong):
    """2019, 100,000 already counted, a county admission of 50,000: the 30,000 above 120,000 is not the
    member's — the layer pays 30,000 × 60% = 18,000.00 of it; the member's share is 12,000 of it."""
    s = settle(programs["2019"], 2019, {"kind": "inpatient", "institution": "county_hospital",
                                         "compliant_cost": "50000.00"},
               opening={"inpatient_cost": "100000.00"}, trace=True)
    assert paid(s.claims[0], "above_limit") == D("18000.00")
    lines = explain(programs["2019"], s, lang).claims[0].lines
    cap = next(line for line in lines if line.kind == "cap" and line.fund == "inpatient_pool")
    assert wrong not in cap.text
