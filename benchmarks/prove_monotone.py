"""How is 'monotone' decided on each rulebook, and how long does it take? Run:
python benchmarks/prove_monotone.py [--rulebook PATH ...] [--timeout SECONDS] [--all]

For each rulebook (default: every shipped rulebook that settles claims, and the deliberately
non-monotone cases of tests/prove/), decides 'monotone' alone (medrules.prove.monotone: structure first,
the solver for the rest) and prints, per layer, its status, the method that decided it and the wall and
CPU time (loading the rulebook excluded). ``--all`` times every single-claim property as well (``prove``
without the yearly ones). The solver's time limit is wall-clock: on a loaded machine compare the CPU column.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.prove import PROPERTIES, prove  # noqa: E402

CASES = ["tests/prove/rate-drop.mr", "tests/prove/cap-drop.mr", "tests/prove/cliff.mr", "tests/prove/discount.mr",
         "tests/prove/shared-axis.mr"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rulebook", nargs="+")
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    paths = args.rulebook or [str(p.relative_to(ROOT)) for p in sorted((ROOT / "rulebooks").glob("*/*.mr"))] + CASES
    for path in paths:
        program = medrules.load(ROOT / path)
        if not any(layer.funds for layer in program.plan.layers):
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        report = prove(program, properties=PROPERTIES if args.all else ("monotone",),
                       timeout_ms=args.timeout * 1000, claims_per_year=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        mono = [f"{f.layer}: {f.status} ({f.method or '-'})" for f in report.findings if f.prop == "monotone"]
        others = sorted({f.status for f in report.findings if f.prop != "monotone"})
        print(f"{path}  {wall:6.1f} s wall  {cpu:6.1f} s CPU  monotone " + "; ".join(mono)
              + (f"  others: {', '.join(others)}" if args.all else ""), flush=True)


if __name__ == "__main__":
    main()
