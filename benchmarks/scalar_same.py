"""The scalar backend of this tree settles exactly as an earlier commit's did: every amount, accumulator and
trace step (its values and reads, in written form: 1.5 and 1.50 differ). Run:
python benchmarks/scalar_same.py REV [--members N] [--reading NAME=ALTERNATIVE]

For a change that should not change any settlement (a faster kernel, a refactoring): REV's ``medrules`` package
is imported as ``medrules_base`` beside this tree (as ``benchmarks/scalar_ab.py`` does), and every shipped and
test rulebook that settles claims settles the same generated members (``medrules.batch.generate``) under
both, traced and untraced; an error is compared by its message. Prints each rulebook's count of settlements
that differ (and the first differences); exits 1 if any does. Not a test: it needs git and a second copy.
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import medrules  # noqa: E402
from medrules.batch.differential import as_facts  # noqa: E402
from medrules.batch.generate import random_members  # noqa: E402
from scalar_ab import base_package  # noqa: E402


def canon(x):
    """A value as comparable text: nodes by kind and position, Decimals in their written form."""
    if hasattr(x, "span") and hasattr(x, "__attrs_attrs__"):
        return f"<{type(x).__name__}@{x.span.line}:{x.span.col}>"
    if isinstance(x, (list, tuple)):
        return [canon(y) for y in x]
    if isinstance(x, dict):
        return {str(k): canon(v) for k, v in x.items()}
    if x is None or isinstance(x, (bool, int, str)):
        return x
    return f"{type(x).__name__}:{x}"


def settled(module, program, facts, trace: bool):
    try:
        s = module.settle(program, facts, trace=trace, in_force_only=False)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden: both versions must fail alike
        return ["error", type(exc).__name__, str(exc)]
    return [(c.id, str(c.total_cost), str(c.member_pays), str(c.recoverable), canon(c.accumulators),
             [(f.fund, f.applied, str(f.paid), str(f.base), str(f.deductible), str(f.payable), str(f.above_cap),
               str(f.above_ceiling), str(f.remaining), canon(f.excluded_by)) for f in c.funds],
             None if c.steps is None else [(type(s).__name__, s.fund, s.layer, canon(s.node), canon(s.reads),
                                            canon(s.values)) for s in c.steps])
            for c in s.claims]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with, e.g. HEAD~3")
    parser.add_argument("--members", type=int, default=300, help="generated members per rulebook")
    parser.add_argument("--reading", action="append", default=[], help="NAME=ALTERNATIVE (rulebooks without "
                        "that reading are skipped)")
    args = parser.parse_args()
    readings = dict(r.split("=", 1) for r in args.reading)
    paths = sorted((ROOT / "rulebooks").glob("*/*.mr")) + sorted((ROOT / "tests" / "rulebooks").glob("*.mr"))
    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        base_package(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        import medrules_base
        from medrules_base.batch.differential import as_facts as base_as_facts

        for path in paths:
            name = path.relative_to(ROOT)
            try:
                new, old = medrules.load(path, readings=readings), medrules_base.load(path, readings=readings)
            except medrules.MedrulesError as exc:
                print(f"{name}: skipped ({exc.diagnostics[0].message})")
                continue
            if new.plan.top.total is None:
                continue  # contributions or membership routing: settles no claims itself
            n = found = 0
            for member, claims in random_members(new.checked, args.members, seed=7):
                for trace in (True, False):
                    a = settled(medrules, new, as_facts(member, claims), trace)
                    b = settled(medrules_base, old, base_as_facts(member, claims), trace)
                    n += 1
                    if a != b:
                        found += 1
                        if found <= 2:
                            print(f"  {member['id']} ({'traced' if trace else 'untraced'}), {args.rev} → this tree:")
                            lines = [json.dumps(x, indent=0, ensure_ascii=False).splitlines() for x in (b, a)]
                            print("\n".join(list(difflib.unified_diff(*lines, lineterm=""))[2:30]))
            differ += found
            print(f"{name}: {n:,} settlements, {found:,} differ")
    print(f"{differ:,} settlements differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
