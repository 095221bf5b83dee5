"""Household quotas on the vector backend: holders with no claim rows, and designated persons of another household
(medrules.batch.vgroups, medrules.batch.vquota; docs/language.md §22.2; issue 11).

Chongqing 2017 (seed 003, 区社保局2017年度参保缴费问答 普通门诊1): "2017年城乡居民的普通门诊定额包干标准为80元/人,
定额包干资金可以用于参保人员本人、亲属或指定人门诊就医购药或住院自付费用,在定额包干额度内可全部使用并且报销比例100%".
Every person below paid the 2017 contribution (paid_on given), so each holds a quota of 80 yuan (no carry-over:
continuous is false). The claims are outpatient care at an 'other' institution: the grassroots outpatient pooling
pays nothing there, so the quota is the only fund that pays, and the member pays the rest.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import medrules
from conftest import ROOT
from medrules.batch.run import settle_files, settle_table
from medrules.household import load_household_claims, settle_household
from medrules.source import SourceFile

RULEBOOK = ROOT / "rulebooks" / "chongqing" / "residents-2017.mr"
D = Decimal
CLAIM_COLUMNS = ("member_id", "household_id", "claim_id", "date", "compliant_cost", "quota_from", "quota_then",
                 "institution")


@pytest.fixture(scope="module")
def cq():
    return medrules.load(RULEBOOK)


def claims_table(rows) -> pa.Table:
    """Claims only (two tables: the member facts are in the members table)."""
    cols = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in CLAIM_COLUMNS}
    return pa.table({**cols, "kind": ["outpatient"] * len(rows)})


def one_table(rows) -> pa.Table:
    """Claims with their member's facts on each row (one table)."""
    return claims_table(rows).append_column("tier", pa.array(["tier1"] * len(rows))).append_column(
        "paid_on", pa.array(["2016-10-15"] * len(rows)))


def members_table(people) -> pa.Table:
    """people: (id, household id or None, continuous, quota_balance)."""
    return pa.table({"member_id": [p[0] for p in people], "household_id": [p[1] for p in people],
                     "tier": ["tier1"] * len(people), "paid_on": ["2016-10-15"] * len(people),
                     "continuous": [str(p[2]).lower() for p in people], "quota_balance": [p[3] for p in people]})


def row(member, house, claim, date, cost, first=None, then=None, institution="other"):
    return {"member_id": member, "household_id": house, "claim_id": claim, "date": date, "compliant_cost": cost,
            "quota_from": first, "quota_then": then, "institution": institution}


def paid(results) -> dict:
    return {r["claim_id"]: (str(r["paid.outpatient_quota"]), str(r["member_pays"]), str(r["after.quota_used"]))
            for r in results.to_pylist()}


# ---------------------------------------------------------------- hand-worked
# Household H-1: I-1 and I-2, 80 each; only I-1 has claims. D-1 (household H-2) is a person I-2 designated.
#   C1 (I-1, 03-01, 150, names I-1 then I-2): room 80 + 80 = 160 ≥ 150 → the quota pays 150: 80 from I-1's own
#      (left 80 − 80 = 0), 70 from I-2's (left 80 − 70 = 10); I-1 pays 150 − 150 = 0; I-1's quota_used 150.
#   C4 (D-1, 06-01, 60, names I-2): I-2 has 10 left → pays 10 (I-2 left 0); D-1 pays 60 − 10 = 50; D-1's
#      quota_used 10 (D-1's own quota is not named, so it is not drawn on).
# Household H-3 (J-1 alone): C9 (03-01, 100, own) → 80, J-1 pays 20.
CLAIMLESS = [row("I-1", "H-1", "C1", "2017-03-01", "150.00", "I-1", "I-2"),
             row("D-1", "H-2", "C4", "2017-06-01", "60.00", "I-2"),
             row("J-1", "H-3", "C9", "2017-03-01", "100.00")]
