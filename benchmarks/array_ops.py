"""Count the whole-column numpy operations of the vector backend and of the hand-written numpy reference.

Run (from the repository)::

    python benchmarks/array_ops.py              # 32,768 claims (one chunk of the vector backend)
    python benchmarks/array_ops.py --lines      # also where each operation is made
    python benchmarks/array_ops.py --all        # operations on arrays of any size (a fund settled on a few rows)

Every column is wrapped in an ndarray subclass that counts, while the settlement runs, each ufunc call
(arithmetic, comparisons, ``min``/``max``/``any``/``sum`` reductions, ``cumsum``), each array function
(``where``, ``take``, ``flatnonzero``, ``clip``, …) and each gather or scatter by an index array, on
arrays of at least a tenth of the claims. ``np.ndim``, ``np.size`` and ``np.broadcast_to`` (no pass over
the data) are not counted; ``np.take`` is counted when its indices are a column (a lookup in a small table).
Reductions (``min``, ``max``, ``any``, ``sum``, … over a column) are also reported on their own. The
computation is ``benchmarks/batch.py``'s (Quzhou 2012, the payments reading, realistic claims); the vector
backend settles the claims as one chunk.
"""
from __future__ import annotations

import argparse
import collections
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import medrules  # noqa: E402
from batch import QUZHOU, Claims, numpy_reference  # noqa: E402
from medrules.batch.columns import Table  # noqa: E402
from medrules.batch.vector import compile_vector, settle_columns  # noqa: E402

FREE = {"ndim", "size", "broadcast_to"}  # no pass over the data
REDUCTIONS = {"min", "max", "amin", "amax", "any", "all", "sum", "count_nonzero"}  # (and every ufunc's .reduce)


class Counting:
    def __init__(self, n: int, lines: bool):
        self.n, self.lines, self.on = n, lines, False
        self.count: collections.Counter = collections.Counter()
        self.where: collections.Counter = collections.Counter()

    def note(self, name: str) -> None:
        if self.on and name not in FREE:
            self.count[name] += 1
            if self.lines:
                frame = next((f for f in reversed(traceback.extract_stack()[:-2])
                              if "/medrules/" in f.filename or f.filename.endswith("batch.py")), None)
                if frame is not None:
                    self.where[(Path(frame.filename).name, frame.lineno, name)] += 1


COUNTER = Counting(0, False)


class C(np.ndarray):
    """An array that counts the operations made on it (and gives its results the same class)."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kw):
        if out is not None:
            kw["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*(_plain(i) for i in inputs), **kw)
        COUNTER.note(ufunc.__name__ + ("" if method == "__call__" else "." + method))
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        result = super().__array_function__(func, tuple(t for t in types if t is not C) + (np.ndarray,),
                                            _plain(args), _plain(kwargs))
        COUNTER.note(func.__name__)
        return _wrap(result)

    def __getitem__(self, key):
        result = np.ndarray.__getitem__(self.view(np.ndarray), _plain(key))
        if isinstance(key, np.ndarray) and isinstance(result, np.ndarray) and result.size >= COUNTER.n // 10:
            COUNTER.note("gather")
        return _wrap(result)

    def __setitem__(self, key, value):
        np.ndarray.__setitem__(self.view(np.ndarray), _plain(key), _plain(value))
        if not isinstance(key, slice):
            COUNTER.note("scatter")


def _plain(x):
    if isinstance(x, C):
        return x.view(np.ndarray)
    if isinstance(x, tuple):
        return tuple(_plain(i) for i in x)
    if isinstance(x, list):
        return [_plain(i) for i in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _wrap(r):
    if isinstance(r, np.ndarray) and not isinstance(r, C) and r.ndim and r.size >= COUNTER.n // 10:
        return r.view(C)
    if isinstance(r, tuple):
        return tuple(_wrap(i) for i in r)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=32_768)
    parser.add_argument("--lines", action="store_true", help="where each operation is made")
    parser.add_argument("--all", action="store_true", help="count operations on arrays of any size")
    args = parser.parse_args()
    COUNTER.n, COUNTER.lines = (10 if args.all else args.claims), args.lines
    program = medrules.load(QUZHOU, readings={"cap_axis": "payments"})
    vp = compile_vector(program)
    c = Claims(args.claims)
    claims, members = c.tables(program.checked)
    claims = Table({k: _wrap(v) for k, v in claims.values.items()}, {k: _wrap(v) for k, v in claims.given.items()})
    members = Table({k: _wrap(v) for k, v in members.values.items()}, {k: _wrap(v) for k, v in members.given.items()})
    for name in ("zeros", "ones", "empty", "full", "arange"):  # new columns count too
        made = getattr(np, name)
        setattr(np, name, (lambda made: lambda *a, **k: _wrap(made(*a, **k)))(made))
    take = np.take

    def counted_take(a, indices, *rest, **kw):  # np.take dispatches on its first argument only: a small table
        result = take(_plain(a), _plain(indices), *rest, **kw)  # looked up by a column is counted here
        if (isinstance(indices, C) or isinstance(a, C)) and np.size(result) >= COUNTER.n // 10:
            COUNTER.note("take")
        return _wrap(result)
    np.take = counted_take
    COUNTER.on = True
    settle_columns(vp, _wrap(c.member), claims, members, chunk=None)
    COUNTER.on = False
    report("vector backend", args)
    for name in ("member", "day", "kind", "cost", "self_paid"):
        setattr(c, name, _wrap(getattr(c, name)))
    c.retired = c.retired.view(C)
    COUNTER.on = True
    numpy_reference(c)
    COUNTER.on = False
    report("numpy reference", args)


def report(label: str, args) -> None:
    reductions = sum(v for k, v in COUNTER.count.items() if k.endswith(".reduce") or k in REDUCTIONS)
    print(f"{label}: {sum(COUNTER.count.values())} array operations ({reductions} reductions) on {args.claims:,} "
          f"claims{' (arrays of any size)' if args.all else ''}: "
          + ", ".join(f"{k} {v}" for k, v in COUNTER.count.most_common()))
    if args.lines:
        for (file, line, name), k in sorted(COUNTER.where.items()):
            print(f"  {k:3d}  {file}:{line}  {name}")
    COUNTER.count.clear()
    COUNTER.where.clear()


if __name__ == "__main__":
    main()
