"""medrules explain --results of a claim the batch settled in a group of households sharing quotas kept per holder
(medrules.batch.hexplain; docs/batch.md; issues 8 and 11): the claim's group is rebuilt from the input as a
household facts file, settled on the traced scalar backend, and its amounts are the results row's.

Chongqing 2017 (seed 003, 区社保局2017年度参保缴费问答 普通门诊1): "普通门诊定额包干标准为80元/人,定额包干资金可以用于参保人员
本人、亲属或指定人…在定额包干额度内可全部使用并且报销比例100%". Every person holds a quota of 80 yuan; the claims are
outpatient care at an 'other' institution, where the grassroots pooling pays nothing: the quota is the only fund.
The persons and claims are tests/test_vgroups.py's, whose amounts are worked there by hand (repeated below).
"""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from test_vgroups import CLAIMLESS, DESIGNATED, PEOPLE, claims_table, members_table, one_table, row, seeded

RULEBOOK = ROOT / "rulebooks" / "chongqing" / "residents-2017.mr"
runner = CliRunner()


def settled(tmp_path, claims: pa.Table, members: pa.Table | None = None):
    """The batch's results (CSV) and the options that give explain its input."""
    pacsv.write_csv(claims, tmp_path / "claims.csv")
    options = ["--claims", str(tmp_path / "claims.csv")]
    if members is not None:
        pacsv.write_csv(members, tmp_path / "members.csv")
        options += ["--members", str(tmp_path / "members.csv")]
    r = runner.invoke(app, ["settle", str(RULEBOOK), str(tmp_path / "claims.csv"), "--out",
                            str(tmp_path / "out.csv"), "--no-progress", *options[2:]])
    assert r.exit_code == 0 and "settled" in r.output, r.output
    return tmp_path / "out.csv", options


def explain(results, options, claim: str, *more: str):
    return runner.invoke(app, ["explain", str(RULEBOOK), "--results", str(results), *options, "--claim", claim,
                               *more])


def flat(output: str) -> str:
    """The text with its line breaks (rich wraps to the terminal's width) as spaces."""
    return " ".join(output.split())


def amounts(output: str) -> tuple[str, str]:
    (claim,) = json.loads(output)["claims"]
    return next(f["paid"] for f in claim["funds"] if f["fund"] == "outpatient_quota"), claim["member_pays"]


# Household H-1: I-1, I-2; household H-2: D-1 (designated by I-2) and E-1; H-3: J-1 (worked in test_vgroups.py):
#   C1 (I-1, 03-01, 150, names I-1 then I-2): 80 from I-1's own + 70 from I-2's → 150; I-1 pays 0; I-2 left 10.
#   C5 (I-2, 06-01, 20, own; its row before C4's, same day): I-2 has 10 → 10; I-2 pays 10; I-2 left 0.
#   C4 (D-1, 06-01, 60, names I-2 then D-1): I-2 has 0 → 60 all from D-1's own (left 20); D-1 pays 0.
#   C6 (E-1, 07-01, 40, names D-1): D-1 has 20 → 20; E-1 pays 20.
def test_a_claim_drawing_on_a_relatives_quota_is_explained_with_the_batchs_amounts(tmp_path):
    results, options = settled(tmp_path, one_table(DESIGNATED))
    r = explain(results, options, "C1", "--json")
    assert r.exit_code == 0, r.output
    assert amounts(r.output) == ("150.00", "0.00")
    text = explain(results, options, "C1", "--lang", "en")
    assert text.exit_code == 0, text.output
    assert "80.00 yuan from I-1's own quota" in flat(text.output)
    assert "70.00 yuan from the quota of I-2, a relative" in flat(text.output)
    # alone, I-1 would have only their own 80: the batch's 150 is explained, not refused as differing
    assert "differs" not in text.output and "does not settle" not in text.output


def test_a_tie_in_date_is_settled_in_input_order_across_households(tmp_path):
    # C4 is explained from H-2 (its household), yet I-2's C5 of the same day (an earlier row, household H-1)
    # is settled first, as the batch does: C4 finds I-2's quota spent and draws 60 on D-1's own.
    results, options = settled(tmp_path, one_table(DESIGNATED))
    got = {c: amounts(explain(results, options, c, "--json").output) for c in ("C4", "C5", "C6")}
    assert got == {"C4": ("60.00", "0.00"), "C5": ("10.00", "10.00"), "C6": ("20.00", "20.00")}
    text = explain(results, options, "C6", "--lang", "en", "--view", "citizen")
    assert "20.00 yuan from the quota of D-1, a relative (same household)" in flat(text.output)


