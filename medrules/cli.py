"""The command line: ``medrules check | run | explain``.

The only module that prints. Every user mistake arrives as a MedrulesError and is
shown with file, line, column and a caret; anything else is an internal error,
shown in one line (``--debug`` shows the traceback).
"""
from __future__ import annotations

import importlib
import json
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

import medrules

# Start-up: only typer is imported here, so 'medrules --help' stays fast; the pipeline, rich and attrs
# are imported by the command that needs them (each name below imports its module on first use).


def _lazy(module: str, name: str):
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    call.__name__ = name
    return call


settle = _lazy("medrules.evaluate", "settle")
explain_settlement = _lazy("medrules.explain", "explain")
explanation_json = _lazy("medrules.explain.json", "explanation_json")
settlement_json = _lazy("medrules.explain.json", "settlement_json")
html_page = _lazy("medrules.explain.document", "html_page")
markdown = _lazy("medrules.explain.document", "markdown")
render_citizen = _lazy("medrules.explain.text", "render_citizen")
render_explanation = _lazy("medrules.explain.text", "render_explanation")
render_settlement = _lazy("medrules.explain.text", "render_settlement")
facts_from_source = _lazy("medrules.facts", "facts_from_source")
diagnostic_text = _lazy("medrules.render", "diagnostic_text")
error = _lazy("medrules.diagnostics", "error")


class _Console:
    """A rich Console made on first use."""

    def __init__(self, **options):
        self._options, self._console = options, None

    def __getattr__(self, name):
        if self._console is None:
            from rich.console import Console
            console = Console(**self._options)
            if not self._options and not console.is_terminal:  # piped: don't squeeze tables into 80 columns
                console = Console(width=160)
            self._console = console
        return getattr(self._console, name)


app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="medrules: medical-insurance benefit rules as code, with explanations that cite the policy.")

out = _Console()
err = _Console(stderr=True, soft_wrap=True)  # never break a caret line


class Lang(str, Enum):
    zh = "zh"
    en = "en"


class View(str, Enum):
    citizen = "citizen"
    auditor = "auditor"


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


class _Session:
    """The files read in this command, so that diagnostics can quote them."""

    def __init__(self):
        self.sources: dict = {}

    def read(self, path: Path, what: str):
        from medrules.diagnostics import MedrulesError
        from medrules.source import SourceFile
        try:
            source = SourceFile.read(path)
        except FileNotFoundError:
            raise MedrulesError(error("io", f"no such {what} file: {path}")) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MedrulesError(error("io", f"cannot read {what} file {path}: {exc}")) from None
        self.sources[source.name] = source
        return source

    def program(self, rulebook: Path):
        return medrules.load(rulebook, read=lambda path: self.read(path, "rulebook"))

    def versions(self, folder: Path):
        from medrules.versions import load_set
        return load_set(folder, read=lambda path: self.read(path, "rulebook"))

    def facts(self, path: Path, program):
        return facts_from_source(self.read(path, "facts"), program.checked)


def _run(body, debug: bool) -> None:
    from medrules.diagnostics import MedrulesError
    session = _Session()
    try:
        body(session)
    except MedrulesError as exc:
        for d in exc.diagnostics:
            err.print(diagnostic_text(d, session.sources))
        n = len(exc.diagnostics)
        err.print(f"{n} error{'s' if n != 1 else ''}", style="bold red")
        raise typer.Exit(1)
    except typer.Exit:
        raise
    except BrokenPipeError:  # the reader went away (e.g. '| head'): nothing more to say
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0)
    except Exception as exc:  # noqa: BLE001 - the user never sees a traceback
        if debug:
            traceback.print_exc()
        err.print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details; "
                  "please report it)", style="bold red", markup=False)
        raise typer.Exit(3)


