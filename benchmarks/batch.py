"""Batch settlement: the vector backend against the scalar backend, hand-written numpy and OpenFisca.

Run (from the repository, after ``pip install -e '.[bench]'``)::

    python benchmarks/batch.py                       # 10^4, 10^5 and 10^6 claims
    python benchmarks/batch.py --sizes 10000 --rulebook-claims 20000   # a quick look

The computation is Quzhou 2012's inpatient benefit (rulebooks/quzhou/employee-2012.mr): a 600 yuan
deductible per admission, bands on the year's cumulative inpatient cost (84% up to 60,000, 87% above;
+5 points for retired members), a 160,000 yuan yearly payment cap, and the critical-illness layer
paying 90% of the cost above that cap up to 250,000 a year. Claims come from a seeded generator of
realistic members: about five claims a member in 2012, 30% retired, lognormal costs (median ~12,000,
up to 400,000 yuan), admissions, family wards and special-disease outpatient care.

Four implementations settle the same claims and must agree to the fen (the script stops otherwise):

1. the vector backend (``medrules.batch.vector.settle_columns``), facts already as columns;
2. the traced scalar backend (``medrules.settle(..., trace=True)``, what ``medrules explain`` runs),
   on a sample; and untraced on every claim for the agreement check (``--no-full-check`` skips it);
3. a hand-written numpy reference in int64 fen (grouped cumulative sums and clipped running sums);
4. OpenFisca (openfisca-core, the ``bench`` extra): the same arithmetic as OpenFisca variables.

It prints claims/s and peak traced memory (tracemalloc: numpy and Python allocations) for each, the
ratios of the vector backend to numpy and to OpenFisca, reading Parquet + validation as a separate
figure, and every shipped rulebook's vector throughput on generated claims. Results go in
docs/performance.md. Numbers depend on the machine and its load; compare runs on one machine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.batch import settle_table  # noqa: E402
from medrules.batch.columns import Table, day_number, enum_members  # noqa: E402
from medrules.batch.differential import as_facts  # noqa: E402
from medrules.batch.generate import random_members  # noqa: E402
from medrules.batch.vector import compile_vector, settle_columns, with_paths  # noqa: E402

QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
KINDS = np.array(["inpatient", "family_ward", "special_outpatient"], object)


# ---------------------------------------------------------------- claims
class Claims:
    """Seeded realistic claims, as plain numpy columns (cost in fen)."""

    def __init__(self, n: int, seed: int = 2012):
        rng = np.random.default_rng(seed)
        self.n = n
        self.members = max(1, n // 5)
        self.member = np.sort(rng.integers(0, self.members, n))
        self.retired = rng.random(self.members) < 0.3
        self.day = day_number(dt.date(2012, 1, 1)) + rng.integers(0, 366, n)
        self.kind = rng.choice(3, n, p=[0.9, 0.05, 0.05])
        self.cost = np.clip(np.round(rng.lognormal(np.log(12_000), 1.0, n) * 100), 10_000, 40_000_000).astype(np.int64)
        self.self_paid = np.round(rng.lognormal(np.log(500), 1.0, n) * 100).astype(np.int64)
        # settle in (member, date, input order): sort once here, so every implementation sees the same order
        order = np.lexsort((np.arange(n), self.day, self.member))
        for name in ("member", "day", "kind", "cost", "self_paid"):
            setattr(self, name, getattr(self, name)[order])

    def tables(self, checked) -> tuple[Table, Table]:
        """As the vector backend's columns (what the readers produce)."""
        kinds = enum_members(checked, "visit_kind")
        kind_code = np.array([kinds.index(k) for k in KINDS], np.int64)[self.kind]
        categories = enum_members(checked, "category")
        n, m = self.n, self.members
        claims = Table({"id": np.array([f"C{i}" for i in range(n)], object), "date": self.day, "kind": kind_code,
                        "institution": np.full(n, enum_members(checked, "institution").index("other_designated")),
                        "compliant_cost": self.cost, "self_paid": self.self_paid})
        member = Table({"id": np.array([f"M{i}" for i in range(m)], object),
                        "category": np.where(self.retired, categories.index("retired"), categories.index("working")),
                        **{f: np.zeros(m, np.int64) for f in ("enrolled_paid_on", "arrears_from", "arrears_paid_on",
                                                              "resumed_paid_on")}},
                       {f: np.zeros(m, bool) for f in ("enrolled_paid_on", "arrears_from", "arrears_paid_on",
                                                       "resumed_paid_on")})
        return claims, member

    def arrow(self) -> pa.Table:
        """As a user's claim file: one table, text ids and categories, decimal amounts."""
        return pa.table({  # noqa: C408
            "member_id": pa.array([f"M{i}" for i in self.member]),
            "category": pa.array(np.where(self.retired[self.member], "retired", "working")),
            "claim_id": pa.array([f"C{i}" for i in range(self.n)]),
            "date": pa.array(self.day.astype("datetime64[D]")),
            "kind": pa.array(KINDS[self.kind].tolist()),
            "compliant_cost": pc_divide_100(self.cost), "self_paid": pc_divide_100(self.self_paid)})

    def facts(self, checked, limit: int, start: int = 0):
        """Whole members' claims from claim ``start`` on (a member's first), ≥ ``limit`` claims, as the scalar
        backend's facts (not timed)."""
        out, i, count = [], start, 0
        while i < self.n and count < limit:
            j = i
            while j < self.n and self.member[j] == self.member[i]:
                j += 1
            m = int(self.member[i])
            member = {"id": f"M{m}", "category": "retired" if self.retired[m] else "working", "enrolled_paid_on": None,
                      "arrears_from": None, "arrears_paid_on": None, "resumed_paid_on": None}
            claims = [{"id": f"C{k}", "date": dt.date(1970, 1, 1) + dt.timedelta(days=int(self.day[k])),
                       "kind": KINDS[self.kind[k]], "institution": "other_designated",
                       "compliant_cost": Decimal(int(self.cost[k])).scaleb(-2),
                       "self_paid": Decimal(int(self.self_paid[k])).scaleb(-2)} for k in range(i, j)]
            out.append((member, claims))
            count += len(claims)
            i = j
        return out


