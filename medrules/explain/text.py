"""The explanation as rich terminal text: claim by claim, fund by fund, step by step."""
from __future__ import annotations

import io
import itertools

import attrs

from rich.cells import cell_len
from rich.console import Console, Group
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from medrules.evaluate import Program, Settlement
from medrules.evaluate.runtime import ZERO
from medrules.explain import ClaimExplanation, Explanation
from medrules.explain.format import Formatter
from medrules.explain.i18n import gettext_for
from medrules.explain.steps import Line, annotations
from medrules.explain.words import reading_sentence

HEADINGS = {
    "claim": "Claim",
    "benefit_year": "benefit year",
    "total": "total cost",
    "member": "member pays",
    "funds": "funds pay",
    "fund": "fund",
    "date": "date",
}  # English msgids; other languages from the catalog


def headings(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {key: _(text) for key, text in HEADINGS.items()}


def render_explanation(e: Explanation) -> Group:
    parts = []
    h = e.program.checked.rulebook.header
    title = h.title.best(e.lang) if h.title else h.id
    parts.append(_heading(Text(f"{title}  [{h.id}]", style="bold")))
    for c in e.claims:
        parts.append(render_claim(e, c))
    return Group(*parts)


def render_claim(e: Explanation, c: ClaimExplanation) -> Group:
    words, f = headings(e.lang), Formatter(e.lang)
    r = c.result
    out = [Text(""), _heading(Text(f"{words['claim']} {r.id} · {r.date} · {words['benefit_year']} {r.year} · "
                                   f"{words['total']} {f.money(r.total_cost)}", style="bold underline"))]
    current_fund = "\0"
    last_citation = None
    number = 0
    for line in c.lines:
        if line.fund != current_fund:
            current_fund = line.fund
            last_citation = None
            if line.fund is not None:
                out.append(Text(f"── {line.fund_title} ({line.fund})", style="bold magenta"))
        number += 1
        out.append(_line(e, line, number, show_citation=line.citation is not last_citation))
        if line.citation is not None:
            last_citation = line.citation
    out.append(_heading(Text(f"=> {words['funds']} {f.money(r.funds_paid)}; {words['member']} "
                             f"{f.money(r.member_pays)}", style="bold green")))
    titles = {name: fund.title(e.lang) for name, fund in e.program.all_funds()}
    for note in e.reading_notes(r.id):
        out.append(Hanging(Text("≠  ", style="yellow"), ((0, Text(reading_sentence(note, f, titles, r.funds_paid,
                                                                                    r.member_pays),
                                                                   style="yellow")),)))
    return Group(*out)


def _heading(text: Text) -> "Hanging":
    """A heading whose wrapped lines are indented by two."""
    return Hanging(Text(""), ((0, text),), hang=2)


STYLES = {"formula": "cyan", "assumed": "yellow", "cite": "italic", "note": "yellow"}


def _line(e: Explanation, line: Line, number: int, show_citation: bool) -> "Hanging":
    t = Text()
    t.append(line.text, style="bold" if line.kind == "paid" else "")
    if line.span is not None and line.span.line > 0:
        t.append(f"  [{line.span.file}:{line.span.line}]", style="dim")
    notes = tuple(Text(text, style=STYLES[kind]) for kind, text in annotations(line, e.lang, with_citation=show_citation))
    return Hanging(Text(f"{number:>3}. ", style="dim"), ((0, t), *((2, a) for a in notes)))


@attrs.frozen
class Hanging:
    """A numbered or bulleted paragraph with a hanging indent: wrapped lines continue under the text, never at
    column 0. ``paragraphs``: (extra indent, text) pairs, the first beside ``head``."""
    head: Text
    paragraphs: tuple[tuple[int, Text], ...]
    hang: int = 0  # a further indent for continuation lines (headings: 2)

    def __rich_console__(self, console, options):
        indent = self.head.cell_len
        # One-line pieces are rendered straight to segments: what rich makes of ``Text.assemble(lead, piece)`` when
        # that fits the width (a copy, neither cut, padded nor justified), without its wrapping and copying; the
        # same bytes (tests/test_explain_rendering.py). Otherwise (or when the console justifies) as rich does.
        direct = options.justify in (None, "default")
        for number, (extra, text) in enumerate(self.paragraphs):
            width = max(options.max_width - indent - extra - self.hang, 12)
            for i, piece in enumerate(_wrapped(text, console, width)):
                piece.rstrip()
                first = number == 0 and i == 0
                lead = self.head if first else " " * (indent + extra + (self.hang if i else 0))
                if direct and _one_line(piece, options.max_width - (indent if first else len(lead))) and (
                        not first or _one_line(self.head, indent)):
                    if first:
                        yield from _segments(self.head, console)
                    else:
                        yield Segment(lead)
                    yield from _segments(piece, console)
                    yield Segment("\n")
                else:
                    yield Text.assemble(lead, piece, no_wrap=True, end="\n")


def _segments(text: Text, console):
    """The segments of ``text`` as part of a line rich renders: ``Text.render``, but a text with a style and no spans
    keeps its style (inside a joined line its style is a span; ``render`` alone drops it)."""
    if text.style and not text.spans:
        return (Segment(text.plain, console.get_style(text.style, default=Style.null())),)
    return text.render(console)


def _one_line(text: Text, width: int) -> bool:
    """Is ``text`` one line (no line end, no tab) that fits in ``width`` cells, so that rich's wrapping gives it back
    unchanged?"""
    plain = text.plain
    return "\n" not in plain and "\t" not in plain and cell_len(plain) <= width


def _wrapped(text: Text, console, width: int):
    """``text.wrap(console, width, overflow="fold")``; a text that fits on one line is its own copy (rich finds no
    place to break it, and neither cuts, pads nor justifies it), without rich's measuring word by word."""
    if not text.justify and not text.no_wrap and _one_line(text, width):
        return (text.copy(),)
    return text.wrap(console, width, overflow="fold")


def render_settlement(program: Program, s: Settlement, lang: str = "zh", programs=None) -> "SettlementTable":
    """What each fund pays on each claim. ``programs``: the versions of a rulebook set (columns for all their funds).

    A table when it fits the width it is printed in; otherwise one block per claim (label, amount), so
    that no amount or date is ever cut short."""
    f = Formatter(lang)
    words = headings(lang)
    title = s.rulebook if programs else program.checked.id
    funds = program.all_funds()
    for other in programs or ():
        funds += [(name, fund) for name, fund in other.all_funds() if name not in dict(funds)]
    headers = [words["claim"], words["date"], words["total"], *(fund.title(lang) for _, fund in funds),
               words["member"]]

    rows = [settlement_row(c, funds, f) for c in s.claims]
    total = None
    if s.claims:
        total = ("Σ", "", f.number(sum((c.total_cost for c in s.claims), ZERO)),
                 *(f.number(sum((_paid(c, name) for c in s.claims), ZERO)) for name, _ in funds),
                 f.number(sum((c.member_pays for c in s.claims), ZERO)))
    if any(c.recovered_by is not None for c in s.claims):  # paid first, recoverable from a third party
        _ = gettext_for(lang)
        headers.append(_("recoverable from a third party"))
        rows = [row + (f.number(c.recoverable),) for row, c in zip(rows, s.claims)]
        total += (f.number(sum((c.recoverable for c in s.claims), ZERO)),)
    return SettlementTable(f"{title} · {s.member_id}", tuple(headers), tuple(rows), total)


def settlement_row(c, funds, f: Formatter) -> tuple[str, ...]:
    """A claim's row of the settlement table: id, date, total, what each of ``funds`` paid, the member's share."""
    return (c.id, str(c.date), f.number(c.total_cost), *(f.number(_paid(c, name)) for name, _ in funds),
            f.number(c.member_pays))


def _paid(claim, name: str):
    return next((x.paid for x in claim.funds if x.fund == name), ZERO)


@attrs.frozen
class SettlementTable:
    """Rows of whole cells, laid out when the width is known (``__rich_console__``)."""
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: tuple[str, ...] | None

    def widths(self, max_width: int) -> list[int] | None:
        """Column widths that keep every cell whole (headers may wrap), or None when no table fits."""
        cells = [r for r in (*self.rows, self.total) if r is not None]
        return self.laid_out([max([cell_len(r[i]) for r in cells] + [1]) for i in range(len(self.headers))],
                             max_width)

    def laid_out(self, widths: list[int], max_width: int) -> list[int] | None:
        """The columns' widths from the widest cell of each (at least 1): see :meth:`widths`."""
        # a header wraps (CJK by character, English by word), but no narrower than its longest word
        widths = [max(w, max(cell_len(word) for word in h.split()) if " " in h else min(cell_len(h), 4))
                  for w, h in zip(widths, self.headers)]
        frame = 3 * len(widths) + 1  # '│ ' + ' ' per column, and the last border
        spare = max_width - frame - sum(widths)
        if spare < 0:
            return None
        for i, h in enumerate(self.headers):  # give headers room, left to right, while there is some
            grow = min(spare, max(0, cell_len(h) - widths[i]))
            widths[i] += grow
            spare -= grow
        return widths

    def __rich_console__(self, console, options):
        widths = self.widths(options.max_width)
        if widths is not None:
            yield self.table(widths)
            return
        yield from self.stacked(options.max_width)

    def table(self, widths: list[int], rows=None, total: bool = True) -> Table:
        """The rich table at these widths: of ``rows`` (default: all), with the total row if ``total``."""
        # Text: ids, titles and headers are plain text, never read as rich markup ('[red]C1' prints as is)
        table = Table(title=Text(self.title), show_lines=False)
        for i, (h, w) in enumerate(zip(self.headers, widths)):
            table.add_column(Text(h), justify="left" if i < 2 else "right", width=w, overflow="fold")
        for r in self.rows if rows is None else rows:
            table.add_row(*map(Text, r))
        if self.total is not None and total:
            table.add_section()
            table.add_row(*map(Text, self.total))
        return table

    def stacked(self, width: int):
        """One block per claim: its id and date, then each column as 'label  amount', the amount right-aligned
        (on a line of its own, indented, when label and amount do not fit on one)."""
        yield Text(self.title, style="bold")
        for r in itertools.chain(self.rows, (self.total,)):  # rows may be read as they come (medrules run)
            if r is None:
                continue
            yield Text("")
            yield Text(f"{r[0]} {r[1]}".rstrip(), style="bold")
            for label, value in zip(self.headers[2:], r[2:]):
                gap = width - 2 - cell_len(label) - cell_len(value)
                if gap >= 2:
                    yield Text(f"  {label}{' ' * gap}{value}")
                else:
                    yield Text(f"  {label}", overflow="fold")
                    yield Text(f"    {value}", overflow="fold")


def to_text(renderable, width: int = 110) -> str:
    """Plain text of a renderable (snapshots, files)."""
    console = Console(record=True, width=width, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def render_what_if(w, sensitivity=(), citizen: bool = False) -> Group:
    """The difference a changed fact makes, claim by claim, with the steps that changed (the citizen's view:
    only the money, on the fen grid)."""
    from medrules.explain.words import what_if_reading_sentences as reading_sentences
    f = Formatter(w.lang, grid=citizen)
    _ = gettext_for(w.lang)
    changes = ", ".join(c.text for c in w.changes)
    out = [Text(_("What if {changes}?").format(changes=changes), style="bold underline")]
    for i, d in enumerate(w.claims):
        out.append(Text(""))
        cid = f"{d.claim_id} ({w.persons[i]})" if w.persons else d.claim_id  # a household's: whose claim
        head = (_("Claim {id}: the funds pay more by {amount}") if d.delta >= 0
                else _("Claim {id}: the funds pay less by {amount}")).format(id=cid, amount=f.money(abs(d.delta)))
        out.append(Text(head + _("; the member pays {before} → {after}").format(
            before=f.number(d.member_before), after=f.number(d.member_after)), style="bold"))
        for fund, title, before, after in d.funds:
            delta = after - before
            out.append(Text(f"  {title}{'' if citizen else f' ({fund})'}: {f.number(before)} → {f.number(after)} "
                            f"({'+' if delta >= 0 else '−'}{f.number(abs(delta))})"))
        # the scheme a claim is settled under (a membership rulebook) is the citizen's business too
        moved = [c.after for c in d.steps if c.after is not None and c.after.kind == "insured"] if citizen else []
        for line in moved:
            out.append(Hanging(Text("  → "), ((0, Text(line.text)),)))
        if not d.funds and not moved and (citizen or not d.steps):
            out.append(Text("  " + _("Nothing changes."), style="dim"))
        for sentence in reading_sentences(w, d.claim_id):
            out.append(Hanging(Text("  ≠ ", style="yellow"), ((0, Text(sentence, style="yellow")),)))
        for change in () if citizen else d.steps:
            if change.before is not None:
                out.append(Text(f"  − {change.before.text}" + (f"  [{change.before.formula}]" if change.before.formula
                                                                 else ""), style="red"))
            if change.after is not None:
                out.append(Text(f"  + {change.after.text}" + (f"  [{change.after.formula}]" if change.after.formula
                                                                else ""), style="green"))
    total = w.funds_after - w.funds_before
    out += [Text(""), Text(_("In all: the funds pay {before} → {after}").format(
        before=f.number(w.funds_before), after=f.number(w.funds_after))
        + f" ({'+' if total >= 0 else '−'}{f.number(abs(total))})", style="bold")]
    if sensitivity:
        out += [Text(""), Text(_("The facts that would change the outcome most:"), style="bold")]
        for i, s in enumerate(sensitivity, 1):
            moved = "; ".join(moved_sentences(s, w.lang))  # a membership rulebook: claims settled elsewhere
            out.append(Text(f"  {i}. {s.change.text}: {'+' if s.delta >= 0 else '−'}{f.money(abs(s.delta))}"
                            + (f" ({moved})" if moved else "")))
    return Group(*out)


def moved_sentences(s, lang: str) -> list[str]:
    """A ranked fact's claims that another scheme would settle (medrules.membership_sensitivity), as sentences."""
    _ = gettext_for(lang)
    return [_("{claim} would be settled under {scheme}, not {was}").format(claim=claim, scheme=after, was=before)
            for claim, before, after in getattr(s, "moves", ())]


def render_citizen(e: Explanation) -> Group:
    from medrules.explain.citizen import citizen_view
    parts = []
    for c in citizen_view(e):
        parts.append(Text(c.heading, style="bold"))
        parts += [Hanging(Text("  • "), ((0, Text(sentence)),)) for sentence in c.sentences]
        parts.append(Text(""))
    return Group(*parts)


def render_stake(stake, lang: str = "zh") -> Group:
    """The money at stake per reading (medrules.analyses.readings.Stake): per combination of alternatives, what
    each fund pays against the chosen readings, and the claims that differ most."""
    f = Formatter(lang)
    _ = gettext_for(lang)
    out = [Text(_("Readings of the text and the money at stake"), style="bold underline")]
    for name, r in stake.readings.items():
        alts = _(", ").join(_("{name} ({label})").format(name=a.name, label=a.label.best(lang)) if a.label
                            else a.name for a in r.alternatives)
        out.append(Hanging(Text("  • "), ((0, Text(f"{name}: {r.title(lang)} — {alts}; "
                                                  + _("chosen: {alternative}").format(alternative=r.declared))),)))

    out += [Text(""), Text(_("As the rulebook chooses: {choice}").format(choice=stake.chosen.text), style="bold"),
            _stake_table(_, f, stake.chosen.text, stake.chosen, stake.chosen, stake.titles)]
    for outcome, changes in stake.others:
        out += [Text(""), Text(_("Read otherwise: {choice}").format(choice=outcome.text), style="bold"),
                _stake_table(_, f, outcome.text, outcome, stake.chosen, stake.titles)]
        if changes:
            out.append(Text("  " + _("Claims that differ most:")))
            for c in changes:
                moved = "; ".join(f"{stake.titles.get(fund, fund)} {f.number(a)} → {f.number(b)}"
                                  for fund, a, b in c.funds)
                if getattr(c, "moved", False):  # a membership rulebook: another scheme settles it (highest of)
                    moved += "; " + _("settled under {scheme}, not {was}").format(scheme=c.schemes[1],
                                                                                  was=c.schemes[0])
                out.append(Hanging(Text("    "), ((0, Text(f"{c.file} {c.claim_id}: {_signed(f, c.delta)} ({moved})")),)))
        else:
            out.append(Text("  " + _("No claim is affected.")))
    return Group(*out)


def _signed(f: Formatter, d) -> str:
    return ("+" if d > 0 else "−" if d < 0 else "±") + f.number(abs(d))


def render_stake_by_year(stake, lang: str = "zh", top: int = 5) -> Group:
    """The money at stake over a folder of policy years (medrules.analyses.readings.YearsStake): per combination
    of readings, what each fund pays in each year against the rulebooks' own choice, the years together, and
    the claims that differ most."""
    f = Formatter(lang)
    _ = gettext_for(lang)
    out = [Text(_("Readings of the text and the money at stake") + f" — {stake.folder}", style="bold underline")]
    for name, r in stake.readings.items():
        alts = _(", ").join(_("{name} ({label})").format(name=a.name, label=a.label.best(lang)) if a.label
                            else a.name for a in r.alternatives)
        years = stake.years_of[name]
        where = (_("declared by {years}, which move together") if len(years) > 1 else _("declared by {year}")).format(
            years=_(", ").join(years), year=years[0])
        said = (_("pinned: {alternative} in every year").format(alternative=stake.pinned[name]) if name in stake.pinned
                else _("chosen: {alternative}").format(alternative=r.declared or r.chosen))
        out.append(Hanging(Text("  • "), ((0, Text(f"{name}: {r.title(lang)} — {alts}; {said}; {where}")),)))


    chosen = stake.total(0)
    for index, combo in enumerate(stake.combinations):
        choice = ", ".join(f"{k}={v}" for k, v in combo.items()) or "—"
        heading = _("As the rulebook chooses: {choice}") if index == 0 else _("Read otherwise: {choice}")
        out += [Text(""), Text(heading.format(choice=choice), style="bold")]
        for year in stake.years:
            out.append(_stake_table(_, f, year.version, year.outcomes[index], year.outcomes[0], year.titles))
        total = stake.total(index)
        out.append(Hanging(Text("  "), ((0, Text(_("All years: the funds pay {funds} ({funds_change}); members pay "
                                                  "{members} ({members_change})").format(
            funds=f.number(total.funds_paid), funds_change=_signed(f, total.funds_paid - chosen.funds_paid),
            members=f.number(total.member_pays), members_change=_signed(f, total.member_pays - chosen.member_pays)),
            style="bold")),)))
        if index == 0:
            continue
        titles = {k: v for y in stake.years for k, v in y.titles.items()}
        changes = stake.differ_most(index, top)
        if changes:
            out.append(Text("  " + _("Claims that differ most:")))
            for version, c in changes:
                moved = "; ".join(f"{titles.get(fund, fund)} {f.number(a)} → {f.number(b)}" for fund, a, b in c.funds)
                out.append(Hanging(Text("    "), ((0, Text(f"{version} {c.file} {c.claim_id}: {_signed(f, c.delta)} "
                                                           f"({moved})")),)))
        else:
            out.append(Text("  " + _("No claim is affected.")))
    return Group(*out)


def _stake_table(_, f, heading: str, outcome, base, titles: dict) -> Table:
    """What one combination of readings pays, fund by fund, and the difference from ``base`` (medrules readings)."""
    t = Table(show_header=True, title=None, box=None, padding=(0, 1))
    t.add_column(_("fund"))
    t.add_column(heading, justify="right", no_wrap=True)
    t.add_column(_("difference"), justify="right", no_wrap=True)
    for fund, paid in outcome.funds.items():
        before = base.funds.get(fund, ZERO)
        if paid or before:
            t.add_row(titles.get(fund, fund), f.number(paid), _signed(f, paid - before))
    t.add_row(_("all funds"), f.number(outcome.funds_paid), _signed(f, outcome.funds_paid - base.funds_paid))
    t.add_row(_("members pay"), f.number(outcome.member_pays), _signed(f, outcome.member_pays - base.member_pays))
    return t