RulebookArg = Annotated[Path, typer.Argument(help="a rulebook file (.mr); the suffix may be left out")]
FactsArg = Annotated[Path, typer.Argument(help="a facts file (JSON), see docs/facts.md")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON (amounts as decimal strings)")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="language of the explanation")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="show a traceback on internal errors")]


@app.command()
def check(rulebook: RulebookArg, debug: DebugOpt = False) -> None:
    """Check a rulebook: names, units, bands, caps, layering and citations."""
    def body(s: _Session):
        program = s.program(rulebook)
        ck = program.checked
        clauses = sum(len(f.clauses) for f in ck.rulebook.funds)
        out.print(f"[green]✓[/green] {ck.file}: rulebook '{ck.id}' is consistent — {_count(len(ck.funds), 'fund')}, "
                  f"{_count(clauses, 'clause')}, {_count(len(ck.parameters), 'parameter')}, "
                  f"{_count(len(ck.accumulators), 'accumulator')}, {_count(len(ck.sources), 'source')} cited")
    _run(body, debug)


@app.command()
def run(rulebook: RulebookArg, facts: FactsArg, json_: JsonOpt = False, lang: LangOpt = Lang.zh,
        debug: DebugOpt = False) -> None:
    """Settle the claims in FACTS: a table of what each fund pays on each claim.

    RULEBOOK may be a folder of policy years: each claim is settled under the version in force on its date."""
    def body(s: _Session):
        if rulebook.is_dir():
            from medrules.versions import settle_set
            rs = s.versions(rulebook)
            result, used = settle_set(rs, s.read(facts, "facts"))
            if json_:
                import attrs
                docs = {}
                for program in rs.versions:
                    mine = attrs.evolve(result, claims=tuple(c for c in result.claims if used[c.id] is program))
                    if mine.claims:
                        docs[program.checked.id] = settlement_json(program, mine)
                print(json.dumps({"schema": "medrules.settlement-set/1", "versions": docs}, ensure_ascii=False,
                                 indent=2))
            else:
                out.print(render_settlement(rs.versions[-1], result, lang.value, programs=rs.versions))
            return
        program = s.program(rulebook)
        result = settle(program, s.facts(facts, program))
        if json_:
            print(json.dumps(settlement_json(program, result), ensure_ascii=False, indent=2))
        else:
            out.print(render_settlement(program, result, lang.value))
    _run(body, debug)


@app.command()
def explain(rulebook: RulebookArg, facts: FactsArg,
            claim: Annotated[Optional[list[str]], typer.Option("--claim", help="only this claim (repeatable)")] = None,
            what_if: Annotated[Optional[list[str]], typer.Option(
                "--what-if", help="FACT=VALUE: explain what would change (repeatable), "
                                  "e.g. claim.institution=grassroots_zero_markup")] = None,
            view: Annotated[View, typer.Option("--view", help="citizen: a few plain sentences; auditor: every "
                                               "step, its arithmetic and citation")] = View.auditor,
            format_: Annotated[Format, typer.Option("--format", help="text, json, markdown, or a standalone "
                                                    "html page")] = Format.text,
            json_: JsonOpt = False, lang: LangOpt = Lang.zh, debug: DebugOpt = False) -> None:
    """Explain, step by step and with citations, how each claim was settled."""
    if json_:
        format_ = Format.json
    def body(s: _Session):
        if rulebook.is_dir():
            from medrules.versions import settle_set
            rs = s.versions(rulebook)
            result, used = settle_set(rs, s.read(facts, "facts"), trace=True)
            docs = []
            for program in rs.versions:
                ids = [c.id for c in result.claims if used[c.id] is program and (not claim or c.id in claim)]
                if ids:
                    e = explain_settlement(program, result, lang.value, ids)
                    docs.append(e)
            if format_ is Format.json:
                print(json.dumps({"schema": "medrules.explanation-set/1",
                                  "explanations": [explanation_json(e) for e in docs]}, ensure_ascii=False, indent=2))
            else:
                for e in docs:
                    out.print(render_citizen(e) if view is View.citizen else render_explanation(e))
            return
        program = s.program(rulebook)
        the_facts = s.facts(facts, program)
        known = {c.id for c in the_facts.claims}
        from medrules.diagnostics import MedrulesError
        for cid in claim or []:
            if cid not in known:
                raise MedrulesError(error("facts", f"there is no claim '{cid}' in {facts}",
                                          hint="claims in the file: " + ", ".join(sorted(known))))
        if what_if:
            from medrules.explain.json import what_if_json
            from medrules.explain.text import render_what_if
            from medrules.analyses.whatif import sensitivity, what_if as compare
            from medrules.facts import parse_change
            changes = [parse_change(text, program.checked) for text in what_if]
            w = compare(program, the_facts, changes, lang.value, claim)
            most = sensitivity(program, the_facts, claim)
            if format_ is Format.json:
                print(json.dumps(what_if_json(w, most), ensure_ascii=False, indent=2))
            else:
                out.print(render_what_if(w, most))
            return
        result = settle(program, the_facts, trace=True)
        e = explain_settlement(program, result, lang.value, claim)
        if format_ is Format.json:
            print(json.dumps(explanation_json(e), ensure_ascii=False, indent=2))
        elif format_ is Format.markdown:
            print(markdown(e, view.value))
        elif format_ is Format.html:
            print(html_page(e, view.value), end="")
        else:
            out.print(render_citizen(e) if view is View.citizen else render_explanation(e))
            why_nothing(program, the_facts, result, claim, lang.value)
    _run(body, debug)


@app.command()
def catalog(rulebooks: Annotated[list[Path], typer.Argument(help="rulebook files (.mr)")],
            debug: DebugOpt = False) -> None:
    """Describe rulebooks in Markdown: sources, decisions, every provision and what it cites."""
    def body(s: _Session):
        from medrules.catalog import catalog as render_catalog
        programs = []
        for path in rulebooks:
            program = s.program(path)
            programs.append((program, s.sources[program.checked.file].text))
        print(render_catalog(programs), end="")
    _run(body, debug)


@app.command()
def diff(old: Annotated[Path, typer.Argument(help="the earlier rulebook")],
         new: Annotated[Path, typer.Argument(help="the later rulebook")],
         facts: Annotated[Optional[list[Path]], typer.Argument(help="facts files to settle under both")] = None,
         format_: Annotated[Format, typer.Option("--format", help="text, json or markdown (a policy memo)")]
         = Format.text,
         json_: JsonOpt = False, lang: LangOpt = Lang.zh, debug: DebugOpt = False) -> None:
    """What a new rulebook changes: its provisions, and per claim and fund what moves and why."""
    from medrules.analyses.diff import diff as compare, diff_json, diff_markdown
    if json_:
        format_ = Format.json

    def body(s: _Session):
        before, after = s.program(old), s.program(new)
        d = compare(before, after, [s.facts(p, before) for p in facts or []], lang.value)
        if format_ is Format.json:
            print(json.dumps(diff_json(d, lang.value), ensure_ascii=False, indent=2))
        else:
            text = diff_markdown(d, lang.value)
            if format_ is Format.markdown:
                print(text, end="")
            else:
                from rich.markdown import Markdown
                out.print(Markdown(text))
    _run(body, debug)


@app.command()
def show(rulebook: RulebookArg, debug: DebugOpt = False) -> None:
    """Print the resolved rulebook (amendments applied): each provision with the file and line it comes from."""
    def body(s: _Session):
        from medrules.catalog import rulebook_markdown
        program = s.program(rulebook)
        print(rulebook_markdown(program, s.sources[program.checked.file].text, provenance=True).lstrip())
    _run(body, debug)


def why_nothing(program, facts, result, claim_ids, lang: str) -> None:
    """For each claim that paid nothing: the facts that, if different, would have made it pay."""
    from medrules.explain.format import Formatter
    from medrules.analyses.whatif import sensitivity
    f = Formatter(lang)
    for c in result.claims:
        if (claim_ids and c.id not in claim_ids) or c.funds_paid:
            continue
        found = [s for s in sensitivity(program, facts, [c.id], most=3) if s.delta > 0]
        if found:
            head = f"结算单 {c.id} 未获支付;以下事实不同则会支付:" if lang == "zh" else \
                f"Claim {c.id} paid nothing; it would have been paid if:"
            out.print(head, style="bold")
            for s in found:
                out.print(f"  • {s.change.text}: +{f.money(s.delta)}", markup=False)


def main() -> None:
    app(prog_name="medrules")


if __name__ == "__main__":
    sys.exit(main())


_PathsArg = Annotated[list[Path], typer.Argument(help="claim files: CSV, Parquet, JSON Lines, facts JSON (or folders)")]
_OutOpt = Annotated[Path, typer.Option("--out", help="results: .parquet or .csv (rejects go to OUT.rejects.csv)")]
_MembersOpt = Annotated[Optional[Path], typer.Option("--members", help="members in their own file, on member.id")]
_ColumnOpt = Annotated[Optional[list[str]], typer.Option("--column", help="FACT=COLUMN, e.g. claim.cost=amount")]
_ColumnsOpt = Annotated[Optional[Path], typer.Option("--columns", help="a JSON file mapping facts to columns")]
_SchedulerOpt = Annotated[Optional[str], typer.Option("--scheduler", help="a dask.distributed scheduler address")]
_ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="show a progress bar")]


