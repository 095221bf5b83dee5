"""Opening values and histories when households share quotas on the vector backend (medrules.batch.vqhistory;
issue 11, docs/language.md §22.2).

Each person's opening values seed their own accumulators in the benefit year of their earliest claim, as on the
member path; an opening value of the quota fund's payments accumulator is drawn on their own quota first (as
:meth:`medrules.evaluate.quota.QuotaBook.of_one` does for a member alone). Histories are each person's.

The amounts are worked by hand from the rule text (Chongqing 2017, seed 003: "普通门诊定额包干标准为80元/人,定额包干资金
可以用于参保人员本人、亲属或指定人…在定额包干额度内可全部使用并且报销比例100%"), and from the small test rulebook
below (a 50-yuan quota per holder plus the holder's 'extra'; a pool paying half — 60% after 12 paid months — of
what the quota left, after six paid months, over a yearly deductible of 100, at most 300 a year); then the same
settlement is compared to the fen with the scalar household settlement (medrules.household) on generated
households, with the member path, and across a spilled run and Dask.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import medrules
from conftest import ROOT
from medrules.batch.run import settle_table
from medrules.household import load_household_claims, settle_household
from medrules.source import SourceFile

D = Decimal
CHONGQING = ROOT / "rulebooks" / "chongqing" / "residents-2017.mr"

RULEBOOK = '''rulebook "t/household-quota-histories" {
  effective from 2020-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
facts member { id: text  extra: money = 0 yuan }
facts payment "缴费记录" | "payment" {
  month: date
  paid_on: date = none
}
facts claim {
  id: text
  date: date
  cost: money
  quota_from: text = none
  quota_then: text = none
}
accumulator quota_used: money per year
accumulator pool_deductible: money per year
accumulator pool_paid: money per year
fund quota assumed "a quota of 50 a year, plus the holder's extra" {
  base claim.cost
  accumulate payments in quota_used
  rate 100%
  cap payments at QUOTA per holder of claim.quota_from, claim.quota_then
}
fund pool assumed "half of what the quota left (60% after 12 paid months), after six months paid" {
  exclude when count(payment, given(payment.paid_on)) < 6 because "fewer than six months paid"
  base quota.remaining
  accumulate deductible in pool_deductible
  accumulate payments in pool_paid
  deductible 100 yuan per year
  rate { 60% when count(payment, given(payment.paid_on)) >= 12, otherwise 50% }
  cap payments at 300 yuan
}
total cost is claim.cost
'''
HOLDERS_QUOTA = "50 yuan + holder.extra"
# a history read inside the quota's amount: the patient's records (the scalar environment's histories are the
# patient's; 'holder.FIELD' reads the holder's member facts only)
HISTORY_QUOTA = "50 yuan + holder.extra + count(payment, given(payment.paid_on)) * 1 yuan"
OPENING = ("quota_used", "pool_deductible", "pool_paid")


def load(text: str):
    return medrules.compile_rulebook(medrules.check(medrules.parse(SourceFile("t.mr", text))))


@pytest.fixture(scope="module")
def rb():
    return load(RULEBOOK.replace("QUOTA", HOLDERS_QUOTA))


@pytest.fixture(scope="module")
def rb_history():
    return load(RULEBOOK.replace("QUOTA", HISTORY_QUOTA))


@pytest.fixture(scope="module")
def cq():
    return medrules.load(CHONGQING)


def months(n: int, year: int = 2019) -> list[dict]:
    """n months of ``year`` paid (on the 15th)."""
    return [{"month": f"{year}-{m:02d}-01", "paid_on": f"{year}-{m:02d}-15"} for m in range(1, n + 1)]


def scalar(program, doc: dict, tmp_path) -> dict:
    """The household file settled on the scalar backend: claim id → its ClaimResult."""
    path = tmp_path / "household.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    hs = settle_household(program, load_household_claims(SourceFile.read(path), program.checked))
    return {c.id: c for s in hs.settlements for c in s.claims}


def as_tables(doc: dict, member_facts=("extra",), household: bool = True):
    """A household file as the batch's input: claim rows (member facts and opening values repeated on each row
    of a person), and each history as a table with member_id."""
    rows, records = [], []
    for p in doc["members"]:
        mid = p["member"]["id"]
        for c in p.get("claims", []):
            rows.append({"member_id": mid, "claim_id": c["id"], **{k: v for k, v in c.items() if k != "id"},
                         **({"household_id": doc["household"]["id"]} if household else {}),
                         **{k: p["member"][k] for k in member_facts if k in p["member"]},
                         **{f"opening.{k}": v for k, v in p.get("opening", {}).items()}})
        records += [{"member_id": mid, **r} for r in p.get("payments", [])]
    return rows, records


def table(rows: list[dict]) -> pa.Table:
    names = sorted({k for r in rows for k in r})
    def text(v):
        return None if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    return pa.table({k: pa.array([text(r.get(k)) for r in rows], pa.string()) for k in names})


def history_table(records: list[dict]) -> pa.Table:
    return pa.table({k: pa.array([r.get(k) for r in records], pa.string()) for k in ("member_id", "month", "paid_on")})


def vector(program, rows, records=None) -> dict:
    """Settled on the vector backend: claim id → its results row (rejects: none)."""
    histories = None if records is None else {"payment": history_table(records)}
    results, rejects = settle_table(program, table(rows), histories=histories)
    assert rejects.num_rows == 0, rejects.to_pylist()
    return {r["claim_id"]: r for r in results.to_pylist()}


def decimals(expected: dict) -> dict:
    return {k: tuple(D(x) for x in v) for k, v in expected.items()}


# ---------------------------------------------------------------- by hand
def test_chongqing_an_opening_quota_used_is_drawn_on_the_own_quota_before_a_relative_draws(cq, tmp_path):
    # Household H: A opened the year having used 50 of quota (opening quota_used = 50), so A's quota has
    # 80 − 50 = 30 left; B's is untouched (80). All claims outpatient at an 'other' institution (no pooling).
    #   C1 (A, 03-01, 20, own): min(20, 30) = 20 paid; A's quota 10 left; A pays 0; A's quota_used 50 + 20 = 70.
    #   C2 (B, 03-02, 50, names A): A has 10 left → 10 paid; B pays 40; B's quota_used 0 + 10 = 10.
    #   C3 (A, 05-05, 10, own): A's quota 0 left → 0 paid; A pays 10; quota_used stays 70.
    doc = {"household": {"id": "H"}, "members": [
        {"member": {"id": "A", "tier": "tier1", "paid_on": "2016-10-15"}, "opening": {"quota_used": "50.00"},
         "claims": [{"id": "C1", "date": "2017-03-01", "kind": "outpatient", "compliant_cost": "20.00"},
                    {"id": "C3", "date": "2017-05-05", "kind": "outpatient", "compliant_cost": "10.00"}]},
        {"member": {"id": "B", "tier": "tier1", "paid_on": "2016-10-15"},
         "claims": [{"id": "C2", "date": "2017-03-02", "kind": "outpatient", "compliant_cost": "50.00",
                     "quota_from": "A"}]}]}
    expected = decimals({"C1": ("20.00", "0.00", "70.00"), "C2": ("10.00", "40.00", "10.00"),
                         "C3": ("0.00", "10.00", "70.00")})
    rows, _ = as_tables(doc, ("tier", "paid_on"))
    got = vector(cq, rows)
    assert {k: (D(r["paid.outpatient_quota"]), D(r["member_pays"]), D(r["after.quota_used"]))
            for k, r in got.items()} == expected
    ref = scalar(cq, doc, tmp_path)  # the scalar household settlement (medrules run HOUSEHOLD.json) agrees
    assert {k: (D(c.fund("outpatient_quota").paid), D(c.member_pays), D(c.accumulators["quota_used"]))
            for k, c in ref.items()} == expected


def test_chongqing_an_opening_pool_payment_leaves_the_rest_of_the_yearly_limit(cq, tmp_path):
    # A (signed, tier 1) opened the year with 90 paid by the grassroots pooling (limit 100 for a signed member:
    # "全年报销限额为100元/人") and 80 of quota used (none left). C1: 200 at A's signed grassroots institution:
    # quota 0 (80 − 80 = 0 left), pooling 60% × 200 = 120, capped at 100 − 90 = 10 → 10; A pays 190.
    # B (same household, nothing carried in) names nobody: C2 200 there → quota 80, pooling 60% × 120 = 72;
    # B pays 200 − 80 − 72 = 48.
    doc = {"household": {"id": "H"}, "members": [
        {"member": {"id": "A", "tier": "tier1", "paid_on": "2016-10-15", "signed": True},
         "opening": {"quota_used": "80.00", "outpatient_pool_paid": "90.00"},
         "claims": [{"id": "C1", "date": "2017-06-01", "kind": "outpatient", "compliant_cost": "200.00",
                     "institution": "grassroots_level1", "at_signed": True}]},
        {"member": {"id": "B", "tier": "tier1", "paid_on": "2016-10-15", "signed": True},
         "claims": [{"id": "C2", "date": "2017-06-01", "kind": "outpatient", "compliant_cost": "200.00",
                     "institution": "grassroots_level1", "at_signed": True}]}]}
    expected = decimals({"C1": ("0.00", "10.00", "190.00"), "C2": ("80.00", "72.00", "48.00")})
    rows, _ = as_tables(doc, ("tier", "paid_on", "signed"))
    got = vector(cq, rows)
    assert {k: (D(r["paid.outpatient_quota"]), D(r["paid.outpatient_pool"]), D(r["member_pays"]))
            for k, r in got.items()} == expected
    ref = scalar(cq, doc, tmp_path)
    assert {k: (D(c.fund("outpatient_quota").paid), D(c.fund("outpatient_pool").paid), D(c.member_pays))
            for k, c in ref.items()} == expected


HAND = {"household": {"id": "H"}, "members": [
    {"member": {"id": "A"}, "opening": {"quota_used": "30.00", "pool_deductible": "100.00", "pool_paid": "250.00"},
     "payments": months(12) + [{"month": "2020-01-01"}],  # 12 months paid, January 2020 not (yet)
     "claims": [{"id": "C1", "date": "2020-02-01", "cost": "100.00"},
                {"id": "C3", "date": "2020-04-01", "cost": "100.00", "quota_from": "B"},
                {"id": "C4", "date": "2021-01-10", "cost": "200.00"}]},
    {"member": {"id": "B", "extra": "20.00"}, "payments": months(3),
     "claims": [{"id": "C2", "date": "2020-03-01", "cost": "100.00", "quota_from": "A", "quota_then": "B"}]}]}
# A carries in 30 of quota used, the pool's deductible met (100) and 250 paid by the pool; A paid 12 months
# (rate 60%), B 3 (fewer than six: no pool). Quotas: A 50, B 50 + 20 = 70 a year.
#   C1 (A, 2020-02-01, 100, own): A's quota 50 − 30 = 20 → 20; pool on 80: no deductible left, 60% × 80 = 48,
#      cap 300 − 250 = 50 → 48; A pays 100 − 20 − 48 = 32. (A's quota 0 left; pool_paid 298.)
#   C2 (B, 2020-03-01, 100, names A then B): A 0 left, B 70 → 70 from B; the pool excludes B (3 months);
#      B pays 30.
#   C3 (A, 2020-04-01, 100, names B): B 0 left → 0; pool 60% × 100 = 60, cap 300 − 298 = 2 → 2; A pays 98.
#   C4 (A, 2021-01-10, 200, own): a new benefit year — nothing carried in counts: quota 50; pool on 150 less
#      the deductible 100 = 50 × 60% = 30; A pays 200 − 50 − 30 = 120.
HAND_EXPECTED = decimals({"C1": ("20.00", "48.00", "32.00"), "C2": ("70.00", "0.00", "30.00"),
                          "C3": ("0.00", "2.00", "98.00"), "C4": ("50.00", "30.00", "120.00")})


def test_opening_values_and_histories_in_a_household_by_hand(rb, tmp_path):
    rows, records = as_tables(HAND)
    got = vector(rb, rows, records)
    assert {k: (D(r["paid.quota"]), D(r["paid.pool"]), D(r["member_pays"])) for k, r in got.items()} \
        == HAND_EXPECTED
    # the accumulators after C4 start again in 2021: quota_used 50, pool_deductible 100, pool_paid 30
    assert (str(got["C4"]["after.quota_used"]), str(got["C4"]["after.pool_deductible"]),
            str(got["C4"]["after.pool_paid"])) == ("50.00", "100.00", "30.00")
    ref = scalar(rb, HAND, tmp_path)
    assert {k: (D(c.fund("quota").paid), D(c.fund("pool").paid), D(c.member_pays)) for k, c in ref.items()} \
        == HAND_EXPECTED


def test_a_history_read_in_the_quota_amount_is_the_patients(rb_history, tmp_path):
    # The quota is 50 + holder.extra + 1 yuan per month the PATIENT paid (the scalar backend's reading).
    # A (12 months) names B (extra 20, 3 months) for a 100-yuan claim on 2020-03-01: B's quota read for A's
    # claim is 50 + 20 + 12 = 82 → 82 paid by the quota; the pool (A: 12 months, 60%) on 18, deductible 100
    # not met: 0; A pays 18. Then B's own claim of 100 on 2020-04-01: B's quota read for B is 50 + 20 + 3 = 73,
    # 82 drawn → 0 left; B's pool is excluded (3 months); B pays 100.
    doc = {"household": {"id": "H"}, "members": [
        {"member": {"id": "A"}, "payments": months(12),
         "claims": [{"id": "C1", "date": "2020-03-01", "cost": "100.00", "quota_from": "B"}]},
        {"member": {"id": "B", "extra": "20.00"}, "payments": months(3),
         "claims": [{"id": "C2", "date": "2020-04-01", "cost": "100.00"}]}]}
    expected = decimals({"C1": ("82.00", "0.00", "18.00"), "C2": ("0.00", "0.00", "100.00")})
    rows, records = as_tables(doc)
    got = vector(rb_history, rows, records)
    assert {k: (D(r["paid.quota"]), D(r["paid.pool"]), D(r["member_pays"])) for k, r in got.items()} == expected
    ref = scalar(rb_history, doc, tmp_path)
    assert {k: (D(c.fund("quota").paid), D(c.fund("pool").paid), D(c.member_pays)) for k, c in ref.items()} \
        == expected


def test_a_person_alone_in_a_household_gets_what_the_member_path_gives(rb):
    # The hand household without names: each claim draws on its patient's own quota, so with or without the
    # household_id column every amount is the same (the member path: settle_columns, the cap a yearly one).
    doc = json.loads(json.dumps(HAND))
    for p in doc["members"]:
        for c in p["claims"]:
            c.pop("quota_from", None), c.pop("quota_then", None)
    rows, records = as_tables(doc)
    shared = vector(rb, rows, records)
    alone = vector(rb, [{k: v for k, v in r.items() if k != "household_id"} for r in rows], records)
    assert shared == alone
    # C3 now draws on A's own quota (0 left after C1) → 0; the pool pays 2 as before: A pays 98
    assert (str(shared["C3"]["paid.quota"]), str(shared["C3"]["member_pays"])) == ("0.00", "98.00")


# ---------------------------------------------------------------- differential: the scalar household settlement
money = st.sampled_from([None, "0.00", "12.34", "45.00", "100.00", "299.99"])
person_st = st.tuples(st.sampled_from(["0.00", "20.00", "7.50"]),  # extra
                      st.tuples(money, money, money),  # opening quota_used, pool_deductible, pool_paid
                      st.integers(0, 13))  # months paid
claim_st = st.tuples(st.integers(0, 2), st.integers(1, 40000), st.integers(0, 23),  # who, cents, month of 2020–21
                     st.lists(st.integers(0, 2), max_size=2))  # whom it names


def generated(households) -> tuple[list[dict], list[dict], list[dict]]:
    """Household files, their claim rows and history records (the rows in file order: ties in input order)."""
    docs, rows, records = [], [], []
    for h, (persons, claims) in enumerate(households):
        ids = [f"P{h}-{i}" for i in range(len(persons))]
        per: dict[str, list] = {i: [] for i in ids}
        claimants = sorted({ids[who % len(ids)] for who, *_ in claims})  # a table gives those with rows
        for n, (who, cents, month, named) in enumerate(claims):
            claim = {"id": f"C{h}-{n}", "date": f"{2020 + month // 12}-{month % 12 + 1:02d}-01",
                     "cost": f"{cents / 100:.2f}"}
            claim |= dict(zip(("quota_from", "quota_then"), (claimants[k % len(claimants)] for k in named)))
            per[ids[who % len(ids)]].append(claim)
        members = []
        for pid, (extra, opening, paid) in zip(ids, persons):
            opening = {k: v for k, v in zip(OPENING, opening) if v is not None}
            members.append({"member": {"id": pid, "extra": extra}, "claims": per[pid],
                            "payments": months(min(paid, 12), 2019) + months(max(0, paid - 12), 2020)}
                           | ({"opening": opening} if opening else {}))
        doc = {"household": {"id": f"H{h}"}, "members": members}
        docs.append(doc)
        r, rec = as_tables(doc)
        rows += r
        records += rec
    return docs, rows, records


households_st = st.lists(st.tuples(st.lists(person_st, min_size=1, max_size=3), st.lists(claim_st, max_size=7)),
                         min_size=1, max_size=3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(households_st, st.booleans())
def test_the_vector_backend_settles_households_with_opening_values_and_histories_as_the_scalar_one(
        rb, rb_history, tmp_path, households, history_in_quota):
    program = rb_history if history_in_quota else rb
    docs, rows, records = generated(households)
    if not rows:
        return
    expected = {}
    for doc in docs:
        expected |= scalar(program, doc, tmp_path)
    got = vector(program, rows, records)
    assert set(got) == set(expected)
    for cid, r in got.items():
        c = expected[cid]
        assert D(str(r["member_pays"])) == c.member_pays, cid
        for f in ("quota", "pool"):
            assert D(str(r[f"paid.{f}"])) == c.fund(f).paid, (cid, f)
        for a in OPENING:
            assert D(str(r[f"after.{a}"])) == c.accumulators[a], (cid, a)


@settings(max_examples=20, deadline=None)
@given(households_st)
def test_claims_naming_no_one_settle_as_on_the_member_path(rb, households):
    # the same people with no holder named: each claim draws on its patient's own quota, so the household path
    # and the member path (no household_id column: settle_columns, the quota a yearly cap) agree row for row
    _, rows, records = generated(households)
    rows = [{k: v for k, v in r.items() if k not in ("quota_from", "quota_then")} for r in rows]
    if not rows:
        return
    shared = vector(rb, rows, records)
    alone = vector(rb, [{k: v for k, v in r.items() if k != "household_id"} for r in rows], records)
    assert shared == alone


# ---------------------------------------------------------------- a spilled run and Dask: the same results
def _files(tmp_path, households):
    import pyarrow.csv as pacsv
    _, rows, records = generated(households)
    pacsv.write_csv(table(rows), tmp_path / "claims.csv")
    pacsv.write_csv(history_table(records), tmp_path / "payments.csv")
    (tmp_path / "r.mr").write_text(RULEBOOK.replace("QUOTA", HOLDERS_QUOTA), encoding="utf-8")
    return rows


def _households(n: int) -> list:
    """n households of 1–3 persons, with opening values, histories and named holders (fixed, no randomness)."""
    out = []
    for h in range(n):
        size = 1 + h % 3
        persons = [(["0.00", "20.00", "7.50"][i], (["30.00", None, "80.00"][(h + i) % 3], None if h % 2 else "100.00",
                                                   ["250.00", None, "12.34"][(h + 2 * i) % 3]), (h + 5 * i) % 14)
                   for i in range(size)]
        claims = [((h + k) % size, 1000 + 3711 * (h + k) % 30000, (2 * h + 5 * k) % 24, [(h + k) % size] * (k % 2))
                  for k in range(1 + h % 4)]
        out.append((persons, claims))
    return out


def test_a_spilled_run_gives_the_single_run_results(tmp_path):
    import pyarrow.parquet as pq
    from medrules.batch.run import settle_files
    rows = _files(tmp_path, _households(40))
    kw = {"histories": {"payment": str(tmp_path / "payments.csv")}}
    one = settle_files(tmp_path / "r.mr", [tmp_path / "claims.csv"], tmp_path / "one.parquet", **kw)
    spilled = settle_files(tmp_path / "r.mr", [tmp_path / "claims.csv"], tmp_path / "spilled.parquet",
                           partition_rows=15, **kw)
    assert one.partitions == 1 and spilled.partitions > 1 and one.claims == len(rows) and one.rejected == 0
    key = [("claim_id", "ascending")]
    assert pq.read_table(tmp_path / "spilled.parquet").sort_by(key).equals(
        pq.read_table(tmp_path / "one.parquet").sort_by(key))


def test_dask_gives_the_single_machine_results(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    import pyarrow.parquet as pq
    from medrules.batch.distributed import settle_on_dask
    from medrules.batch.run import settle_files
    _files(tmp_path, _households(40))
    kw = {"histories": {"payment": str(tmp_path / "payments.csv")}, "partition_rows": 15}
    single = settle_files(tmp_path / "r.mr", [tmp_path / "claims.csv"], tmp_path / "one.parquet", **kw)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        spread = settle_on_dask(str(tmp_path / "r.mr"), [tmp_path / "claims.csv"], tmp_path / "dask.parquet",
                                client=client, **kw)
    assert spread.partitions == single.partitions > 1 and single.rejected == 0
    assert pq.read_table(tmp_path / "dask.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    assert (tmp_path / "dask.parquet.rejects.csv").read_bytes() == (tmp_path / "one.parquet.rejects.csv").read_bytes()


# ---------------------------------------------------------------- bad input: located, the household held back
def test_a_bad_opening_value_rejects_its_person_and_holds_the_household_back(cq):
    # (an opening value that is not an amount was dropped without a word, with or without households)
    rows = [{"member_id": "A", "household_id": "H", "claim_id": "C1", "date": "2017-03-01", "kind": "outpatient",
             "compliant_cost": "20.00", "tier": "tier1", "paid_on": "2016-10-15", "opening.quota_used": "abc"},
            {"member_id": "B", "household_id": "H", "claim_id": "C2", "date": "2017-03-02", "kind": "outpatient",
             "compliant_cost": "50.00", "tier": "tier1", "paid_on": "2016-10-15", "opening.quota_used": "5.00"}]
    results, rejects = settle_table(cq, table(rows))
    assert results.num_rows == 0
    got = {r["claim"]: (r["column"], r["reason"]) for r in rejects.to_pylist()}
    assert got["C1"][0] == "opening.quota_used" and "amount of yuan" in got["C1"][1]
    assert got["C2"] == ("", "held back: a row of this household, or of a household sharing its quotas, was rejected (their claims share quotas)")
    # without the household column only A's row goes (B: own quota 80 − 5 = 75 ≥ 50 → 50)
    results, rejects = settle_table(cq, table([{k: v for k, v in r.items() if k != "household_id"} for r in rows]))
    assert [r["claim"] for r in rejects.to_pylist()] == ["C1"]
    assert [(r["claim_id"], str(r["paid.outpatient_quota"])) for r in results.to_pylist()] == [("C2", "50.00")]


def test_a_bad_history_record_holds_its_household_back(rb):
    rows, records = as_tables(HAND)
    records[0]["paid_on"] = "2019-13-45"  # A's first payment: not a date
    results, rejects = settle_table(rb, table(rows), histories={"payment": history_table(records)})
    assert results.num_rows == 0
    reasons = [(r["claim"], r["column"], r["reason"]) for r in rejects.to_pylist()]
    assert ("", "paid_on", reasons[-1][2]) == reasons[-1] and "date" in reasons[-1][2]  # the record itself
    by_claim = {c: why for c, _, why in reasons if c}
    assert by_claim["C2"] == "held back: a row of this household, or of a household sharing its quotas, was rejected (their claims share quotas)"
    assert {c for c, why in by_claim.items() if "payment" in why} == {"C1", "C3", "C4"}  # A's rows


def test_settle_with_a_members_file_and_a_history_file(tmp_path):
    # The hand household through the command line: the member facts and opening values in a members file, the
    # payments in a history file; the same amounts as by hand above.
    import csv

    from typer.testing import CliRunner

    from medrules.cli import app
    rows, records = as_tables(HAND, member_facts=())
    claims = [{k: v for k, v in r.items() if not k.startswith("opening.")} for r in rows]
    members = [{"id": p["member"]["id"], "extra": p["member"].get("extra", ""),
                **{f"opening.{a}": p.get("opening", {}).get(a, "") for a in OPENING}} for p in HAND["members"]]
    for name, data in (("claims.csv", claims), ("members.csv", members), ("payments.csv", records)):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, sorted({k for r in data for k in r}))
            w.writeheader()
            w.writerows(data)
    (tmp_path / "r.mr").write_text(RULEBOOK.replace("QUOTA", HOLDERS_QUOTA), encoding="utf-8")
    r = CliRunner().invoke(app, ["settle", str(tmp_path / "r.mr"), str(tmp_path / "claims.csv"), "--members",
                                 str(tmp_path / "members.csv"), "--history", f"payment={tmp_path / 'payments.csv'}",
                                 "--out", str(tmp_path / "results.csv"), "--no-progress"])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "results.csv", encoding="utf-8") as f:
        got = {row["claim_id"]: (D(row["paid.quota"]), D(row["paid.pool"]), D(row["member_pays"]))
               for row in csv.DictReader(f)}
    assert got == HAND_EXPECTED


def test_the_household_view_says_what_was_carried_in(rb, tmp_path):
    # A's 2020 quota of 50: 30 used before the run (opening quota_used) and 20 drawn by C1 → 50 drawn, 0 left
    from medrules.household import household_lines, household_summary
    path = tmp_path / "household.json"
    path.write_text(json.dumps(HAND), encoding="utf-8")
    hs = settle_household(rb, load_household_claims(SourceFile.read(path), rb.checked))
    a2020 = next(q for q in household_summary(hs)["quotas"] if (q["holder"], q["year"]) == ("A", "2020"))
    assert (a2020["opening"], a2020["drawn"], a2020["by"], a2020["left"]) == (D("30.00"), D("50.00"),
                                                                              {"A": D("20.00")}, D("0.00"))
    assert "Quota of A (2020): 50.00 yuan − drawn 50.00 yuan (by: carried in 30.00; A 20.00) = 0.00 yuan left." \
        in household_lines(hs, "en", "auditor")
    assert "期初已使用 30.00 元;A 20.00 元" in "\n".join(household_lines(hs, "zh", "citizen"))


# ---------------------------------------------------------------- histories in groups of linked households
def test_a_group_of_linked_households_with_histories_settles_alike_in_one_partition_spilled_and_on_dask(tmp_path):
    # r4-vhold links households by a designated person into one group (one partition); r4-vhopen sends each
    # person's history records to their partition. Merged, a person's records must follow their GROUP: here every
    # fourth household's claims name the first person of the next household after their own (a designated person),
    # so those two households are one group, and each row's history is read by its patient's claims wherever the
    # group lands. One partition, spilled in partitions of 15 rows, and Dask must give the same table.
    distributed = pytest.importorskip("dask.distributed")
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from medrules.batch.distributed import settle_on_dask
    from medrules.batch.run import settle_files
    _, rows, records = generated(_households(40))
    linked = 0
    for r in rows:
        h = int(r["household_id"][1:])
        if h % 4 == 0 and h + 1 < 40 and "quota_then" not in r:
            r["quota_from"], r["quota_then"] = r["member_id"], f"P{h + 1}-0"
            linked += 1
    assert linked >= 5
    pacsv.write_csv(table(rows), tmp_path / "claims.csv")
    pacsv.write_csv(history_table(records), tmp_path / "payments.csv")
    (tmp_path / "r.mr").write_text(RULEBOOK.replace("QUOTA", HOLDERS_QUOTA), encoding="utf-8")
    kw = {"histories": {"payment": str(tmp_path / "payments.csv")}}
    one = settle_files(tmp_path / "r.mr", [tmp_path / "claims.csv"], tmp_path / "one.parquet", **kw)
    spilled = settle_files(tmp_path / "r.mr", [tmp_path / "claims.csv"], tmp_path / "spilled.parquet",
                           partition_rows=15, **kw)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        spread = settle_on_dask(str(tmp_path / "r.mr"), [tmp_path / "claims.csv"], tmp_path / "dask.parquet",
                                client=client, partition_rows=15, **kw)
    assert one.partitions == 1 and spilled.partitions > 1 and spread.partitions > 1
    assert one.rejected == spilled.rejected == spread.rejected == 0 and one.claims == len(rows)
    key = [("claim_id", "ascending")]
    expected = pq.read_table(tmp_path / "one.parquet").sort_by(key)
    assert pq.read_table(tmp_path / "spilled.parquet").sort_by(key).equals(expected)
    assert pq.read_table(tmp_path / "dask.parquet").sort_by(key).equals(expected)
