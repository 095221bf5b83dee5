"""Membership over time: the cost of histories and of routing claims by scheme (scalar backend).

Run from the repository::

    python benchmarks/membership.py            # 10, 100 and 1,000 interruptions; 10, 100 and 1,000 claims

* Tianjin continuity (rulebooks/tianjin/employee-continuity.mr): one individually insured member with N
  interruptions (every third never paid up) and 100 claims; each claim reads the history in four
  any/latest functions, so the work grows with N × claims.
* Quzhou membership (rulebooks/quzhou/membership-2020.mr): a member whose employee insurance stops in
  June 2020, with K claims through 2020, each routed by date to employee-2012 or residents-2020.

Prints seconds and claims per second, untraced and traced. Numbers depend on the machine and its load.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.facts import facts_from_source  # noqa: E402
from medrules.membership import load_membership, settle_membership  # noqa: E402
from medrules.source import SourceFile  # noqa: E402


def _month(index: int) -> str:
    return f"{index // 12}-{index % 12 + 1:02d}-01"


def tianjin(n: int, claims: int = 100) -> None:
    program = medrules.load(ROOT / "rulebooks" / "tianjin" / "employee-continuity.mr")
    start = 1910 * 12  # one-month interruptions two months apart, from 1910 (claims are settled outside the
    history = [{"first_month": _month(start + 2 * i), "last_month": _month(start + 2 * i)}  # rulebook's period)
               | ({} if i % 3 == 0 else {"paid_on": _month(start + 2 * i + 1)}) for i in range(n)]
    doc = {"member": {"id": "M", "insured_as": "individual", "joined_on": "1909-01-15"}, "interruptions": history,
           "claims": [{"id": f"C{i}", "date": _month(start + (2 * n * i) // claims)[:8] + "15",
                       "compliant_cost": "100.00"} for i in range(claims)]}
    facts = facts_from_source(SourceFile("<bench>", json.dumps(doc)), program.checked)
    for trace in (False, True):
        t = time.perf_counter()
        medrules.settle(program, facts, trace=trace, in_force_only=False)
        dt = time.perf_counter() - t
        print(f"tianjin  interruptions={n:>5}  claims={claims}  trace={trace!s:5}  {dt:8.3f} s  {claims / dt:10.0f} claims/s")


def quzhou(k: int) -> None:
    ms = load_membership(medrules.load(ROOT / "rulebooks" / "quzhou" / "membership-2020.mr"))
    doc = {"member": {"id": "M", "category": "working"},
           "periods": [{"scheme": "employee", "first_month": "2015-03-01", "last_month": "2020-06-01"}],
           "claims": [{"id": f"C{i}", "date": f"2020-{1 + (12 * i) // k:02d}-{1 + i % 28:02d}", "kind": "outpatient",
                       "compliant_cost": "100.00"} for i in range(k)]}
    source = SourceFile("<bench>", json.dumps(doc))
    for trace in (False, True):
        t = time.perf_counter()
        settle_membership(ms, source, trace=trace)
        dt = time.perf_counter() - t
        print(f"quzhou   claims={k:>5}  trace={trace!s:5}  {dt:8.3f} s  {k / dt:10.0f} claims/s")


if __name__ == "__main__":
    for n in (10, 100, 1000):
        tianjin(n)
    for k in (10, 100, 1000):
        quzhou(k)
