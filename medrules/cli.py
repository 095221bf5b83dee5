"""The command line: ``medrules check | run | explain``.

The only module that prints. Every user mistake arrives as a MedrulesError and is
shown with file, line, column and a caret; anything else is an internal error,
shown in one line (``--debug`` shows the traceback).
"""
from __future__ import annotations

import importlib
import json
import os
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
letter_for = _lazy("medrules.explain.document", "letter_for")
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
            if not self._options and not console.is_terminal and not os.environ.get("COLUMNS"):
                # piped: don't squeeze tables into 80 columns, unless COLUMNS says so
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


def _show_version(value: bool) -> None:
    if value:
        print(f"medrules {medrules.__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                                   help="print the version and exit")] = False) -> None:
    """medrules: medical-insurance benefit rules as code, with explanations that cite the policy."""


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


class _Session:
    """The files read in this command, so that diagnostics can quote them."""

    def __init__(self, root: Path | None = None):
        self.sources: dict = {}
        self.root = root  # where 'amends' and 'layers on' may refer (default: medrules.rulebook_root)
        self.readings: dict[str, str] = {}  # --reading NAME=ALTERNATIVE

    def choose(self, readings: list[str] | None) -> None:
        from medrules.readings import parse_choice
        self.readings = dict(parse_choice(text) for text in readings or [])

    def read(self, path: Path, what: str):
        from medrules.cmdline import STDIN, read_named, read_stdin
        from medrules.diagnostics import MedrulesError
        try:  # regular files, bounded, that look like a rulebook or facts file (medrules/cmdline.py); '-': stdin
            source = read_stdin(what) if what == "facts" and str(path) == STDIN else read_named(path, what)
        except FileNotFoundError:
            raise MedrulesError(error("io", f"no such {what} file: {path}")) from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
            raise MedrulesError(error("io", f"cannot read {what} file {path}: "
                                            f"{getattr(exc, 'strerror', None) or 'a symbolic link loops'}")) from None
        self.sources[source.name] = source
        return source

    def program(self, rulebook: Path, readings: dict | None = None):
        return medrules.load(rulebook, read=lambda path: self.read(path, "rulebook"), root=self.root,
                             readings=self.readings if readings is None else readings)

    def versions(self, folder: Path):
        from medrules.versions import load_set
        return load_set(folder, read=lambda path: self.read(path, "rulebook"), root=self.root,
                        readings=self.readings)

    def facts(self, path: Path, program):
        return facts_from_source(self.read(path, "facts"), program.checked)


def _run(body, debug: bool, root: Path | None = None, as_json: bool = False) -> None:
    from medrules.diagnostics import MedrulesError
    session = _Session(root)
    try:
        body(session)
    except MedrulesError as exc:
        if as_json:  # --json: the errors are JSON too, on stdout where the reader expects the document
            print(json.dumps({"schema": "medrules.errors/1", "errors": [d.to_json() for d in exc.diagnostics]},
                             ensure_ascii=False, indent=2))
            raise typer.Exit(1)
        from medrules.messages import language_for, localise
        lang = language_for(exc.diagnostics, session.sources, getattr(session, "lang", None))
        from medrules.render import error_count
        for d in exc.diagnostics:
            err.print(diagnostic_text(localise(d, lang), session.sources, lang))
        err.print(error_count(len(exc.diagnostics), lang), style="bold red")
        raise typer.Exit(1)
    except typer.Exit:
        raise
    except BrokenPipeError:  # the reader went away (e.g. '| head'): nothing more to say
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0)
    except MemoryError:  # the machine ran out: say so, and what settles large inputs, never a traceback
        import gc
        gc.collect()
        err.print("error[memory]: this machine ran out of memory for these inputs; 'medrules run' and 'explain' hold "
                  "one member's claims at a time", style="bold red", markup=False)
        err.print("  hint: settle claim files in bulk with 'medrules settle RULEBOOK FILE --out results.parquet' "
                  "(docs/batch.md), or give one member per line in a JSON Lines file (.jsonl)", markup=False)
        raise typer.Exit(1)
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
RootOpt = Annotated[Optional[Path], typer.Option(
    "--root", help="the folder that rulebooks may amend or layer on files in (default: the nearest folder "
                   "with a .medrules-root file, else the rulebook's own folder)")]
