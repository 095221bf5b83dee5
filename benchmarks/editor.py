"""How long the editor-side work takes: one language-server analysis per keystroke (recovering parse,
load, check, warnings) on each shipped rulebook, a broken one, and the warnings alone.

    python benchmarks/editor.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medrules  # noqa: E402
from medrules.check.reachability import warnings  # noqa: E402
from medrules.lsp.analysis import analyse  # noqa: E402


def timed(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1000


def main() -> None:
    analyse(str(ROOT / "rulebooks/quzhou/employee-2012.mr"), (ROOT / "rulebooks/quzhou/employee-2012.mr").read_text())
    print(f"{'rulebook':45} {'lines':>5} {'analyse ms':>10} {'broken ms':>10} {'warnings ms':>11}")
    for path in sorted((ROOT / "rulebooks").glob("*/*.mr")):
        text = path.read_text(encoding="utf-8")
        broken = text.replace("}", "", 1)
        checked = medrules.load(path).checked
        print(f"{str(path.relative_to(ROOT)):45} {text.count(chr(10)):5} "
              f"{timed(lambda: analyse(str(path), text)):10.1f} {timed(lambda: analyse(str(path), broken)):10.1f} "
              f"{timed(lambda: warnings(checked)):11.2f}")


if __name__ == "__main__":
    main()
