"""What members owe under the I, E (Pingyang 2019) and F2 (Chongqing 2017) financing rules, by hand."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from conftest import ROOT, program_for
from medrules.cli import app
from medrules.evaluate import assess
from medrules.facts import facts_from_source
from medrules.source import SourceFile

D = Decimal
I = ROOT / "rulebooks" / "county-i" / "contributions.mr"
E = ROOT / "rulebooks" / "pingyang" / "contributions-2019.mr"
F2 = ROOT / "rulebooks" / "chongqing" / "contributions-2017.mr"


def owes(path, household=None, **member):
    """``household``: the household's facts (Chongqing's tier is the household's: one tier per household)."""
    program = program_for(path)
    member.setdefault("id", "M")
    if "groups" in program.checked.records["member"]:
        member.setdefault("groups", [])
    facts = facts_from_source(SourceFile("<member>", json.dumps({"member": member})), program.checked)
    household = {"id": ""} | (household or {}) if program.checked.records.get("household") else None
    return assess(program, facts, household=household).contributions[0]  # each states one contribution


# ---------------------------------------------------------------- I: 120 a person, 30 may offset
def test_i_120_a_person():
    c = owes(I)
    assert (c.premium, c.member_owes) == (D(120), D(120))


def test_i_the_outpatient_allowance_offsets_30():
    # "30元门诊费可列抵30元参保费(即可只交90元参保费)": 120 − 30 = 90
    c = owes(I, offset_allowance=True)
    assert (c.subsidy("allowance_offset"), c.member_owes) == (D(30), D(90))


def test_i_a_household_of_three_one_offsetting():
    # by household: 120 + 120 + (120 − 30) = 330
    members = [owes(I, {"id": "H"}, id=f"H{i}", offset_allowance=(i == 2)) for i in range(3)]
    assert sum(m.member_owes for m in members) == D(330)


# ---------------------------------------------------------------- E: Pingyang 2019, 690 = 210 + 480
def test_e_everyone_owes_the_individual_210():
    # 690 − 480 = 210
    c = owes(E)
    assert (c.premium, c.subsidy("government"), c.member_owes) == (D(690), D(480), D(210))


@pytest.mark.parametrize("group", ["five_guarantees", "minimum_living", "destitute_disabled", "severe_disability",
                                   "orphan"])
def test_e_the_county_pays_the_individual_share_of_the_listed(group):
    # 690 − 480 − 210 = 0
    c = owes(E, groups=[group])
    assert (c.subsidy("county_pays_share"), c.member_owes) == (D(210), D(0))


def test_e_several_groups_still_one_individual_share():
    # min(210, 690 − 480 = 210) = 210: never more than the premium
    c = owes(E, groups=["orphan", "severe_disability"])
    assert c.subsidised == D(690) and c.member_owes == 0


@pytest.mark.parametrize("born_on, owed", [
    ("2019-01-01", "0"),     # born in 2019: covered without paying in the birth year
    ("2019-12-31", "0"),
    ("2018-12-31", "210"),   # born in 2018: pays from the second year, 690 − 480 = 210
])
def test_e_newborns_pay_from_their_second_year(born_on, owed):
    assert owes(E, born_on=born_on).member_owes == D(owed)


# ---------------------------------------------------------------- F2: Chongqing 2017, 140 / 350 / + 420
@pytest.mark.parametrize("tier, paid_on, born_on, owed", [
    ("tier1", "2016-09-01", None, "140"),         # main period, first day: 560 − 420 = 140
    ("tier2", "2016-12-20", None, "350"),         # 770 − 420 = 350
    ("tier1", "2017-06-30", None, "140"),         # "6月底" includes 30 June
    ("tier1", "2017-07-01", None, "560"),         # late: individual share + subsidy 140 + 420
    ("tier2", "2017-09-30", None, "770"),         # late, last day: 350 + 420
    ("tier2", "2017-10-01", None, "0"),           # outside every period: cannot enrol for 2017
    ("tier1", "2016-08-31", None, "0"),
    ("tier1", "2017-03-10", "2017-02-01", "140"),  # newborn paying in 2017-01..06: 140
    ("tier2", "2017-11-20", "2017-10-01", "770"),  # newborn paying in 2017-07..12: 350 + 420
    ("tier2", "2017-11-20", "2016-12-01", "0"),    # born in 2016: not a newborn's period; after 09-30
])
def test_f2_what_a_member_owes_by_payment_date(tier, paid_on, born_on, owed):
    member = {"paid_on": paid_on} | ({"born_on": born_on} if born_on else {})
    assert owes(F2, {"tier": tier}, **member).member_owes == D(owed)


