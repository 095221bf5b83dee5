"""Load and faults for `medrules serve`. Run: python benchmarks/load.py [--members 200] [--explains 1000]

Bounded and local: it starts its own server on a free 127.0.0.1 port, in a fresh instance folder,
and every phase stops after a fixed number of requests or --seconds, whichever comes first.

1. settle   — N members (synthetic Quzhou 2012 employees, 4 claims each) settled through the API
              by --workers concurrent clients;
2. explain  — stored decisions explained (JSON, zh and en; every tenth as HTML), chosen at random;
3. faults   — N more members settled while the server is killed (SIGKILL) and restarted twice;
              clients re-send a request whose connection failed (settling is idempotent).

Prints requests per second and p50/p99 latency per phase, the errors (any non-2xx answer, or a
request that still failed after the server came back), and checks the ledger: every member has
exactly one decision per claim — none lost, none recorded twice — and the funds' totals equal
those of a clean settlement of the same facts, to the fen.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

RULEBOOK = "quzhou/employee-2012"
PASSWORD = "load-test-password"


def member_facts(i: int, rng: random.Random) -> dict:
    """One member's year: an outpatient visit, two admissions (one large: caps are reached), a family ward."""
    return {"member": {"id": f"LOAD-{i:05d}", "category": rng.choice(["working", "retired"])},
            "claims": [
                {"id": "C1", "date": "2012-02-03", "kind": "outpatient", "institution": "other_designated",
                 "compliant_cost": f"{rng.randint(500, 4000)}.{rng.randint(0, 99):02d}", "self_paid": "0.00"},
                {"id": "C2", "date": "2012-04-10", "kind": "inpatient", "institution": "other_designated",
                 "compliant_cost": f"{rng.randint(20000, 90000)}.{rng.randint(0, 99):02d}", "self_paid": "0.00"},
                {"id": "C3", "date": "2012-08-21", "kind": "inpatient", "institution": "other_designated",
                 "compliant_cost": f"{rng.randint(50000, 250000)}.{rng.randint(0, 99):02d}", "self_paid": "0.00"},
                {"id": "C4", "date": "2012-11-30", "kind": "family_ward", "institution": "other_designated",
                 "compliant_cost": f"{rng.randint(1000, 9000)}.{rng.randint(0, 99):02d}", "self_paid": "0.00"}]}


