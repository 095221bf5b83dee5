"""``medrules explain --results`` of a claim settled in a group of households (medrules.batch.hexplain, issue 11).

Run from the repository::

    python benchmarks/household_explain.py            # 10,000 households (60,000 claims), p = 0.10; or: N P

benchmarks/households.py's population (Chongqing 2017: households of three, six claims each, a claim naming the
third person of a random other household with probability P), settled by ``medrules settle`` into a temporary
folder; then one claim of the largest group found (among 20 households tried) and one claim of household H1 are
explained from the results (the group rebuilt from the input, settled on the traced scalar backend, its amounts
checked against the row). Prints the group's size and the seconds. Numbers depend on the machine and its load.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from households import population  # noqa: E402

from medrules.batch import hexplain  # noqa: E402
from medrules.batch.explain import check, from_results  # noqa: E402
from medrules.batch.run import load_rulebooks, settle_files  # noqa: E402

RULEBOOK = ROOT / "rulebooks" / "chongqing" / "residents-2017.mr"


def main(n: int, p: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        claims_path, members_path, out = Path(tmp) / "claims.csv", Path(tmp) / "members.csv", Path(tmp) / "out.csv"
        claims, members = population(n, p)
        pacsv.write_csv(claims, claims_path)
        pacsv.write_csv(members, members_path)
        settle_files(RULEBOOK, [claims_path], out, members=members_path)
        rb = load_rulebooks(RULEBOOK)
        rows, house_of, _, _ = hexplain._scan(rb, rb.versions[0], [claims_path], members_path, {})
        size = {h: len(hexplain._group(rows, house_of, f"H{h}")[0]) for h in range(0, n, max(1, n // 20))}
        size[1] = len(hexplain._group(rows, house_of, "H1")[0])
        for h in (max(size, key=size.get), 1):
            started = time.perf_counter()
            found = from_results(RULEBOOK, out, [claims_path], f"C{h}-0", members_path)
            check(found, found.settlement)
            print(f"{claims.num_rows:,} claims, p={p:.2f}: claim C{h}-0, a group of {size[h]:,} persons, explained "
                  f"in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, float(sys.argv[2]) if len(sys.argv) > 2 else 0.10)