PEOPLE = [("I-1", "H-1", False, "0"), ("I-2", "H-1", False, "0"), ("D-1", "H-2", False, "0"),
          ("J-1", "H-3", False, "0")]
CLAIMLESS_PAID = {"C1": ("150.00", "0.00", "150.00"), "C4": ("10.00", "50.00", "10.00"),
                  "C9": ("80.00", "20.00", "80.00")}


def test_a_holder_with_no_claim_rows_is_drawn_on_from_the_members_table(cq):
    results, rejects = settle_table(cq, claims_table(CLAIMLESS), members_table(PEOPLE))
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert paid(results) == CLAIMLESS_PAID


def test_the_holders_household_comes_from_the_claims_naming_them_without_one_in_the_members_table(cq):
    # I-2's household left empty in the members table: I-2 is of the households whose claims name them (H-1 and
    # H-2, linked through I-2): the same amounts as above.
    people = [p if p[0] != "I-2" else ("I-2", None, False, "0") for p in PEOPLE]
    results, rejects = settle_table(cq, claims_table(CLAIMLESS), members_table(people))
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert paid(results) == CLAIMLESS_PAID


def test_a_claimless_holders_own_facts_set_their_quota(cq):
    # I-2 enrolled in 2016 and again for 2017 (continuous) with 25.50 unused: I-2's quota is 80 + 25.50 = 105.50.
    #   C1: room 80 + 105.50 = 185.50 ≥ 150 → 150: 80 from I-1, 70 from I-2 (left 105.50 − 70 = 35.50).
    #   C4: 60 ≤ 35.50? no → pays 35.50, D-1 pays 60 − 35.50 = 24.50.
    people = [p if p[0] != "I-2" else ("I-2", "H-1", True, "25.50") for p in PEOPLE]
    results, rejects = settle_table(cq, claims_table(CLAIMLESS), members_table(people))
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert paid(results)["C1"] == ("150.00", "0.00", "150.00")
    assert paid(results)["C4"] == ("35.50", "24.50", "35.50")


def test_a_holder_in_neither_table_is_rejected_where_named(cq):
    rows = CLAIMLESS[:2] + [row("J-1", "H-3", "C9", "2017-03-01", "100.00", "X-9")]
    results, rejects = settle_table(cq, claims_table(rows), members_table(PEOPLE))
    [bad] = rejects.to_pylist()
    assert (bad["claim"], bad["row"], bad["column"]) == ("C9", 3, "quota_from")
    assert "'X-9'" in bad["reason"] and "members table" in bad["reason"]
    assert paid(results) == {k: v for k, v in CLAIMLESS_PAID.items() if k != "C9"}


def test_one_table_cannot_give_a_claimless_holder_and_holds_the_linked_household_back(cq):
    # one table: I-2 has no row, so no facts: C1 is rejected at quota_then naming I-2, C4 at quota_from naming I-2;
    # K-1 (H-2, D-1's household) is held back with them (H-2 is linked to H-1 through I-2); H-3 is settled: C9 80.
    rows = CLAIMLESS + [row("K-1", "H-2", "K1", "2017-02-01", "5.00")]
    results, rejects = settle_table(cq, one_table(rows))
    got = {r["claim"]: (r["row"], r["column"], r["reason"]) for r in rejects.to_pylist()}
    assert got["C1"][:2] == (1, "quota_then") and "'I-2'" in got["C1"][2] and "--members" in got["C1"][2]
    assert got["C4"][:2] == (2, "quota_from") and "'I-2'" in got["C4"][2]
    assert got["K1"][2].startswith("held back: a row of this household, or of a household sharing its quotas")
    assert paid(results) == {"C9": CLAIMLESS_PAID["C9"]}


