"""``medrules run`` on one member's facts file of any size, in memory flat in the number of claims (issue 13).

A facts file larger than :data:`STREAM_BYTES` is not read whole (:mod:`medrules.runcmd` reads smaller ones so):

1. :func:`medrules.factstream.scan` checks the whole file and keeps 32 bytes of each claim (every problem is
   reported before anything is settled or printed, as for a small file);
2. the claims are read again one by one in date order, settled (:func:`medrules.evaluate.settled_claims`,
   untraced) and each written, as the output will show it, to a spool file on disk; what the end needs is kept
   as it goes: the sums of the total row, the widest cell of each column, whether any claim was recoverable;
3. the output is written from the spool: ``--json`` the same text as ``json.dumps(settlement_json(…), indent=2)``,
   text the same table (laid out at the widths of all its rows) as for the file read whole.

So nothing is printed unless the whole file settles, and the output is byte for byte that of the file read
whole (tests/test_run_stream.py compares them on every shipped rulebook's examples).
"""
from __future__ import annotations

import decimal
import json
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import attrs
from rich.cells import cell_len

from medrules.diagnostics import MedrulesError, error
from medrules.explain.text import SettlementTable
from medrules.source import SourceFile, Span

STREAM_BYTES = 256 * 1024  # a facts file larger than this is read a claim at a time (some 1,500 claims)


def streamed(facts: Path) -> bool:
    """Is this facts file read a claim at a time? (a regular file larger than STREAM_BYTES)"""
    try:
        return str(facts) != "-" and os.stat(facts).st_size > STREAM_BYTES
    except (OSError, ValueError):
        return False  # reading it whole says why it cannot be read


def run_streamed(s, program, path: Path, as_json: bool, lang: str, out) -> None:
    from medrules.cmdline import FACTS_SUFFIX
    from medrules.evaluate import settle
    from medrules.factstream import open_facts, scan
    name = str(path)
    try:
        f, _ = open_facts(path)
    except FileNotFoundError:
        raise MedrulesError(error("io", f"no such facts file: {path}")) from None
    except OSError as exc:
        raise MedrulesError(error("io", f"cannot read facts file {path}: {exc.strerror}")) from None
    with f:
        head = f.read(STREAM_BYTES)
        if not name.endswith(FACTS_SUFFIX) and not head.lstrip(b" \t\r\n\f").startswith(b"{"):
            raise MedrulesError(error("io", f"{path} does not look like a facts file: it has no {FACTS_SUFFIX} "
                                      "suffix and does not start with '{'", Span(name, 1, 1),
                                      "name a facts file (JSON, docs/facts.md); its content is not shown"))
        f.seek(0)
        s.sources[name] = FileLines(name, head.decode("utf-8", errors="replace").removeprefix("\ufeff"))
        try:
            facts, claims = scan(f, name, program)
        except MedrulesError as exc:
            if any(d.code == "io" for d in exc.diagnostics):  # not UTF-8: not quoted (medrules/cmdline.py, rule 3)
                del s.sources[name]
            raise
        empty = settle(program, facts)  # the rulebook's own refusals (contributions only, …), as for any file
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
            if as_json:
                totals = _json_claims(program, facts, claims.each(f, program.checked), spool)
                _write_json(program, empty, totals, spool, sys.stdout.write)
            else:
                _print_text(program, empty, facts, claims.each(f, program.checked), spool, lang, out)


def _settled(program, facts, claims):
    """Each claim's result, settled under the evaluator's context, a failure said as ``settle`` says it."""
    from medrules.evaluate import out_of_range, settled_claims
    from medrules.evaluate.runtime import CONTEXT
    results = settled_claims(program, facts, claims)
    while True:
        with decimal.localcontext(CONTEXT):
            try:
                result = next(results)
            except StopIteration:
                return
            except (ArithmeticError, ValueError, RecursionError) as exc:
                raise out_of_range(exc, facts.file) from None
        yield result


# ---------------------------------------------------------------- --json
def _json_claims(program, facts, claims, spool) -> dict | None:
    """Each claim's JSON, as an item of "claims" two levels in, into the spool; returns the totals (None: none)."""
    from medrules.explain.json import claim_json, plain
    funds = [name for name, _ in program.all_funds()]
    cost = member = Decimal(0)
    paid = dict.fromkeys(funds, Decimal(0))
    indent = " " * 4
    count = 0
    for c in _settled(program, facts, claims):
        piece = json.dumps(claim_json(c), ensure_ascii=False, indent=2)
        spool.write(("" if count == 0 else ",\n") + indent + piece.replace("\n", "\n" + indent))
        cost += c.total_cost
        member += c.member_pays
        for name in funds:
            paid[name] += c.fund(name).paid
        count += 1
    if not count:
        return None
    return {"total_cost": plain(cost), "funds": plain(paid), "member_pays": plain(member)}


