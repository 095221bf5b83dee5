"""Contributions (the premium side): the J rulebook's 2021 contributions, worked out by hand.

Figures from seed 003 lines 95–135 (江医保发[2020]40号 征缴方案, 五): tier 1 = 280, tier 2 = 380 a
year; minors (age < 18) and students pay tier 1; list 1 — the government pays the whole tier-2 premium;
list 2 — the whole tier-1 premium; list 3 — 60% of tier 1 = 0.60 × 280 = 168; only the highest single
subsidy (就高); a subsidy never exceeds the premium, so list-2/3 members at tier 2 pay the difference.
Supplementary: 31.50 (students, under 18) / 76.50 (18+), government 3.50 of it. New out-of-city
students: 4 months of 12 (= the text's 1/3), rounded half up to the yuan.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

import medrules
from conftest import ROOT, program_for
from medrules.diagnostics import MedrulesError
from medrules.evaluate import assess
from medrules.explain.contribution import explain_assessment, render_text, to_json
from medrules.facts import facts_from_source
from medrules.source import SourceFile

J2021 = ROOT / "rulebooks" / "jiang" / "contributions-2021.mr"
J2020 = ROOT / "rulebooks" / "jiang" / "contributions-2020.mr"
D = Decimal


@pytest.fixture(scope="module")
def j2021():
    return program_for(J2021)


@pytest.fixture(scope="module")
def j2020():
    return medrules.load(J2020)


def owes(program, trace=False, **member):
    member.setdefault("id", "M")
    if "groups" in program.checked.records["member"]:
        member.setdefault("groups", [])
    facts = facts_from_source(SourceFile("<member>", json.dumps({"member": member})), program.checked)
    return assess(program, facts, trace=trace)


# (groups, age, tier chosen) -> (basic premium, government subsidy, member owes), by hand
CASES = {
    "no subsidy, tier 1": ([], 40, "tier1", "280", "0", "280"),
    "no subsidy, tier 2": ([], 40, "tier2", "380", "0", "380"),
    # list 1: the whole tier-2 premium: 380 − 380 = 0
    "list 1 (五保), tier 2": (["hardship"], 40, "tier2", "380", "380", "0"),
    # list 1 at tier 1: 380 is more than the premium; min(380, 280) = 280; 280 − 280 = 0
    "list 1 (disability 1-2), tier 1": (["disability_1_2"], 40, "tier1", "280", "280", "0"),
    # list 2: the whole tier-1 premium: 280 − 280 = 0
    "list 2 (registered poor), tier 1": (["registered_poor"], 40, "tier1", "280", "280", "0"),
    # list 2 choosing tier 2 pays the difference: 380 − 280 = 100
    "list 2 (registered poor), tier 2": (["registered_poor"], 40, "tier2", "380", "280", "100"),
    # list 3: 60% × 280 = 168; 280 − 168 = 112
    "list 3 (disability 3-4), tier 1": (["disability_3_4"], 40, "tier1", "280", "168", "112"),
    # list 3 at tier 2: 380 − 168 = 212
    "list 3 (disability 3-4), tier 2": (["disability_3_4"], 40, "tier2", "380", "168", "212"),
    # the brief's sentence: low-income, over 60, tier 2: 380 − 0.6 × 280 = 380 − 168 = 212
    "list 3 (low income, 65), tier 2": (["low_income"], 65, "tier2", "380", "168", "212"),
    # 60周岁以上 includes 60: 280 − 168 = 112
    "list 3 (low income, exactly 60), tier 1": (["low_income"], 60, "tier1", "280", "168", "112"),
    # a low-income member aged 40 is on no list: 380
    "low income aged 40: no list": (["low_income"], 40, "tier2", "380", "0", "380"),
    # a low-income minor: premium tier 1 whatever tier is named; 280 − 168 = 112
    "list 3 (low income, 17), names tier 2": (["low_income"], 17, "tier2", "280", "168", "112"),
    # 就高: list 2 (280) and list 3 (168) both hold: only the highest, 280; at tier 2: 380 − 280 = 100
    "就高: registered poor and disability 3-4, tier 2": (["registered_poor", "disability_3_4"], 40, "tier2",
                                                        "380", "280", "100"),
    # 就高: list 1 (380) and list 2 (280): 380; 380 − 380 = 0
    "就高: hardship and registered poor, tier 2": (["hardship", "registered_poor"], 40, "tier2", "380", "380", "0"),
    # a minor on list 1 (第2项(2)): premium 280, subsidy min(380, 280) = 280: owes 0
    "list 1 minor, names tier 2": (["landless"], 10, "tier2", "280", "280", "0"),
}


@pytest.mark.parametrize("case", CASES)
def test_every_list_and_tier(j2021, case):
    groups, age, tier, premium, subsidy, member_owes = CASES[case]
    a = owes(j2021, groups=groups, age=age, tier=tier)
    basic = a.contribution("basic")
    assert (basic.premium, basic.subsidy("government"), basic.member_owes) == (D(premium), D(subsidy),
                                                                               D(member_owes))
    assert basic.member_owes + basic.subsidised == basic.premium


def test_a_student_pays_tier_1(j2021):
    # "中小学、大中专(职)院校学生按第一档缴费标准缴费": a 20-year-old student naming tier 2 owes 280
    assert owes(j2021, age=20, student=True, tier="tier2").contribution("basic").member_owes == D(280)


def test_subsidies_only_for_the_countys_registered_residents(j2021):
    # "具有我县户籍的下列特殊人群": a member on list 1 without the county's 户籍 owes the full 380
    a = owes(j2021, groups=["hardship"], age=40, tier="tier2", local=False)
    assert a.contribution("basic").member_owes == D(380)


@pytest.mark.parametrize("age, student, owed", [
    (40, False, "73.00"),  # 76.50 − 3.50 = 73.00
    (18, False, "73.00"),  # 18 is an adult (as 未满18周岁 in the basic scheme): 76.50 − 3.50
    (17, False, "28.00"),  # 31.50 − 3.50 = 28.00
    (20, True, "28.00"),   # a student: 31.50 − 3.50
])
def test_supplementary_premium_less_the_government_s_3_50(j2021, age, student, owed):
    a = owes(j2021, age=age, student=student, supplementary=True)
    assert a.contribution("supplementary").member_owes == D(owed)
    assert a.contribution("supplementary").subsidy("government") == D("3.50")


def test_supplementary_is_voluntary(j2021):
    a = owes(j2021, age=40)
    assert not a.contribution("supplementary").applied
    assert a.contribution("supplementary").member_owes == 0
    assert a.member_owes == D(280)


def test_new_out_of_city_student_2021_pays_a_third(j2021):
    # 280 × 4/12 = 93.33 → 93 (half up to the yuan); 31.50 × 4/12 = 10.50 → 11; no 3.50 subsidy
    a = owes(j2021, age=19, student=True, local=False, new_student=True, supplementary=True)
    assert a.contribution("basic").member_owes == D(93)
    assert a.contribution("supplementary").member_owes == D(11)
    assert a.member_owes == D(104)


def test_new_out_of_city_student_2020_reproduces_the_printed_83_and_11(j2020):
    # "2020年新入学市外户籍学生的城乡居民基本医疗保险缴费标准为83元/人,城乡居民补充医疗保险缴费标准为11元/人":
    # tier 1 2020 = 250 (assumed, inferred from 83): 250 × 4/12 = 83.33 → 83; 31.50 × 4/12 = 10.50 → 11
    a = owes(j2020, age=19, student=True, local=False, new_student=True, supplementary=True)
    assert a.contribution("basic").member_owes == D(83)
    assert a.contribution("supplementary").member_owes == D(11)
    assert j2020.plan.top.parameters["tier1_premium"] == D(250)
    assert j2020.checked.parameters["tier1_premium"].citation.assumed


def test_the_declared_rounding_decides_the_printed_11(tmp_path):
    # half_even would round 10.50 to 10, not the printed 11: the rounding is part of the rulebook
    text = J2021.read_text(encoding="utf-8").replace(
        "prorate from 09-01 to 12-31 when member.new_student rounding half_up to 1 yuan\n    cites JIANG_PLAN at "
        "\"五(二)\" \"2020年", "prorate from 09-01 to 12-31 when member.new_student rounding half_even to 1 yuan\n"
        "    cites JIANG_PLAN at \"五(二)\" \"2020年")
    assert "half_even" in text
    program = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("j.mr", text))))
    a = owes(program, age=19, student=True, new_student=True, supplementary=True)
    assert a.contribution("supplementary").member_owes == D(10)  # 10.50 → 10 (to even)
    assert a.contribution("basic").member_owes == D(93)  # 93.33 → 93 either way


# ---------------------------------------------------------------- explanations
def test_citizen_sentence_en(j2021):
    a = owes(j2021, trace=True, groups=["low_income"], age=65, tier="tier2")
    e = explain_assessment(j2021, a, "en")
    sentence = e.contributions[0].sentences[0]
    assert sentence.startswith("resident basic medical insurance premium: you pay 212.00 yuan")
    assert "380.00 yuan" in sentence and "168.00 yuan" in sentence and "280.00 × 60%" in sentence
    assert "only the highest single subsidy applies" in sentence
    # the conditions in the rulebook's own words: the tier chosen, and the list-3 alternative that held
    assert "(the tier chosen: tier 2)" in sentence
    assert "member of a low-income household and age (full years) ≥ 60" in sentence


def test_citizen_sentence_zh(j2021):
    a = owes(j2021, trace=True, groups=["low_income"], age=65, tier="tier2")
    sentence = explain_assessment(j2021, a, "zh").contributions[0].sentences[0]
    assert sentence.startswith("城乡居民基本医疗保险个人缴费:您需缴纳 212.00 元")
    assert "全年保费 380.00 元(选择的缴费档次 第二档)" in sentence
    assert "县政府参保补助为您支付 168.00 元(280.00 × 60%,城乡低收入家庭成员,且年龄(周岁) ≥ 60)" in sentence


def test_auditor_view_zh_shows_the_arithmetic_and_the_citation(j2021):
    a = owes(j2021, trace=True, groups=["low_income"], age=65, tier="tier2")
    text = render_text(explain_assessment(j2021, a, "zh"))
    assert "280.00 × 60% = 168.00" in text
    assert "380.00 − 168.00 = 212.00" in text
    assert "就高原则" in text  # the quoted provision
    assert "基金支付" not in text and "结算单" not in text  # a contribution's own vocabulary


def test_part_year_explained(j2021):
    a = owes(j2021, trace=True, age=19, student=True, new_student=True, supplementary=True)
    text = render_text(explain_assessment(j2021, a, "en"))
    assert "31.50 × 4/12 = 10.50 → 11.00" in text
    assert "280.00 × 4/12 = 93.3333… → 93.00" in text


def test_json_document(j2021):
    a = owes(j2021, trace=True, groups=["registered_poor"], age=40, tier="tier2")
    doc = json.loads(to_json(explain_assessment(j2021, a, "en")))
    assert doc["member_owes"] == "100.00"
    assert doc["contributions"][0]["subsidies"] == {"government": "280.00"}
    assert {s["kind"] for s in doc["contributions"][0]["steps"]} >= {"premium", "subsidy", "owes"}


def test_the_plan_describes_contributions(j2021):
    from medrules.plan import describe
    text = describe(j2021.plan)
    assert "contribution basic" in text and "prorate 4/12 when member.new_student, rounding half_up to 1" in text


def test_a_contributions_only_rulebook_settles_no_claims(j2021):
    facts = facts_from_source(SourceFile("<m>", json.dumps({"member": {"id": "M", "age": 3, "groups": []}})),
                              j2021.checked)
    with pytest.raises(MedrulesError) as exc:
        medrules.settle(j2021, facts)
    assert exc.value.diagnostics[0].span.line == 29 and "assess" in exc.value.diagnostics[0].hint


def test_a_rulebook_without_contributions_cannot_be_assessed():
    program = program_for(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    with pytest.raises(MedrulesError, match="no contributions"):
        assess(program, None)


def test_the_vector_backend_refuses_contributions_at_load(j2021):
    from medrules.batch.vector import compile_vector
    with pytest.raises(MedrulesError) as exc:
        compile_vector(j2021)
    d = exc.value.diagnostics[0]
    assert d.code == "vector" and d.span.line == 90 and "medrules assess" in d.hint


# ---------------------------------------------------------------- checked with located errors
HEADER = '''rulebook "t" {
  effective from 2021-01-01
  rounding half_up to 0.01 yuan per payment
}
source S { number "S1" }
enum tier { tier1 tier2 }
facts member { id: text  tier: tier  age: count }
'''


def diagnostics(body: str):
    with pytest.raises(MedrulesError) as exc:
        medrules.check(medrules.parse(SourceFile("t.mr", HEADER + body)))
    return [(d.code, d.span.line, d.span.col) for d in exc.value.diagnostics]


@pytest.mark.parametrize("body, expected", [
    # a part-year period starts on a 1st: line 9 col 16 is '09-02'
    ('contribution c cites S "x" {\n  premium 10 yuan\n  prorate from 09-02 to 12-31 rounding half_up to 1 yuan\n}\n',
     [("prorate", 10, 16)]),
    # ... and ends on a month's last day ('12-30' at col 25)
    ('contribution c cites S "x" {\n  premium 10 yuan\n  prorate from 09-01 to 12-30 rounding half_up to 1 yuan\n}\n',
     [("prorate", 10, 25)]),
    # a declared rounding mode
    ('contribution c cites S "x" {\n  premium 10 yuan\n  prorate from 09-01 to 12-31 rounding nearest to 1 yuan\n}\n',
     [("unknown-name", 10, 40)]),
    # a premium is money
    ('contribution c cites S "x" {\n  premium 60%\n}\n', [("unit", 9, 11)]),
    # a subsidy is money, its condition a yes/no
    ('contribution c cites S "x" {\n  premium 10 yuan\n  subsidy g: 5 yuan when member.age\n}\n', [("unit", 10, 26)]),
    # no premium
    ('contribution c cites S "x" {\n  subsidy g: 5 yuan\n}\n', [("missing", 8, 1)]),
    # every clause cites, itself or through its contribution
    ('contribution c {\n  premium 10 yuan\n}\n', [("citation", 9, 3)]),
    # a contribution reads no claim facts
    ('facts claim { cost: money }\ncontribution c cites S "x" {\n  premium claim.cost\n}\n', [("contribution", 10, 11)]),
    # two subsidies of one name
    ('contribution c cites S "x" {\n  premium 10 yuan\n  subsidy g: 1 yuan\n  subsidy g: 2 yuan\n}\n',
     [("duplicate", 11, 11)]),
])
def test_located_errors(body, expected):
    assert diagnostics(body) == expected


def test_contributions_need_no_total_or_claim_date():
    program = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("t.mr", HEADER + (
        'contribution c cites S "x" {\n  premium { 380 yuan when member.tier == tier2, otherwise 280 yuan }\n'
        '  subsidy g "补助" | "subsidy": 300 yuan when member.age >= 60\n}\n')))))
    # tier 1, aged 70: the 300 subsidy is more than the 280 premium: min(300, 280) = 280, owes 0
    assert owes(program, tier="tier1", age=70).member_owes == 0
    # tier 2, aged 70: 380 − 300 = 80
    assert owes(program, tier="tier2", age=70).member_owes == D(80)
    # tier 2, aged 30: no subsidy: 380
    assert owes(program, tier="tier2", age=30).member_owes == D(380)


def test_a_rulebook_with_funds_still_needs_its_total():
    codes = diagnostics('fund f cites S "x" { base 1 yuan rate 10% }\n')
    assert ("missing", 1, 1) in codes


@pytest.mark.parametrize("name, owed", [
    # 380 − 168 = 212 (basic) + 76.50 − 3.50 = 73.00 (supplementary) = 285.00
    ("jiang-2021-low-income-over-60-tier2.json", "285.00"),
    # 280 × 4/12 = 93.33 → 93 + 31.50 × 4/12 = 10.50 → 11 = 104
    ("jiang-2021-new-out-of-city-student.json", "104.00"),
])
def test_example_files_through_the_command(name, owed):
    from typer.testing import CliRunner
    from medrules.cli import app
    r = CliRunner().invoke(app, ["assess", str(J2021), str(ROOT / "examples" / "contributions" / name), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["member_owes"] == owed


def test_a_day_that_is_not_in_the_year_is_a_located_syntax_error():
    with pytest.raises(MedrulesError) as exc:
        medrules.parse(SourceFile("t.mr", HEADER + 'contribution c cites S "x" {\n  premium 10 yuan\n'
                                  '  prorate from 13-01 to 12-31 rounding half_up to 1 yuan\n}\n'))
    d = exc.value.diagnostics[0]
    assert (d.code, d.span.line, d.span.col) == ("bad-date", 10, 16)


@pytest.mark.parametrize("clause, line", [
    ("premium 10 yuan - member.age * 1 yuan", 9),                      # 10 − 40 = −30: a negative premium
    ("premium 10 yuan\n  subsidy g: 0 yuan - member.age * 1 yuan", 10),  # a negative subsidy
])
def test_negative_amounts_fail_closed_with_their_place(clause, line):
    program = medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile(
        "t.mr", HEADER + f'contribution c cites S "x" {{\n  {clause}\n}}\n'))))
    with pytest.raises(MedrulesError) as exc:
        owes(program, tier="tier1", age=40)
    assert exc.value.diagnostics[0].span.line == line