# Designated persons with claims of their own, across two households, and a tie in date order:
#   H-1: I-1, I-2, 80 each; H-2: D-1 (designated by I-2) and E-1; H-3: J-1.
#   C1 (I-1, 03-01, 150, I-1 then I-2): 80 own + 70 from I-2 → 150, I-1 pays 0 (I-1 left 0, I-2 left 10).
#   C5 (I-2, 06-01, 20, own), listed before C4 of the same day: I-2 has 10 → pays 10, I-2 pays 10 (I-2 left 0).
#   C4 (D-1, 06-01, 60, I-2 then D-1): room 0 + 80 = 80 ≥ 60 → 60, all from D-1 (left 20); D-1 pays 0.
#   C6 (E-1, 07-01, 40, D-1): D-1 has 20 → pays 20 (D-1 left 0); E-1 pays 20.
#   C7 (E-1, 08-01, 30, own): E-1's own 80 → 30; E-1 pays 0; E-1's quota_used 20 + 30 = 50.
#   C9 (J-1, 03-01, 100, own): 80, J-1 pays 20.
DESIGNATED = [row("J-1", "H-3", "C9", "2017-03-01", "100.00"),
              row("E-1", "H-2", "C6", "2017-07-01", "40.00", "D-1"), row("E-1", "H-2", "C7", "2017-08-01", "30.00"),
              row("I-1", "H-1", "C1", "2017-03-01", "150.00", "I-1", "I-2"),
              row("I-2", "H-1", "C5", "2017-06-01", "20.00"),
              row("D-1", "H-2", "C4", "2017-06-01", "60.00", "I-2", "D-1")]
DESIGNATED_PAID = {"C1": ("150.00", "0.00", "150.00"), "C5": ("10.00", "10.00", "10.00"),
                   "C4": ("60.00", "0.00", "60.00"), "C6": ("20.00", "20.00", "20.00"),
                   "C7": ("30.00", "0.00", "50.00"), "C9": ("80.00", "20.00", "80.00")}


def test_a_designated_person_of_another_household_draws_in_one_date_order(cq):
    results, rejects = settle_table(cq, one_table(DESIGNATED))
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert paid(results) == DESIGNATED_PAID


def test_the_scalar_household_file_with_designated_persons_pays_the_same(cq, tmp_path):
    # the same persons as a household file: H-1's members, H-2's persons designated (the relation differs only in
    # the explanation); the amounts are the hand-worked ones above
    people = {"I-1": [], "I-2": [], "D-1": [], "E-1": []}
    for r in DESIGNATED:
        if r["member_id"] in people:
            people[r["member_id"]].append({k: v for k, v in {
                "id": r["claim_id"], "date": r["date"], "kind": "outpatient", "compliant_cost": r["compliant_cost"],
                "quota_from": r["quota_from"], "quota_then": r["quota_then"]}.items() if v is not None})
    person = {"tier": "tier1", "paid_on": "2016-10-15"}
    doc = {"household": {"id": "H-1"},
           "members": [{"member": {"id": i, **person}, "claims": people[i]} for i in ("I-1", "I-2")],
           "designated": [{"member": {"id": i, **person}, "claims": people[i]} for i in ("D-1", "E-1")]}
    (tmp_path / "h.json").write_text(json.dumps(doc), encoding="utf-8")
    hs = settle_household(cq, load_household_claims(SourceFile.read(tmp_path / "h.json"), cq.checked))
    got = {c.id: (str(c.fund("outpatient_quota").paid), str(c.member_pays)) for s in hs.settlements for c in s.claims}
    assert got == {k: v[:2] for k, v in DESIGNATED_PAID.items() if k != "C9"}


def test_a_rejected_row_holds_back_every_household_of_its_group(cq):
    # C7 (E-1, H-2) has a bad cost: H-2 is held back, and H-1 with it (D-1 of H-2 names I-2 of H-1); H-3 is not.
    rows = [dict(r) for r in DESIGNATED]
    rows[2]["compliant_cost"] = "abc"
    results, rejects = settle_table(cq, one_table(rows))
    got = {r["claim"]: r["reason"] for r in rejects.to_pylist()}
    assert set(got) == {"C1", "C4", "C5", "C6", "C7"}
    assert got["C1"].startswith("held back: a row of this household, or of a household sharing its quotas")
    assert paid(results) == {"C9": DESIGNATED_PAID["C9"]}


