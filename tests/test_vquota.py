"""Quotas kept per holder, shared in a household, on the vector backend (medrules.batch.vquota; issues 8, 11).

Chongqing 2017 (seed 003, 区社保局2017年度参保缴费问答 普通门诊1): "2017年城乡居民的普通门诊定额包干标准为80元/人,
定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付费用,在定额包干额度内可全部使用并且报销比例100%".
A household's claims draw on its members' quotas in one date order (ties: input order). Outpatient claims at an
'other' institution: the grassroots pooling pays nothing there, so the quota is the only fund that pays.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import medrules
from conftest import ROOT
from medrules.batch.run import settle_table
from medrules.household import load_household_claims, settle_household
from medrules.source import SourceFile

RULEBOOK = ROOT / "rulebooks" / "chongqing" / "residents-2017.mr"
D = Decimal


@pytest.fixture(scope="module")
def cq():
    return medrules.load(RULEBOOK)


COLUMNS = ("member_id", "household_id", "claim_id", "date", "compliant_cost", "quota_from", "quota_then",
           "institution", "continuous", "quota_balance")


def table(rows):
    cols = {c: [r.get(c) for r in rows] for c in COLUMNS}
    return pa.table({**cols, "kind": ["outpatient"] * len(rows), "tier": ["tier1"] * len(rows),
                     "paid_on": ["2016-10-15"] * len(rows)})


def row(member, house, claim, date, cost, first=None, then=None, **more):
    return {"member_id": member, "household_id": house, "claim_id": claim, "date": date, "compliant_cost": cost,
            "quota_from": first, "quota_then": then, **more}


def test_a_household_of_three_shares_its_quotas_in_a_batch(cq):
    # Household H-1 of three at 80 each (I-1, I-2, I-3), the claims in date order:
    #   C1 (I-1, 03-01, 150, names I-1 then I-2): room 80 + 80 = 160 ≥ 150 → pays 150: 80 from I-1's own (left 0),
    #      70 from I-2's (left 80 − 70 = 10); I-1 pays 150 − 150 = 0.
    #   C2 (I-3, 04-01, 50, names I-2): I-2 has 10 left → pays 10 (I-2 left 0); I-3 pays 50 − 10 = 40.
    #   C3 (I-3, 05-01, 30, names nobody → own): 30 from I-3 (left 80 − 30 = 50); I-3 pays 0.
    #   C5 (I-2, 06-01, 20, own): I-2's quota is spent (0 left) → pays 0; I-2 pays 20.
    # Household H-2 (J-1 alone, listed first, its claim on the same day as C1): its own 80 → C9 (100) pays 80, 20.
    rows = [row("J-1", "H-2", "C9", "2017-03-01", "100.00"),
            row("I-3", "H-1", "C2", "2017-04-01", "50.00", "I-2"), row("I-3", "H-1", "C3", "2017-05-01", "30.00"),
            row("I-2", "H-1", "C5", "2017-06-01", "20.00"),
            row("I-1", "H-1", "C1", "2017-03-01", "150.00", "I-1", "I-2")]
    results, rejects = settle_table(cq, table(rows))
    assert rejects.num_rows == 0, rejects.to_pylist()
    got = {r["claim_id"]: (str(r["paid.outpatient_quota"]), str(r["member_pays"])) for r in results.to_pylist()}
    assert got == {"C1": ("150.00", "0.00"), "C2": ("10.00", "40.00"), "C3": ("30.00", "0.00"),
                   "C5": ("0.00", "20.00"), "C9": ("80.00", "20.00")}


def test_a_row_naming_a_person_of_another_household_links_the_two_households(cq):
    # K-1 (household H-3) names I-1 of H-1 (K-1 is a person I-1 designated): H-1 and H-3 are settled as one group,
    # in one date order (ties: input order; tests/test_vgroups.py has more):
    #   C1 (I-1, 03-01, 150, own): I-1's 80 → 80 (I-1 left 0), I-1 pays 70.
    #   K1 (K-1, 03-01, 10, names I-1), listed after C1: I-1 has 0 left → 0, K-1 pays 10.
    #   K2 (K-2, 03-02, 10, own): K-2's 80 → 10.
    rows = [row("I-1", "H-1", "C1", "2017-03-01", "150.00"),
            row("K-1", "H-3", "K1", "2017-03-01", "10.00", "I-1"), row("K-2", "H-3", "K2", "2017-03-02", "10.00")]
    results, rejects = settle_table(cq, table(rows))
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert {r["claim_id"]: (str(r["paid.outpatient_quota"]), str(r["member_pays"])) for r in results.to_pylist()} \
        == {"C1": ("80.00", "70.00"), "K1": ("0.00", "10.00"), "K2": ("10.00", "0.00")}


def test_without_a_household_column_a_row_naming_another_is_still_rejected(cq):
    rows = [row("I-1", None, "C1", "2017-03-01", "150.00", "I-2"), row("I-2", None, "C2", "2017-03-01", "1.00")]
    t = table(rows).drop_columns(["household_id"])
    _, rejects = settle_table(cq, t)
    assert [r["claim"] for r in rejects.to_pylist()] == ["C1"]


def test_opening_values_with_shared_quotas_are_carried_not_refused(cq):
    """Each person's opening values are their own (medrules.batch.vqhistory; tests/test_vqhistory.py): I-1 opened
    the year with 10 of quota used, so C1 (150, names I-1 then I-2) has room (80 − 10) + 80 = 150 → pays 150,
    70 from I-1 and 80 from I-2; C2 (I-2, 1.00, own) finds I-2's quota spent → 0, I-2 pays 1.00."""
    rows = [row("I-1", "H-1", "C1", "2017-03-01", "150.00", "I-1", "I-2"),
            row("I-2", "H-1", "C2", "2017-03-02", "1.00")]
    t = table(rows)
    t = t.append_column("opening.quota_used", pa.array(["10.00", "0.00"]))
    results, rejects = settle_table(cq, t)
    assert rejects.num_rows == 0, rejects.to_pylist()
    got = {r["claim_id"]: (str(r["paid.outpatient_quota"]), str(r["member_pays"])) for r in results.to_pylist()}
    assert got == {"C1": ("150.00", "0.00"), "C2": ("0.00", "1.00")}


