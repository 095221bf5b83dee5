"""Scalar settlement throughput, this tree against an earlier commit, in one process. Run:
python benchmarks/scalar_ab.py REV [--rounds N]

On a loaded, shared machine two whole runs of ``benchmarks/scalar.py`` one after the other differ by more
than a 5% change (the same code measured 16k and 28k claims/s minutes apart). This script puts both
versions in one process: the commit REV's ``medrules`` package is copied (``git archive``) and imported as
``medrules_base``; the 1,000 synthetic Quzhou 2012 members are settled in chunks of 50, each chunk by one
version and then the other, ``--rounds`` times; each version's figure is its claims over the sum of the
chunks' shortest CPU times (``time.process_time``), so a burst of load on the machine in one round does not
count. Runnable by anyone, not a test.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import medrules  # noqa: E402
from settle import synthetic_members  # noqa: E402

RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"


def base_package(rev: str, into: Path) -> None:
    """REV's medrules package (and its grammar) under ``into``, renamed ``medrules_base``."""
    archive = into / "rev.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", rev, "medrules", "grammar"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "src", filter="data")
    shutil.move(into / "src" / "medrules", into / "medrules_base")
    shutil.move(into / "src" / "grammar", into / "grammar")
    for path in (into / "medrules_base").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\bmedrules\.", "medrules_base.", text)
        text = text.replace("from medrules import", "from medrules_base import")
        text = re.sub(r"^import medrules$", "import medrules_base as medrules", text, flags=re.M)
        text = text.replace('GRAMMAR_FILE = "medrules_base.lark"', 'GRAMMAR_FILE = "medrules.lark"')
        path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with, e.g. HEAD~3")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=50, help="members settled per timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_package(args.rev, Path(tmp))
        sys.path.insert(0, tmp)
        import medrules_base

        versions = {}
        for name, module in ((args.rev, medrules_base), ("this tree", medrules)):
            program = module.load(RULEBOOK)
            versions[name] = (module, program, synthetic_members(1_000, program.checked))
        claims = sum(len(m.claims) for m in versions["this tree"][2])
        best: dict = {}
        for _ in range(args.rounds):
            for trace in (True, False):
                for at in range(0, 1_000, args.chunk):
                    for name, (module, program, members) in versions.items():
                        start = time.process_time()
                        for m in members[at:at + args.chunk]:
                            module.settle(program, m, trace=trace)
                        key = (name, trace, at)
                        best[key] = min(best.get(key, float("inf")), time.process_time() - start)
    rates = {(name, trace): claims / sum(t for (n, tr, _), t in best.items() if (n, tr) == (name, trace))
             for name in versions for trace in (True, False)}
    print(f"{claims:,} claims, {args.rounds} rounds, chunks of {args.chunk} members (claims/s CPU)")
    for trace in (True, False):
        before, after = rates[(args.rev, trace)], rates[("this tree", trace)]
        print(f"{'traced' if trace else 'untraced':<9} {args.rev}: {before:>8,.0f}   this tree: {after:>8,.0f}"
              f"   × {after / before:.3f}")


if __name__ == "__main__":
    main()
