"""Crash safety: a batch settling many members, killed with SIGKILL at random moments and run again,
ends with exactly the ledger of a clean run — every decision once, every adjustment once, the same totals
to the fen. Seeded; 10 kills in the default suite, 40 more under ``-m slow``.

The amounts are not hand-computed here: the property is that a crashed-and-resumed run and a clean run
agree exactly (the amounts themselves are checked by hand in tests/test_ledger.py).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from medrules.ledger import Ledger
from medrules.ledger.sources import load_rulebooks

ROOT = Path(__file__).resolve().parent.parent
RULEBOOK = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
FORK = multiprocessing.get_context("fork")  # a child process with medrules already imported and loaded


def settle_batch(url: str, files: list[Path], progress) -> None:
    """The child: the batch, reporting each member once its transaction has committed."""
    with Ledger.open(url) as ledger:
        ledger.record_batch(RULEBOOK, files, on_settled=lambda facts, ds: progress.send("settled"))
    progress.send("done")


def batch(tmp_path: Path, members: int, seed: int) -> list[Path]:
    """Facts files for many members, then corrections for some of them (same run): a cost corrected,
    a claim added, a contribution paid late — so that resuming must not undo the run's own corrections."""
    rnd = random.Random(seed)
    files, corrections = [], []
    for m in range(members):
        member = {"id": f"M{m:03d}", "category": rnd.choice(["working", "retired"])}
        claims = []
        for c in range(rnd.randint(1, 4)):
            kind = rnd.choice(["inpatient", "outpatient", "family_ward"])
            claims.append({"id": f"C{c + 1}", "date": f"2012-{c * 3 + 1:02d}-{rnd.randint(1, 28):02d}", "kind": kind,
                           "compliant_cost": f"{rnd.randint(100, 90_000 if kind == 'inpatient' else 3_000)}.{rnd.randint(0, 99):02d}"})
        files.append(_write(tmp_path / f"a-{m:03d}.json", {"member": member, "claims": claims}))
        if rnd.random() < 0.4:
            fixed = dict(claims[0], compliant_cost=f"{rnd.randint(100, 60_000)}.00")
            corrections.append(_write(tmp_path / f"b-{m:03d}.json", {"member": member, "claims": [fixed]}))
    return files + corrections


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def snapshot(url: str) -> dict:
    """Everything a payment depends on, without row ids or times (which differ between runs)."""
    with Ledger.open(url) as ledger:
        decisions = sorted((d.member_id, d.claim_id, d.sequence, tuple((f.fund, str(f.paid)) for f in d.funds),
                            str(d.member_pays), tuple((a.fund, str(a.amount)) for a in d.adjustments))
                           for d in ledger.decisions())
        totals = ledger.totals()
        with ledger.engine.connect() as conn:
            requests = conn.execute(sa.text("SELECT count(*) FROM requests")).scalar()
    return {"decisions": decisions, "totals": totals, "requests": requests}


def worker(url: str, files: list[Path]):
    receive, send = FORK.Pipe(duplex=False)
    proc = FORK.Process(target=settle_batch, args=(url, files, send), daemon=True)
    proc.start()
    send.close()
    return proc, receive


def message(receive, timeout: float = 600) -> str | None:
    """The child's next report, or None once it has exited."""
    try:
        return receive.recv() if receive.poll(timeout) else None
    except EOFError:
        return None


def crash_and_resume(tmp_path: Path, kills: int, members: int, seed: int) -> None:
    files = batch(tmp_path, members, seed)
    clean = f"sqlite:///{tmp_path / 'clean.sqlite'}"
    with Ledger.open(clean) as ledger:
        ledger.record_batch(RULEBOOK, files)
    want = snapshot(clean)
    crashed = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    rnd = random.Random(seed)
    load_rulebooks(RULEBOOK)  # loaded once, here: every child starts with it
    killed = 0
    while killed < kills:
        proc, receive = worker(crashed, files)
        for _ in range(rnd.randint(0, len(files) - 1)):  # members to let commit first (those already settled by
            # an earlier run are skipped quickly, so later kills land further into the batch, corrections too)
            if message(receive) != "settled":
                break
        time.sleep(rnd.uniform(0, 0.05))  # then kill anywhere: mid-transaction, mid-commit, between members
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.join()
        assert proc.exitcode in (-signal.SIGKILL, 0)
    before_last = len(snapshot(crashed)["decisions"])
    # the killed runs got somewhere; whether they left work for the last run depends on timing (when they
    # did not, the last run must record nothing new: the final comparison below checks that too)
    assert 0 < before_last <= len(want["decisions"])
    proc, receive = worker(crashed, files)  # the last run completes
    while (m := message(receive)) == "settled":
        pass
    proc.join()
    assert m == "done" and proc.exitcode == 0
    with sa.create_engine(crashed).connect() as conn:
        assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
    got = snapshot(crashed)
    assert got["totals"] == want["totals"]  # to the fen
    assert got["decisions"] == want["decisions"]  # nothing lost, nothing twice
    assert got["requests"] == want["requests"] == len(files)


def test_a_batch_killed_ten_times_ends_as_a_clean_run(tmp_path):
    crash_and_resume(tmp_path, kills=10, members=12, seed=20121)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_batch_killed_many_times_ends_as_a_clean_run(tmp_path, seed):
    crash_and_resume(tmp_path, kills=10, members=40, seed=seed)
