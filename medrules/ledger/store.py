"""The ledger: open (create or upgrade by migration), settle into it, read it back.

Every write happens in one transaction per member: the member's facts are merged with what the
ledger already holds for them, all their claims are settled again (so later claims of the same
benefit year follow a corrected earlier one), and for each claim whose decision differs from the
latest recorded one a new decision is appended with, per fund, the difference to pay or recover.
Rows are only ever inserted; the database refuses UPDATE and DELETE.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import ClaimResult, settle
from medrules.explain import explain
from medrules.explain import json as explanation
from medrules.explain.json import claim_json, plain
from medrules.facts import facts_from_source
from medrules.ledger import schema as t
from medrules.ledger.model import Adjustment, Decision, FundAmount, from_fen, to_fen
from medrules.ledger.routing import history_changes, moved, routing, routing_key
from medrules.ledger.sources import Rulebooks, Version, canonical, digest, load_rulebooks, merge, read_facts
from medrules.source import SourceFile

DEFAULT_URL = "sqlite:///medrules-ledger.sqlite"
AMOUNTS = ("base", "deductible", "payable", "above_cap", "above_ceiling", "remaining")
LANGS = ("zh", "en")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _dec(text: str) -> Decimal:
    return Decimal(text)


def _json(text: str):
    return json.loads(text, parse_float=Decimal)


def _url(url: str | Path | None) -> str:
    """A URL, or a path that means a SQLite file."""
    if url is None:
        return os.environ.get("MEDRULES_LEDGER", DEFAULT_URL)
    url = str(url)
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):  # psycopg 3, not psycopg2
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Ledger:
    """``Ledger.open(url)``: a SQLite file by default, or PostgreSQL (``postgresql://…``)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, url: str | Path | None = None) -> Ledger:
        """Open a ledger, creating it or applying any migrations it lacks."""
        url = _url(url)
        try:
            engine = _engine(url)
            ledger = cls(engine)
            ledger._migrate()
        except sa.exc.ArgumentError as exc:
            raise MedrulesError(error("ledger", f"not a ledger URL: {url} ({exc})",
                                      hint="a file path, sqlite:///path or postgresql://user@host/db")) from None
        except sa.exc.OperationalError as exc:
            raise MedrulesError(error("ledger", f"cannot open the ledger {_safe(url)}: {_first_line(exc)}")) from None
        return ledger

    @contextlib.contextmanager
    def _writing(self):
        """A write transaction (on SQLite, it holds the write lock from its first statement)."""
        with self.engine.connect() as conn:
            conn.execution_options(medrules_write=True)
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        from alembic import command
        head = _head()
        with self._writing() as conn:
            if conn.dialect.name == "postgresql":  # two processes opening a new database: one migrates
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7243001)"))
            if sa.inspect(conn).has_table("alembic_version") and \
                    conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head:
                return  # up to date: the common case, without loading Alembic's machinery
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    # ------------------------------------------------------------ settling
    def rulebooks(self, path: str | Path) -> Rulebooks:
        """A rulebook or folder of policy years, loaded once per process (again if its files change)."""
        return load_rulebooks(path)

    def settle_member(self, rulebooks: Rulebooks | str | Path, facts: SourceFile | str | Path | dict,
                      once: bool | str = False) -> list[Decision]:
        """Settle one member's claims into the ledger, in one transaction; returns the current decision on
        every claim of the member (``recorded`` tells which this call added). The facts are added to what the
        ledger holds for the member: claims with the same id replace the stored ones, new claims are added.

        ``once``: settle this request at most once. Its idempotency key is the hash of the facts as given
        and of the rulebook versions (and of ``once`` itself when it is a string, e.g. a run's name); a
        request whose key is in the ledger records nothing, even if a later request changed the member's
        facts since. Batches use it, so that a batch run again after a crash does not undo its own corrections."""
        rb = rulebooks if isinstance(rulebooks, Rulebooks) else self.rulebooks(rulebooks)
        source = _facts_source(facts)
        incoming = read_facts(source)
        member_id = incoming["member"]["id"]
        key = None
        if once:
            key = digest(["request", once if isinstance(once, str) else "", canonical(incoming)]
                         + [v.hash for v in rb.versions])
            with self.engine.connect() as conn:  # settled already (a resumed batch): nothing to check or do
                if conn.execute(sa.select(t.requests.c.key).where(t.requests.c.key == key)).first():
                    return _current_in(conn, member_id)
        with self._writing() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:m))"), {"m": member_id})
            if key is not None and conn.execute(sa.select(t.requests.c.key).where(t.requests.c.key == key)).first():
                return _current_in(conn, member_id)
            recording = _Recording(conn, rb, member_id)
            decisions = recording.run(incoming, source)
            if key is not None:
                conn.execute(t.requests.insert().values(key=key, member_id=member_id, facts_hash=recording.facts_hash,
                                                        recorded_at=recording.now))
            return decisions

    def record_batch(self, rulebooks: Rulebooks | str | Path, facts_files, on_error=None,
                     run: str = "", on_settled=None) -> list[list[Decision]]:
        """Settle many members, one transaction each, each request at most once (``settle_member(once=…)``):
        a crash loses at most the member in progress, and running the batch again records nothing twice.
        ``on_error(facts, MedrulesError)`` is called for a member whose facts are refused, and the batch goes
        on; without it the error is raised. ``on_settled(facts, decisions)`` is called after each member's
        transaction has committed (progress reports)."""
        rb = rulebooks if isinstance(rulebooks, Rulebooks) else self.rulebooks(rulebooks)
        out = []
        for facts in facts_files:
            try:
                decisions = self.settle_member(rb, facts, once=run or True)
            except MedrulesError as exc:
                if on_error is None:
                    raise
                on_error(facts, exc)
                continue
            out.append(decisions)
            if on_settled is not None:
                on_settled(facts, decisions)
        return out

    # ------------------------------------------------------------ reading
    def decision(self, decision_id: int) -> Decision:
        rows = self._decisions(t.decisions.c.id == decision_id)
        if not rows:
            raise MedrulesError(error("ledger", f"there is no decision {decision_id} in the ledger"))
        return rows[0]

    def claim_history(self, claim_id: str, member_id: str | None = None) -> list[Decision]:
        """Every decision on a claim, oldest first (claim ids are per member; give the member when shared)."""
        where = t.decisions.c.claim_id == claim_id
        if member_id is not None:
            where = sa.and_(where, t.decisions.c.member_id == member_id)
        return self._decisions(where)

    def member_history(self, member_id: str) -> list[Decision]:
        """Every decision on the member's claims: by claim date, each claim's decisions oldest first."""
        return self._decisions(t.decisions.c.member_id == member_id)

    def decisions(self) -> list[Decision]:
        """Every decision in the ledger, by member, claim date, claim and sequence."""
        return self._decisions(sa.true())

    def current(self, member_id: str | None = None) -> list[Decision]:
        """The latest decision on each claim (of one member, or of all)."""
        d = t.decisions
        latest = (sa.select(d.c.member_id, d.c.claim_id, sa.func.max(d.c.sequence).label("sequence"))
                  .group_by(d.c.member_id, d.c.claim_id))
        if member_id is not None:
            latest = latest.where(d.c.member_id == member_id)
        latest = latest.subquery()
        ids = sa.select(d.c.id).join(latest, sa.and_(d.c.member_id == latest.c.member_id,
                                                     d.c.claim_id == latest.c.claim_id,
                                                     d.c.sequence == latest.c.sequence))
        return self._decisions(d.c.id.in_(ids))

    def members(self, search: str = "", limit: int = 100) -> list[dict]:
        """Members whose id contains ``search``: their number of claims and decisions, and the last record."""
        d = t.decisions
        q = (sa.select(d.c.member_id, sa.func.count(sa.distinct(d.c.claim_id)), sa.func.count(d.c.id),
                       sa.func.max(d.c.recorded_at))
             .group_by(d.c.member_id).order_by(d.c.member_id).limit(limit))
        if search:
            q = q.where(d.c.member_id.contains(search, autoescape=True))
        with self.engine.connect() as conn:
            return [{"member_id": m, "claims": c, "decisions": n, "last_recorded": last}
                    for m, c, n, last in conn.execute(q)]

    def adjustments(self, member_id: str | None = None, claim_id: str | None = None) -> list[Adjustment]:
        """Amounts to pay (补付) or recover (追回), oldest first."""
        a = t.adjustments
        q = sa.select(a).order_by(a.c.id)
        if member_id is not None:
            q = q.where(a.c.member_id == member_id)
        if claim_id is not None:
            q = q.where(a.c.claim_id == claim_id)
        with self.engine.connect() as conn:
            return [_adjustment(r) for r in conn.execute(q).mappings()]

    def explanation(self, decision_id: int, lang: str = "zh") -> dict:
        """The explanation document (schema medrules.explanation/1) stored with the decision: exactly what
        was decided, without settling anything again."""
        if lang not in LANGS:
            raise MedrulesError(error("ledger", f"no explanation in '{lang}'", hint="zh or en"))
        column = t.decisions.c.trace_zh if lang == "zh" else t.decisions.c.trace_en
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(column).where(t.decisions.c.id == decision_id)).scalar()
        if text is None:
            raise MedrulesError(error("ledger", f"there is no decision {decision_id} in the ledger"))
        return json.loads(text)

    def facts_document(self, facts_hash: str) -> dict:
        """The member's whole facts document a decision was settled on (as given)."""
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(t.facts_documents.c.document)
                                .where(t.facts_documents.c.hash == facts_hash)).scalar()
        if text is None:
            raise MedrulesError(error("ledger", f"there is no facts document {facts_hash} in the ledger"))
        return _json(text)

    def totals(self) -> dict:
        """Over the latest decision on every claim: claims, what each fund pays, what members pay; and
        the sum of all adjustments per fund (what re-settlements moved)."""
        current = self.current()
        funds: dict[str, Decimal] = {}
        for d in current:
            for f in d.funds:
                funds[f.fund] = funds.get(f.fund, Decimal("0.00")) + f.paid
        a = t.adjustments
        with self.engine.connect() as conn:
            moved = {fund: from_fen(fen) for fund, fen in conn.execute(
                sa.select(a.c.fund, sa.func.sum(a.c.amount_fen)).group_by(a.c.fund))}
            rows = conn.execute(sa.select(sa.func.count()).select_from(t.decisions)).scalar()
        return {"claims": len(current), "decisions": rows, "funds": dict(sorted(funds.items())),
                "member_pays": sum((d.member_pays for d in current), Decimal("0.00")),
                "adjustments": dict(sorted(moved.items()))}

    def _decisions(self, where) -> list[Decision]:
        with self.engine.connect() as conn:
            return _decisions_in(conn, where)


