"""``medrules ledger settle | history | explain | export``: the command bodies (medrules.cli adds the group)."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from medrules import cli as base
# rich and the diagnostics load when a ledger command runs, not with every 'medrules' command

ledger_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                         help="The settlement ledger: record decisions, show histories, explain stored decisions.")

LedgerOpt = Annotated[Optional[str], typer.Option(
    "--ledger", help="a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB (default: $MEDRULES_LEDGER or "
                     "medrules-ledger.sqlite)")]


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


def _open(url: str | None):
    from medrules.ledger.store import Ledger
    return Ledger.open(url)


@ledger_app.command()
def settle(rulebook: base.RulebookArg,
           facts: Annotated[list[Path], typer.Argument(help="facts files (JSON), one member each")],
           ledger: LedgerOpt = None, json_: base.JsonOpt = False, lang: base.LangOpt = base.Lang.zh,
           debug: base.DebugOpt = False) -> None:
    """Settle members' claims into the ledger: one transaction per member; nothing is recorded twice
    (a run killed part-way is resumed by running it again).

    A facts file adds to what the ledger holds for its member: a claim with a known id is a correction,
    and every claim of the member is settled again; changed decisions are recorded with the amounts to
    pay (补付) or recover (追回)."""
    def body(s: base._Session):
        from medrules.ledger.export import decision_json
        from medrules.ledger.sources import load_rulebooks
        rb = load_rulebooks(rulebook, read=lambda p: s.read(p, "rulebook"))
        with _open(ledger) as led:
            results = led.record_batch(rb, (s.read(path, "facts") for path in facts))
        if json_:
            print(json.dumps({"schema": "medrules.ledger-settle/1",
                              "members": [[decision_json(d) for d in ds] for ds in results]},
                             ensure_ascii=False, indent=2))
            return
        for ds in results:
            base.out.print(_table(ds, lang.value, title=ds[0].member_id if ds else ""))
            _adjustments(ds, lang.value)
        new = sum(d.recorded for ds in results for d in ds)
        total = sum(len(ds) for ds in results)
        base.out.print(f"{new} decision{'s' if new != 1 else ''} recorded, {total - new} unchanged", markup=False)
    base._run(body, debug)


@ledger_app.command()
def history(member: Annotated[Optional[str], typer.Option("--member", help="a member's id")] = None,
            claim: Annotated[Optional[str], typer.Option("--claim", help="a claim's id (with --member if "
                                                         "several members have it)")] = None,
            ledger: LedgerOpt = None, json_: base.JsonOpt = False, lang: base.LangOpt = base.Lang.zh,
            debug: base.DebugOpt = False) -> None:
    """Every decision on a member's claims, or on one claim, oldest first, with re-settlements."""
    def body(s: base._Session):
        from medrules.diagnostics import MedrulesError, error
        from medrules.ledger.export import decision_json
        if not member and not claim:
            raise MedrulesError(error("usage", "say whose history: --member ID or --claim ID"))
        with _open(ledger) as led:
            ds = led.claim_history(claim, member) if claim else led.member_history(member)
        if not ds:
            raise MedrulesError(error("ledger", f"no decisions in the ledger for {_who(member, claim)}",
                                      hint="settle the member's facts first: medrules ledger settle RULEBOOK FACTS"))
        if json_:
            print(json.dumps([decision_json(d) for d in ds], ensure_ascii=False, indent=2))
            return
        base.out.print(_table(ds, lang.value, title=_who(member, claim)))
        _adjustments(ds, lang.value)
    base._run(body, debug)


@ledger_app.command()
def members(search: Annotated[str, typer.Argument(help="part of a member id (all members if left out)")] = "",
            ledger: LedgerOpt = None, json_: base.JsonOpt = False, debug: base.DebugOpt = False) -> None:
    """Find members in the ledger: their number of claims and decisions, and when they were last recorded."""
    def body(s: base._Session):
        with _open(ledger) as led:
            found = led.members(search)
        if json_:
            print(json.dumps([m | {"last_recorded": m["last_recorded"].isoformat()} for m in found],
                             ensure_ascii=False, indent=2))
            return
        from rich.table import Table
        t = Table()
        for head in ("member", "claims", "decisions", "last recorded"):
            t.add_column(head)
        for m in found:
            t.add_row(m["member_id"], str(m["claims"]), str(m["decisions"]), f"{m['last_recorded']:%Y-%m-%d %H:%M}")
        base.out.print(t)
    base._run(body, debug)