def test_f2_explained_in_english():
    r = CliRunner().invoke(app, ["assess", str(F2), str(ROOT / "examples" / "contributions" /
                                                        "chongqing-2017-late-tier2.json"), "--lang", "en"])
    assert r.exit_code == 0, r.output
    # paid 2017-08-15 at tier 2: 350 + 420 = 770, no subsidy
    assert "770.00" in r.output and "government subsidy does not apply" in r.output


@pytest.mark.parametrize("path, name, owed", [
    (I, "county-i-household-offset.json", "90.00"),   # 120 − 30
    (E, "pingyang-2019-newborn.json", "0.00"),        # 690 − 480 − 210
    (F2, "chongqing-2017-late-tier2.json", "770.00"),  # 350 + 420
])
def test_example_files(path, name, owed):
    r = CliRunner().invoke(app, ["assess", str(path), str(ROOT / "examples" / "contributions" / name), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["member_owes"] == owed


# ---------------------------------------------------------------- N (Tianjin): the retirement top-up
TJR = ROOT / "rulebooks" / "tianjin" / "contributions-retirement.mr"


@pytest.mark.parametrize("sex, total, city, owed", [
    ("male", 25, 5, "0"),          # enough: 25 ≥ 25 and 5 ≥ 5
    ("male", 22, 10, "21000"),     # max(25 − 22, 5 − 10, 0) = 3 years × 7,000 = 21,000
    ("female", 22, 10, "0"),       # women need 20
    ("female", 19.5, 2, "21000"),  # max(20 − 19.5, 5 − 2) = 3 × 7,000 (Tianjin years count in both)
    ("male", 24.25, 5, "5250"),    # 0.75 × 7,000 = 5,250
])
def test_tianjin_retirement_topup(sex, total, city, owed):
    c = owes(TJR, sex=sex, years_total=total, years_in_city=city, year_standard="7000")
    assert c.member_owes == D(owed)


# ---------------------------------------------------------------- L (Taicang): 1:2:4 and the top-up
TC = ROOT / "rulebooks" / "taicang" / "contributions-retirement.mr"


@pytest.mark.parametrize("retires_in, basic, inpatient, resident, minimum, owed", [
    # basic years: 10 + 8 / 2 + 12 / 4 = 17; minimum 20: 3 × 5,000 = 15,000
    ("basic", 10, 8, 12, 20, "15000"),
    # inpatient years: (10 + 4 + 3) × 2 = 34; minimum 30: none missing
    ("inpatient", 10, 8, 12, 30, "0"),
    # resident years: 17 × 4 = 68; minimum 70: 2 × 5,000 = 10,000
    ("resident", 10, 8, 12, 70, "10000"),
    # 3 resident years are 0.75 basic years: 15 − 0.75 = 14.25 missing × 5,000 = 71,250
    ("basic", 0, 0, 3, 15, "71250"),
])
def test_taicang_conversion_1_2_4_and_topup(retires_in, basic, inpatient, resident, minimum, owed):
    c = owes(TC, retires_in=retires_in, years_basic=basic, years_inpatient=inpatient, years_resident=resident,
             minimum_years=minimum, year_cost="5000")
    assert c.member_owes == D(owed)


# ---------------------------------------------------------------- Anhui 2021: the ex-poor pay 320
AH = ROOT / "rulebooks" / "anhui" / "contributions-2021.mr"


@pytest.mark.parametrize("status, owed", [
    (["stable_ex_poor"], "320"),                  # no longer funded: 320
    (["stable_ex_poor", "monitored"], "0"),       # in the monitoring group: 320 − 320
    (["stable_ex_poor", "minimum_living"], "0"),  # 低保 keep their funding
    (["destitute"], "0"),
])
def test_anhui_stable_ex_poor_pay_320(status, owed):
    assert owes(AH, status=status).member_owes == D(owed)


def test_anhui_a_household_of_three_pays_960():
    # "每家按3口人计算,需要缴纳费用960元": 3 × 320 = 960
    assert sum(owes(AH, id=f"H{i}", status=["stable_ex_poor"]).member_owes for i in range(3)) == D(960)