ReadingOpt = Annotated[Optional[list[str]], typer.Option(
    "--reading", help="NAME=ALTERNATIVE: settle by another reading of the text than the rulebook's (repeatable), "
                      "e.g. cap_axis=payments; see 'medrules readings'")]


@app.command()
def check(rulebooks: Annotated[list[Path], typer.Argument(
              help="rulebook files (.mr), folders of policy years, or '-' for standard input")],
          json_: Annotated[bool, typer.Option("--json", help="print the diagnostics as JSON")] = False,
          sarif: Annotated[bool, typer.Option("--sarif", help="print the diagnostics as SARIF 2.1.0 (CI)")] = False,
          debug: DebugOpt = False, root: RootOpt = None,
          lang: Annotated[Optional[Lang], typer.Option(
              "--lang", help="language of the diagnostics (default: the rulebook's keywords')")] = None) -> None:
    """Check rulebooks: names, units, bands, caps, layering and citations; warn of provisions that never apply."""
    from medrules.diagnose import check_paths, localised, stdin_reader

    def body(s: _Session):
        report = check_paths(rulebooks, stdin_reader(lambda path: s.read(path, "rulebook"), s.sources), root)
        diagnostics = localised(report.diagnostics, s.sources, lang.value if lang else None)
        if json_ or sarif:
            from medrules.sarif import sarif as sarif_log
            doc = sarif_log(diagnostics) if sarif else report.to_json(diagnostics)
            print(json.dumps(doc, ensure_ascii=False, indent=2))
            if not report.ok:
                raise typer.Exit(1)
            return
        from medrules.messages import language_for
        from medrules.render import error_count
        said = language_for(list(report.diagnostics), s.sources, lang.value if lang else None)
        for d in diagnostics:
            err.print(diagnostic_text(d, s.sources, said))
        for f in report.files:
            summary = f.summary()
            if summary is None:
                continue
            from medrules.plainout import print_consistent  # without rich when rich would print it as is
            print_consistent(out, f.file, summary['rulebook'],
                             f"{_count(summary['funds'], 'fund')}, {_count(summary['clauses'], 'clause')}, "
                             f"{_count(summary['parameters'], 'parameter')}, "
                             f"{_count(summary['accumulators'], 'accumulator')}, "
                             f"{_count(summary['sources'], 'source')} cited"
                             + (f", {_count(len(f.diagnostics), 'warning')}" if f.diagnostics else ""))
        if not report.ok:
            err.print(error_count(len(report.errors), said), style="bold red")
            raise typer.Exit(1)
    _run(body, debug, root)


@app.command()
def run(rulebook: RulebookArg, facts: FactsArg, json_: JsonOpt = False, lang: LangOpt = Lang.zh,
        debug: DebugOpt = False, root: RootOpt = None, reading: ReadingOpt = None,
        view: Annotated[View, typer.Option("--view", help="a household file: the household's view for the citizen "
                                           "(sentences) or the auditor (every person and quota)")] = View.auditor
        ) -> None:
    """Settle the claims in FACTS: a table of what each fund pays on each claim.

    RULEBOOK may be a folder of policy years: each claim is settled under the version in force on its date.
    FACTS may be '-' (standard input), or a JSON Lines file (.jsonl) of one member's facts per line."""
    def body(s: _Session):
        from medrules.runcmd import run_command
        s.choose(reading)
        run_command(s, rulebook, facts, json_, lang.value, out, view=view.value)
    _run(body, debug, root, as_json=json_)


