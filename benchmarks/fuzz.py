"""Fuzz medrules through its command line for as long as asked. Run: python benchmarks/fuzz.py --minutes N

Runs the generators of tests/fuzz (mutated shipped rulebooks, rulebooks generated from the grammar
with facts generated from their declarations, mutated example facts) in rounds until the time is
up, asserting after every command: no internal error, no traceback, no raw escape on the terminal,
and a file:line:col on every diagnostic. Prints the number of runs of each kind and the
diagnostic codes seen. A failure stops the run with hypothesis's shrunk example.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fuzz_generators as g  # noqa: E402
import test_fuzz as t  # noqa: E402

COUNTS: collections.Counter = collections.Counter()
CODES: collections.Counter = collections.Counter()


def counting(assert_sane):
    def wrapped(result, what=""):
        codes = assert_sane(result, what)
        COUNTS["commands"] += 1
        CODES.update(codes)
        return codes
    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--round", type=int, default=50, help="examples per kind per round")
    args = parser.parse_args()
    t.assert_sane = g.assert_sane = counting(g.assert_sane)
    every = settings(max_examples=args.round, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))

    @every
    @given(text=g.mutated_rulebooks())
    def mutated_rulebooks(text):
        COUNTS["mutated rulebooks"] += 1
        t.check_rulebook(text)

    @every
    @given(text=g.generated_rulebooks(), data=st.data())
    def generated(text, data):
        COUNTS["generated rulebooks (+ facts)"] += 1
        t.settle_generated(text, data)

    @every
    @given(case=g.mutated_facts())
    def mutated_facts(case):
        COUNTS["mutated facts files"] += 1
        t.run_mutated_facts(*case)

    end = time.monotonic() + args.minutes * 60
    rounds = 0
    while time.monotonic() < end:
        for kind in (mutated_rulebooks, generated, mutated_facts):
            kind()
        rounds += 1
    print(f"{rounds} rounds in {args.minutes:g} min; 0 internal errors, every diagnostic located")
    for kind, n in sorted(COUNTS.items()):
        print(f"  {kind}: {n}")
    print("  diagnostic codes: " + ", ".join(f"{c} {n}" for c, n in CODES.most_common()))


if __name__ == "__main__":
    main()
