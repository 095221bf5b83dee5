"""How fast does the ledger record and answer? Run: python benchmarks/ledger.py [--members N] [--url URL]

Settles N synthetic members (1–4 claims each, Quzhou employee 2012) into a fresh ledger (a SQLite file in
a temporary folder unless --url names another, e.g. a PostgreSQL database) and times:

* recording: members per second, one transaction each (settle, trace, explain in zh and en, insert);
* the same batch again: nothing recorded (the idempotent path: each request found by its key);
* a correction of every member's first claim: re-settlement with adjustments;
* reading: a stored decision's explanation, and a member's history (p50/p99 over all members).

Numbers depend on the machine and its load; compare runs on the same machine only.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from medrules.ledger import Ledger, load_rulebooks  # noqa: E402

RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"


def members(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for m in range(n):
        claims = [{"id": f"C{c + 1}", "date": f"2012-{c * 3 + 1:02d}-{rnd.randint(1, 28):02d}",
                   "kind": rnd.choice(["inpatient", "outpatient", "family_ward"]),
                   "compliant_cost": f"{rnd.randint(100, 120_000)}.{rnd.randint(0, 99):02d}"} for c in range(rnd.randint(1, 4))]
        out.append({"member": {"id": f"B{m:05d}", "category": rnd.choice(["working", "retired"])}, "claims": claims})
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--url")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.sqlite"
        rb = load_rulebooks(RULEBOOK)
        docs = members(args.members)
        with Ledger.open(url) as ledger:
            t = time.perf_counter()
            ledger.record_batch(rb, docs)
            first = time.perf_counter() - t
            t = time.perf_counter()
            ledger.record_batch(rb, docs)
            again = time.perf_counter() - t
            for d in docs:
                d["claims"][0]["compliant_cost"] = "1234.00"
            t = time.perf_counter()
            ledger.record_batch(rb, docs)
            corrected = time.perf_counter() - t
            explain_s, history_s = [], []
            for d in docs:
                t = time.perf_counter()
                history = ledger.member_history(d["member"]["id"])
                history_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                json.dumps(ledger.explanation(history[-1].id, "en"))
                explain_s.append(time.perf_counter() - t)
            totals = ledger.totals()
    n = args.members
    print(f"ledger: {url.split(':')[0]}, {n} members, {totals['decisions']} decisions")
    print(f"  record           {n / first:8.1f} members/s")
    print(f"  same batch again {n / again:8.1f} members/s (nothing recorded)")
    print(f"  corrections      {n / corrected:8.1f} members/s (re-settled, with adjustments)")
    print(f"  explain stored   p50 {1000 * statistics.median(explain_s):6.1f} ms  p99 {1000 * pct(explain_s, .99):6.1f} ms")
    print(f"  member history   p50 {1000 * statistics.median(history_s):6.1f} ms  p99 {1000 * pct(history_s, .99):6.1f} ms")


if __name__ == "__main__":
    main()
