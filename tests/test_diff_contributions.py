"""``medrules diff`` across two years of contributions: what each member owes, and the provision that moved it.

Jiang 2020 → 2021 (seed 003, 江医保发[2020]40号): tier 1 is 250 in 2020 (inferred from the printed 83:
contributions-2020.mr, assumed) and 280 in 2021; tier 2 is 380 in both (2020 amends 2021 and does not
restate it); list 3 is 60% of tier 1; new out-of-city students pay 4/12, half up to the yuan.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import medrules
from conftest import ROOT
from medrules.analyses.diff import diff, diff_json, diff_markdown
from medrules.cli import app
from medrules.facts import facts_for_both
from medrules.source import SourceFile

D = Decimal
J2020 = ROOT / "rulebooks" / "jiang" / "contributions-2020.mr"
J2021 = ROOT / "rulebooks" / "jiang" / "contributions-2021.mr"

MEMBERS = {
    # an adult at tier 1, no group: 250 → 280 (+30)
    "M1": {"tier": "tier1", "age": 40},
    # low income and 65, tier 2: 380 − 250 × 60% = 380 − 150 = 230 → 380 − 280 × 60% = 380 − 168 = 212 (−18)
    "M2": {"tier": "tier2", "age": 65, "groups": ["low_income"]},
    # a new out-of-city student in the supplementary insurance: basic 250 × 4/12 = 83.33 → 83, then
    # 280 × 4/12 = 93.33 → 93 (+10); supplementary 31.50 × 4/12 = 10.50 → 11 both years (no change)
    "M3": {"tier": "tier1", "age": 19, "student": True, "new_student": True, "supplementary": True},
    # registered poor at tier 2 pays the difference: 380 − 250 = 130 → 380 − 280 = 100 (−30)
    "M4": {"tier": "tier2", "age": 40, "groups": ["registered_poor"]},
    # tier 2, no group: 380 both years (tier 2 did not change)
    "M5": {"tier": "tier2", "age": 40},
}
OWES = {"M1": ("250", "280"), "M2": ("230", "212"), "M3": ("94", "104"), "M4": ("130", "100"), "M5": ("380", "380")}


def facts_files(tmp_path: Path) -> list[Path]:
    out = []
    for i, m in MEMBERS.items():
        p = tmp_path / f"{i}.json"
        p.write_text(json.dumps({"member": {"id": i, **m}}), encoding="utf-8")
        out.append(p)
    return out


def run(old: Path, new: Path, files: list[Path], lang="en"):
    a, b = medrules.load(old), medrules.load(new)
    return diff(a, b, [facts_for_both(SourceFile.read(p), a.checked, b.checked) for p in files], lang)


def test_jiang_2020_to_2021_what_each_member_owes_and_why(tmp_path):
    d = run(J2020, J2021, facts_files(tmp_path))
    assert [c.name for c in d.changes if c.kind == "parameter"] == ["tier1_premium"]
    assert [(c.before, c.after) for c in d.changes if c.kind == "parameter"] == [("250 yuan", "280 yuan")]
    assert not [c for c in d.changes if c.kind == "contribution"]  # the clauses are the same words
    got = {m.member_id: (m.owes_before, m.owes_after) for m in d.members}
    assert got == {k: (D(a), D(b)) for k, (a, b) in OWES.items()}
    by = {m.member_id: m for m in d.members}
    # every change is the tier-1 premium's, in the basic contribution
    for i, delta in (("M1", 30), ("M2", -18), ("M3", 10), ("M4", -30)):
        (a,) = by[i].attributions
        assert a.change.name == "tier1_premium" and a.funds == {"basic": D(delta)}, i
    assert by["M5"].attributions == ()
    # why: M2's premium stayed 380 and the subsidy moved 150 → 168; M3's premium moved 83 → 93
    assert (by["M2"].before["basic"].premium, by["M2"].after["basic"].premium) == (D(380), D(380))
    assert (by["M2"].before["basic"].subsidies["government"], by["M2"].after["basic"].subsidies["government"]) \
        == (D(150), D(168))
    assert (by["M3"].before["basic"].premium, by["M3"].after["basic"].premium) == (D(83), D(93))
    assert by["M3"].before["supplementary"].owes == by["M3"].after["supplementary"].owes == D(11)


def test_the_memo_and_the_json(tmp_path):
    d = run(J2020, J2021, facts_files(tmp_path))
    memo = diff_markdown(d, "en")
    assert "| M2 | resident basic medical insurance premium | 230.00 | 212.00 | −18.00 | county government " \
           "subsidy 150.00 → 168.00 | tier-1 premium 250 yuan → 280 yuan: −18.00 |" in memo
    # members owe 250 + 230 + 94 + 130 + 380 = 1,084 → 280 + 212 + 104 + 100 + 380 = 1,076; 4 of 5 change
    assert "4 of 5" in memo and "1,084.00 yuan → 1,076.00 yuan" in memo
    assert "M5 |" not in memo  # unchanged members are not listed
    doc = diff_json(d, "en")
    m4 = next(m for m in doc["members"] if m["id"] == "M4")
    assert (m4["owes_before"], m4["owes_after"]) == ("130.00", "100.00")
    assert m4["attributions"] == [{"change": "tier1_premium", "words": "tier-1 premium 250 yuan → 280 yuan",
                                   "contributions": {"basic": "-30.00"}}]


def _variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = J2021.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_two_parameters_each_get_their_share(tmp_path):
    # a hypothetical next year: tier 1 280 → 300, tier 2 380 → 400. A registered-poor member at tier 2:
    # 380 − 280 = 100; with tier 1 at 300 first: 380 − 300 = 80 (−20, tier 1); then tier 2 at 400: 400 − 300 =
    # 100 (+20, tier 2); net 0. A tier-2 member with no group: 380 → 400, all of it tier 2's (+20).
    new = _variant(tmp_path, "next.mr", ("= 280 yuan", "= 300 yuan"), ("= 380 yuan", "= 400 yuan"))
    (tmp_path / "f").mkdir()
    files = facts_files(tmp_path / "f")
    d = run(J2021, new, [files[3], files[4]])
    m4, m5 = d.members
    assert (m4.owes_before, m4.owes_after) == (D(100), D(100))
    assert [(a.change.name, a.funds["basic"]) for a in m4.attributions] == [("tier1_premium", D(-20)),
                                                                             ("tier2_premium", D(20))]
    assert [(a.change.name, a.funds["basic"]) for a in m5.attributions] == [("tier2_premium", D(20))]


def test_a_clause_whose_words_change_gets_its_share(tmp_path):
    # minors pay tier 1 "未满18周岁" → a hypothetical "under 16": a 17-year-old at tier 2 pays 280 → 380 (+100),
    # attributed to the premium clause whose words changed
    new = _variant(tmp_path, "under16.mr", ("tier1_premium when member.age < 18 or member.student",
                                            "tier1_premium when member.age < 16 or member.student"))
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"member": {"id": "K", "tier": "tier2", "age": 17}}), encoding="utf-8")
    d = run(J2021, new, [f])
    (change,) = [c for c in d.changes if c.kind == "contribution"]
    assert change.name == "basic.premium" and "< 18" in change.before and "< 16" in change.after
    (m,) = d.members
    assert (m.owes_before, m.owes_after) == (D(280), D(380))
    (a,) = m.attributions
    assert a.change.name == "basic.premium" and a.funds == {"basic": D(100)}


def test_a_parameter_then_a_clause(tmp_path):
    # tier 1 280 → 300 and minors "under 18" → "under 16". A 17-year-old at tier 2: 280 (a minor, tier 1);
    # with tier 1 at 300: 300 (+20, the tier-1 premium); with the clause too: no longer a minor, tier 2 = 380
    # (+80, the premium clause); nothing is left to the other changes. In all 280 → 380.
    new = _variant(tmp_path, "both.mr", ("= 280 yuan", "= 300 yuan"),
                   ("tier1_premium when member.age < 18 or member.student",
                    "tier1_premium when member.age < 16 or member.student"))
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"member": {"id": "K", "tier": "tier2", "age": 17}}), encoding="utf-8")
    (m,) = run(J2021, new, [f]).members
    assert (m.owes_before, m.owes_after) == (D(280), D(380))
    assert [(a.change.name, a.funds["basic"]) for a in m.attributions] == [("tier1_premium", D(20)),
                                                                            ("basic.premium", D(80))]


@pytest.mark.parametrize("lang, words", [("zh", "第一档个人缴费标准 250 元 → 280 元"),
                                         ("en", "tier-1 premium 250 yuan → 280 yuan")])
def test_the_command(tmp_path, lang, words):
    files = facts_files(tmp_path)
    r = CliRunner().invoke(app, ["diff", str(J2020), str(J2021), *map(str, files), "--format", "markdown",
                                 "--lang", lang])
    assert r.exit_code == 0, r.output
    assert words in r.output and "| M1 |" in r.output


def test_a_household_file_across_two_years_of_a_household_rulebook(tmp_path):
    # Chongqing 2017 and a hypothetical next year with the tier-1 share 140 → 160: a household at tier 1 of two
    # members paying in March owes (140 + 420) − 420 = 140 each, then (160 + 420) − 420 = 160 each: +20 apiece,
    # attributed to the tier-1 share
    old = ROOT / "rulebooks" / "chongqing" / "contributions-2017.mr"
    text = old.read_text(encoding="utf-8")
    assert "= 140 yuan" in text
    new = tmp_path / "next.mr"
    new.write_text(text.replace("= 140 yuan", "= 160 yuan"), encoding="utf-8")
    f = tmp_path / "h.json"
    f.write_text(json.dumps({"household": {"id": "H", "tier": "tier1"},
                             "members": [{"id": "A", "paid_on": "2017-03-01"}, {"id": "B", "paid_on": "2017-03-01"}]}),
                 encoding="utf-8")
    r = CliRunner().invoke(app, ["diff", str(old), str(new), str(f), "--json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [(m["id"], m["owes_before"], m["owes_after"]) for m in doc["members"]] == [("A", "140.00", "160.00"),
                                                                                   ("B", "140.00", "160.00")]
    assert {a["change"] for m in doc["members"] for a in m["attributions"]} == {"tier1_share"}