@app.command("settle")
def settle_claims(rulebook: Annotated[Path, typer.Argument(help="a rulebook file (.mr) or a folder of policy years")],
                  claims: _PathsArg, results: _OutOpt, members: _MembersOpt = None, column: _ColumnOpt = None,
                  columns: _ColumnsOpt = None, scheduler: _SchedulerOpt = None, progress: _ProgressOpt = True,
                  debug: DebugOpt = False) -> None:
    """Settle claim files in bulk on the vector backend: per-claim, per-fund payouts, the member's share and
    the accumulators after each claim (docs/batch.md)."""
    def body(s: _Session):
        from medrules.batch.command import column_options, settle_command
        settle_command(rulebook, claims, results, members, column_options(column or [], columns), scheduler,
                       progress, out, lambda path: s.read(path, "rulebook"))
    _run(body, debug)


@app.command()
def assess(rulebook: RulebookArg, facts: FactsArg, json_: JsonOpt = False, lang: LangOpt = Lang.zh,
           view: Annotated[View, typer.Option("--view", help="auditor: every step; citizen: a few sentences")]
           = View.auditor, debug: DebugOpt = False) -> None:
    """What a member owes under a rulebook's contributions, and what subsidies pay for (the premium side)."""
    def body(s: _Session):
        from medrules.contributions.command import assess_command
        program = s.program(rulebook)
        out.print(assess_command(program, s.facts(facts, program), lang.value, view.value, json_),
                  markup=False, highlight=False, soft_wrap=True)
    _run(body, debug)