@app.command()
def explain(rulebook: RulebookArg,
            facts: Annotated[Optional[Path], typer.Argument(help="a facts file (JSON), see docs/facts.md; or, "
                                                            "instead, --results and --claims")] = None,
            claim: Annotated[Optional[list[str]], typer.Option("--claim", help="only this claim (repeatable)")] = None,
            what_if: Annotated[Optional[list[str]], typer.Option(
                "--what-if", help="FACT=VALUE: explain what would change (repeatable), "
                                  "e.g. claim.institution=grassroots_zero_markup; on a household file "
                                  "PERSON.member.FIELD=VALUE or PERSON.claim.FIELD=VALUE (no person: "
                                  "everyone)")] = None,
            view: Annotated[View, typer.Option("--view", help="citizen: a few plain sentences; auditor: every "
                                               "step, its arithmetic and citation")] = View.auditor,
            format_: Annotated[Format, typer.Option("--format", help="text, json, markdown, or a standalone "
                                                    "html page")] = Format.text,
            json_: JsonOpt = False, lang: LangOpt = Lang.zh, debug: DebugOpt = False, root: RootOpt = None,
            template_dir: Annotated[Optional[Path], typer.Option(
                "--template-dir", help="a folder of templates (letter.html.j2, style.css.j2, explanation.md.j2) "
                                       "replacing the shipped ones: an office's own letter")] = None,
            reading: ReadingOpt = None,
            results: Annotated[Optional[Path], typer.Option("--results", help="a results file of 'medrules settle': "
                                                            "explain its --claim, checked against its amounts")] = None,
            claims_in: Annotated[Optional[list[Path]], typer.Option("--claims", help="with --results: the claim "
                                                                    "files the batch settled")] = None,
            members: Annotated[Optional[Path], typer.Option("--members", help="with --results: the members file "
                                                            "the batch read")] = None,
            column: Annotated[Optional[list[str]], typer.Option("--column", help="with --results: FACT=COLUMN, as "
                                                                "for settle")] = None,
            columns: Annotated[Optional[Path], typer.Option("--columns", help="with --results: the column mapping "
                                                            "file the batch used")] = None,
            history: Annotated[Optional[list[str]], typer.Option("--history", help="with --results: NAME=FILE, the "
                                                                 "history records the batch read")] = None) -> None:
    """Explain, step by step and with citations, how each claim was settled."""
    if json_:
        format_ = Format.json
    def body(s: _Session):
        from medrules.diagnostics import MedrulesError
        s.choose(reading)
        found = None
        if results is not None:  # a claim of a batch (docs/batch.md): its member's rows, the same plan
            from medrules.batch.command import column_options
            from medrules.batch.explain import from_results
            if not claim or len(claim) != 1 or facts is not None:
                raise MedrulesError(error("explain", "--results explains one claim of the results: give --claim ID "
                                          "(once) and --claims FILE…, and no facts file", None,
                                          "medrules explain RULEBOOK --results OUT --claims CLAIMS --claim ID"))
            found = from_results(rulebook, results, claims_in or [], claim[0], members,
                                 column_options(column or [], columns), lambda p: s.read(p, "rulebook"), s.readings,
                                 histories=dict(h.partition("=")[::2] for h in history or []))
        elif facts is None:
            raise MedrulesError(error("explain", "give a facts file, or --results and --claims", None,
                                      "medrules explain RULEBOOK FACTS, or medrules explain RULEBOOK --results OUT "
                                      "--claims CLAIMS --claim ID"))
        elif rulebook.is_dir():
            if what_if or format_ in (Format.markdown, Format.html):  # said, never silently ignored
                asked = "--what-if" if what_if else f"--format {format_.value}"
                raise MedrulesError(error("explain", f"{asked} explains under one rulebook, and {rulebook} is a "
                                          "folder of policy years", None,
                                          "name the year's rulebook file (medrules run shows which year settled "
                                          "each claim), or use --format text or json on the folder"))
            from medrules.versions import settle_set
            rs = s.versions(rulebook)
            source = s.read(facts, "facts")
            result, used = settle_set(rs, source, trace=True)
            from medrules.analyses.readings import other_readings_by_year  # each year under its own readings
            notes = other_readings_by_year(lambda p, choice: s.program(Path(p.checked.file), choice), rs, source)
            docs = []
            for program in rs.versions:
                ids = [c.id for c in result.claims if used[c.id] is program and (not claim or c.id in claim)]
                if ids:
                    e = explain_settlement(program, result, lang.value, ids, readings=notes)
                    docs.append(e)
            if format_ is Format.json:
                print(json.dumps({"schema": "medrules.explanation-set/1",
                                  "explanations": [explanation_json(e) for e in docs]}, ensure_ascii=False, indent=2))
            else:
                for e in docs:
                    out.print(render_citizen(e) if view is View.citizen else render_explanation(e))
            return
        program = found.program if found else s.program(rulebook)
        if program.plan.top.memberships:  # a membership rulebook: each claim under its date's scheme
            from medrules import membership_cli
            doc = membership_cli.explain(s, program, facts, claim, what_if, view.value, format_.value, lang.value,
                                         template_dir, found=found)
            return print(doc) if isinstance(doc, str) else out.print(doc)
        from medrules.runcmd import _household_path
        if not found and _household_path(s, program, facts):  # a household file: quotas shared (§22.2)
            from medrules.household import explain_household
            doc = explain_household(program, s.read(facts, "facts"), claim, what_if, view.value, format_.value,
                                    lang.value, template_dir)
            return print(doc) if isinstance(doc, str) else out.print(doc)
        the_facts = found.facts if found else s.facts(facts, program)
        known = {c.id for c in the_facts.claims}
        for cid in claim or []:
            if cid not in known:
                raise MedrulesError(error("facts", f"there is no claim '{cid}' in {facts}",
                                          hint="claims in the file: " + ", ".join(sorted(known))))
        if what_if and found and found.household is not None:  # said, never silently settled alone
            raise MedrulesError(error("explain", f"--what-if on claim '{found.claim}' of the results: it was settled "
                                      f"with household {found.household} and the households sharing its quotas",
                                      None, "explain it without --what-if"))
        if what_if:
            from medrules.explain.json import what_if_json
            from medrules.explain.text import render_what_if
            from medrules.analyses.whatif import sensitivity, what_if as compare
            from medrules.facts import parse_change
            changes = [parse_change(text, program.checked) for text in what_if]
            w = compare(program, the_facts, changes, lang.value, claim, load=lambda choice: s.program(rulebook, choice))
            most = sensitivity(program, the_facts, claim)
            if format_ is Format.json:
                print(json.dumps(what_if_json(w, most), ensure_ascii=False, indent=2))
            elif format_ in (Format.markdown, Format.html):
                from medrules.explain.document import what_if_html, what_if_markdown
                render = what_if_markdown if format_ is Format.markdown else what_if_html
                print(render(w, most, view.value, template_dir), end="")
            else:
                out.print(render_what_if(w, most, citizen=view is View.citizen))
            return
        grouped = found is not None and found.settlement is not None  # settled with its households (hexplain)
        result = found.settlement if grouped else settle(program, the_facts, trace=True)
        if found:
            from medrules.batch.explain import check
            check(found, result)
        from medrules.analyses.readings import other_readings
        notes = () if grouped else other_readings(lambda choice: s.program(rulebook, choice), program, the_facts)
        e = explain_settlement(program, result, lang.value, claim, readings=notes)
        if format_ is Format.json:
            print(json.dumps(explanation_json(e), ensure_ascii=False, indent=2))
        elif format_ is Format.markdown:
            print(markdown(e, view.value, letter_for(e, the_facts), template_dir), end="")
        elif format_ is Format.html:
            print(html_page(e, view.value, letter_for(e, the_facts), template_dir), end="")
        else:
            out.print(render_citizen(e) if view is View.citizen else render_explanation(e))
            if not grouped:  # its sensitivity settles the member alone
                why_nothing(program, the_facts, result, claim, lang.value, citizen=view is View.citizen)
    _run(body, debug, root, as_json=format_ is Format.json)


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
         facts: Annotated[Optional[list[Path]], typer.Argument(help="facts files to settle under both (a "
                                                               "household file: its persons together)")] = None,
         format_: Annotated[Format, typer.Option("--format", help="text, json or markdown (a policy memo)")]
         = Format.text,
         json_: JsonOpt = False, lang: LangOpt = Lang.zh, debug: DebugOpt = False,
         reading: ReadingOpt = None) -> None:
    """What a new rulebook changes: its provisions, and per claim and fund what moves and why."""
    from medrules.analyses.diff import diff as compare, diff_json, diff_markdown
    if json_:
        format_ = Format.json

    def body(s: _Session):
        s.choose(reading)  # the same readings for both (a reading neither declares is an error)
        before, after = s.program(old), s.program(new)
        if before.plan.top.memberships or after.plan.top.memberships:  # routes claims to schemes (membership_cli)
            from medrules import membership_cli
            d = membership_cli.diff(s, before, after, facts, lang.value)
        else:
            from medrules.analyses.diff_contrib import diff_facts  # FACTS are checked against both rulebooks
            from medrules.evaluate.quota import keeps_quotas
            if keeps_quotas(before.plan) or keeps_quotas(after.plan):  # a household file's persons settle together
                from medrules import household_analyses
                d = household_analyses.diff(lambda p: s.read(p, "facts"), before, after, facts or [], lang.value)
            else:
                d = compare(before, after, [diff_facts(s.read(p, "facts"), before, after) for p in facts or []],
                            lang.value)
        if format_ is Format.json:
            print(json.dumps(diff_json(d, lang.value), ensure_ascii=False, indent=2))
        else:
            text = diff_markdown(d, lang.value)
            if format_ is Format.markdown:
                print(text, end="")
            else:
                from rich.markdown import Markdown
                out.print(Markdown(text))
    _run(body, debug, as_json=format_ is Format.json)