def test_settle_explain_plan_declares_the_household_waves(cq):
    from medrules.batch.vector import compile_vector
    plan = compile_vector(cq).describe()
    assert "per holder" in plan and "household" in plan


# ---------------------------------------------------------------- differential: the scalar household settlement
opening_st = st.sampled_from([None, "0.00", "30.00", "95.50"])  # opening quota_used / outpatient_pool_paid
people = st.lists(st.tuples(st.booleans(), st.sampled_from(["0.00", "15.50", "40.00"]), opening_st, opening_st),
                  min_size=1, max_size=3)
claims_st = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 30000), st.integers(1, 6), st.sampled_from(
    ["other", "grassroots_level1"]), st.lists(st.integers(0, 2), max_size=2)), max_size=7)


def opening_of(used, pool) -> dict:
    """A person's opening values (each person's own: medrules.batch.vqhistory), as a facts file gives them."""
    opening = {k: v for k, v in (("quota_used", used), ("outpatient_pool_paid", pool)) if v is not None}
    return {"opening": opening} if opening else {}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(people, claims_st), min_size=1, max_size=3))
def test_the_vector_backend_settles_households_as_the_scalar_one_to_the_fen(cq, tmp_path_factory, households):
    tmp = tmp_path_factory.mktemp("hh")
    rows, expected = [], {}
    for h, (persons, claims) in enumerate(households):
        ids = [f"P{h}-{i}" for i in range(len(persons))]
        per = {i: [] for i in ids}
        claimants = sorted({ids[who % len(ids)] for who, *_ in claims})  # a table gives the facts of those with rows
        for n, (who, cents, month, institution, named) in enumerate(claims):
            pid = ids[who % len(ids)]
            names = [claimants[k % len(claimants)] for k in named]
            claim = {"id": f"C{h}-{n}", "date": f"2017-{month:02d}-01", "kind": "outpatient",
                     "compliant_cost": f"{cents / 100:.2f}", "institution": institution}
            claim |= {k: v for k, v in zip(("quota_from", "quota_then"), names)}
            per[pid].append(claim)
        doc = {"household": {"id": f"H{h}"}, "members": [
            {"member": {"id": i, "tier": "tier1", "paid_on": "2016-10-15", "continuous": cont, "quota_balance": bal},
             "claims": per[i]} | opening_of(used, pool) for i, (cont, bal, used, pool) in zip(ids, persons)]}
        path = tmp / f"h{h}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        hs = settle_household(cq, load_household_claims(SourceFile.read(path), cq.checked))
        for s in hs.settlements:
            for c in s.claims:
                expected[c.id] = c
        for i, (cont, bal, used, pool) in zip(ids, persons):  # the table in the file's order (ties: input order)
            for c in per[i]:
                rows.append(row(i, f"H{h}", c["id"], c["date"], c["compliant_cost"], c.get("quota_from"),
                                c.get("quota_then"), institution=c["institution"], continuous=str(cont).lower(),
                                quota_balance=bal, **{f"opening.{k}": v for k, v in
                                                      opening_of(used, pool).get("opening", {}).items()}))
    if not rows:
        return
    t = table(rows)
    for name in ("opening.quota_used", "opening.outpatient_pool_paid"):
        t = t.append_column(name, pa.array([r.get(name) for r in rows], pa.string()))
    results, rejects = settle_table(cq, t)
    assert rejects.num_rows == 0, rejects.to_pylist()
    funds = [c[len("paid."):] for c in results.column_names if c.startswith("paid.")]
    assert "outpatient_quota" in funds and "outpatient_pool" in funds
    for r in results.to_pylist():
        c = expected[r["claim_id"]]
        assert D(str(r["member_pays"])) == c.member_pays, r["claim_id"]
        for f in funds:
            assert D(str(r[f"paid.{f}"])) == c.fund(f).paid, (r["claim_id"], f)


