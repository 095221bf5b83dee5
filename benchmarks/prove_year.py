"""How long do the yearly limits take to prove as K grows? Run: python benchmarks/prove_year.py [--claims K ...]
[--rulebook PATH ...] [--timeout SECONDS]

For each rulebook and K, decides year_caps / year_ceiling / year_deductible over K claims of one benefit
year (medrules.prove.year) and prints each finding's status with the wall and CPU time of the whole run.
The solver's time limit is wall-clock, so on a loaded machine compare the CPU column.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.prove import YEAR_PROPERTIES, prove  # noqa: E402

DEFAULT = ["rulebooks/quzhou/employee-2012.mr", "rulebooks/pingyang/residents-2019.mr",
           "rulebooks/chongqing/residents-2017.mr", "tests/prove/year-cap.mr"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--rulebook", nargs="+", default=DEFAULT)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    for path in args.rulebook:
        program = medrules.load(ROOT / path)
        for k in args.claims:
            wall, cpu = time.perf_counter(), time.process_time()
            report = prove(program, properties=YEAR_PROPERTIES, timeout_ms=args.timeout * 1000, claims_per_year=k)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            statuses = ", ".join(f"{f.prop}:{f.status}" for f in report.findings) or "no yearly limit"
            print(f"{path}  K={k}  {wall:7.1f} s wall  {cpu:7.1f} s CPU  {statuses}", flush=True)


if __name__ == "__main__":
    main()