@app.command()
def show(rulebook: RulebookArg, debug: DebugOpt = False) -> None:
    """Print the resolved rulebook (amendments applied): each provision with the file and line it comes from."""
    def body(s: _Session):
        from medrules.catalog import rulebook_markdown
        program = s.program(rulebook)
        print(rulebook_markdown(program, s.sources[program.checked.file].text, provenance=True).lstrip())
    _run(body, debug)


@app.command("test")
def test_(paths: Annotated[list[Path], typer.Argument(help="test files (YAML) or folders holding them")],
          junit_xml: Annotated[Optional[Path], typer.Option("--junit-xml", help="also write JUnit XML here (CI)")]
          = None,
          coverage: Annotated[bool, typer.Option("--coverage", help="which provisions the tests exercised")] = False,
          coverage_html: Annotated[Optional[Path], typer.Option("--coverage-html",
                                                                help="write the coverage as an HTML page")] = None,
          lang: LangOpt = Lang.zh, debug: DebugOpt = False) -> None:
    """Run expected outcomes written beside a rulebook: facts, and what each fund pays on each claim."""
    def body(s: _Session):
        from medrules.outcomes import report
        from medrules.outcomes.run import run_paths
        files = run_paths(paths, read=lambda path: s.read(path, "test"), lang=lang.value)
        for r in report.render_results(files, s.sources):
            out.print(r, soft_wrap=True)  # a failure's place stays on one line
        passed, failed, errors = report.counts(files)
        if junit_xml is not None:
            junit_xml.write_text(report.junit_xml(files), encoding="utf-8")
        if coverage or coverage_html is not None:
            covs = report.coverages(files)
            if coverage:
                for cov in covs:
                    out.print(report.coverage_table(cov))
            if coverage_html is not None:
                coverage_html.write_text(report.coverage_html(covs), encoding="utf-8")
        style = "bold green" if not failed and not errors else "bold red"
        out.print(f"{passed} passed, {failed} failed, {errors} error{'s' if errors != 1 else ''}", style=style)
        if failed or errors:
            raise typer.Exit(1)
    _run(body, debug)