# Same-day claims of two persons in the order of their rows, not of their persons: I-1's first row comes first,
# yet on 06-01 I-2's B1 is the earlier row.
#   A1 (I-1, 03-01, 10, own): 10 → I-1 left 80 − 10 = 70.
#   B1 (I-2, 06-01, 50, names I-1): 50 ≤ 70 → 50 from I-1's quota (left 20); I-2 pays 0.
#   A2 (I-1, 06-01, 50, own): 20 left → 20; I-1 pays 50 − 20 = 30.
# (Person by person, A2 would come first: 50, then B1 only 20.)
INTERLEAVED = [row("I-1", "H-1", "A1", "2017-03-01", "10.00"), row("I-2", "H-1", "B1", "2017-06-01", "50.00", "I-1"),
               row("I-1", "H-1", "A2", "2017-06-01", "50.00")]


def test_same_day_claims_of_two_persons_are_settled_row_by_row(tmp_path):
    results, options = settled(tmp_path, one_table(INTERLEAVED))
    got = {c: amounts(explain(results, options, c, "--json").output) for c in ("A1", "B1", "A2")}
    assert got == {"A1": ("10.00", "0.00"), "B1": ("50.00", "0.00"), "A2": ("20.00", "30.00")}


# Two tables: I-2 has no claim rows (a holder only, household H-1 in the members table).
#   C1 (I-1, 03-01, 150, I-1 then I-2): 80 + 70 → 150, I-2 left 10.
#   C4 (D-1 of H-2, 06-01, 60, names I-2): I-2's last 10 → 10; D-1 pays 60 − 10 = 50.
def test_a_designated_person_drawing_a_claimless_holders_last_ten(tmp_path):
    results, options = settled(tmp_path, claims_table(CLAIMLESS), members_table(PEOPLE))
    r = explain(results, options, "C4", "--json")
    assert r.exit_code == 0, r.output
    assert amounts(r.output) == ("10.00", "50.00")
    text = explain(results, options, "C4", "--lang", "en", "--view", "citizen")
    assert text.exit_code == 0, text.output
    assert "10.00 yuan from the quota of I-2, who designated the patient (0.00 yuan left)" in flat(text.output)
    assert "You pay 50.00 yuan" in flat(text.output)
    # J-1 (H-3) shares with no one: 100 against own 80 → 80, pays 20
    assert amounts(explain(results, options, "C9", "--json").output) == ("80.00", "20.00")


def test_households_from_the_members_table_only(tmp_path):
    # the claims give no household column: each claim is of its member's household in the members table (as
    # the batch reads them): the same amounts, C1 150 / 0 and C4 10 / 50
    results, options = settled(tmp_path, claims_table(CLAIMLESS).drop_columns(["household_id"]),
                               members_table(PEOPLE))
    assert amounts(explain(results, options, "C1", "--json").output) == ("150.00", "0.00")
    assert amounts(explain(results, options, "C4", "--json").output) == ("10.00", "50.00")


def test_what_if_on_a_grouped_claim_is_refused_not_settled_alone(tmp_path):
    results, options = settled(tmp_path, claims_table(CLAIMLESS), members_table(PEOPLE))
    r = explain(results, options, "C4", "--what-if", "claim.compliant_cost=10")
    assert r.exit_code != 0
    assert "--what-if" in r.output and "household H-2" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_seeded_population_of_linked_households_explains_every_claim(tmp_path, shuffled):
    # 25 seeded examples of test_vgroups.py's generator (holders named across households, claimless holders in
    # the members table; the claims of four months, so many same-day claims), as generated (each person's rows
    # together) and shuffled (same-day rows of different persons interleaved): every claim of the results is
    # explained from them and its amounts checked against its row (medrules.batch.explain.check raises on any
    # difference).
    import random

    from medrules.batch.explain import check, from_results
    rows, people = [], []
    for seed in range(25):
        _, r, p = seeded(seed)
        rows, people = rows + r, people + p
    if shuffled:
        random.Random(7).shuffle(rows)
    results, _ = settled(tmp_path, claims_table(rows), pa.Table.from_pylist(people))
    table = pacsv.read_csv(results, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    ids = [str(x) for x in table.column("claim_id").to_pylist()]
    assert len(ids) == len(rows) > 100
    others = sum(any(r[k] not in (None, r["member_id"]) for k in ("quota_from", "quota_then")) for r in rows)
    assert others > 20  # claims naming another person's quota are exercised
    for cid in ids:
        found = from_results(RULEBOOK, results, [tmp_path / "claims.csv"], cid, tmp_path / "members.csv")
        assert found.settlement is not None, cid  # settled with its group, never alone
        check(found, found.settlement)
        claim = next(c for c in found.settlement.claims if c.id == cid)
        assert Decimal(str(found.row["member_pays"])) == claim.member_pays