# ---------------------------------------------------------------- one member's transaction
class _Recording:
    def __init__(self, conn: sa.Connection, rb: Rulebooks, member_id: str):
        self.conn, self.rb, self.member_id = conn, rb, member_id
        self.now = _now()

    def run(self, incoming: dict, source: SourceFile) -> list[Decision]:
        conn, member_id = self.conn, self.member_id
        stored_hash = conn.execute(sa.select(t.member_facts.c.facts_hash).where(t.member_facts.c.member_id == member_id)
                                   .order_by(t.member_facts.c.id.desc()).limit(1)).scalar()
        stored = _json(conn.execute(sa.select(t.facts_documents.c.document)
                                    .where(t.facts_documents.c.hash == stored_hash)).scalar()) if stored_hash else None
        merged = self.merged = merge(stored, incoming)
        text = canonical(merged, indent=2)
        facts_hash = self.facts_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if merged is incoming:  # nothing stored to add to: settle the file itself (errors located in it)
            results, used = _settle_traced(self.rb, source)
        else:
            _validate(self.rb, source)  # mistakes are reported in the user's own file, before the merged one
            results, used = _settle_traced(self.rb, SourceFile(f"ledger:{member_id}", text))
        docs = None
        latest = self._latest()
        given = {c["id"]: c for c in merged["claims"]}
        member_given = merged["member"]
        new_rows = []
        changed_claims = [c.id for c in results if c.id in latest
                          and (_json(latest[c.id]["claim_facts"]) != given[c.id]
                               or latest[c.id]["plan_hash"] != used[c.id].plan_hash)]
        for c in results:
            version = used[c.id]
            outcome = claim_json(c)
            routed = routing(self.rb, c)  # under a membership rulebook: the scheme and why (else None)
            key = digest([member_id, c.id, version.plan_hash, canonical(given[c.id]), canonical(member_given),
                          canonical(outcome)] + routing_key(routed))
            before = latest.get(c.id)
            if before is not None and before["key"] == key:
                continue
            if not new_rows:  # the first change: record the facts it rests on, explain (only now)
                self._facts(facts_hash, text, stored_hash)
                docs = _documents(results, used, member_id)
            self._version(version)
            new_rows.append(self._insert(c, version, key, before, facts_hash, given[c.id], member_given, docs,
                                         changed_claims, routed))
        if not new_rows:
            self._facts(facts_hash, text, stored_hash)  # the facts as now known, even if no decision moved
        decisions = _by_claim(_decisions_in(self.conn, t.decisions.c.member_id == member_id))
        return [_evolve_recorded(decisions[c.id], decisions[c.id].id in new_rows) for c in results]

    def _document(self, facts_hash: str) -> dict:
        return _json(self.conn.execute(sa.select(t.facts_documents.c.document)
                                       .where(t.facts_documents.c.hash == facts_hash)).scalar())

    def _latest(self) -> dict[str, dict]:
        d = t.decisions
        out = {}
        for row in self.conn.execute(sa.select(d.c.id, d.c.claim_id, d.c.sequence, d.c.key, d.c.claim_facts,
                                               d.c.member_facts, d.c.rulebook_hash, d.c.plan_hash, d.c.rulebook_id,
                                               d.c.trace_zh,
                                               d.c.trace_en, d.c.membership, d.c.facts_hash)
                                     .where(d.c.member_id == self.member_id).order_by(d.c.sequence)).mappings():
            out[row["claim_id"]] = dict(row)
        return out

    def _facts(self, facts_hash: str, text: str, stored_hash: str | None) -> None:
        if self.conn.execute(sa.select(t.facts_documents.c.hash).where(t.facts_documents.c.hash == facts_hash)).first() is None:
            self.conn.execute(t.facts_documents.insert().values(hash=facts_hash, member_id=self.member_id,
                                                                document=text, recorded_at=self.now))
        if stored_hash != facts_hash:
            self.conn.execute(t.member_facts.insert().values(member_id=self.member_id, facts_hash=facts_hash,
                                                             recorded_at=self.now))

    def _version(self, v: Version) -> None:
        if self.conn.execute(sa.select(t.rulebook_versions.c.hash).where(t.rulebook_versions.c.hash == v.hash)).first():
            return
        h = v.program.checked.rulebook.header
        self.conn.execute(t.rulebook_versions.insert().values(
            hash=v.hash, rulebook_id=h.id, file=v.program.checked.file, effective_from=h.effective_from,
            effective_to=h.effective_to, files=json.dumps(list(v.files), ensure_ascii=False), recorded_at=self.now,
            plan_hash=v.plan_hash))

    def _insert(self, c: ClaimResult, version: Version, key: str, before: dict | None, facts_hash: str,
                claim_given: dict, member_given: dict, docs: dict, changed_claims: list[str],
                routed: dict | None = None) -> int:
        d = t.decisions
        decision_id = self.conn.execute(d.insert().values(
            member_id=self.member_id, claim_id=c.id, sequence=before["sequence"] + 1 if before else 1,
            supersedes=before["id"] if before else None, key=key, claim_date=c.date, benefit_year=c.year,
            rulebook_hash=version.hash, plan_hash=version.plan_hash, rulebook_id=version.program.checked.id,
            facts_hash=facts_hash,
            claim_facts=canonical(claim_given), member_facts=canonical(member_given),
            total_cost=plain(c.total_cost), funds_paid_fen=to_fen(c.funds_paid), member_pays=plain(c.member_pays),
            accumulators_after=json.dumps(plain(c.accumulators), ensure_ascii=False, sort_keys=True),
            trace_zh=json.dumps(docs["zh"][c.id], ensure_ascii=False),
            trace_en=json.dumps(docs["en"][c.id], ensure_ascii=False), recorded_at=self.now,
            membership=json.dumps(routed, ensure_ascii=False) if routed else None,
        ).returning(d.c.id)).scalar_one()
        self.conn.execute(t.decision_funds.insert(), [
            {"decision_id": decision_id, "position": i, "fund": f.fund, "applied": f.applied,
             "paid_fen": to_fen(f.paid),
             "amounts": json.dumps({k: plain(getattr(f, k)) for k in AMOUNTS}),
             "excluded": json.dumps({"zh": f.excluded_by.reason.zh, "en": f.excluded_by.reason.en}, ensure_ascii=False)
             if f.excluded_by is not None else None}
            for i, f in enumerate(c.funds)])
        if before is not None:
            self._adjust(c, version, before, decision_id, claim_given, member_given, docs, changed_claims, routed)
        return decision_id

    def _adjust(self, c, version, before, decision_id, claim_given, member_given, docs, changed_claims,
                routed=None) -> None:
        old_paid = {f["fund"]: f["paid_fen"] for f in self.conn.execute(
            sa.select(t.decision_funds.c.fund, t.decision_funds.c.paid_fen)
            .where(t.decision_funds.c.decision_id == before["id"])).mappings()}
        new_paid = {f.fund: to_fen(f.paid) for f in c.funds}
        old_docs = {lang: json.loads(before[f"trace_{lang}"]) for lang in LANGS}
        rows = []
        for fund in list(new_paid) + [f for f in old_paid if f not in new_paid]:
            delta = new_paid.get(fund, 0) - old_paid.get(fund, 0)
            if delta == 0:
                continue
            cause = {
                "facts": _changed("claim", _json(before["claim_facts"]), claim_given)
                + _changed("member", _json(before["member_facts"]), member_given),
                "rulebook": None if before["plan_hash"] == version.plan_hash else {
                    "before": {"id": before["rulebook_id"], "hash": before["rulebook_hash"],
                               "plan_hash": before["plan_hash"]},
                    "after": {"id": version.program.checked.id, "hash": version.hash,
                              "plan_hash": version.plan_hash}},
                "after_claims": [x for x in changed_claims if x != c.id],
                "steps": _moved_steps(fund, old_docs, {lang: docs[lang][c.id] for lang in LANGS}),
            }
            scheme = moved(json.loads(before["membership"]) if before["membership"] else None, routed)
            if scheme is not None:  # the claim moved scheme (ledger.routing): say so, and which history changed
                cause["membership"] = scheme
                cause["facts"] += history_changes(self._document(before["facts_hash"]), self.merged)
            rows.append({"decision_id": decision_id, "previous_decision_id": before["id"], "member_id": self.member_id,
                         "claim_id": c.id, "fund": fund, "amount_fen": delta,
                         "cause": json.dumps(cause, ensure_ascii=False), "recorded_at": self.now})
        if rows:
            self.conn.execute(t.adjustments.insert(), rows)


