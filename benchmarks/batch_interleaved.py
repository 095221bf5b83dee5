"""The vector backend, the numpy reference and OpenFisca in turn, in one process: steadier ratios on a shared
machine than whole runs of benchmarks/batch.py.

Run (from the repository, after ``pip install -e '.[bench]'``)::

    python benchmarks/batch_interleaved.py             # 10^6 claims, 8 rounds
    python benchmarks/batch_interleaved.py --rounds 12

Each round settles the same 10^6 claims of ``benchmarks/batch.py`` (Quzhou 2012, the payments reading) with
each implementation in turn, each holding its previous result while the next runs (as ``batch.py``'s
``measure`` does); the fastest CPU time of each over the rounds counts. The three are checked to agree to
the fen. To compare two versions of medrules, run this script of each tree one after the other.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import medrules  # noqa: E402
from batch import QUZHOU, Claims, numpy_reference, openfisca_settle, openfisca_system  # noqa: E402
from medrules.batch.vector import compile_vector, settle_columns  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    program = medrules.load(QUZHOU, readings={"cap_axis": "payments"})
    vp = compile_vector(program)
    c = Claims(args.claims)
    claims, members = c.tables(program.checked)
    tbs = openfisca_system()
    names = ("inpatient_pool", "critical_illness")

    def vector():
        r = settle_columns(vp, c.member, claims, members)
        return {k: r.funds[k] for k in names}
    impls = {"vector": vector, "numpy": lambda: numpy_reference(c), "openfisca": lambda: openfisca_settle(tbs, c)}
    held = dict.fromkeys(impls)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn in impls.items():
            gc.collect()
            t = time.process_time()
            held[name] = fn()
            best[name] = min(best.get(name, float("inf")), time.process_time() - t)
    for k in names:
        if not (np.array_equal(held["vector"][k], held["numpy"][k]) and
                np.array_equal(held["vector"][k], held["openfisca"][k])):
            raise SystemExit(f"the implementations disagree on {k}")
    v, n, o = best["vector"], best["numpy"], best["openfisca"]
    print(f"medrules {ROOT}: {args.claims:,} claims, CPU time, the fastest of {args.rounds} rounds")
    print(f"vector {args.claims / v:,.0f} claims/s · numpy {args.claims / n:,.0f} · OpenFisca {args.claims / o:,.0f}")
    print(f"vector ÷ numpy (time) {v / n:.2f} · vector ÷ OpenFisca (claims/s) {o / v:.2f} · all agree to the fen")


if __name__ == "__main__":
    main()
