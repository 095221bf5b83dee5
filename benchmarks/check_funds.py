"""Does `check` stay linear in the number of funds? Run: python benchmarks/check_funds.py [--funds N ...]

Builds a rulebook of N funds, each (after the first) paying on what the previous one left
(`base claim.cost - fPREV.paid`, so every fund refers to another's output), and times parse + check +
compile. Before issue 13 the layering check compared every fund with every reference (3,000 funds: 37 s).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.source import SourceFile  # noqa: E402

HEADER = ('rulebook "many" {\n  effective from 2012-01-01\n  year starts 01-01 by claim.date\n'
          '  rounding half_up to 0.01 yuan per payment\n}\nsource S { number "n" }\n'
          'facts member { id: text }\nfacts claim { id: text  date: date  cost: money }\n')


def rulebook(n: int) -> str:
    funds = [f'fund f{i} cites S "q" {{\n  base claim.cost' + (f' - f{i - 1}.paid' if i else '') +
             '\n  rate 1%\n}' for i in range(n)]
    return HEADER + "\n".join(funds) + "\ntotal cost is claim.cost\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--funds", type=int, nargs="+", default=[500, 1000, 2000, 3000])
    for n in parser.parse_args().funds:
        source = SourceFile("many.mr", rulebook(n))
        t0 = time.perf_counter()
        tree = medrules.parse(source)
        t1 = time.perf_counter()
        checked = medrules.check(tree)
        t2 = time.perf_counter()
        medrules.compile_rulebook(checked)
        t3 = time.perf_counter()
        print(f"{n:>6} funds: parse {t1 - t0:6.2f} s, check {t2 - t1:6.2f} s, compile {t3 - t2:6.2f} s")


if __name__ == "__main__":
    main()
