"""Facts and conditions in words a citizen reads: the labels a rulebook declares, never raw names.

``member.category == retired`` becomes "人员类别为退休人员" / "the member category is retired";
``day_number(member.born_on, member.paid_on)`` = 91 becomes "缴费日期为出生日期起第 91 天". A name
without a declared label falls back to the name itself (the checker can require labels; this
module never invents one).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from medrules import nodes as n
from medrules.explain.format import Formatter
from medrules.explain.i18n import gettext_for


# a fact compared with a value, in words (English msgids; the catalog has the other languages)
_COMPARISONS = {"==": "the {label} is {value}", "!=": "the {label} is not {value}", "<": "the {label} is below {value}",
                "<=": "the {label} is at most {value}", ">": "the {label} is above {value}",
                ">=": "the {label} is at least {value}"}


class Vocabulary:
    """The labels of one rulebook (and of the schemes it layers on) in one language."""

    def __init__(self, checked, lang: str, grid: bool = False):
        self.lang = lang
        self.f = Formatter(lang, grid=grid)
        self._ = gettext_for(lang)  # the wording of this language (medrules/locale, domain 'explanations')
        self.records: dict[str, dict[str, n.Field]] = {}
        self.enums: dict[str, n.EnumDecl] = {}
        rulebook = checked
        chain = []
        while rulebook is not None:
            chain.append(rulebook)
            rulebook = rulebook.base
        for ck in reversed(chain):  # the top rulebook's declarations win
            for group, fields in ck.records.items():
                self.records.setdefault(group, {}).update(fields)
            self.enums.update(ck.enums)

    # ------------------------------------------------------------ names
    def field(self, name: str) -> n.Field | None:
        group, _, rest = name.partition(".")
        return self.records.get(group, {}).get(rest)

    def label(self, name: str) -> str:
        """'member.registered_on' -> '登记日期' (the declared label), else the name."""
        field = self.field(name)
        if field is not None and field.label is not None:
            return field.label.best(self.lang)
        return name

    def member_label(self, type_name: str | None, value: str) -> str:
        enum = self.enums.get(type_name or "")
        if enum is not None:
            for m in enum.members:
                if m.name == value and m.label is not None:
                    return m.label.best(self.lang)
        return value

    def value(self, name: str, value) -> str:
        """A fact's value as read: enum members by their label, yes/no, dates, amounts."""
        field = self.field(name)
        type_name = field.type_name if field is not None else None
        if isinstance(value, bool):
            return self._("yes") if value else self._("no")
        if isinstance(value, str):
            return self.member_label(type_name, value)
        if isinstance(value, frozenset):
            sep = self._(", ")
            return sep.join(self.member_label(type_name, v) for v in sorted(value))
        if isinstance(value, Decimal):
            return self.f.money(value) if type_name == "money" else self.f.plain(value)
        if isinstance(value, dt.date):
            return self.f.date(value)
        return str(value)

    def fact(self, name: str, value) -> str:
        """'人员类别:退休人员' / 'member category: retired'."""
        return self._("{label}: {value}").format(label=self.label(name), value=self.value(name, value))

    def day(self, call: n.Call, number, values: dict | None = None) -> str:
        """The day a ``day_number(start, end)`` counted, saying of what, with the dates when known:
        '缴费日期 2017-05-12 是出生日期 2017-02-10 起的第 91 天'."""
        values = values or {}
        start, end = (a.text if isinstance(a, n.Ref) else None for a in call.args[:2])
        if start and end:
            def named(name):
                return f"{self.label(name)} {self.value(name, values[name])}" if name in values else self.label(name)
            return self._("the {end} is day {number} counted from the {start}").format(
                end=named(end), number=number, start=named(start))
        return self._("day {number}").format(number=number)

    # ------------------------------------------------------------ conditions
    def condition(self, expr) -> str:
        """A condition in words; what cannot be said plainly is shown as written."""
        from medrules.explain.formula import source_text
        if isinstance(expr, n.Comparison) and isinstance(expr.left, n.Ref) and self.field(expr.left.text):
            name = expr.left.text
            right = expr.right
            field = self.field(name)
            if isinstance(right, n.Ref) and len(right.parts) == 1 and field.type_name in self.enums:
                value = self.member_label(field.type_name, right.parts[0])
            elif isinstance(right, n.Literal):
                value = source_text(right)
            else:
                return source_text(expr)
            message = _COMPARISONS.get(expr.op)
            if message:
                return self._(message).format(label=self.label(name), value=value)
        if isinstance(expr, n.Membership) and isinstance(expr.operand, n.Ref) and self.field(expr.operand.text):
            name = expr.operand.text
            type_name = self.field(name).type_name
            values = [self.member_label(type_name, v) for v in expr.names]
            joined = self._(" or ").join(values)
            message = _COMPARISONS["!="] if expr.negated else _COMPARISONS["=="]
            return self._(message).format(label=self.label(name), value=joined)
        if isinstance(expr, n.Ref) and self.field(expr.text):  # a yes/no fact
            return self._("{label}: {value}").format(label=self.label(expr.text), value=self._("yes"))
        if isinstance(expr, n.Logic) and expr.op == "not" and isinstance(expr.operands[0], n.Ref) \
                and self.field(expr.operands[0].text):
            return self._("{label}: {value}").format(label=self.label(expr.operands[0].text), value=self._("no"))
        if isinstance(expr, n.Logic) and expr.op in ("and", "or"):
            sep = self._("; ") if expr.op == "and" else self._(" or ")
            return sep.join(self.condition(o) for o in expr.operands)
        return source_text(expr)


def reading_sentence(note, f: Formatter, titles: dict[str, str], paid_here, member_here) -> str:
    """What another reading of the text would have paid on this claim (readings, medrules.readings)."""
    _ = gettext_for(f.lang)
    r, alt = note.reading, note.alternative
    chosen = r.alternative(r.chosen)
    chosen_label = chosen.label.best(f.lang) if chosen is not None and chosen.label else r.chosen
    other_label = alt.label.best(f.lang) if alt.label else alt.name
    funds = _(", ").join(
        f"{titles.get(fund, fund)} {f.number(before)} → {f.number(after)}" for fund, before, after in note.funds)
    return _("The text can be read two ways ({reading}): this settlement reads it as “{chosen}”; read as “{other}”, "
             "the funds would pay {paid} (here {paid_here}) and the member {member} (here {member_here}){funds}.").format(reading=r.title(f.lang), chosen=chosen_label, other=other_label,
                             paid=f.money(note.funds_paid), paid_here=f.money(paid_here),
                             member=f.money(note.member_pays), member_here=f.money(member_here),
                             funds=_(": {funds}").format(funds=funds) if funds else "")


SCENARIOS = ("As the facts are: {sentence}", "With the change: {sentence}")  # English msgids


def what_if_reading_sentences(w, claim_id: str) -> list[str]:
    """What the other readings would have paid on one claim of a what-if (medrules.analyses.whatif.WhatIf), in
    each scenario (the facts as given, then with the change), as sentences (every view says them)."""
    _ = gettext_for(w.lang)
    f = Formatter(w.lang)
    out = []
    for message, notes, settlement in zip(SCENARIOS, (w.readings_before, w.readings_after), (w.before, w.after)):
        for note in notes:
            if note.claim_id != claim_id:
                continue
            c = settlement.claim(claim_id)
            out.append(_(message).format(sentence=reading_sentence(note, f, w.titles, c.funds_paid, c.member_pays)))
    return out