def test_explain_plan_says_groups_and_claimless_holders(cq):
    from medrules.batch.vector import compile_vector
    plan = compile_vector(cq).describe()
    assert "households linked by a named holder" in plan and "members table" in plan
    assert "outside its household is rejected" not in plan


# ---------------------------------------------------------------- spilled and Dask: one group, one partition
def _files(tmp_path, rows, people=None):
    pacsv.write_csv(claims_table(rows) if people else one_table(rows), tmp_path / "claims.csv")
    if people:
        pacsv.write_csv(members_table(people), tmp_path / "members.csv")
    return tmp_path / "claims.csv", (tmp_path / "members.csv" if people else None)


@pytest.mark.parametrize("case", ["designated", "claimless"])
def test_a_spilled_run_keeps_a_cross_household_group_in_one_partition(cq, tmp_path, case):
    rows, people, expected = ((DESIGNATED, None, DESIGNATED_PAID) if case == "designated"
                              else (CLAIMLESS, PEOPLE, CLAIMLESS_PAID))
    claims, members = _files(tmp_path, rows, people)
    summary = settle_files(RULEBOOK, [claims], tmp_path / "out.parquet", members=members, partition_rows=1)
    assert summary.partitions > 1 and summary.rejected == 0
    assert paid(pq.read_table(tmp_path / "out.parquet")) == expected


def test_dask_settles_a_cross_household_group_as_the_single_machine_run(cq, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    from medrules.batch.distributed import settle_on_dask
    rows = DESIGNATED + [row("K-1", "H-4", "C20", "2017-09-01", "90.00", "I-2")]  # H-4 joins the group too
    people = [("I-1", "H-1", False, "0"), ("I-2", "H-1", False, "0"), ("D-1", "H-2", False, "0"),
              ("E-1", "H-2", False, "0"), ("J-1", "H-3", False, "0"), ("K-1", "H-4", False, "0"),
              ("L-1", "H-5", False, "0")]
    rows = rows + [row("L-1", "H-5", "C30", "2017-01-05", "10.00", "M-1"),  # M-1: a holder with no claims, in H-6
                   row("I-1", "H-1", "C31", "2017-10-01", "5.00", "M-1")]  # … also named by H-1: H-5, H-6 join
    people.append(("M-1", "H-6", False, "0"))
    claims, members = _files(tmp_path, rows, people)
    single = settle_files(RULEBOOK, [claims], tmp_path / "one.parquet", members=members, partition_rows=2)
    # the same claims without their household_id column: the households are the members table's
    pacsv.write_csv(claims_table(rows).drop_columns(["household_id"]), tmp_path / "bare.csv")
    bare = settle_files(RULEBOOK, [tmp_path / "bare.csv"], tmp_path / "bare.parquet", members=members,
                        partition_rows=2)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        spread = settle_on_dask(str(RULEBOOK), [claims], tmp_path / "dask.parquet", client=client,
                                members=members, partition_rows=2)
        settle_on_dask(str(RULEBOOK), [tmp_path / "bare.csv"], tmp_path / "bare-dask.parquet", client=client,
                       members=members, partition_rows=2)
    assert bare.rejected == 0
    assert pq.read_table(tmp_path / "bare-dask.parquet").equals(pq.read_table(tmp_path / "bare.parquet"))
    assert paid(pq.read_table(tmp_path / "bare.parquet")) == paid(pq.read_table(tmp_path / "one.parquet"))
    assert spread.partitions == 2 and single.rejected == 0  # two groups: {H-1, H-2, H-4, H-5, H-6} and {H-3}
    assert pq.read_table(tmp_path / "dask.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    # by hand: as DESIGNATED_PAID (C7 is E-1's, its 50 per person), then
    #   C20 (K-1, 09-01, 90, I-2): I-2's quota spent (0 left) → 0, K-1 pays 90.
    #   C30 (L-1, 01-05, 10, M-1): M-1's 80 → 10 (M-1 left 70); C31 (I-1, 10-01, 5, M-1): 5 (M-1 left 65);
    #      I-1's quota_used 150 + 5 = 155.
    expected = dict(DESIGNATED_PAID) | {"C20": ("0.00", "90.00", "0.00"), "C30": ("10.00", "0.00", "10.00"),
                                        "C31": ("5.00", "0.00", "155.00")}
    assert paid(pq.read_table(tmp_path / "one.parquet")) == expected


# ---------------------------------------------------------------- differential: the scalar household settlement
# Generated households whose claims name holders anywhere (their own household or another: a designated person),
# some persons with no claims (their facts only in the members table). Each group of linked households is one
# household file for medrules.household: the first household's persons as 'members', the others' as
# 'designated'; the claims table lists the persons in the file's order (ties in date: input order = file order).
persons_st = st.lists(st.tuples(st.booleans(), st.sampled_from(["0.00", "15.50", "40.00"]),
                                st.sampled_from([True, True, True, False])), min_size=1, max_size=3)
claims_st = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(1, 15000), st.integers(1, 4),
                               st.sampled_from(["other", "other", "grassroots_level1"]),
                               st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), max_size=2)),
                     min_size=2, max_size=12)