@ledger_app.command()
def explain(decision_or_claim: Annotated[str, typer.Argument(
                help="a decision id (digits), or a claim id: its latest decision")],
            member: Annotated[Optional[str], typer.Option("--member", help="the member whose claim this is; "
                                                          "the argument is then always a claim id")] = None,
            view: Annotated[base.View, typer.Option("--view", help="citizen: plain sentences; auditor: every step")]
            = base.View.auditor,
            format_: Annotated[ExplainFormat, typer.Option("--format", help="text, json (the stored document), "
                                                           "markdown or a standalone html page")] = ExplainFormat.text,
            ledger: LedgerOpt = None, lang: base.LangOpt = base.Lang.zh, debug: base.DebugOpt = False) -> None:
    """Explain a stored decision from the ledger alone: exactly what was decided, nothing settled again."""
    def body(s: base._Session):
        from medrules.ledger import document
        with _open(ledger) as led:
            d = _find(led, decision_or_claim, member)
            doc = led.explanation(d.id, lang.value)
        if format_ is ExplainFormat.json:
            print(json.dumps(doc, ensure_ascii=False, indent=2))
        elif format_ is ExplainFormat.markdown:
            print(document.markdown(doc, view.value, d))
        elif format_ is ExplainFormat.html:
            print(document.html_page(doc, view.value, d), end="")
        else:
            base.out.print(document.text(doc, view.value, d), markup=False, highlight=False, end="")
    base._run(body, debug)


@ledger_app.command()
def export(out_file: Annotated[Path, typer.Option("--out", help="FILE.csv (a row per decision and fund) or "
                                                  "FILE.jsonl (a decision per line)")],
           with_trace: Annotated[bool, typer.Option("--with-trace", help="JSON Lines: include the stored "
                                                    "explanations (zh, en)")] = False,
           ledger: LedgerOpt = None, debug: base.DebugOpt = False) -> None:
    """Export every decision in the ledger."""
    def body(s: base._Session):
        from medrules.ledger.export import export as write
        with _open(ledger) as led:
            n = write(led, out_file, with_trace)
        base.err.print(f"{n} decision{'s' if n != 1 else ''} written to {out_file}", markup=False)
    base._run(body, debug)


def _who(member, claim) -> str:
    if claim:
        return f"claim {claim}" + (f" of member {member}" if member else "")
    return f"member {member}"


def _find(led, key: str, member: str | None):
    from medrules.diagnostics import MedrulesError, error
    if member is None and key.isdigit():
        return led.decision(int(key))
    ds = led.claim_history(key, member)
    if not ds:
        raise MedrulesError(error("ledger", f"no decision in the ledger for {_who(member, key)}",
                                  hint="a decision id is a number; see medrules ledger history --member ID"))
    members = sorted({d.member_id for d in ds})
    if len(members) > 1:
        raise MedrulesError(error("ledger", f"several members have a claim '{key}': {', '.join(members)}",
                                  hint="say whose with --member ID"))
    return ds[-1]


def _table(ds, lang: str, title: str):
    from rich.table import Table

    from medrules.explain.format import Formatter
    f = Formatter(lang)
    funds = list(dict.fromkeys(x.fund for d in ds for x in d.funds if x.paid))  # the funds that paid something
    zh = lang == "zh"
    t = Table(title=title, title_justify="left")
    for head in (("决定", "decision"), ("结算单", "claim"), ("日期", "date"), ("次", "no."), ("规则书", "rulebook")):
        t.add_column(head[0] if zh else head[1])
    for fund in funds:
        t.add_column(fund, justify="right")
    t.add_column("个人负担" if zh else "member pays", justify="right")
    t.add_column("", justify="left")
    for d in ds:
        paid = {x.fund: x.paid for x in d.funds}
        status = ("新记录" if zh else "recorded") if d.recorded else ""
        if d.supersedes:
            status += (" 取代 " if zh else " supersedes ") + str(d.supersedes)
        scheme = f" ({d.membership['scheme']})" if d.membership else ""  # under a membership rulebook: which scheme
        t.add_row(str(d.id), d.claim_id, str(d.claim_date), str(d.sequence),
                  f"{d.rulebook_id} #{d.rulebook_hash[:8]}{scheme}",
                  *[f.number(paid[x]) if x in paid else "" for x in funds], f.number(d.member_pays), status.strip())
    return t


def _adjustments(ds, lang: str) -> None:
    from medrules.ledger.document import record_lines
    for d in ds:
        if d.adjustments:
            for line in record_lines(d, lang)[1:]:
                base.out.print(f"  {d.claim_id}: {line}", markup=False, highlight=False)
