"""The scalar backend and start-up, against issue 8's targets. Run: python benchmarks/scalar.py

Runnable by anyone, not a test. On the Quzhou employee 2012 rulebook and the synthetic members of
``benchmarks/settle.py`` (one year of 1–8 claims each, all kinds of care, caps reached), it measures:

* settlement with tracing on (what ``medrules explain`` runs) and off, in claims per second of CPU
  time (``time.process_time``; the machine is shared, so wall time says little), best and median
  of ``--repeat`` runs over all members;
* explain latency after load: for a sample of members, settle the member's facts traced and explain
  one claim (lines in English; the JSON document; text rendered by rich as the terminal shows it), p50 / p99,
  in CPU time of the thread (``time.thread_time``: on a shared machine the wall clock counts other processes);
* whole processes: ``medrules check rulebooks/quzhou/employee-2012.mr`` (and its Chinese-keyword twin,
  ``rulebooks/zh/quzhou/employee-2012.mr``) and ``medrules --help``, ``--processes`` times each, CPU time of
  the child (user + system) and wall time, min and median; bytecode written and a parser cache of the run's own.

Each figure is printed with its target and the ratio (figure ÷ target for throughput, target ÷ figure
for times: ≥ 1 means the target is met).
"""
from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import medrules  # noqa: E402
from settle import synthetic_members  # noqa: E402

RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
TARGETS = {"traced": 30_000, "explain_ms": 5.0, "check_ms": 300.0, "help_ms": 250.0}


def cpu_rate(members, program, trace: bool, repeat: int) -> tuple[float, float]:
    """Claims per CPU second settling every member: (best, median) of ``repeat`` runs."""
    claims = sum(len(m.claims) for m in members)
    rates = []
    for _ in range(repeat):
        start = time.process_time()
        for m in members:
            medrules.settle(program, m, trace=trace)
        rates.append(claims / (time.process_time() - start))
    return max(rates), statistics.median(rates)


def explain_latency(members, program, sample: int, seed: int = 8) -> dict[str, list[float]]:
    """Milliseconds to settle one member traced and explain one of its claims: as lines (sentence, arithmetic
    and citation of every step), as the JSON document (``--format json``) and rendered as the terminal shows
    it (rich). The first explanation after load (which generates and compiles the kernels) is reported on its own."""
    import json

    from rich.console import Console

    from medrules.explain import explain
    from medrules.explain.json import explanation_json
    from medrules.explain.text import render_explanation

    rng = random.Random(seed)
    chosen = [rng.choice(members) for _ in range(sample + 1)]
    times: dict[str, list[float]] = {"first": [], "lines": [], "json": [], "rendered": []}
    console = Console(file=io.StringIO(), width=120, color_system=None)
    for i, facts in enumerate(chosen):
        claim = rng.choice(facts.claims).id
        start = time.thread_time()
        e = explain(program, medrules.settle(program, facts, trace=True), "en", [claim])
        lines = time.thread_time()
        json.dumps(explanation_json(e), ensure_ascii=False)
        as_json = time.thread_time()
        console.print(render_explanation(e))
        rendered = time.thread_time()
        if i == 0:
            times["first"].append((lines - start) * 1000)
            continue
        times["lines"].append((lines - start) * 1000)
        times["json"].append((as_json - start) * 1000)
        times["rendered"].append((rendered - as_json + lines - start) * 1000)
        console.file.seek(0)
        console.file.truncate()
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def process_times(args: list[str], n: int, env: dict | None = None) -> tuple[list[float], list[float]]:
    """(CPU ms, wall ms) of ``n`` runs of a whole process (a warm-up run first, not counted)."""
    cpu, wall = [], []
    for i in range(n + 1):
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        elapsed = time.perf_counter() - start
        after = os.times()
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed with status {done.returncode}")
        if i:
            cpu.append((after.children_user - before.children_user + after.children_system
                        - before.children_system) * 1000)
            wall.append(elapsed * 1000)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the whole settlement, each timed")
    parser.add_argument("--explains", type=int, default=500, help="members explained one claim each")
    parser.add_argument("--processes", type=int, default=10, help="runs of each whole process")
    args = parser.parse_args()

    start = time.process_time()
    program = medrules.load(RULEBOOK)
    load_ms = (time.process_time() - start) * 1000
    members = synthetic_members(args.members, program.checked)
    claims = sum(len(m.claims) for m in members)
    print(f"medrules {medrules.__version__} · Quzhou employee 2012 · {args.members:,} members · {claims:,} claims · "
          f"Python {sys.version.split()[0]} · load {load_ms:.0f} ms CPU · load average "
          f"{os.getloadavg()[0]:.1f}")

    rows = []
    traced = cpu_rate(members, program, True, args.repeat)
    untraced = cpu_rate(members, program, False, args.repeat)
    rows.append(("settle, traced (claims/s CPU)", traced, TARGETS["traced"], True))
    rows.append(("settle, untraced (claims/s CPU)", untraced, None, True))

    times = explain_latency(members, program, args.explains)
    print(f"first explanation after load (generates and compiles the kernels): {times['first'][0]:.1f} ms")
    for key, label in (("lines", "explain one claim, lines (ms)"), ("json", "explain one claim, JSON (ms)"),
                       ("rendered", "explain one claim, rich text (ms)")):
        rows.append((label, (percentile(times[key], 50), percentile(times[key], 99)), TARGETS["explain_ms"], False))

    exe = [sys.executable, "-m", "medrules"]
    # The processes as installed: bytecode written (the warm-up run writes it, as pip does at install; this
    # environment may say PYTHONDONTWRITEBYTECODE) and the parser cache of this run's own (the warm-up run writes
    # it; a cache directory shared with other checkouts of another grammar would be rebuilt by turns).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["MEDRULES_CACHE_DIR"] = tempfile.mkdtemp(prefix="medrules-bench-")
    zh_rulebook = RULEBOOK.parent.parent / "zh" / "quzhou" / RULEBOOK.name
    for label, argv, target in (("medrules check quzhou (ms)", exe + ["check", str(RULEBOOK.relative_to(ROOT))],
                                 TARGETS["check_ms"]),
                                ("medrules check quzhou, zh keywords (ms)",
                                 exe + ["check", str(zh_rulebook.relative_to(ROOT))], TARGETS["check_ms"]),
                                ("medrules --help (ms)", exe + ["--help"], TARGETS["help_ms"])):
        cpu, wall = process_times(argv, args.processes, env)
        rows.append((label + " CPU", (min(cpu), statistics.median(cpu)), target, False))
        rows.append((label + " wall", (min(wall), statistics.median(wall)), None, False))

    print(f"\n{'measure':<40} {'best / p50':>12} {'median / p99':>13} {'target':>9} {'ratio':>7}")
    for label, (first, second), target, higher in rows:
        ratio = "" if target is None else f"{(first / target if higher else target / first):.2f}"
        fmt = "{:>12,.0f}" if higher else "{:>12.1f}"
        print(f"{label:<40} " + fmt.format(first) + " " + fmt.replace("12", "13").format(second) +
              (f" {target:>9,}" if target is not None else " " * 10) + f" {ratio:>7}")
    print("\n(throughput: best and median of the runs; explain: p50 and p99; processes: min and median;"
          " ratio ≥ 1 meets the target, computed on best / p50 / min)")


if __name__ == "__main__":
    main()