def _components(n: int, links) -> list[list[int]]:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in links:
        parent[max(find(a), find(b))] = min(find(a), find(b))
    groups: dict = {}
    for h in range(n):
        groups.setdefault(find(h), []).append(h)
    return list(groups.values())


def generated(houses, claims, prefix: str = ""):
    """(household files as dicts, claim rows, member rows); person ids {prefix}P{h}-{i}, households {prefix}H{h},
    claims {prefix}C{n}."""
    ids = [[f"{prefix}P{h}-{i}" for i in range(len(ps))] for h, ps in enumerate(houses)]
    per: dict = {i: [] for hs in ids for i in hs}
    links = []
    for n, (h, p, cents, month, institution, named) in enumerate(claims):
        h %= len(houses)
        pid = ids[h][p % len(ids[h])]
        holders = []
        for hh, pp in named:
            hh %= len(houses)
            holders.append(ids[hh][pp % len(ids[hh])])
            links.append((h, hh))
        claim = {"id": f"{prefix}C{n}", "date": f"2017-{month:02d}-01", "kind": "outpatient",
                 "compliant_cost": f"{cents / 100:.2f}", "institution": institution}
        per[pid].append(claim | dict(zip(("quota_from", "quota_then"), holders)))
    docs, rows, people = [], [], []
    for group in _components(len(houses), links):
        entries = []
        for h in group:
            for pid, (cont, bal, paid_) in zip(ids[h], houses[h]):
                member = {"id": pid, "tier": "tier1", "continuous": cont, "quota_balance": bal}
                member |= {"paid_on": "2016-10-15"} if paid_ else {}
                entries.append((h, {"member": member, "claims": per[pid]}))
                people.append({"member_id": pid, "household_id": f"{prefix}H{h}", "tier": "tier1",
                               "paid_on": "2016-10-15" if paid_ else None, "continuous": str(cont).lower(),
                               "quota_balance": bal})
                rows += [row(pid, f"{prefix}H{h}", c["id"], c["date"], c["compliant_cost"], c.get("quota_from"),
                             c.get("quota_then"), c["institution"]) for c in per[pid]]
        docs.append({"household": {"id": f"{prefix}H{group[0]}"}, "members": [e for h, e in entries if h == group[0]],
                     "designated": [e for h, e in entries if h != group[0]]})
    return docs, rows, people


