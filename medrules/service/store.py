"""What the service needs from a ledger, and a small SQLite ledger that provides it.

The service only calls :class:`Ledger`'s methods: settle a member's facts (recording one
decision per claim), a decision by id, a member's decisions, members by prefix. Decisions
are append-only: settling the same claim again on the same facts, rulebook version and
outcome records nothing; a changed outcome records a re-settlement that points at the
decision it supersedes and, per fund, the amount to pay (补付, positive) or recover (追回,
negative). Each decision keeps its explanation (schema ``medrules.explanation/1``) in
Chinese and English, so explaining a stored decision never re-evaluates it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import settle
from medrules.explain import explain
from medrules.explain import json as explanation_json_module
from medrules.explain.json import plain
from medrules.facts import facts_from_source, read_json
from medrules.service.rulebooks import Rulebook
from medrules.source import SourceFile

LANGS = ("zh", "en")

SCHEMA = """
CREATE TABLE IF NOT EXISTS submission (
  id INTEGER PRIMARY KEY, member TEXT NOT NULL, rulebook TEXT NOT NULL, facts TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decision (
  id INTEGER PRIMARY KEY, member TEXT NOT NULL, claim TEXT NOT NULL, seq INTEGER NOT NULL,
  rulebook TEXT NOT NULL, rulebook_id TEXT NOT NULL, rulebook_digest TEXT NOT NULL,
  submission INTEGER NOT NULL REFERENCES submission(id), facts_digest TEXT NOT NULL,
  claim_date TEXT NOT NULL, total_cost TEXT NOT NULL, member_pays TEXT NOT NULL, funds TEXT NOT NULL,
  outcome_digest TEXT NOT NULL, supersedes INTEGER REFERENCES decision(id), adjustments TEXT NOT NULL,
  explanation_zh TEXT NOT NULL, explanation_en TEXT NOT NULL, created_at TEXT NOT NULL,
  UNIQUE (member, claim, rulebook, seq));
CREATE INDEX IF NOT EXISTS decision_member ON decision(member);
"""


@attrs.frozen
class Decision:
    id: int
    member: str
    claim: str
    seq: int  # 1 for the first decision on this claim, 2 for its first re-settlement, …
    rulebook: str  # the service's key, e.g. quzhou/employee-2012
    rulebook_id: str
    rulebook_digest: str
    submission: int
    claim_date: str
    total_cost: Decimal
    member_pays: Decimal
    funds: dict[str, Decimal]  # fund -> paid
    supersedes: int | None
    adjustments: dict[str, Decimal]  # fund -> to pay (+, 补付) or recover (−, 追回) against `supersedes`
    explanations: dict[str, dict]  # lang -> medrules.explanation/1 document of this claim
    created_at: str

    @property
    def funds_paid(self) -> Decimal:
        return sum(self.funds.values(), Decimal(0))

    def explanation(self, lang: str) -> dict:
        return self.explanations[lang]

    def summary(self) -> dict:
        return {"id": self.id, "member": self.member, "claim": self.claim, "seq": self.seq,
                "rulebook": self.rulebook, "rulebook_id": self.rulebook_id, "rulebook_digest": self.rulebook_digest,
                "date": self.claim_date, "total_cost": plain(self.total_cost), "member_pays": plain(self.member_pays),
                "funds": plain(self.funds), "funds_paid": plain(self.funds_paid), "supersedes": self.supersedes,
                "adjustments": plain(self.adjustments), "created_at": self.created_at}


@attrs.frozen
class Outcome:
    member: str
    decisions: tuple[Decision, ...]  # one per claim in the facts, the current decision
    recorded: tuple[int, ...]  # ids of the decisions this call added (empty when nothing changed)


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _as_given(located):
    v = located.value
    if isinstance(v, dict):
        return {k: _as_given(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_as_given(x) for x in v]
    if isinstance(v, Decimal):
        return str(v)
    return v


class Ledger:
    """Decisions in an SQLite file (created on first use)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
        return db

    # ------------------------------------------------------------------ settle
    def settle(self, rulebook: Rulebook, source: SourceFile) -> Outcome:
        """Settle every claim in the facts document; record what changed, in one transaction."""
        program = rulebook.program
        facts = facts_from_source(source, program.checked)
        if not facts.member_id:
            raise MedrulesError(error("facts", "the member has no 'id'", hint="add \"id\" to \"member\": "
                                      "decisions are recorded per member"))
        given = _as_given(read_json(source))
        result = settle(program, facts, trace=True)
        docs = {lang: explanation_json_module.explanation_json(explain(program, result, lang)) for lang in LANGS}
        by_lang = {lang: {c["id"]: c for c in docs[lang]["claims"]} for lang in LANGS}
        claims_given = {str(c.get("id", i + 1)): c for i, c in enumerate(given.get("claims", []))}
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        db = self._connect()
        recorded, current = [], []
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                sub = db.execute("INSERT INTO submission (member, rulebook, facts, created_at) VALUES (?,?,?,?)",
                                 (facts.member_id, rulebook.key, source.text, now)).lastrowid
                for c in result.claims:
                    facts_digest = _digest({"member": given.get("member"), "opening": given.get("opening"),
                                            "claim": claims_given.get(c.id)})
                    funds = {f.fund: f.paid for f in c.funds}
                    outcome = _digest({"funds": plain(funds), "member_pays": plain(c.member_pays)})
                    last = db.execute("SELECT * FROM decision WHERE member=? AND claim=? AND rulebook=? "
                                      "ORDER BY seq DESC LIMIT 1", (facts.member_id, c.id, rulebook.key)).fetchone()
                    if (last is not None and last["rulebook_digest"] == rulebook.digest
                            and last["facts_digest"] == facts_digest and last["outcome_digest"] == outcome):
                        current.append(last["id"])
                        continue
                    before = {k: Decimal(v) for k, v in json.loads(last["funds"]).items()} if last else {}
                    adjustments = ({name: paid - before.get(name, Decimal(0)) for name, paid in funds.items()}
                                   if last else {})
                    explanation = {lang: _one_claim(docs[lang], by_lang[lang][c.id]) for lang in LANGS}
                    new = db.execute(
                        "INSERT INTO decision (member, claim, seq, rulebook, rulebook_id, rulebook_digest, submission,"
                        " facts_digest, claim_date, total_cost, member_pays, funds, outcome_digest, supersedes,"
                        " adjustments, explanation_zh, explanation_en, created_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (facts.member_id, c.id, (last["seq"] + 1) if last else 1, rulebook.key,
                         program.checked.id, rulebook.digest, sub, facts_digest, c.date.isoformat(),
                         plain(c.total_cost), plain(c.member_pays), json.dumps(plain(funds)), outcome,
                         last["id"] if last else None, json.dumps(plain(adjustments)),
                         json.dumps(explanation["zh"], ensure_ascii=False),
                         json.dumps(explanation["en"], ensure_ascii=False), now)).lastrowid
                    recorded.append(new)
                    current.append(new)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Outcome(facts.member_id, tuple(self.decision(i) for i in current), tuple(recorded))

    # ------------------------------------------------------------------ read
    def decision(self, decision_id: int) -> Decision | None:
        row = self._connect().execute("SELECT * FROM decision WHERE id=?", (decision_id,)).fetchone()
        return _decision(row) if row else None

    def member_decisions(self, member: str) -> list[Decision]:
        """Every decision on the member's claims, oldest first (re-settlements after what they supersede)."""
        rows = self._connect().execute("SELECT * FROM decision WHERE member=? ORDER BY claim_date, claim, seq",
                                       (member,)).fetchall()
        return [_decision(r) for r in rows]

    def members(self, prefix: str = "", limit: int = 50) -> list[str]:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._connect().execute("SELECT DISTINCT member FROM decision WHERE member LIKE ? ESCAPE '\\' "
                                       "ORDER BY member LIMIT ?", (like, limit)).fetchall()
        return [r["member"] for r in rows]

    def submission(self, submission_id: int) -> SourceFile:
        row = self._connect().execute("SELECT * FROM submission WHERE id=?", (submission_id,)).fetchone()
        return SourceFile(f"submission {submission_id}", row["facts"])

    def counts(self) -> dict:
        db = self._connect()
        return {"decisions": db.execute("SELECT count(*) FROM decision").fetchone()[0],
                "claims": db.execute("SELECT count(*) FROM (SELECT DISTINCT member, claim, rulebook FROM decision)")
                .fetchone()[0]}


def _one_claim(doc: dict, claim: dict) -> dict:
    """An explanation document for one claim (its totals are that claim's)."""
    funds = {f["fund"]: f["paid"] for f in claim["funds"]}
    return doc | {"claims": [claim], "totals": {"total_cost": claim["total_cost"], "funds": funds,
                                                "member_pays": claim["member_pays"]}}


def _decision(row) -> Decision:
    return Decision(
        id=row["id"], member=row["member"], claim=row["claim"], seq=row["seq"], rulebook=row["rulebook"],
        rulebook_id=row["rulebook_id"], rulebook_digest=row["rulebook_digest"], submission=row["submission"],
        claim_date=row["claim_date"], total_cost=Decimal(row["total_cost"]), member_pays=Decimal(row["member_pays"]),
        funds={k: Decimal(v) for k, v in json.loads(row["funds"]).items()}, supersedes=row["supersedes"],
        adjustments={k: Decimal(v) for k, v in json.loads(row["adjustments"]).items()},
        explanations={"zh": json.loads(row["explanation_zh"]), "en": json.loads(row["explanation_en"])},
        created_at=row["created_at"])