@app.command()
def lsp() -> None:
    """Run the language server over standard input and output (for editors: diagnostics, hover, go to
    definition, completion, outline, formatting)."""
    from medrules.lsp.server import main as serve
    serve()


@app.command()
def docs(rulebooks: Annotated[list[Path], typer.Argument(help="rulebook files (.mr) or folders of them")],
         out_: Annotated[Path, typer.Option("--out", help="the folder to write the site into")],
         sources: Annotated[Optional[list[Path]], typer.Option(
             "--sources", help="a folder of policy texts (*.txt); each rulebook's own sources/ folder is read too")]
         = None,
         debug: DebugOpt = False) -> None:
    """A static site: each rulebook beside its policy text, every provision next to the clause it quotes."""
    def body(s: _Session):
        from medrules.site.build import build_site
        paths = [p for r in rulebooks for p in (sorted(r.glob("*.mr")) if r.is_dir() else [r])]
        programs = [s.program(p) for p in paths]
        written = build_site(programs, out_, list(sources or []))
        out.print(f"[green]✓[/green] {_count(len(written), 'page')} written to {out_}/ (open {out_ / 'index.html'})")
    _run(body, debug)


@app.command()
def readings(rulebook: Annotated[Path, typer.Argument(help="a rulebook file (.mr), or a folder of policy years")],
             facts: Annotated[list[Path], typer.Argument(help="facts files: the claims to settle under every reading")],
             top: Annotated[int, typer.Option("--top", help="how many of the claims that differ most to show")] = 5,
             json_: JsonOpt = False, lang: LangOpt = Lang.zh, debug: DebugOpt = False, root: RootOpt = None,
             reading: Annotated[Optional[list[str]], typer.Option(
                 "--reading", help="NAME=ALTERNATIVE: over a folder, hold this reading at one alternative in every "
                                   "year instead of varying it (repeatable)")] = None) -> None:
    """The money at stake per reading: the claims settled under every combination of the readings the rulebook
    declares, per fund, against the rulebook's own choice, with the claims that differ most. Over a folder of
    policy years, each claim is settled under its year's rulebook; a reading several years declare moves together."""
    def body(s: _Session):
        from medrules.diagnostics import MedrulesError
        if rulebook.is_dir():
            from medrules.readings_cli import readings_over_folder
            report = readings_over_folder(s, rulebook, facts, reading, top, json_, lang.value)
            if json_:
                print(report)
            else:
                out.print(report)
            return
        from medrules.analyses.readings import money_at_stake
        from medrules.explain.json import stake_json
        from medrules.explain.text import render_stake
        if s.program(rulebook).plan.top.memberships:  # the schemes' readings, STEM.NAME (membership_readings)
            from medrules.membership_readings import readings_command
            report = readings_command(s, rulebook, s.program(rulebook), facts, reading, top, json_, lang.value)
            return print(report) if json_ else out.print(report)
        if reading:
            raise MedrulesError(error("reading", "--reading pins a reading over a folder of policy years",
                                      hint=f"to settle {rulebook} by another reading, use 'medrules run … --reading'"))
        stake = money_at_stake(lambda choice: s.program(rulebook, choice), [s.read(p, "facts") for p in facts],
                               lang.value, top)
        if not stake.readings:
            raise MedrulesError(error("reading", f"{rulebook} declares no readings",
                                      hint="declare one with 'reading NAME \"…\" { ALT … ALT … } chosen ALT'"))
        if json_:
            print(json.dumps(stake_json(stake), ensure_ascii=False, indent=2))
        else:
            out.print(render_stake(stake, lang.value))
    _run(body, debug, root, as_json=json_)