def scalar_claims(cq, docs, tmp) -> dict:
    """Each household file settled on the scalar backend (medrules.household): claim id → its ClaimResult."""
    expected = {}
    for n, doc in enumerate(docs):
        (tmp / f"g{n}.json").write_text(json.dumps(doc), encoding="utf-8")
        hs = settle_household(cq, load_household_claims(SourceFile.read(tmp / f"g{n}.json"), cq.checked))
        expected |= {c.id: c for s in hs.settlements for c in s.claims}
    return expected


@settings(max_examples=25, deadline=None)
@given(st.lists(persons_st, min_size=1, max_size=3), claims_st)
def test_linked_households_settle_as_the_scalar_household_file_to_the_fen(cq, tmp_path_factory, houses, claims):
    docs, rows, people = generated(houses, claims)
    if not rows:
        return
    expected = scalar_claims(cq, docs, tmp_path_factory.mktemp("groups"))
    results, rejects = settle_table(cq, claims_table(rows), pa.Table.from_pylist(people))
    assert rejects.num_rows == 0, rejects.to_pylist()
    funds = [c[len("paid."):] for c in results.column_names if c.startswith("paid.")]
    assert results.num_rows == len(expected)
    for r in results.to_pylist():
        c = expected[r["claim_id"]]
        assert D(str(r["member_pays"])) == c.member_pays, r["claim_id"]
        for f in funds:
            assert D(str(r[f"paid.{f}"])) == c.fund(f).paid, (r["claim_id"], f)


def seeded(seed: int):
    """A seeded example of the generator above (the same shapes as the hypothesis strategies)."""
    import random
    r = random.Random(seed)
    houses = [[(r.random() < .5, r.choice(["0.00", "15.50", "40.00"]), r.random() < .75)
               for _ in range(r.randint(1, 3))] for _ in range(r.randint(1, 3))]
    claims = [(r.randint(0, 2), r.randint(0, 2), r.randint(1, 15000), r.randint(1, 4),
               r.choice(["other", "other", "grassroots_level1"]),
               [(r.randint(0, 2), r.randint(0, 2)) for _ in range(r.randint(0, 2))]) for _ in range(r.randint(2, 12))]
    return generated(houses, claims, f"S{seed}-")


@pytest.mark.parametrize("levels_from", [64, 0])
def test_a_seeded_population_of_linked_households_in_memory_and_spilled_to_the_fen(cq, tmp_path, monkeypatch,
                                                                                   levels_from):
    # 80 seeded examples in one input (~40 of them with households linked by a designated person): the scalar
    # household files are the reference; the same table settled at once and spilled to partitions of ≤ 40 rows.
    # levels_from 0: every group in waves by what its claims touch (vgroups.wave_levels), not by its k-th claim
    import medrules.batch.vgroups as vgroups
    monkeypatch.setattr(vgroups, "LEVELS_FROM", levels_from)
    docs, rows, people = [], [], []
    for seed in range(80):
        d, r, p = seeded(seed)
        docs, rows, people = docs + d, rows + r, people + p
    expected = {}
    for n, doc in enumerate(docs):
        (tmp_path / f"g{n}.json").write_text(json.dumps(doc), encoding="utf-8")
        hs = settle_household(cq, load_household_claims(SourceFile.read(tmp_path / f"g{n}.json"), cq.checked))
        expected |= {c.id: (c.fund("outpatient_quota").paid, c.fund("outpatient_pool").paid, c.member_pays)
                     for s in hs.settlements for c in s.claims}
    assert sum(len(d["designated"]) > 0 for d in docs) > 20  # the links are exercised

    def got(results):
        return {r["claim_id"]: (D(str(r["paid.outpatient_quota"])), D(str(r["paid.outpatient_pool"])),
                                D(str(r["member_pays"]))) for r in results.to_pylist()}
    results, rejects = settle_table(cq, claims_table(rows), pa.Table.from_pylist(people))
    assert rejects.num_rows == 0, rejects.to_pylist()[:3]
    assert got(results) == expected
    pacsv.write_csv(claims_table(rows), tmp_path / "claims.csv")
    pacsv.write_csv(pa.Table.from_pylist(people), tmp_path / "members.csv")
    summary = settle_files(RULEBOOK, [tmp_path / "claims.csv"], tmp_path / "out.parquet",
                           members=tmp_path / "members.csv", partition_rows=40)
    assert summary.partitions > 10 and summary.rejected == 0
    assert got(pq.read_table(tmp_path / "out.parquet")) == expected