def _changed(record: str, before: dict, after: dict) -> list[dict]:
    out = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            out.append({"fact": f"{record}.{k}", "before": _plain(before.get(k)), "after": _plain(after.get(k))})
    return out


def _plain(v):
    return json.loads(canonical(v)) if not isinstance(v, Decimal) else str(v)


BOOKKEEPING = {"benefit_year", "version", "opening", "member_pays"}


def _moved_steps(fund: str, old: dict, new: dict) -> list[dict]:
    """The steps of this fund, and the rulebook-wide ones (exclusions, treatments), whose statement differs
    between two decisions: first those that no longer apply (an exclusion lifted), then those that changed or appeared.
    Steps are matched by kind, fund and occurrence, so a step missing on one side does not shift the rest."""
    def keyed(doc):
        out, seen = {}, {}
        for s in doc["claims"][0]["steps"]:
            if s["kind"] in BOOKKEEPING or s["fund"] not in (fund, None):
                continue
            k = (s["kind"], s["fund"])
            seen[k] = seen.get(k, 0) + 1
            out[k + (seen[k],)] = s
        return out
    before, after_zh, after_en = keyed(old["zh"]), keyed(new["zh"]), keyed(new["en"])
    before_en = keyed(old["en"])
    out = []
    for k, step in before.items():
        if k not in after_zh:
            out.append({"change": "removed", "kind": step["kind"], "fund": step["fund"],
                        "moves_money": step["moves_money"],
                        "text": {"zh": step["text"], "en": before_en[k]["text"]},
                        "citation": step["citation"], "source": step["source"]})
    for k, step in after_zh.items():
        prior = before.get(k)
        if prior is not None and prior["text"] == step["text"]:
            continue  # what the step says is unchanged (its inputs may differ: a deductible of 600 stays 600)
        out.append({"change": "added" if prior is None else "changed", "kind": step["kind"], "fund": step["fund"],
                    "moves_money": step["moves_money"],
                    "text": {"zh": step["text"], "en": after_en[k]["text"]},
                    "before": None if prior is None else {"zh": prior["text"], "en": before_en[k]["text"]},
                    "citation": step["citation"], "source": step["source"]})
    return out