def test_a_spilled_run_keeps_each_household_in_one_partition(cq, tmp_path):
    # the same household H-1 as above, the input spilled to partitions of ≤ 2 rows (by household, not by member):
    # C1 150 (80 own + 70 from I-2), C2 10 (I-2's last 10), C3 30 (own), C5 0 (I-2 spent), C9 80 (J-1's own)
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from medrules.batch.run import settle_files
    rows = [row("J-1", "H-2", "C9", "2017-03-01", "100.00"),
            row("I-3", "H-1", "C2", "2017-04-01", "50.00", "I-2"), row("I-3", "H-1", "C3", "2017-05-01", "30.00"),
            row("I-2", "H-1", "C5", "2017-06-01", "20.00"),
            row("I-1", "H-1", "C1", "2017-03-01", "150.00", "I-1", "I-2")]
    pacsv.write_csv(table(rows), tmp_path / "claims.csv")
    summary = settle_files(RULEBOOK, [tmp_path / "claims.csv"], tmp_path / "out.parquet", partition_rows=2)
    assert summary.partitions > 1
    got = {r["claim_id"]: str(r["paid.outpatient_quota"]) for r in pq.read_table(tmp_path / "out.parquet").to_pylist()}
    assert got == {"C1": "150.00", "C2": "10.00", "C3": "30.00", "C5": "0.00", "C9": "80.00"}
    rows[1]["household_id"] = "H-9"  # I-3's rows now name two households: refused, not split
    pacsv.write_csv(table(rows), tmp_path / "claims.csv")
    with pytest.raises(medrules.MedrulesError) as e:
        settle_files(RULEBOOK, [tmp_path / "claims.csv"], tmp_path / "out2.parquet", partition_rows=2)
    assert "'I-3'" in e.value.diagnostics[0].message
