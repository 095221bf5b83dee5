"""How fast does medrules settle claims? Run: python benchmarks/settle.py [--members N]

Builds synthetic members (one year of 1–8 claims each, all kinds of care, amounts
up to 300,000 yuan so caps are reached) for the Quzhou employee 2012 rulebook, then
times, on the same data:

* parse + check + compile of the rulebook (done once per run of a batch);
* settlement with tracing off (the batch path);
* settlement with tracing on (what `medrules explain` does);
* explanation of the traced result into English lines.

Prints claims per second for each. Numbers depend on the machine; compare runs
on the same machine only.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.explain import explain  # noqa: E402
from medrules.facts import Facts, facts_from_source  # noqa: E402
from medrules.source import SourceFile  # noqa: E402

KINDS = ["outpatient"] * 6 + ["inpatient"] * 3 + ["family_ward", "special_outpatient"]


def synthetic_members(n: int, checked, seed: int = 2012) -> list[Facts]:
    """Facts files for ``n`` members, validated as a user's would be (not timed)."""
    rng = random.Random(seed)
    members = []
    for m in range(n):
        claims = []
        for i in range(rng.randint(1, 8)):
            kind = rng.choice(KINDS)
            top = 3_000 if kind == "outpatient" else 300_000
            day = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randint(0, 365))
            claims.append({"id": f"C{i + 1}", "date": day.isoformat(), "kind": kind,
                           "institution": rng.choice(["grassroots_zero_markup", "other_designated"]),
                           "compliant_cost": str(Decimal(rng.randint(0, top * 100)) / 100),
                           "self_paid": str(Decimal(rng.randint(0, 50_000)) / 100)})
        doc = {"member": {"id": f"M{m}", "category": rng.choice(["working", "retired"])}, "claims": claims}
        members.append(facts_from_source(SourceFile(f"member-{m}.json", json.dumps(doc)), checked))
    return members


def timed(label: str, claims: int, fn) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    rate = claims / seconds if claims else 0
    print(f"{label:<34} {seconds:8.3f} s" + (f"   {rate:>10,.0f} claims/s" if claims else ""))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    args = parser.parse_args()
    rulebook = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
    program = None

    def load():
        nonlocal program
        program = medrules.load(rulebook)

    timed("parse + check + compile (once)", 0, load)
    members = synthetic_members(args.members, program.checked)
    claims = sum(len(m.claims) for m in members)
    print(f"medrules {medrules.__version__} · {args.members:,} members · {claims:,} claims · Python "
          f"{sys.version.split()[0]}")
    sample = min(args.members, 2_000)
    timed("validate facts (JSON with positions)", sum(len(m.claims) for m in members[:sample]),
          lambda: synthetic_members(sample, program.checked))
    timed("settle, tracing off", claims, lambda: [medrules.settle(program, m) for m in members])
    traced = []
    timed("settle, tracing on", claims, lambda: traced.extend(medrules.settle(program, m, trace=True)
                                                              for m in members))
    timed("explain traced results (en)", claims, lambda: [explain(program, s, "en") for s in traced])


if __name__ == "__main__":
    main()