WHY_NOTHING_BUDGET = 10  # unpaid claims analysed for "what would have made it pay"


def why_nothing(program, facts, result, claim_ids, lang: str, citizen: bool = False) -> None:
    """For each claim that paid nothing: the facts that, if different, would have made it pay (the citizen's view
    names them by their labels: '缴费到账日期:2017-05-11', not 'member.paid_on=2017-05-11')."""
    from medrules.explain.format import Formatter
    from medrules.explain.i18n import gettext_for
    from medrules.explain.words import Vocabulary
    from medrules.analyses.whatif import sensitivity
    f = Formatter(lang)
    words = Vocabulary(program.checked, lang) if citizen else None
    unpaid = [c for c in result.claims if not (claim_ids and c.id not in claim_ids) and not c.funds_paid]
    if len(unpaid) > WHY_NOTHING_BUDGET:  # each costs settlements: a bounded number, the rest named
        rest = ", ".join(c.id for c in unpaid[WHY_NOTHING_BUDGET:][:20])
        out.print(f"({len(unpaid) - WHY_NOTHING_BUDGET} more unpaid claims not analysed: {rest}"
                  f"{' …' if len(unpaid) > WHY_NOTHING_BUDGET + 20 else ''}; use --claim ID)", markup=False)
    for c in unpaid[:WHY_NOTHING_BUDGET]:
        found = [s for s in sensitivity(program, facts, [c.id], most=3) if s.delta > 0]
        if found:
            head = gettext_for(lang)("Claim {id} paid nothing; it would have been paid if:").format(id=c.id)
            out.print(head, style="bold")
            for s in found:
                name = f"{s.change.record}.{s.change.field}"
                said = words.fact(name, s.change.value) if words is not None else s.change.text
                out.print(f"  • {said}: +{f.money(s.delta)}", markup=False)


