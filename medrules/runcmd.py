"""``medrules run``: settle a facts file and print what each fund pays, in memory bounded by one member.

* A facts file (one member, docs/facts.md) is read without a parse tree (:mod:`medrules.jsonfile`),
  settled untraced, and printed in pieces: the table is laid out once for all its rows (the same widths
  as one rich table) and rendered ``CHUNK`` rows at a time; ``--json`` writes the same document as
  ``json.dumps(settlement_json(…), indent=2)``, one claim at a time. A file larger than
  :data:`medrules.runstream.STREAM_BYTES` is read a claim at a time instead (:mod:`medrules.runstream`: the same
  output, in memory flat in the number of claims).
* A JSON Lines file (``.jsonl``): one facts document (one member) per line, read, settled and printed
  member by member, so memory is that of the largest member whatever the number of members. Text: one
  table per member; ``--json``: one compact settlement document per line (JSON Lines).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.source import MAX_FACTS_BYTES, SourceFile, Span

CHUNK = 1000  # table rows rendered at a time
LINES_SUFFIX = ".jsonl"
_MARK = "\x00medrules-claims\x00"


def run_command(s, rulebook: Path, facts: Path, as_json: bool, lang: str, out, view: str = "auditor") -> None:
    """The body of ``medrules run`` (``s``: the CLI's session, which reads and remembers files)."""
    from medrules.explain.text import render_settlement
    if rulebook.is_dir():
        _no_view(view, "a folder of policy years")
        _run_folder(s, rulebook, facts, as_json, lang, out)
        return
    program = s.program(rulebook)
    if program.plan.top.memberships:  # a membership rulebook: each claim under the scheme of its date
        _no_view(view, "a membership rulebook")
        from medrules import membership_cli
        doc = membership_cli.run(s, program, facts, as_json, lang)
        return sys.stdout.write(doc + "\n") if isinstance(doc, str) else out.print(doc)
    if str(facts).endswith(LINES_SUFFIX):
        _no_view(view, "a JSON Lines file")
        run_lines(s, program, facts, as_json, lang, out)
        return
    if _household_path(s, program, facts):  # a household file: its persons' claims together (medrules.household)
        from medrules.household import run_household
        return run_household(s, program, s.read(facts, "facts"), as_json, lang, view, out)
    _no_view(view, "a member's facts file")
    from medrules.evaluate.quota import keeps_quotas
    from medrules.runstream import run_streamed, streamed
    # larger than a few thousand claims: read a claim at a time (medrules/runstream.py); a rulebook that keeps
    # quotas per holder checks every claim's holders before settling, so its file is read whole (capped)
    if streamed(facts) and not keeps_quotas(program.plan):
        run_streamed(s, program, facts, as_json, lang, out)
        return
    from medrules.evaluate import settle
    result = settle(program, s.facts(facts, program))
    if as_json:
        write_settlement_json(program, result, sys.stdout.write)
    else:
        print_table(out, render_settlement(program, result, lang))


def _no_view(view: str, what: str) -> None:
    """``--view`` is the household's view only: refused (never silently ignored) for anything else."""
    if view != "auditor":
        raise MedrulesError(error("view", f"--view is the household's view: it needs a household file and a "
                                  f"rulebook that keeps quotas per holder, not {what}", None,
                                  "for a member's claims in plain sentences: medrules explain RULEBOOK FACTS "
                                  "--view citizen"))


def _household_path(s, program, facts: Path) -> bool:
    """A rulebook that keeps quotas per holder, and a facts file with 'members' (the file is read only then)."""
    from medrules.evaluate.quota import keeps_quotas
    if not keeps_quotas(program.plan):
        return False
    from medrules.household import is_household_file
    return is_household_file(s.read(facts, "facts"))


def _run_folder(s, rulebook: Path, facts: Path, as_json: bool, lang: str, out) -> None:
    """A folder of policy years: each claim settled under the version in force on its date."""
    import attrs

    from medrules.explain.json import settlement_json
    from medrules.explain.text import render_settlement
    from medrules.versions import settle_set
    rs = s.versions(rulebook)
    result, used = settle_set(rs, s.read(facts, "facts"))
    if as_json:
        docs = {}
        for program in rs.versions:
            mine = attrs.evolve(result, claims=tuple(c for c in result.claims if used[c.id] is program))
            if mine.claims:
                docs[program.checked.id] = settlement_json(program, mine)
        sys.stdout.write(json.dumps({"schema": "medrules.settlement-set/1", "versions": docs}, ensure_ascii=False,
                                    indent=2) + "\n")
    else:
        print_table(out, render_settlement(rs.versions[-1], result, lang, programs=rs.versions))


# ---------------------------------------------------------------- printing in pieces
def print_table(console, table, chunk: int = CHUNK) -> None:
    """``console.print(table)`` for a SettlementTable, with the same output, rendering ``chunk`` rows at a time
    (rich lays a table out whole: a line of Segments per cell, for every row, before the first is written)."""
    if len(table.rows) <= chunk:
        console.print(table)
        return
    width = console.options.max_width
    widths = table.widths(width)
    if widths is None:  # no table fits: one block per claim, as it comes
        from rich.console import Group
        block: list = []
        for line in table.stacked(width):
            block.append(line)
            if len(block) >= chunk:
                console.print(Group(*block))
                block = []
        if block:
            console.print(Group(*block))
        return
    from rich.segment import Segment, Segments
    tail = (2 if table.total is not None else 0) + 1  # the section line and the total row; the bottom edge
    for start in range(0, len(table.rows), chunk):
        rows = table.rows[start:start + chunk]
        last = start + chunk >= len(table.rows)
        lines = console.render_lines(table.table(widths, rows, total=last), console.options, pad=False)
        head = len(lines) - len(rows) - (tail if last else 1)  # the title, the top edge and the header
        if start == 0:
            frame = head
        if head != frame or head < 1:  # a row took more than one line: print the table whole instead
            if start == 0:
                console.print(table)
                return
            raise MedrulesError(error("internal", "the settlement table could not be printed in pieces"))
        keep = lines[:head + len(rows)] if start == 0 else lines[head:head + len(rows)]
        if last:
            keep += lines[head + len(rows):]
        console.print(Segments([seg for line in keep for seg in (*line, Segment.line())]), end="")


def write_settlement_json(program, result, write) -> None:
    """``json.dumps(settlement_json(program, result), ensure_ascii=False, indent=2)`` and a new line, written one
    claim at a time (the document for all claims is never built)."""
    import attrs

    from medrules.explain.json import claim_json, settlement_json
    if not result.claims:
        write(json.dumps(settlement_json(program, result), ensure_ascii=False, indent=2) + "\n")
        return
    doc = settlement_json(program, attrs.evolve(result, claims=()))  # the frame: schema, rulebook, member
    doc["claims"] = [_MARK]
    doc["totals"] = _totals(program, result)
    before, after = json.dumps(doc, ensure_ascii=False, indent=2).split(json.dumps(_MARK), 1)
    write(before.rstrip(" "))
    indent = " " * 4  # a claim is an item of "claims", two levels in
    for i, claim in enumerate(result.claims):
        piece = json.dumps(claim_json(claim), ensure_ascii=False, indent=2)
        write(("" if i == 0 else ",\n") + indent + piece.replace("\n", "\n" + indent))
    write(after + "\n")


def _totals(program, result) -> dict:
    """The document's totals, as settlement_json computes them (sums over the claims)."""
    from decimal import Decimal

    from medrules.explain.json import plain
    funds = [name for name, _ in program.all_funds()]
    totals = {name: sum((c.fund(name).paid for c in result.claims), Decimal(0)) for name in funds}
    return {"total_cost": plain(sum((c.total_cost for c in result.claims), Decimal(0))),
            "funds": plain(totals),
            "member_pays": plain(sum((c.member_pays for c in result.claims), Decimal(0)))}


# ---------------------------------------------------------------- JSON Lines: member by member
@attrs.frozen
class LineSource(SourceFile):
    """One line of a JSON Lines file, as a source of its own: positions and quotes at its line in the file."""

    first_line: int = 1

    def line(self, number: int) -> str:
        return self.text if number == self.first_line else ""


def run_lines(s, program, path: Path, as_json: bool, lang: str, out) -> None:
    """Each line of a ``.jsonl`` file is one member's facts document: settled and printed before the next is read.
    Blank lines are skipped; an error names the file and its line (``members.jsonl:7:12``), quoting that line."""
    from medrules.cmdline import open_named
    from medrules.evaluate import settle
    from medrules.explain.json import settlement_json
    from medrules.explain.text import render_settlement
    from medrules.facts import facts_from_source
    try:
        f = open_named(path, "facts")
    except FileNotFoundError:
        raise MedrulesError(error("io", f"no such facts file: {path}")) from None
    except OSError as exc:
        raise MedrulesError(error("io", f"cannot read facts file {path}: {exc.strerror}")) from None
    with f:
        for number, raw in enumerate(_lines(f, MAX_FACTS_BYTES, path), start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                col = len(raw[:exc.start].decode("utf-8", errors="replace")) + 1
                raise MedrulesError(error("io", f"this is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                                          Span(str(path), number, col), "save the file as UTF-8")) from None
            source = LineSource(str(path), text.rstrip("\r\n"), number)
            s.sources[source.name] = source  # quoted if this member's facts are wrong
            result = settle(program, facts_from_source(source, program.checked))
            if as_json:
                sys.stdout.write(json.dumps(settlement_json(program, result), ensure_ascii=False,
                                            separators=(",", ":")) + "\n")
            else:
                print_table(out, render_settlement(program, result, lang))
            del s.sources[source.name]


def _lines(f, limit: int, path):
    """The file's lines, each at most ``limit`` bytes (a longer one is refused, not read on)."""
    number = 0
    while True:
        raw = f.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit:
            raise MedrulesError(error("io", f"line {number} is longer than {limit:,} bytes",
                                      Span(str(path), number, 1), "one member's facts per line"))
        yield raw
