"""Contributions in words: what a member owes, what is paid for them, and why (zh/en).

Two views from the same recorded steps (never recomputed):

* the auditor's: one :class:`~medrules.explain.steps.Line` per step (premium, part-year share,
  each subsidy, what the member owes), with the arithmetic, the citation and the rulebook line;
* the citizen's: per contribution, a few plain sentences — "you pay 212.00 yuan: the premium is
  380.00 yuan (tier 2); the county government subsidy pays 168.00 yuan (60% of tier 1); only the
  highest single subsidy applies".

The vocabulary is a contribution's: the member OWES, a subsidy PAYS FOR part of the premium. It never
speaks of a fund's payment or a claim.
"""
from __future__ import annotations

import json
from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.explain.format import Formatter, money_text
from medrules.explain.formula import source_text, substituted
from medrules.explain.i18n import gettext_for
from medrules.explain.steps import Describer, Line, annotations


class _Unsayable(Exception):
    """A condition this module does not put into words (the explanation shows it as written)."""


@attrs.frozen
class ContributionExplanation:
    result: object  # ContributionResult
    title: str
    lines: tuple[Line, ...]
    sentences: tuple[str, ...]  # the citizen's view


@attrs.frozen
class AssessmentExplanation:
    program: object
    assessment: object
    lang: str
    contributions: tuple[ContributionExplanation, ...]


MODES = {"half_up": "half up", "half_even": "half even", "down": "down", "up": "up"}  # English msgids