@app.command()
def prove(rulebook: RulebookArg, json_: JsonOpt = False,
          timeout: Annotated[int, typer.Option("--timeout", help="seconds the solver may spend on each "
                                               "property")] = 20,
          claims_per_year: Annotated[int, typer.Option("--claims-per-year", min=0, max=4, help="the yearly limits "
                                                       "are proved over this many claims of one benefit year "
                                                       "(0: not at all)")] = 2,
          debug: DebugOpt = False, root: RootOpt = None) -> None:
    """Prove properties of every fund for ALL inputs (0 ≤ paid ≤ base, caps, rounding grid, member share,
    more cost never pays less); a failing property prints a counterexample facts file. Exit 1 if one fails."""
    def body(s: _Session):
        from medrules.prove import prove as run_prove, report_json, report_text
        report = run_prove(s.program(rulebook), timeout_ms=timeout * 1000, claims_per_year=claims_per_year)
        if json_:
            print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
        else:
            print(report_text(report))
        if not report.ok:
            raise typer.Exit(1)
    _run(body, debug, root)


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
                  ledger: Annotated[Optional[str], typer.Option("--ledger", help="also record each member's "
                                    "decisions, explained, in this ledger (docs/ledger.md)")] = None,
                  debug: DebugOpt = False, reading: ReadingOpt = None,
                  explain_plan: Annotated[bool, typer.Option("--explain-plan", help="first print how each fund is "
                                                             "settled: running sums or waves, and why")] = False,
                  history: Annotated[Optional[list[str]], typer.Option("--history", help="NAME=FILE: the records "
                                     "of a history (member_id and its fields), e.g. interruption=gaps.csv")] = None
                  ) -> None:
    """Settle claim files in bulk on the vector backend: per-claim, per-fund payouts, the member's share and
    the accumulators after each claim (docs/batch.md)."""
    def body(s: _Session):
        from medrules.batch.command import column_options, settle_command
        from medrules.diagnostics import MedrulesError
        s.choose(reading)
        if s.readings and ledger is not None:
            raise MedrulesError(error("reading", "'--reading' is not available with '--ledger': the ledger records "
                                      "decisions under the rulebook's own readings", None,
                                      "settle into the ledger without --reading, or compare with 'medrules readings'"))
        mapping = column_options(column or [], columns)
        settle_command(rulebook, claims, results, members, mapping, scheduler,
                       progress, out, lambda path: s.read(path, "rulebook"), s.readings, ledger=ledger,
                       explain_plan=explain_plan, histories=history or [])
        if ledger is not None:
            from medrules.ledger.batch import after_batch
            after_batch(ledger, rulebook, claims, results, members, mapping, lambda path: s.read(path, "rulebook"),
                        out, histories=history or [])
    _run(body, debug)


@app.command()
def translate(rulebook: Annotated[Path, typer.Argument(help="a rulebook file (.mr), or - for standard input")],
              to: Annotated[Lang, typer.Option("--to", help="the keyword set to write it with")],
              debug: DebugOpt = False) -> None:
    """Print a rulebook with the other keyword set (Chinese or English); names, quotes and comments are kept."""
    def body(s: _Session):
        from medrules.translate import command
        sys.stdout.write(command(s, rulebook, to.value))
    _run(body, debug)


@app.command()
def fmt(rulebooks: Annotated[list[Path], typer.Argument(help="rulebook files (.mr), or - for standard input")],
        check: Annotated[bool, typer.Option("--check", help="change nothing; exit 1 if a file is not formatted")] = False,
        debug: DebugOpt = False) -> None:
    """Format rulebooks in place (either keyword set): indentation, spacing, comments kept; '-' prints the result."""
    def body(s: _Session):
        from medrules.fmt import command
        changed, printed = command(s, rulebooks, check)
        if printed is not None and not check:
            sys.stdout.write(printed)
        for name in changed:
            err.print(f"{'not formatted' if check else 'formatted'}: {name}", markup=False)
        if check and changed:
            raise typer.Exit(1)
    _run(body, debug)


