"""Premiums for a population: the vector backend against the scalar ``assess``, members per second.

Run (from the repository)::

    python benchmarks/premiums.py                  # 10^4, 10^5 and 10^6 members of Jiang 2021
    python benchmarks/premiums.py --sizes 100000   # a quick look

Members are drawn by a seeded generator for rulebooks/jiang/contributions-2021.mr (two contributions, a
就高 subsidy over nine groups, part-year shares): tiers, ages 0–90, 20% students, 5% not local, 15% in
one or two subsidised groups, 40% in the supplementary insurance, 2% new out-of-city students. Timed:
``assess_partition`` on an Arrow table of text columns (reading and validation included) and
``assess_columns`` on columns already encoded; the scalar backend on a sample of 2,000 members, which
must agree to the fen with the vector results. Numbers depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.batch import io  # noqa: E402
from medrules.batch.premiums import assess_partition  # noqa: E402
from medrules.batch.vector_contrib import compile_contributions  # noqa: E402
from medrules.evaluate import assess  # noqa: E402
from medrules.facts import facts_from_source  # noqa: E402
from medrules.source import SourceFile  # noqa: E402

GROUPS = ["hardship", "disability_1_2", "entitled", "registered_poor", "low_income", "disability_3_4"]


def members(n: int, seed: int = 2021) -> pa.Table:
    rng = np.random.default_rng(seed)
    grouped = rng.random(n) < 0.15
    first = rng.choice(GROUPS, n)
    second = np.where(rng.random(n) < 0.3, rng.choice(GROUPS, n), "")
    groups = np.where(grouped, np.char.add(np.char.add(first, ";"), second), "")
    table = pa.table({
        "id": pa.array([f"M{i:08d}" for i in range(n)]),
        "tier": pa.array(np.where(rng.random(n) < 0.4, "tier2", "tier1")),
        "age": pa.array(rng.integers(0, 91, n).astype(str)),
        "student": pa.array(np.where(rng.random(n) < 0.2, "true", "false")),
        "local": pa.array(np.where(rng.random(n) < 0.95, "true", "false")),
        "groups": pa.array(groups),
        "supplementary": pa.array(np.where(rng.random(n) < 0.4, "true", "false")),
        "new_student": pa.array(np.where(rng.random(n) < 0.02, "true", "false")),
    })
    return io.labelled(table, "generated", 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--sample", type=int, default=2_000)
    args = ap.parse_args()
    program = medrules.load(ROOT / "rulebooks" / "jiang" / "contributions-2021.mr")
    cv = compile_contributions(program)
    for n in args.sizes:
        table = members(n)
        t0 = time.perf_counter()
        results, rejects = assess_partition(cv, table, {})
        seconds = time.perf_counter() - t0
        assert rejects.num_rows == 0
        print(f"vector  {n:>9,} members  {seconds:7.2f} s  {n / seconds:>12,.0f} members/s (read + validate + assess)")
    # the scalar backend on a sample, which must agree
    sample = members(args.sample, seed=7)
    results, _ = assess_partition(cv, sample, {})
    got = {(r["member_id"], r["contribution"]): r["member_owes"] for r in results.to_pylist()}
    t0 = time.perf_counter()
    for row in sample.to_pylist():
        member = {"id": row["id"], "tier": row["tier"], "age": int(row["age"]), "student": row["student"] == "true",
                  "local": row["local"] == "true", "groups": [g for g in row["groups"].split(";") if g],
                  "supplementary": row["supplementary"] == "true", "new_student": row["new_student"] == "true"}
        facts = facts_from_source(SourceFile("<m>", json.dumps({"member": member})), program.checked)
        for c in assess(program, facts).contributions:
            assert got[row["id"], c.name] == c.member_owes, (row, c.name)
    seconds = time.perf_counter() - t0
    print(f"scalar  {args.sample:>9,} members  {seconds:7.2f} s  {args.sample / seconds:>12,.0f} members/s "
          "(facts file + assess); agrees with the vector backend to the fen")


if __name__ == "__main__":
    main()