def _write_json(program, empty, totals: dict | None, spool, write) -> None:
    """The document: its frame around the claims in the spool (as :func:`medrules.runcmd.write_settlement_json`)."""
    from medrules.explain.json import settlement_json
    from medrules.runcmd import _MARK
    doc = settlement_json(program, empty)
    if totals is None:
        write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    doc["claims"] = [_MARK]
    doc["totals"] = totals
    before, after = json.dumps(doc, ensure_ascii=False, indent=2).split(json.dumps(_MARK), 1)
    write(before.rstrip(" "))
    spool.seek(0)
    while piece := spool.read(1 << 20):
        write(piece)
    write(after + "\n")


# ---------------------------------------------------------------- text
def _print_text(program, empty, facts, claims, spool, lang: str, out) -> None:
    """The settlement table, rows from the spool (one JSON list a line, the recoverable amount last)."""
    from medrules.explain.text import Formatter, render_settlement, settlement_row
    from medrules.runcmd import CHUNK, print_table
    f = Formatter(lang)
    funds = program.all_funds()
    zero = Decimal(0)
    sums = [zero] * (len(funds) + 3)  # total cost, each fund, the member, recoverable
    widths: list[int] | None = None
    recovered = None  # the first claim recoverable from a third party (its table names the column)
    count = 0
    for c in _settled(program, facts, claims):
        row = (*settlement_row(c, funds, f), f.number(c.recoverable))
        spool.write(json.dumps(row, ensure_ascii=False) + "\n")
        widths = [max(w, cell_len(cell)) for w, cell in zip(widths, row)] if widths else [cell_len(x) for x in row]
        sums[0] += c.total_cost
        for i, (name, _) in enumerate(funds, start=1):
            sums[i] += next((x.paid for x in c.funds if x.fund == name), zero)
        sums[-2] += c.member_pays
        sums[-1] += c.recoverable
        if recovered is None and c.recovered_by is not None:
            recovered = c
        count += 1
    frame = render_settlement(program, attrs.evolve(empty, claims=(recovered,) if recovered else ()), lang)
    if not count:
        print_table(out, frame)
        return
    keep = len(frame.headers)  # without the recoverable column when no claim has one
    total = ("Σ", "", *(f.number(x) for x in sums))[:keep]
    rows = _Rows(spool, count, keep)
    if count <= CHUNK:
        print_table(out, SettlementTable(frame.title, frame.headers, tuple(rows), total))
        return
    cells = [max(w, cell_len(cell), 1) for w, cell in zip(widths, total)]
    print_table(out, _SpooledTable(frame.title, frame.headers, rows, total, cells), CHUNK)


class _Rows:
    """The table's rows in the spool, read in order: ``len``, iteration, and slices taken one after the other."""

    def __init__(self, spool, count: int, keep: int):
        self.spool, self.count, self.keep, self.next = spool, count, keep, None

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        self.spool.seek(0)
        self.next = None  # a slice after this starts again
        for line in self.spool:
            yield tuple(json.loads(line)[:self.keep])

    def __getitem__(self, part: slice):
        start, stop, _ = part.indices(self.count)
        if self.next != start:
            self.spool.seek(0)
            for _ in range(start):
                self.spool.readline()
        self.next = stop
        return tuple(tuple(json.loads(self.spool.readline())[:self.keep]) for _ in range(start, stop))


@attrs.frozen
class _SpooledTable(SettlementTable):
    """A settlement table whose rows stay on disk; the widest cell of each column is known beforehand."""

    cells: list[int] = attrs.field(factory=list)

    def widths(self, max_width: int) -> list[int] | None:
        return self.laid_out(list(self.cells), max_width)


# ---------------------------------------------------------------- quoting the file in diagnostics
@attrs.frozen
class FileLines(SourceFile):
    """A facts file too large to hold, as a source to quote: its first part as ``text`` (the language a
    diagnostic is reported in is read from the start), any line read from the file when it is quoted."""

    MAX_LINE = 1 << 20  # characters of a line kept to quote (the excerpt shows a window of it)

    def line(self, number: int) -> str:
        try:
            with open(self.name, "rb") as f:
                for i, raw in enumerate(iter(lambda: f.readline(self.MAX_LINE), b""), start=1):
                    if i == number:
                        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                        return text.removeprefix("\ufeff") if i == 1 else text
                    while raw and not raw.endswith(b"\n"):  # the rest of a long line
                        raw = f.readline(self.MAX_LINE)
        except OSError:
            return ""
        return ""