def _add_ledger_commands() -> None:
    """``medrules ledger …`` (medrules/ledger/cli.py); the database libraries load only when one runs."""
    from medrules.ledger.cli import ledger_app
    app.add_typer(ledger_app, name="ledger")


_add_ledger_commands()


@app.command()
def serve(host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8000,
          instance: Annotated[Path, typer.Option("--instance", help="folder for the ledger, accounts, secret key "
                                                 "and settings.toml (created if missing)")] = Path("instance"),
          rulebooks: Annotated[Optional[Path], typer.Option("--rulebooks", help="folder of *.mr files "
                                                            "(default: settings, else ./rulebooks)")] = None,
          create_clerk: Annotated[Optional[str], typer.Option("--create-clerk", metavar="NAME",
                                                              help="add a clerk (prompts for the password) "
                                                              "and exit")] = None,
          ledger: Annotated[Optional[str], typer.Option("--ledger", help="ledger URL (sqlite:///…, postgresql://…); "
                                                        "default: INSTANCE/ledger.sqlite")] = None) -> None:
    """Serve the JSON API (docs at /docs) and the clerk's and citizen's pages; see docs/service.md."""
    from medrules.service.command import serve as run_service
    run_service(host, port, instance, rulebooks, create_clerk, ledger)


@app.command()
def assess(rulebook: RulebookArg, facts: FactsArg, json_: JsonOpt = False, lang: LangOpt = Lang.zh,
           view: Annotated[View, typer.Option("--view", help="auditor: every step; citizen: a few sentences")]
           = View.auditor, debug: DebugOpt = False) -> None:
    """What a member owes under a rulebook's contributions, and what subsidies pay for (the premium side)."""
    def body(s: _Session):
        from medrules.contributions.command import assess_command
        program = s.program(rulebook)
        out.print(assess_command(program, s.read(facts, "facts"), lang.value, view.value, json_),
                  markup=False, highlight=False, soft_wrap=True)
    _run(body, debug)


def main() -> None:
    # lark imports interegular when it is installed (the test extra) for strict grammar checks, which no command
    # makes: ~40 ms of every command that parses, saved (docs/performance.md)
    sys.modules.setdefault("interegular", None)
    app(prog_name="medrules")


if __name__ == "__main__":
    sys.exit(main())


@app.command()
def plan(rulebook: RulebookArg,
         source: Annotated[bool, typer.Option("--source", help="print the Python the scalar backend generates and "
                                              "runs for each fund (read it; it is built again on every load)")] = False,
         untraced: Annotated[bool, typer.Option("--untraced", help="with --source: the functions that settle "
                                                "without recording a trace (medrules run, settle)")] = False,
         debug: DebugOpt = False, root: RootOpt = None, reading: ReadingOpt = None) -> None:
    """Print a rulebook's plan: each fund's operations in the order they run (or, with --source, its generated code)."""
    def body(s: _Session):
        from medrules.diagnostics import MedrulesError
        from medrules.plancmd import plan_text
        s.choose(reading)
        program = s.program(rulebook)
        if program.plan.top.memberships and s.readings:  # the router's plan: a scheme's reading is not in it
            name = next(iter(s.readings))
            paths = [p for m in program.checked.rulebook.memberships for p in m.paths
                     if Path(p).stem == name.partition(".")[0]]
            scheme = Path(rulebook).parent / paths[0] if paths else "SCHEME.mr"
            raise MedrulesError(error(
                "reading", f"--reading {name}: 'medrules plan' prints a membership rulebook's routing, which no "
                "reading changes", None, f"print the scheme's plan under the reading: medrules plan {scheme} "
                f"--reading {name.partition('.')[2] or name}={s.readings[name]}"))
        sys.stdout.write(plan_text(program, source, not untraced))
    _run(body, debug, root)
