"""Peak memory of ``medrules run`` by claim count. Run: python benchmarks/run_memory.py [--claims 10000 100000 ...]

Generates facts files with the project's generator (``medrules.batch.generate.random_members``, Quzhou
employee 2012 by default), written claim by claim, then runs the real command line in a child process
under ``/usr/bin/time -v`` and prints its peak resident memory (the "Maximum resident set size") and
wall time. Two shapes:

* ``one``: one facts file, one member holding all the claims (what a facts file is: one member);
* ``lines``: a JSON Lines file of facts documents, one member (1–8 claims) per line, which ``run``
  reads and settles member by member.

Not a test: the figures depend on the machine and its load (docs/performance.md, section "run").
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.batch.columns import fields  # noqa: E402
from medrules.batch.generate import random_members, text_of  # noqa: E402


def written(value, unit: str):
    """A generated value as a facts file writes it (docs/facts.md)."""
    if value is None:
        return None
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, bool):
        return value
    if unit in ("rate", "relpct"):
        return f"{value * 100}%"
    if unit == "points":
        return f"{value * 100} points"
    if unit in ("days", "months"):
        return value
    return text_of(value)


def record(values: dict, types: dict) -> dict:
    return {k: written(v, types[k].unit) for k, v in values.items() if v is not None}


def members(checked, claims: int, seed: int = 2012):
    """Generated members, in chunks, until ``claims`` claims were made."""
    made, chunk = 0, 0
    while made < claims:
        for member, its in random_members(checked, 2_000, seed=seed + chunk):
            member["id"] = f"M{chunk}-{member['id']}"
            its = its[: claims - made]
            for c in its:
                c["id"] = f"{member['id']}-{c['id']}"
            made += len(its)
            yield member, its
            if made >= claims:
                return
        chunk += 1


def write_one(path: Path, checked, claims: int) -> None:
    """One member with all the claims (the first generated member's facts)."""
    mtypes = {k: t for k, (t, _) in fields(checked, "member").items()}
    ctypes = {k: t for k, (t, _) in fields(checked, "claim").items()}
    with path.open("w", encoding="utf-8") as f:
        first = True
        for member, its in members(checked, claims):
            if first:
                f.write('{"member": ' + json.dumps(record(member, mtypes), ensure_ascii=False) + ',\n "claims": [\n')
            for c in its:
                f.write(("" if first else ",\n") + "  " + json.dumps(record(c, ctypes), ensure_ascii=False))
                first = False
        f.write("\n]}\n")


def write_lines(path: Path, checked, claims: int) -> None:
    mtypes = {k: t for k, (t, _) in fields(checked, "member").items()}
    ctypes = {k: t for k, (t, _) in fields(checked, "claim").items()}
    with path.open("w", encoding="utf-8") as f:
        for member, its in members(checked, claims):
            doc = {"member": record(member, mtypes), "claims": [record(c, ctypes) for c in its]}
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")


def measure(rulebook: Path, facts: Path, extra: list[str]) -> tuple[float, float, int]:
    """Peak RSS (MB), wall seconds and exit code of 'medrules run RULEBOOK FACTS' in a child process."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "medrules", "run", str(rulebook), str(facts), *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode not in (0, 1):
        print(done.stderr[-2000:], file=sys.stderr)
    return (int(rss.group(1)) / 1024 if rss else float("nan")), seconds, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--shape", choices=["one", "lines", "both"], default="both")
    parser.add_argument("--output", choices=["text", "json", "both"], default="text",
                        help="measure 'run' (text), 'run --json', or both")
    parser.add_argument("--rulebook", type=Path, default=ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    args = parser.parse_args()
    checked = medrules.load(args.rulebook).checked
    shapes = ["one", "lines"] if args.shape == "both" else [args.shape]
    print(f"medrules {medrules.__version__} · {args.rulebook.name} · Python {sys.version.split()[0]}")
    print(f"{'claims':>10} {'shape':>6} {'output':>6} {'file MB':>8} {'peak RSS MB':>12} {'seconds':>8} {'exit':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.claims:
            for shape in shapes:
                path = Path(tmp) / (f"facts-{n}.json" if shape == "one" else f"facts-{n}.jsonl")
                (write_one if shape == "one" else write_lines)(path, checked, n)
                size = path.stat().st_size / 2**20
                for extra in {"text": [[]], "json": [["--json"]], "both": [[], ["--json"]]}[args.output]:
                    rss, seconds, code = measure(args.rulebook, path, extra)
                    print(f"{n:>10,} {shape:>6} {'json' if extra else 'text':>6} {size:>8.1f} {rss:>12.1f} "
                          f"{seconds:>8.1f} {code:>5}", flush=True)
                path.unlink()


if __name__ == "__main__":
    main()