def pc_divide_100(fen: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc
    dec = pa.array(fen, pa.int64()).cast(pa.decimal128(20, 0))
    return pc.multiply(dec, pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))).cast(pa.decimal128(22, 2))


# ---------------------------------------------------------------- (3) hand-written numpy, int64 fen
def half_up_div(num: np.ndarray, den) -> np.ndarray:
    """num / den rounded half up, num ≥ 0."""
    return (2 * num + den) // (2 * den)


def group_starts(member: np.ndarray) -> np.ndarray:
    first = np.ones(len(member), bool)
    first[1:] = member[1:] != member[:-1]
    return np.flatnonzero(first)


def grouped_cumsum(x: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """Cumulative sums restarting at each member (claims sorted by member)."""
    c = np.cumsum(x)
    offset = np.repeat(c[starts] - x[starts], np.diff(np.r_[starts, n]))
    return c - offset


def clipped_running(paid: np.ndarray, cap: int, starts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pay min(x, cap − paid so far): the running total clipped at the cap, differenced. Returns (paid,
    paid before)."""
    total = np.minimum(grouped_cumsum(paid, starts, n), cap)
    before = np.zeros(n, np.int64)
    before[1:] = total[:-1]
    before[starts] = 0
    return total - before, before


def numpy_reference(c: Claims) -> dict[str, np.ndarray]:
    """Quzhou's inpatient fund and critical-illness layer, in int64 fen (rates in percent)."""
    n = c.n
    starts = group_starts(c.member)
    base = c.cost
    a0 = grouped_cumsum(base, starts, n) - base  # the year's inpatient cost before each claim
    ded = np.where(c.kind == 0, np.minimum(base, 60_000), 0)  # 600 yuan per admission
    start, end = a0 + ded, a0 + base
    bonus = np.where(c.retired[c.member], 5, 0)  # +5 points for retired members
    r1, r2 = 84 + bonus, 87 + bonus
    p1 = np.maximum(0, np.minimum(end, 6_000_000) - np.maximum(start, 0))  # up to 60,000 on the year's axis
    p2 = np.maximum(0, end - np.maximum(start, 6_000_000))
    raw = p1 * r1 + p2 * r2  # fen × percent, exact
    # the room under the 160,000 cap is on the fen grid, so the payments are a clipped running sum
    paid, before = clipped_running(half_up_div(raw, 100), 16_000_000, starts, n)
    room = (16_000_000 - before) * 100
    limited = raw > room
    # the cost above the cap: the room covers band 1 first, then band 2 (a fraction num / rate, rounded once)
    in1 = p1 * r1 > room
    num = np.where(in1, p1 * r1 - room, p2 * r2 - (room - p1 * r1))
    den = np.where(in1, r1, r2)
    above = np.where(limited, half_up_div(np.maximum(num, 0), den) + np.where(in1, p2, 0), 0)
    critical, _ = clipped_running(half_up_div(above * 90, 100), 25_000_000, starts, n)
    return {"inpatient_pool": paid, "critical_illness": critical}


# ---------------------------------------------------------------- (4) OpenFisca
def openfisca_system():
    """The same computation as OpenFisca variables on a claim entity (numpy inside each formula)."""
    from openfisca_core.entities import build_entity
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    claim_entity = build_entity(key="claim", plural="claims", label="a claim", is_person=True)
    year = DateUnit.YEAR

    def var(name, vtype=int, formula=None):
        attrs_ = {"value_type": vtype, "entity": claim_entity, "definition_period": year, "label": name}
        if formula is not None:
            attrs_["formula"] = formula
        return type(name, (Variable,), attrs_)

    def first_of_member(claim, period):
        m = claim("member", period)
        first = np.ones(len(m), bool)
        first[1:] = m[1:] != m[:-1]
        return first

    def axis_start(claim, period):  # a0: the year's inpatient cost before this claim
        cost = claim("cost", period).astype(np.int64)
        first = first_of_member(claim, period)
        c = np.cumsum(cost)
        starts = np.flatnonzero(first)
        return c - np.repeat(c[starts] - cost[starts], np.diff(np.r_[starts, len(cost)])) - cost

    def deductible(claim, period):
        return np.where(claim("admission", period), np.minimum(claim("cost", period), 60_000), 0)

    def pieces(claim, period):  # the claim's parts in the two bands and their rates (int64 inside formulas)
        a0 = claim("axis_start", period).astype(np.int64)
        cost = claim("cost", period).astype(np.int64)
        start, end = a0 + claim("deductible", period), a0 + cost
        bonus = np.where(claim("retired", period), 5, 0)
        p1 = np.maximum(0, np.minimum(end, 6_000_000) - np.maximum(start, 0))
        p2 = np.maximum(0, end - np.maximum(start, 6_000_000))
        return p1, p2, 84 + bonus, 87 + bonus

    def clipped(values, cap, first):
        c = np.cumsum(values)
        starts = np.flatnonzero(first)
        grouped = c - np.repeat(c[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
        total = np.minimum(grouped, cap)
        before = np.r_[0, total[:-1]]
        before[starts] = 0
        return total - before, before

    def inpatient_pool(claim, period):
        p1, p2, r1, r2 = pieces(claim, period)
        paid, _ = clipped((2 * (p1 * r1 + p2 * r2) + 100) // 200, 16_000_000, first_of_member(claim, period))
        return paid

    def above_cap(claim, period):
        p1, p2, r1, r2 = pieces(claim, period)
        raw_ = p1 * r1 + p2 * r2
        _, before = clipped((2 * raw_ + 100) // 200, 16_000_000, first_of_member(claim, period))
        room = (16_000_000 - before) * 100
        in1 = p1 * r1 > room
        num = np.where(in1, p1 * r1 - room, p2 * r2 - (room - p1 * r1))
        den = np.where(in1, r1, r2)
        return np.where(raw_ > room, (2 * np.maximum(num, 0) + den) // (2 * den) + np.where(in1, p2, 0), 0)

    def critical_illness(claim, period):
        above = claim("above_cap", period).astype(np.int64)
        paid, _ = clipped((2 * above * 90 + 100) // 200, 25_000_000, first_of_member(claim, period))
        return paid

    tbs = TaxBenefitSystem([claim_entity])
    tbs.add_variables(var("member"), var("cost"), var("retired", bool), var("admission", bool),
                      var("axis_start", int, axis_start), var("deductible", int, deductible),
                      var("inpatient_pool", int, inpatient_pool),
                      var("above_cap", int, above_cap), var("critical_illness", int, critical_illness))
    return tbs


def openfisca_settle(tbs, c: Claims) -> dict[str, np.ndarray]:
    from openfisca_core.simulations import SimulationBuilder
    sim = SimulationBuilder().build_default_simulation(tbs, c.n)
    sim.set_input("member", "2012", c.member)
    sim.set_input("cost", "2012", c.cost)
    sim.set_input("retired", "2012", c.retired[c.member])
    sim.set_input("admission", "2012", c.kind == 0)
    return {"inpatient_pool": sim.calculate("inpatient_pool", "2012").astype(np.int64),
            "critical_illness": sim.calculate("critical_illness", "2012").astype(np.int64)}


# ---------------------------------------------------------------- measuring
CLOCK = time.process_time  # CPU seconds of this process: on a shared machine, steadier than the wall clock


def measure(fn, repeat: int = 1):
    """(CPU seconds of the fastest run, peak traced memory in bytes of one more run, result)."""
    best, result = None, None
    for _ in range(repeat):
        gc.collect()
        t = CLOCK()
        result = fn()
        best = min(best or 1e9, CLOCK() - t)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, result


def agree(name: str, expected: dict, got: dict, rows=slice(None)) -> None:
    for fund, values in expected.items():
        other = got[fund][rows]
        if not np.array_equal(values[rows], other):
            bad = np.flatnonzero(values[rows] != other)[:5]
            raise SystemExit(f"{name} disagrees on {fund} at claims {bad.tolist()}: {values[rows][bad]} vs "
                             f"{other[bad]}")


def main() -> None:  # noqa: C901 - one report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--scalar-sample", type=int, default=10_000, help="claims settled by the traced scalar backend")
    parser.add_argument("--no-full-check", action="store_true", help="skip the untraced scalar run on every claim")
    parser.add_argument("--rulebook-claims", type=int, default=100_000, help="claims per shipped rulebook")
    parser.add_argument("--no-openfisca", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each implementation (the fastest counts)")
    parser.add_argument("--waves", action="store_true", help="also the vector backend with every fund in waves "
                        "(the path it takes when running sums are not exact)")
    parser.add_argument("--stream", type=int, metavar="N", help="only: settle N claims from Parquet files with "
                        "medrules settle in a child process and report its peak memory (RSS)")
    args = parser.parse_args()
    if args.stream:
        return stream(args.stream)
    # the payments reading of 最高支付限额 (the rulebook chooses the cost reading): the computation the
    # numpy and OpenFisca references below implement, a yearly cap on what the inpatient fund pays
    program = medrules.load(QUZHOU, readings={"cap_axis": "payments"})
    vp = compile_vector(program)
    tbs = None
    if not args.no_openfisca:
        try:
            tbs = openfisca_system()
        except ImportError:
            print("openfisca-core is not installed (pip install -e '.[bench]'): OpenFisca skipped")
    print(vp.describe())
    print(f"CPU seconds (time.process_time), the fastest of {args.repeat} runs")
    print(f"medrules {medrules.__version__} · numpy {np.__version__} · pyarrow {pa.__version__} · Python "
          f"{sys.version.split()[0]}")
    print("\n| claims | implementation | claims/s | peak MB | vector ÷ this |")
    print("|---:|---|---:|---:|---:|")
    for n in args.sizes:
        c = Claims(n)
        claims, members = c.tables(program.checked)
        names = {"inpatient_pool": "inpatient_pool", "critical_illness": "critical_illness"}

        def vector():
            r = settle_columns(vp, c.member, claims, members)
            return {k: r.funds[k] for k in names}
        tv, mv, rv = measure(vector, repeat=args.repeat)
        tn, mn, rn = measure(lambda: numpy_reference(c), repeat=args.repeat)
        agree("numpy reference", rv, rn)
        rows = [("vector backend", tv, mv), ("numpy int64 fen", tn, mn)]
        if args.waves:
            vw = with_paths(vp, "waves")
            tw, mw, rw = measure(lambda: settle_columns(vw, c.member, claims, members), repeat=args.repeat)
            agree("vector backend in waves", rv, {k: rw.funds[k] for k in names})
            rows.append(("vector backend, every fund in waves", tw, mw))
        if tbs is not None:
            to, mo, ro = measure(lambda: openfisca_settle(tbs, c), repeat=args.repeat)
            agree("OpenFisca", rv, ro)
            rows.append(("OpenFisca", to, mo))
        sample = c.facts(program.checked, min(n, args.scalar_sample))
        k = sum(len(cl) for _, cl in sample)
        facts = [as_facts(m, cl) for m, cl in sample]
        ts, ms, rs = measure(lambda: [medrules.settle(program, f, trace=True) for f in facts])
        got = {f: np.array([int(cr.fund(f).paid.scaleb(2)) for s in rs for cr in s.claims]) for f in names}
        agree("traced scalar backend", {f: v[:k] for f, v in rv.items()}, got)
        rows.append((f"traced scalar backend ({k:,} claims)", ts * n / k, ms))
        for label, t, m in rows:
            print(f"| {n:,} | {label} | {n / t:,.0f} | {m / 2**20:,.1f} | {tv / t:.2f} |" if label != "vector backend"
                  else f"| {n:,} | {label} | {n / t:,.0f} | {m / 2**20:,.1f} | 1.00 |")
        if n == max(args.sizes) and not args.no_full_check:
            start, seconds = 0, 0.0
            while start < n:  # in chunks of ~10^5 claims: the facts as Python objects are large
                chunk = c.facts(program.checked, 100_000, start)
                facts = [as_facts(m, cl) for m, cl in chunk]
                t = time.perf_counter()
                settled = [medrules.settle(program, f) for f in facts]
                seconds += time.perf_counter() - t
                got = {f: np.array([int(cr.fund(f).paid.scaleb(2)) for s in settled for cr in s.claims]) for f in names}
                k = sum(len(cl) for _, cl in chunk)
                agree("untraced scalar backend", {f: v[start:start + k] for f, v in rv.items()}, got)
                start += k
            print(f"\nall {n:,} claims: vector = numpy = OpenFisca = scalar to the fen (scalar untraced: "
                  f"{n / seconds:,.0f} claims/s)")
    # reading Parquet: read + validate + settle from a claim file, as medrules settle does it
    n = max(args.sizes)
    c = Claims(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claims.parquet"
        pq.write_table(c.arrow(), path)
        tr, mr, _ = measure(lambda: pq.read_table(path))
        tt, mt, (results, rejects) = measure(lambda: settle_table(vp.program, pq.read_table(path)))
        assert rejects.num_rows == 0 and results.num_rows == n
    print(f"\nParquet ({n:,} claims): reading alone {n / tr:,.0f} claims/s; reading + validating + settling "
          f"+ building the results table {n / tt:,.0f} claims/s (peak {mt / 2**20:,.0f} MB)")
    print("\n| rulebook | claims | vector claims/s |\n|---|---:|---:|")
    for path in sorted((ROOT / "rulebooks").glob("*/*.mr")):
        p = medrules.load(path)
        name = path.relative_to(ROOT / 'rulebooks').with_suffix('')
        if p.plan.top.memberships:  # routes each claim to a scheme's rulebook by date: settled through the
            # batch's own path (validation, routing, each scheme's program), from text columns
            from medrules.batch.differential import routed_table
            from medrules.batch.generate import random_routed
            from medrules.batch.run import Rulebooks
            from medrules.batch.vmember import compile_membership
            vm = compile_membership(p)
            cks = [t.program.checked for t in vm.targets]
            gen = random_routed(p.checked, cks, max(1, args.rulebook_claims // 5), seed=7, max_claims=9)
            table, history = routed_table(gen, [p.checked] + cks)
            t, _, (res, _) = measure(lambda: settle_table(Rulebooks(str(name), (vm,)), table, histories=history))
            print(f"| {name} (routed; validation included) | {table.num_rows:,} | {table.num_rows / t:,.0f} |")
            continue
        if p.plan.top.total is None:  # contributions only: premiums, not claims (benchmarks/premiums.py)
            print(f"| {name} | contributions only: see benchmarks/premiums.py | |")
            continue
        try:
            v = compile_vector(p)
        except medrules.MedrulesError as e:  # refused at load, with the construct named
            print(f"| {name} | refused at load: {e.diagnostics[0].message} | |")
            continue
        gen = random_members(p.checked, max(1, args.rulebook_claims // 5), seed=7, max_claims=9)
        from medrules.batch.columns import encode_records
        rows_ = [cl for g in gen for cl in g[1]]
        who = np.array([i for i, g in enumerate(gen) for _ in g[1]])
        ct, mt_ = encode_records(p.checked, "claim", rows_), encode_records(p.checked, "member", [g[0] for g in gen])
        from medrules.batch.vhistory import histories_of
        hist = histories_of(p.checked, gen, [g[2] if len(g) > 2 else {} for g in gen])
        t, _, _ = measure(lambda: settle_columns(v, who, ct, mt_, histories=hist))
        print(f"| {path.relative_to(ROOT / 'rulebooks').with_suffix('')} | {len(rows_):,} | {len(rows_) / t:,.0f} |")


def stream(n: int, per_file: int = 1_000_000) -> None:
    """``medrules settle`` on n claims in Parquet files of 10^6 (whole members each): time and peak RSS.
    The files are kept in the temporary folder's medrules-stream-N (made once)."""
    import resource
    import subprocess
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tempfile.gettempdir()) / f"medrules-stream-{n}"
        folder.mkdir(exist_ok=True)
        for i in range(0, n, per_file):
            if (folder / f"claims-{i // per_file:03d}.parquet").exists():
                continue
            c = Claims(min(per_file, n - i), seed=2012 + i)
            table = c.arrow()
            table = table.set_column(0, "member_id", pa.array([f"F{i}-{m}" for m in c.member]))
            table = table.set_column(2, "claim_id", pa.array([f"F{i}-C{k}" for k in range(c.n)]))
            pq.write_table(table, folder / f"claims-{i // per_file:03d}.parquet")
            del c, table
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "medrules", "settle", str(QUZHOU), str(folder), "--out",
                               str(Path(tmp) / "results.parquet"), "--no-progress"], capture_output=True, text=True)
        seconds = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB → MB (Linux)
        print(done.stdout.splitlines()[0] if done.returncode == 0 else done.stderr)
        print(f"medrules settle, {n:,} claims from Parquet: {seconds:,.0f} s ({n / seconds:,.0f} claims/s), "
              f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