def test_the_first_pass_finds_a_link_in_a_later_file(cq, tmp_path):
    # two claim files, spilled one row a partition: H-1's and H-2's own rows in the first, the row that links them
    # (C4: D-1 of H-2 naming I-2 of H-1) only in the second; the group is still one partition: DESIGNATED_PAID.
    first = [r for r in DESIGNATED if r["claim_id"] != "C4"]
    pacsv.write_csv(one_table(first), tmp_path / "a.csv")
    pacsv.write_csv(one_table([r for r in DESIGNATED if r["claim_id"] == "C4"]), tmp_path / "b.csv")
    summary = settle_files(RULEBOOK, [tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "out.parquet",
                           partition_rows=1)
    assert summary.partitions > 1 and summary.rejected == 0
    assert paid(pq.read_table(tmp_path / "out.parquet")) == DESIGNATED_PAID


def test_medrules_settle_with_a_members_file_draws_on_a_claimless_holder(tmp_path):
    # the command: CLAIMLESS with its members file, as worked by hand above (C1 150, C4 10, C9 80)
    from typer.testing import CliRunner

    from medrules.cli import app
    claims, members = _files(tmp_path, CLAIMLESS, PEOPLE)
    r = CliRunner().invoke(app, ["settle", str(RULEBOOK), str(claims), "--members", str(members), "--out",
                                 str(tmp_path / "out.parquet"), "--no-progress", "--explain-plan"])
    assert r.exit_code == 0, r.output
    assert "households linked by a named holder" in r.output and "settled 3 claims" in r.output
    assert paid(pq.read_table(tmp_path / "out.parquet")) == CLAIMLESS_PAID


def test_a_large_group_settles_in_waves_by_what_its_claims_touch(cq, monkeypatch):
    # A chain of 81 one-person households P0 … P80: one group of 161 claims (> LEVELS_FROM = 64).
    #   D_j (P_j, 03-01, 50, own) for every j; C_k (P_k, 50, names P_{k+1}, a designated person) for k < 80, on
    #   02-01 when k is even (before D_{k+1}), on 04-01 when k is odd (after it).
    # P_{k+1}'s 80 is drawn on by C_k and D_{k+1} only, in date order: the first pays 50 (30 left), the second 30
    # and its patient 50 − 30 = 20. So C_k pays 50 (k even) or 30 (k odd); D_0 50 (P0's quota is only D_0's);
    # D_j (j ≥ 1) 30 when j − 1 is even (C_{j−1} came first), else 50.
    # The waves: the C_even touch disjoint persons (wave 0), every D_j one person touched in wave 0 (wave 1), the
    # C_odd persons touched in wave 1 (wave 2): 3 waves, not 161.
    import medrules.batch.vgroups as vgroups
    seen = []
    levels = vgroups.wave_levels
    monkeypatch.setattr(vgroups, "wave_levels", lambda *a: seen.append(levels(*a)) or seen[-1])
    rows = [row(f"P{j}", f"H{j}", f"D{j}", "2017-03-01", "50.00") for j in range(81)]
    rows += [row(f"P{k}", f"H{k}", f"C{k}", "2017-02-01" if k % 2 == 0 else "2017-04-01", "50.00", f"P{k + 1}")
             for k in range(80)]
    results, rejects = settle_table(cq, one_table(rows))
    assert rejects.num_rows == 0, rejects.to_pylist()[:2]
    expected = {f"C{k}": ("50.00", "0.00") if k % 2 == 0 else ("30.00", "20.00") for k in range(80)}
    expected |= {f"D{j}": ("50.00", "0.00") if j == 0 or (j - 1) % 2 == 1 else ("30.00", "20.00")
                 for j in range(81)}
    assert {k: v[:2] for k, v in paid(results).items()} == expected
    assert max(seen[-1]) + 1 == 3


@pytest.mark.parametrize("spilled", [False, True])
def test_the_households_may_be_given_by_the_members_table_alone(cq, tmp_path, spilled):
    # two tables, the claims without a household_id column: each claim's household is its member's in the members
    # table; the same persons and claims as CLAIMLESS, so the same amounts (C1 150, C4 10, C9 80, by hand above)
    claims = claims_table(CLAIMLESS).drop_columns(["household_id"])
    if not spilled:
        results, rejects = settle_table(cq, claims, members_table(PEOPLE))
    else:
        pacsv.write_csv(claims, tmp_path / "claims.csv")
        pacsv.write_csv(members_table(PEOPLE), tmp_path / "members.csv")
        summary = settle_files(RULEBOOK, [tmp_path / "claims.csv"], tmp_path / "out.parquet",
                               members=tmp_path / "members.csv", partition_rows=1)
        assert summary.partitions > 1
        results = pq.read_table(tmp_path / "out.parquet")
        rejects = pacsv.read_csv(tmp_path / "out.parquet.rejects.csv")
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert paid(results) == CLAIMLESS_PAID


# ---------------------------------------------------------------- groups with opening values (r4-vhold + r4-vhopen)
@settings(max_examples=20, deadline=None)
@given(st.lists(persons_st, min_size=1, max_size=3), claims_st,
       st.lists(st.tuples(st.sampled_from([None, "0.00", "30.00", "80.00", "95.00"]),
                          st.sampled_from([None, "0.00", "12.50", "300.00"])), min_size=1, max_size=4))
def test_linked_households_with_opening_values_settle_as_the_scalar_household_file_to_the_fen(
        cq, tmp_path_factory, houses, claims, openings):
    # The generated groups above, each person with opening values (what was drawn on their own quota, and what
    # the grassroots pool paid, before the run; given in the members table, and in their entry of the household
    # file): each person's opening values are their own and the quota's is drawn on their own quota first
    # (docs/language.md §22.2), on both backends, in groups linked by designated persons.
    docs, rows, people = generated(houses, claims)
    if not rows:
        return
    opening = {}
    for k, p in enumerate(people):
        quota_used, pool_paid = openings[k % len(openings)]
        opening[p["member_id"]] = {a: v for a, v in (("quota_used", quota_used), ("outpatient_pool_paid", pool_paid))
                                   if v is not None}
        for a, v in opening[p["member_id"]].items():
            p[f"opening.{a}"] = v
    for doc in docs:
        for entry in doc["members"] + doc["designated"]:
            if opening[entry["member"]["id"]]:
                entry["opening"] = opening[entry["member"]["id"]]
    expected = scalar_claims(cq, docs, tmp_path_factory.mktemp("groups-opening"))
    names = sorted({k for p in people for k in p})
    members = pa.table({k: pa.array([p.get(k) for p in people], pa.string()) for k in names})
    results, rejects = settle_table(cq, claims_table(rows), members)
    assert rejects.num_rows == 0, rejects.to_pylist()
    assert results.num_rows == len(expected)
    for r in results.to_pylist():
        c = expected[r["claim_id"]]
        assert D(str(r["member_pays"])) == c.member_pays, r["claim_id"]
        for f in ("outpatient_quota", "outpatient_pool"):
            assert D(str(r[f"paid.{f}"])) == c.fund(f).paid, (r["claim_id"], f)
        for a in ("quota_used", "outpatient_pool_paid"):
            assert D(str(r[f"after.{a}"])) == c.accumulators[a], (r["claim_id"], a)