# ---------------------------------------------------------------- helpers
def _alembic_config():
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


_HEAD: list[str] = []


def _head() -> str:
    """The newest migration shipped with this version of medrules."""
    if not _HEAD:
        from alembic.script import ScriptDirectory
        _HEAD.append(ScriptDirectory.from_config(_alembic_config()).get_current_head())
    return _HEAD[0]


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi, _record):
            dbapi.isolation_level = None  # transactions are begun below, as IMMEDIATE (one writer at a time)
            dbapi.execute("PRAGMA journal_mode=WAL")
            dbapi.execute("PRAGMA synchronous=FULL")
            dbapi.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):  # writers take the write lock at once (no deadlock on upgrade); readers share
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("medrules_write")
                                 else "BEGIN")
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _safe(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for the message
        return "(the given URL)"


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _facts_source(facts) -> SourceFile:
    if isinstance(facts, SourceFile):
        return facts
    if isinstance(facts, dict):
        return SourceFile("<facts>", json.dumps(facts, ensure_ascii=False, indent=2, default=str))
    try:
        return SourceFile.read(facts)
    except FileNotFoundError:
        raise MedrulesError(error("io", f"no such facts file: {facts}")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MedrulesError(error("io", f"cannot read facts file {facts}: {exc}")) from None


def _validate(rb: Rulebooks, source: SourceFile) -> None:
    if rb.membership is not None:
        from medrules.membership import settle_membership
        settle_membership(rb.membership, source)
    elif rb.rulebook_set is not None:
        from medrules.versions import settle_set
        settle_set(rb.rulebook_set, source)
    else:
        program = rb.versions[0].program
        settle(program, facts_from_source(source, program.checked))


def _settle_traced(rb: Rulebooks, source: SourceFile) -> tuple[list[ClaimResult], dict[str, Version]]:
    if rb.membership is not None:  # each claim under the scheme of its date (ledger.routing)
        from medrules.membership import settle_membership
        result, used = settle_membership(rb.membership, source, trace=True)
        return list(result.claims), {cid: rb.version(p) for cid, p in used.items()}
    if rb.rulebook_set is not None:
        from medrules.versions import settle_set
        result, used = settle_set(rb.rulebook_set, source, trace=True)
        return list(result.claims), {cid: rb.version(p) for cid, p in used.items()}
    version = rb.versions[0]
    result = settle(version.program, facts_from_source(source, version.program.checked), trace=True)
    return list(result.claims), {c.id: version for c in result.claims}


def _documents(results: list[ClaimResult], used: dict[str, Version], member_id: str) -> dict[str, dict[str, dict]]:
    """The explanation document of each claim, alone, in each language."""
    from medrules.evaluate import Settlement
    out: dict[str, dict[str, dict]] = {lang: {} for lang in LANGS}
    by_version: dict[str, list[ClaimResult]] = {}
    for c in results:
        by_version.setdefault(used[c.id].hash, []).append(c)
    for claims in by_version.values():
        version = used[claims[0].id]
        settlement = Settlement(version.program.checked.id, member_id, tuple(claims))
        for lang in LANGS:
            doc = explanation.explanation_json(explain(version.program, settlement, lang))
            for claim_doc in doc["claims"]:
                c = next(x for x in claims if x.id == claim_doc["id"])
                out[lang][c.id] = doc | {"claims": [claim_doc], "totals": {
                    "total_cost": plain(c.total_cost), "funds": {f.fund: plain(f.paid) for f in c.funds},
                    "member_pays": plain(c.member_pays)}}
    return out


def _decisions_in(conn: sa.Connection, where) -> list[Decision]:
    d, r = t.decisions, t.rulebook_versions
    cols = [c for c in d.c if c.name not in ("trace_zh", "trace_en")]
    q = (sa.select(*cols, r.c.effective_from, r.c.effective_to).join(r, r.c.hash == d.c.rulebook_hash)
         .where(where).order_by(d.c.member_id, d.c.claim_date, d.c.claim_id, d.c.sequence))
    rows = list(conn.execute(q).mappings())
    ids = [row["id"] for row in rows]
    funds: dict[int, list] = {}
    adjusts: dict[int, list] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        for f in conn.execute(sa.select(t.decision_funds).where(t.decision_funds.c.decision_id.in_(part))
                              .order_by(t.decision_funds.c.decision_id, t.decision_funds.c.position)).mappings():
            funds.setdefault(f["decision_id"], []).append(_fund(f))
        for a in conn.execute(sa.select(t.adjustments).where(t.adjustments.c.decision_id.in_(part))
                              .order_by(t.adjustments.c.id)).mappings():
            adjusts.setdefault(a["decision_id"], []).append(_adjustment(a))
    return [_decision(row, funds.get(row["id"], []), adjusts.get(row["id"], [])) for row in rows]


def _current_in(conn: sa.Connection, member_id: str) -> list[Decision]:
    return list(_by_claim(_decisions_in(conn, t.decisions.c.member_id == member_id)).values())


def _by_claim(decisions: list[Decision]) -> dict[str, Decision]:
    out = {}
    for d in decisions:
        out[d.claim_id] = d  # oldest first: the last one stays
    return out


def _evolve_recorded(d: Decision, recorded: bool) -> Decision:
    import attrs
    return attrs.evolve(d, recorded=recorded)


def _fund(row) -> FundAmount:
    return FundAmount(row["fund"], bool(row["applied"]), from_fen(row["paid_fen"]),
                      {k: _dec(v) for k, v in json.loads(row["amounts"]).items()},
                      json.loads(row["excluded"]) if row["excluded"] else None)


def _adjustment(row) -> Adjustment:
    return Adjustment(row["id"], row["decision_id"], row["previous_decision_id"], row["member_id"], row["claim_id"],
                      row["fund"], from_fen(row["amount_fen"]), json.loads(row["cause"]), row["recorded_at"])


def _decision(row, funds, adjustments) -> Decision:
    return Decision(
        id=row["id"], member_id=row["member_id"], claim_id=row["claim_id"], sequence=row["sequence"],
        supersedes=row["supersedes"], claim_date=row["claim_date"], benefit_year=row["benefit_year"],
        rulebook_id=row["rulebook_id"], rulebook_hash=row["rulebook_hash"], plan_hash=row["plan_hash"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"], facts_hash=row["facts_hash"], claim_facts=_json(row["claim_facts"]),
        member_facts=_json(row["member_facts"]), total_cost=_dec(row["total_cost"]),
        funds_paid=from_fen(row["funds_paid_fen"]), member_pays=_dec(row["member_pays"]),
        accumulators={k: _dec(v) for k, v in json.loads(row["accumulators_after"]).items()},
        funds=tuple(funds), adjustments=tuple(adjustments), recorded_at=row["recorded_at"],
        membership=json.loads(row["membership"]) if row["membership"] else None)