class ContributionDescriber(Describer):
    """The contribution steps in words (one method per step kind)."""

    def citation(self, step) -> n.Citation | None:
        node = step.node
        contribution = self.contribution_node(step.contribution)
        own = getattr(node, "citation", None)
        if own is not None and (own.source or own.assumed):
            return own
        if own is not None and own.note and contribution.citation is not None:
            return attrs.evolve(contribution.citation, note=own.note)
        return contribution.citation

    def contribution_node(self, name: str) -> n.Contribution:
        return next(c for c in self.ck.rulebook.contributions if c.name == name)

    def chosen(self, reads: tuple) -> str:
        """' (tier2_premium when member.tier == tier2)': the case of a choice that held."""
        for node, index in reads:
            if isinstance(node, (n.Cases, n.Highest)):
                if index < len(node.cases):
                    return f"({source_text(node.cases[index].when)})"
                return self._("(otherwise)")
        return ""

    # -- a condition in words, from the rulebook's labels (the citizen's view)
    def words(self, e, reads: tuple) -> str | None:
        """``member.tier == tier2`` → "参保档次 第二档"; an 'or' shows only the alternatives that held.
        None when the condition has a shape this does not put into words."""
        values = {id(node): value for node, value in reads if isinstance(node, n.Ref)}
        try:
            return self._words(e, values)
        except _Unsayable:
            return None

    def _label(self, ref: n.Ref) -> str:
        res = self.resolved.get(ref)
        if res is not None and res.kind == "fact":
            field = self.ck.records[res.detail][res.target]
            return field.label.best(self.lang) if field.label else res.target
        if res is not None and res.kind == "enum_member":
            member = next(m for m in self.ck.enums[res.target].members if m.name == res.detail)
            return member.label.best(self.lang) if member.label else member.name
        raise _Unsayable

    def _holds(self, e, values) -> bool:
        if isinstance(e, n.Ref):
            if id(e) not in values:
                raise _Unsayable
            return bool(values[id(e)])
        if isinstance(e, n.Logic):
            if e.op == "not":
                return not self._holds(e.operands[0], values)
            for x in e.operands:  # short-circuit, as evaluated: later operands may not have been read
                if self._holds(x, values) != (e.op == "and"):
                    return e.op == "or"
            return e.op == "and"
        if isinstance(e, n.Comparison) and isinstance(e.left, n.Ref) and id(e.left) in values:
            import operator
            ops = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                   ">=": operator.ge}
            right = self._value(e.right, values)
            return ops[e.op](values[id(e.left)], right)
        if isinstance(e, n.Call) and e.func == "has" and id(e.args[0]) in values:
            return any(self._value(x, values) in values[id(e.args[0])] for x in e.args[1:])
        raise _Unsayable

    def _value(self, e, values):
        if isinstance(e, n.Literal):
            return e.value
        res = self.resolved.get(e) if isinstance(e, n.Ref) else None
        if res is not None and res.kind == "enum_member":
            return res.detail
        if isinstance(e, n.Ref) and id(e) in values:
            return values[id(e)]
        raise _Unsayable

    def _words(self, e, values) -> str:
        if isinstance(e, n.Ref):
            return self._label(e)
        if isinstance(e, n.Logic) and e.op == "not" and isinstance(e.operands[0], n.Ref):
            return self._("not {fact}").format(fact=self._label(e.operands[0]))
        if isinstance(e, n.Logic) and e.op in ("and", "or"):
            parts = e.operands if e.op == "and" else [next(x for x in e.operands if self._holds(x, values))]
            joined = [self._words(x, values) for x in parts]
            return (self._(", ") if e.op == "or" else self._(" and ")).join(joined)
        if isinstance(e, n.Comparison) and isinstance(e.left, n.Ref):
            res = self.resolved.get(e.right) if isinstance(e.right, n.Ref) else None
            if e.op == "==" and res is not None and res.kind == "enum_member":
                return self._("{fact}: {member}").format(fact=self._label(e.left), member=self._label(e.right))
            if isinstance(e.right, n.Literal):
                sign = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}[e.op]
                return f"{self._label(e.left)} {sign} {e.right.text}"
        if isinstance(e, n.Call) and e.func == "has":
            held = [x for x in e.args[1:] if self._value(x, values) in values.get(id(e.args[0]), ())]
            return self._(", ").join(self._label(x) for x in held)
        raise _Unsayable

    def chosen_words(self, reads: tuple) -> str:
        """The case of a choice that held, in words when it can be said ("参保档次 第二档"), else as written."""
        for node, index in reads:
            if isinstance(node, (n.Cases, n.Highest)):
                if index < len(node.cases):
                    said = self.words(node.cases[index].when, reads)
                    return f"({said})" if said else f"({source_text(node.cases[index].when)})"
                return self._("(otherwise)")
        return ""

    def step_contribution(self, s, v):
        title = self.contribution_node(v.contribution).title(self.lang)
        if v.applies:
            if isinstance(s.node, n.Applies):
                cond = self.condition(s.node.when, s.reads)
                return self._("{title}: applies ({condition}).").format(title=title, condition=cond), None, False
            return self._("{title}: applies to every member.").format(title=title), None, False
        cond = self.condition(s.node.when, s.reads)
        return self._("{title}: does not apply ({condition} does not hold); nothing is owed.").format(
            title=title, condition=cond), None, True

    def choice(self, chosen: str) -> str:
        """' (member.tier == tier2)' after an amount: the case that held ('' when none)."""
        return self._(" {choice}").format(choice=chosen) if chosen else ""

    def step_premium(self, s, v):
        expr = s.node.amount
        chosen = self.chosen(s.reads)
        written = substituted(expr, s.reads, self.f, self.types)
        formula = None
        if written != self.a(v.amount) and not isinstance(expr, (n.Cases, n.Highest)):
            formula = f"{source_text(expr)} = {written} = {self.a(v.amount)}"
        return self._("The year's premium is {amount}{choice}.").format(amount=self.m(v.amount),
                                                                         choice=self.choice(chosen)), formula, True

    def step_prorate(self, s, v):
        if not v.applied:
            cond = self.condition(s.node.when, s.reads)
            return self._("No part-year share: {condition} does not hold.").format(condition=cond), None, False
        node = s.node
        period = f"{node.start[0]:02}-{node.start[1]:02} — {node.end[0]:02}-{node.end[1]:02}"
        formula = f"{self.a(v.full)} × {v.months}/12 = {self.a(v.raw)} → {self.a(v.amount)}"
        return self._("Part of the year ({period}, {months} whole months): {full} × {months}/12, rounded {mode} to "
                      "{quantum} yuan = {amount}.").format(period=period, months=v.months, full=self.m(v.full),
                                                           mode=self._(MODES[node.mode]), quantum=node.quantum,
                                                           amount=self.m(v.amount)), formula, True

    def step_subsidy(self, s, v):
        node: n.Subsidy = s.node
        title = node.title(self.lang)
        if not v.applied:
            cond = self.condition(node.when, s.reads)
            return self._("{title} does not apply: {condition} does not hold.").format(title=title, condition=cond), \
                None, False
        chosen = self.chosen(s.reads)
        written = substituted(node.amount, s.reads, self.f, self.types)
        parts = [source_text(node.amount)]
        if isinstance(node.amount, (n.Cases, n.Highest)):
            parts = []
        if written not in parts:
            parts.append(written)
        if self.a(v.amount) not in parts:
            parts.append(self.a(v.amount))
        formula = " = ".join(parts) if len(parts) > 1 else None
        highest = self._("; only the highest single subsidy applies") if isinstance(node.amount, n.Highest) else ""
        if v.granted < v.amount:
            limit = f"min({self.a(v.amount)}, {self.a(v.left_before)}) = {self.a(v.granted)}"
            formula = f"{formula}; {limit}" if formula else limit
            return self._("{title} {amount}{choice}{highest}, but never more than the {left} of the premium left: it "
                          "pays {granted}.").format(title=title, amount=self.m(v.amount), choice=self.choice(chosen),
                                                    highest=highest, left=self.m(v.left_before),
                                                    granted=self.m(v.granted)), formula, True
        return self._("{title} pays {granted}{choice}{highest}.").format(
            title=title, granted=self.m(v.granted), choice=self.choice(chosen), highest=highest), formula, True

    def step_owes(self, s, v):
        formula = f"{self.a(v.premium)} − {self.a(v.subsidised)} = {self.a(v.amount)}"
        return self._("The member owes: premium {premium} − subsidies {subsidised} = {amount}.").format(
            premium=self.m(v.premium), subsidised=self.m(v.subsidised), amount=self.m(v.amount)), formula, True


