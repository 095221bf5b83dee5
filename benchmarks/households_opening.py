"""medrules settle with households sharing quotas (medrules.batch.vquota): what opening values and histories cost.

    python benchmarks/households_opening.py [CLAIMS]

Chongqing 2017 (rulebooks/chongqing/residents-2017.mr) on generated households of 1–3 persons, each claim naming
the quotas of up to two persons of its household: without opening values, with them (opening.quota_used and
opening.outpatient_pool_paid on every person), and the member path (no household_id column, no names) for
comparison; then a small rulebook with a quota per holder and a pool reading a contribution history (12 monthly
records a person), with opening values, in households and on the member path. Best of 3, claims per second, on the vector backend (settle_table).
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import medrules
from medrules.batch.run import settle_table

ROOT = Path(__file__).resolve().parent.parent
HISTORY_RULEBOOK = '''rulebook "bench/household-quota-histories" {
  effective from 2020-01-01
  year starts 01-01 by claim.date
  rounding half_up to 0.01 yuan per payment
}
facts member { id: text  extra: money = 0 yuan }
facts payment { month: date  paid_on: date = none }
facts claim { id: text  date: date  cost: money  quota_from: text = none  quota_then: text = none }
accumulator quota_used: money per year
accumulator pool_deductible: money per year
accumulator pool_paid: money per year
fund quota assumed "bench" {
  base claim.cost
  accumulate payments in quota_used
  rate 100%
  cap payments at 50 yuan + holder.extra per holder of claim.quota_from, claim.quota_then
}
fund pool assumed "bench" {
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


def households(n_claims: int, year: int, seed: int = 7):
    """Rows of households: (member, household, claim, date, cost, quota_from, quota_then)."""
    rng = random.Random(seed)
    rows, h = [], 0
    while len(rows) < n_claims:
        people = [f"P{h}-{i}" for i in range(rng.randint(1, 3))]
        for k in range(rng.randint(1, 8)):
            named = rng.sample(people, min(len(people), rng.randint(0, 2)))
            day = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            rows.append((rng.choice(people), f"H{h}", f"C{h}-{k}", day, f"{rng.randint(100, 40000) / 100:.2f}",
                         *(named + [None, None])[:2]))
        h += 1
    return rows[:n_claims]


def columns(rows, household: bool = True, names: bool = True) -> dict:
    cols = {"member_id": [r[0] for r in rows], "claim_id": [r[2] for r in rows], "date": [r[3] for r in rows]}
    if household:
        cols["household_id"] = [r[1] for r in rows]
    if names:
        cols["quota_from"], cols["quota_then"] = [r[5] for r in rows], [r[6] for r in rows]
    return cols


def best(fn, times: int = 3) -> float:
    out = []
    for _ in range(times):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main(n: int) -> None:
    cq = medrules.load(ROOT / "rulebooks" / "chongqing" / "residents-2017.mr")
    rows = households(n, 2017)
    base = {"kind": ["outpatient"] * n, "tier": ["tier1"] * n, "paid_on": ["2016-10-15"] * n,
            "institution": ["grassroots_level1"] * n, "compliant_cost": [r[4] for r in rows]}
    opening = {"opening.quota_used": ["30.00"] * n, "opening.outpatient_pool_paid": ["12.50"] * n}
    cases = {"households, no opening": pa.table(columns(rows) | base),
             "households, opening values": pa.table(columns(rows) | base | opening),
             "member path, opening values": pa.table(columns(rows, False, False) | base | opening)}
    for label, table in cases.items():
        seconds = best(lambda: settle_table(cq, table))
        print(f"chongqing/residents-2017  {label:32s} {n:>8} claims  {seconds:6.2f} s  {n / seconds:>9,.0f} claims/s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.mr"
        path.write_text(HISTORY_RULEBOOK, encoding="utf-8")
        program = medrules.load(path)
    rows = households(n, 2020)
    people = sorted({r[0] for r in rows})
    payments = pa.table({"member_id": [p for p in people for _ in range(12)],
                         "month": [f"2019-{m:02d}-01" for _ in people for m in range(1, 13)],
                         "paid_on": [f"2019-{m:02d}-15" if (i + m) % 7 else None for i, _ in enumerate(people)
                                     for m in range(1, 13)]})
    table = pa.table(columns(rows) | {"cost": [r[4] for r in rows], "opening.quota_used": ["20.00"] * n,
                                      "opening.pool_paid": ["150.00"] * n})
    alone = pa.table(columns(rows, False, False) | {"cost": [r[4] for r in rows], "opening.quota_used": ["20.00"] * n,
                                                    "opening.pool_paid": ["150.00"] * n})
    for label, t in (("households, opening + histories", table), ("member path, opening + histories", alone)):
        seconds = best(lambda: settle_table(program, t, histories={"payment": payments}))
        print(f"quota + history rulebook  {label:32s} {n:>8} claims  {seconds:6.2f} s  {n / seconds:>9,.0f} claims/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