class Server:
    def __init__(self, instance: Path):
        self.instance, self.proc = instance, None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "medrules", "serve", "--instance", str(instance),
                    "--rulebooks", str(ROOT / "rulebooks"), "--port", str(self.port)]

    def create_clerk(self):
        subprocess.run(self.cmd[:-2] + ["--create-clerk", "load"], check=True, capture_output=True,
                       env=os.environ | {"MEDRULES_CLERK_PASSWORD": PASSWORD})

    def start(self):
        self.log = open(self.instance / "server.log", "a")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/api/rulebooks", timeout=1)
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"the server stopped: {(self.instance / 'server.log').read_text()[-2000:]}")
                time.sleep(0.05)
        raise SystemExit("the server did not start within 60 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def run_phase(name, jobs, workers, seconds, server, retry=False):
    """Run ``jobs`` (callables taking an httpx.Client) on ``workers`` threads; returns stats."""
    latencies, errors, retried = [], [], [0]
    lock = threading.Lock()
    todo = list(jobs)
    deadline = time.monotonic() + seconds
    start = time.monotonic()

    def worker():
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while True:
                with lock:
                    if not todo or time.monotonic() > deadline:
                        return
                    job = todo.pop(0)
                while True:
                    t0 = time.monotonic()
                    try:
                        r = job(client)
                    except httpx.TransportError as exc:  # the server is down: wait, then send it again
                        if not retry or time.monotonic() > deadline:
                            with lock:
                                errors.append(f"{type(exc).__name__} (gave up)" if retry else type(exc).__name__)
                            break
                        with lock:
                            retried[0] += 1
                        time.sleep(0.2)
                        continue
                    with lock:
                        latencies.append(time.monotonic() - t0)
                        if not r.is_success:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                    break

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    lat = sorted(latencies)
    return {"phase": name, "requests": len(lat), "errors": len(errors), "error_samples": errors[:3],
            "seconds": round(elapsed, 2), "rps": round(len(lat) / elapsed, 1) if elapsed else 0,
            "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1) if lat else None,
            "retried": retried[0], "left": len(todo)}


def check_ledger(instance: Path, members: list[dict]) -> dict:
    """Every member: one decision per claim, sequence 1; totals equal a clean settlement's, to the fen."""
    import medrules
    from medrules.evaluate import settle
    from medrules.facts import facts_from_source
    from medrules.ledger import Ledger
    from medrules.source import SourceFile
    program = medrules.load(ROOT / "rulebooks" / "quzhou" / "employee-2012.mr")
    ledger = Ledger.open(instance / "ledger.sqlite")
    lost, duplicated, wrong = [], [], []
    expected_total = Decimal(0)
    ledger_total = Decimal(0)
    for doc in members:
        mid = doc["member"]["id"]
        history = ledger.member_history(mid)
        claims = [d.claim_id for d in history]
        if sorted(set(claims)) != [c["id"] for c in doc["claims"]]:
            lost.append(mid)
        if len(claims) != len(set(claims)) or any(d.sequence != 1 for d in history):
            duplicated.append(mid)
        clean = settle(program, facts_from_source(SourceFile(mid, json.dumps(doc)), program.checked))
        expected = sum((c.funds_paid for c in clean.claims), Decimal(0))
        got = sum((d.funds_paid for d in history), Decimal(0))
        expected_total += expected
        ledger_total += got
        if expected != got:
            wrong.append(mid)
    totals = ledger.totals()
    ledger.close()
    return {"members": len(members), "lost": len(lost), "duplicated": len(duplicated), "wrong_amounts": len(wrong),
            "funds_expected": str(expected_total), "funds_in_ledger": str(ledger_total),
            "ledger_decisions": totals["decisions"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=200, help="members per settle phase (4 claims each)")
    ap.add_argument("--explains", type=int, default=1000, help="explanations to ask for")
    ap.add_argument("--workers", type=int, default=4, help="concurrent clients")
    ap.add_argument("--seconds", type=float, default=120, help="time bound per phase")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    rng = random.Random(2012)
    with tempfile.TemporaryDirectory(prefix="medrules-load-") as tmp:
        instance = Path(tmp)
        server = Server(instance)
        server.create_clerk()
        server.start()
        try:
            token = httpx.post(server.url + "/api/token", json={"name": "load", "password": PASSWORD}).json()["token"]
            auth = {"Authorization": f"Bearer {token}", "content-type": "application/json"}

            def settle_job(doc):
                body = json.dumps(doc).encode()
                return lambda c: c.post(f"/api/rulebooks/{RULEBOOK}/settle", content=body, headers=auth)

            first = [member_facts(i, rng) for i in range(args.members)]
            results = [run_phase("settle", [settle_job(d) for d in first], args.workers, args.seconds, server)]

            ids = list(range(1, 4 * args.members + 1))
            explains = []
            for k in range(args.explains):
                i, lang = rng.choice(ids), rng.choice(["zh", "en"])
                fmt = "html" if k % 10 == 9 else "json"
                explains.append(lambda c, i=i, lang=lang, fmt=fmt: c.get(
                    f"/api/decisions/{i}/explanation", params={"lang": lang, "format": fmt}, headers=auth))
            results.append(run_phase("explain", explains, args.workers, args.seconds, server))

            second = [member_facts(args.members + i, rng) for i in range(args.members)]
            kills = []

            def killer():  # two kills, about a third and two thirds of the way through
                per_request = max(results[0]["seconds"] / max(results[0]["requests"], 1), 0.005)
                for _ in range(2):
                    time.sleep(per_request * args.members / 3)
                    server.kill()
                    kills.append(time.monotonic())
                    server.start()
            k = threading.Thread(target=killer)
            k.start()
            faults = run_phase("settle, server killed twice", [settle_job(d) for d in second], args.workers,
                               args.seconds, server, retry=True)
            k.join()
            faults["kills"] = len(kills)
            results.append(faults)
        finally:
            server.stop()
        ledger = check_ledger(instance, first[:args.members - results[0]["left"]]
                              + second[:args.members - faults["left"]])
    if args.json:
        print(json.dumps({"phases": results, "ledger": ledger}, indent=2))
        return
    print(f"{'phase':30} {'requests':>8} {'errors':>6} {'seconds':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['phase']:30} {r['requests']:>8} {r['errors']:>6} {r['seconds']:>8} {r['rps']:>7} "
              f"{r['p50_ms']:>8} {r['p99_ms']:>8}")
        for e in r["error_samples"]:
            print(f"    error: {e}")
    print(f"kills: {faults['kills']}; requests re-sent after a failed connection: {faults['retried']}")
    print(f"ledger: {ledger['members']} members, {ledger['ledger_decisions']} decisions; lost {ledger['lost']}, "
          f"duplicated {ledger['duplicated']}, wrong amounts {ledger['wrong_amounts']}; funds "
          f"{ledger['funds_in_ledger']} (a clean settlement: {ledger['funds_expected']})")


if __name__ == "__main__":
    main()