def explain_assessment(program, assessment, lang: str = "zh") -> AssessmentExplanation:
    d = ContributionDescriber(program, lang)
    out = []
    for r in assessment.contributions:
        if r.steps is None:
            raise ValueError("explain needs an assessment made with trace=True")
        lines = tuple(d.describe(s) for s in r.steps)
        out.append(ContributionExplanation(r, r.node.title(lang), lines, citizen_sentences(d, r, lang)))
    return AssessmentExplanation(program, assessment, lang, tuple(out))


def citizen_sentences(d: ContributionDescriber, r, lang: str) -> tuple[str, ...]:
    f = Formatter(lang)
    _ = gettext_for(lang)
    title = r.node.title(lang)
    if not r.applied:
        return (_("{title}: does not apply to you; you owe nothing.").format(title=title),)
    why = []
    for s in r.steps:
        if s.kind == "premium":
            why.append(_("the year's premium is {amount}{choice}").format(amount=f.money(s.amount),
                                                                           choice=d.choice(d.chosen_words(s.reads))))
        elif s.kind == "prorate" and s.applied:
            why.append(_("covered for {months} months of 12, that is {amount}").format(months=s.months,
                                                                                        amount=f.money(s.amount)))
        elif s.kind == "subsidy" and s.applied and s.granted:
            node = s.node
            chosen = d.chosen_words(s.reads)
            written = substituted(node.amount, s.reads, f, d.types)
            how = "" if written == f.amount(s.granted) else written
            base = _("the {subsidy} pays {amount} for you").format(subsidy=node.title(lang), amount=f.money(s.granted))
            inner = chosen[1:-1] if chosen else ""
            if how and inner:  # the case that held, even when the amount is written as the figure granted
                base += _(" ({how}, {case})").format(how=how, case=inner)
            elif how:
                base += _(" ({how})").format(how=how)
            elif inner:
                base += _(" ({case})").format(case=inner)
            if isinstance(node.amount, n.Highest):
                base = _("{subsidy}; only the highest single subsidy applies").format(subsidy=base)
            if s.granted < s.amount:
                base = _("{subsidy}, never more than the premium").format(subsidy=base)
            why.append(base)
    return (_("{title}: you pay {amount}: {reasons}.").format(title=title, amount=f.money(r.member_owes),
                                                              reasons=_("; ").join(why)),)


# ---------------------------------------------------------------- renderings
def render_text(e: AssessmentExplanation, view: str = "auditor") -> str:
    """Plain text: the auditor's numbered steps with their annotations, or the citizen's sentences."""
    a, f, _ = e.assessment, Formatter(e.lang), gettext_for(e.lang)
    h = e.program.checked.rulebook.header
    out = [f"{h.title.best(e.lang) if h.title else h.id}  [{h.id}]", _("Member {id}").format(id=a.member_id)]
    for c in e.contributions:
        out.append("")
        if view == "citizen":
            out += list(c.sentences)
            continue
        out.append(f"── {c.title} ({c.result.name})")
        last = None
        for number, line in enumerate(c.lines, 1):
            where = f"  [{line.span.file}:{line.span.line}]" if line.span is not None and line.span.line > 0 else ""
            out.append(f"{number:>3}. {line.text}{where}")
            out += [f"       {text}" for _, text in annotations(line, e.lang, with_citation=line.citation is not last)]
            last = line.citation if line.citation is not None else last
    out.append("")
    out.append(_("=> the member owes {owes} in all; subsidies pay {subsidised} (premiums {premium})").format(
        owes=f.money(a.member_owes), subsidised=f.money(a.subsidised), premium=f.money(a.premium)))
    return "\n".join(out)


def to_json(e: AssessmentExplanation) -> str:
    a = e.assessment
    doc = {
        "rulebook": a.rulebook, "member": a.member_id, "lang": e.lang,
        "member_owes": money_text(a.member_owes), "subsidised": money_text(a.subsidised),
        "premium": money_text(a.premium),
        "contributions": [{
            "name": c.result.name, "title": c.title, "applies": c.result.applied,
            "premium": money_text(c.result.premium), "member_owes": money_text(c.result.member_owes),
            "subsidies": {s.name: money_text(s.granted) for s in c.result.subsidies},
            "citizen": list(c.sentences),
            "steps": [{"kind": step.kind, "text": line.text, "formula": line.formula,
                       "values": {k: _json_value(x) for k, x in step.values.items()},
                       "at": f"{line.span.file}:{line.span.line}" if line.span is not None else None,
                       "cites": {"document": line.document, "article": line.citation.article,
                                 "quote": line.citation.quote, "assumed": line.citation.assumed}
                       if line.citation is not None else None}
                      for step, line in zip(c.result.steps, c.lines)],
        } for c in e.contributions],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def _json_value(x):
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, Decimal) or hasattr(x, "denominator"):
        return money_text(x)
    return str(x)
