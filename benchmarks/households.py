"""Household quotas on the vector backend: the cost of linking households by designated persons (issue 11).

Run from the repository::

    python benchmarks/households.py            # 10,000 households (60,000 claims); or: households.py N

Chongqing 2017 (rulebooks/chongqing/residents-2017.mr): N households of three, two persons with three claims
each, the third with no claims (their facts in the members table, drawn on like any holder). Each claim names
the patient's own quota, then a quota of its household — or, with probability p, the quota of the third person
of a random other household (a designated person), which links the two households into one group
(medrules.batch.vgroups). A group is settled in one date order: in waves over its k-th claim, or, for a group
of more than 64 claims, in waves by the persons and quotas its claims touch (vgroups.wave_levels) — random links
at p = 10% make a giant group (18k claims: 65 s in waves by place, under 1 s by what the claims touch). Prints
seconds, claims per second, the time spent finding the groups and the largest group. Numbers depend on the
machine and its load.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
import medrules.batch.vgroups as vgroups  # noqa: E402
from medrules.batch.run import settle_table  # noqa: E402


def population(n: int, p: float, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    r = random.Random(seed)
    claims: dict[str, list] = {k: [] for k in ("member_id", "household_id", "claim_id", "date", "compliant_cost",
                                               "quota_from", "quota_then", "institution")}
    members: dict[str, list] = {k: [] for k in ("member_id", "household_id", "tier", "paid_on")}
    for h in range(n):
        ids = [f"P{h}-{i}" for i in range(3)]
        for i in ids:
            for k, v in zip(members, (i, f"H{h}", "tier1", "2016-10-15")):
                members[k].append(v)
        for c in range(6):
            who = ids[c % 2]
            then = f"P{r.randrange(n)}-2" if r.random() < p else ids[r.randrange(3)]
            for k, v in zip(claims, (who, f"H{h}", f"C{h}-{c}", f"2017-{r.randint(1, 12):02d}-01",
                                     f"{r.randint(1, 15000) / 100:.2f}", who, then,
                                     r.choice(["other", "grassroots_level1"]))):
                claims[k].append(v)
    rows = len(claims["member_id"])
    return pa.table({**claims, "kind": ["outpatient"] * rows}), pa.table(members)


def main(n: int) -> None:
    program = medrules.load(ROOT / "rulebooks" / "chongqing" / "residents-2017.mr")
    found = vgroups.quota_groups
    spent: list = []

    def timed(*args):
        started = time.perf_counter()
        groups = found(*args)
        spent.append((time.perf_counter() - started, int(np.bincount(np.unique(groups, return_inverse=True)[1]).max())))
        return groups
    vgroups.quota_groups = timed
    for p in (0.0, 0.01, 0.03, 0.10):
        claims, members = population(n, p)
        settle_table(program, claims.slice(0, 60), members)  # warm
        started = time.perf_counter()
        _, rejects = settle_table(program, claims, members)
        seconds = time.perf_counter() - started
        grouping, largest = spent[-1]
        print(f"p={p:.2f}: {claims.num_rows:,} claims in {seconds:.2f} s ({claims.num_rows / seconds:,.0f}/s), "
              f"groups found in {grouping:.3f} s, largest group {largest:,} claims, {rejects.num_rows} rejected")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
