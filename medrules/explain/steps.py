"""Trace steps in words: the one place that turns a :class:`Step` into a sentence.

Every step becomes a :class:`Line` with the sentence (zh or en), the arithmetic with
numbers substituted (each amount shown with the operation that produced it), the
provision's citation and its place in the rulebook. Both renderings (rich text and
JSON) use these lines, so they never disagree.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.check.citations import citation_of
from medrules.evaluate.trace import Step
from medrules.explain.format import Formatter
from medrules.explain.formula import brief_text, source_text, substituted
from medrules.explain.i18n import gettext_for
from medrules.membership import router_resolved, router_sources
from medrules.source import Span


@attrs.frozen
class Line:
    kind: str
    fund: str | None
    text: str
    formula: str | None
    citation: n.Citation | None
    span: Span | None
    inputs: tuple[tuple[str, object, str], ...]  # (name, value, origin)
    moves_money: bool  # the citizen's short view keeps these
    document: str | None = None  # the cited source's document number, e.g. 衢政发〔2011〕102号
    fund_title: str | None = None
    layer: str = ""  # '' for the rulebook itself; 'basic' for the scheme it layers on
    assumptions: tuple[tuple[str, n.Label], ...] = ()  # assumed parameters this step used: (name, why)


# Sentences chosen by a step's kind of value, whole (English msgids; the catalog has the other languages).
DEDUCTIBLE_PER = {
    "admission": "Deductible {amount} per admission; this claim's deductible: {taken}, paid by the member.",
    "claim": "Deductible {amount} per claim; this claim's deductible: {taken}, paid by the member.",
}
COST_CAP = {  # (counted over the benefit year, cost above the cap)
    (True, True): "Cost cap: the fund pays on cost counted in the benefit year up to {cap}. {before} was counted "
                  "before this claim; with it, {to}; this fund does not pay the {above} above the cap.",
    (True, False): "Cost cap: the fund pays on cost counted in the benefit year up to {cap}. {before} was counted "
                   "before this claim; with it, {to}, within the cap.",
    (False, True): "Cost cap: the fund pays on cost counted on this claim up to {cap}. {before} was counted "
                   "before this claim; with it, {to}; this fund does not pay the {above} above the cap.",
    (False, False): "Cost cap: the fund pays on cost counted on this claim up to {cap}. {before} was counted "
                    "before this claim; with it, {to}, within the cap.",
}
PAYMENT_CAP = {  # (per benefit year, the cap limits this claim)
    (True, True): "Payment cap {cap} per benefit year: {before} paid before, {room} left; the rates give {raw}, "
                  "so the fund pays only {room}. Cost above the cap: {above}.",
    (True, False): "Payment cap {cap} per benefit year: {before} paid before, {room} left; {raw} is within it.",
    (False, True): "Payment cap {cap} per claim: {before} paid before, {room} left; the rates give {raw}, "
                   "so the fund pays only {room}. Cost above the cap: {above}.",
    (False, False): "Payment cap {cap} per claim: {before} paid before, {room} left; {raw} is within it.",
}
QUOTA_CAP = {  # the cap 'per holder' (定额包干), by whether it limits this claim
    True: "Quotas of the holders this claim draws on: {cap} in all, {before} drawn before, {room} left; the rates "
          "give {raw}, so the fund pays only {room}. Cost above the quotas: {above}.",
    False: "Quotas of the holders this claim draws on: {cap} in all, {before} drawn before, {room} left; {raw} is "
           "within them.",
}
QUOTA_RELATION = {  # whose quota it is, seen from the patient
    "own": "{holder}'s own quota",
    "household": "the quota of {holder}, a relative (same household)",
    "designated": "the quota of {holder}, who designated the patient",
}
ROUNDING_MODES = {"half_up": "half-up", "half_even": "half-even", "down": "down", "up": "up"}
DAY_COUNT = {"inclusive": " (the start day is day 1)",
             "exclusive": " (the start day is not counted: the next day is day 1)"}


def annotations(line: Line, lang: str, with_citation: bool = True) -> list[tuple[str, str]]:
    """What goes under a step, as (kind, text): its arithmetic, the assumptions it used, its
    citation and the drafter's note. Every rendering (terminal, Markdown, HTML) lays out these."""
    _ = gettext_for(lang)
    out = []
    if line.formula:
        out.append(("formula", line.formula))
    out += [("assumed", _("⚠ assumed {name}: {why}").format(name=name, why=why.best(lang)))
            for name, why in line.assumptions]
    cit = line.citation
    if cit is not None and with_citation:
        if cit.assumed and cit.assumption is not None:
            out.append(("assumed", _("⚠ assumed: {why}").format(why=cit.assumption.best(lang))))
        elif cit.quote:
            article = f" {cit.article}" if cit.article else ""
            out.append(("cite", f"§ {line.document}{article}: “{cit.quote}”"))
        if cit.note:
            out.append(("note", _("note: {note}").format(note=cit.note.best(lang))))
    return out


class _Merged:
    """Side tables of every layer, looked up as one (node identities never collide)."""

    def __init__(self, tables: list[dict]):
        self.tables = tables

    def get(self, key, default=None):
        for t in self.tables:
            if key in t:
                return t[key]
        return default


class Describer:
    def __init__(self, program, lang: str = "zh"):
        self.program = program
        self.lang = lang
        self.f = Formatter(lang)
        self._ = gettext_for(lang)  # the wording (medrules/locale, domain 'explanations'): English msgids
        self.funds = dict(program.all_funds())
        self.accumulators = program.all_accumulators()
        self.layers = program.checked.layers()
        self.ck = program.checked
        self.types = _Merged([c.types for c in self.layers.values()])
        self.resolved = _Merged([c.resolved for c in self.layers.values()])

    # -- helpers
    def m(self, d: Decimal) -> str:
        return self.f.money(d)

    def a(self, d: Decimal) -> str:
        return self.f.amount(d)

    def fund_title(self, name: str) -> str:
        return self.funds[name].title(self.lang)

    def acc_title(self, name: str) -> str:
        acc = self.accumulators[name]
        return acc.label.best(self.lang) if acc.label else name

    def condition(self, expr: n.Expr, reads: tuple) -> str:
        shown = []
        for node, value in reads:
            if isinstance(node, n.Ref) and node.text not in (s.split(" = ")[0] for s in shown):
                shown.append(f"{node.text} = {self.value_text(node, value)}")
            elif isinstance(node, n.Call):  # a computed date or day number
                shown.append(f"{brief_text(node)} = {self.f.any(value) if not isinstance(value, Decimal) else value}")
                if node.func == "day_number":
                    shown[-1] += self.day_count_words()
        text = brief_text(expr)
        return f"{text} ({'; '.join(shown)})" if shown else text

    def day_count_words(self) -> str:
        inclusive = self.ck.rulebook.header.day_count == "inclusive"
        return self._(DAY_COUNT["inclusive" if inclusive else "exclusive"])

    def value_text(self, ref: n.Ref, value) -> str:
        t = self.types.get(ref)
        if t is not None and isinstance(value, (Decimal, int)) and not isinstance(value, bool):
            return self.f.value(value, t.unit)
        return self.f.any(value)

    def computed(self, expr: n.Expr, reads: tuple, result: str) -> str | None:
        """'tertiary_rate = 55%', 'member.pension × 10% + … = 24,000.00 × 10% + 350.00 = 2,750.00':
        how a value written as a formula came out, or None for a plain literal."""
        if isinstance(expr, (n.Literal, n.Cases, n.Highest)):  # a choice: the sentence names the case that held
            return None
        parts = [source_text(expr)]
        written = substituted(expr, reads, self.f, self.types)
        if written not in parts:
            parts.append(written)
        if result not in parts:
            parts.append(result)
        return " = ".join(parts) if len(parts) > 1 else None

    def inputs(self, reads: tuple, resolved=None) -> tuple:
        out = []
        for node, value in reads:
            if isinstance(node, n.Ref):
                res = (resolved or self.resolved).get(node)
                out.append((node.text, value, res.kind if res else "value"))
        return tuple(out)

    def citation(self, step: Step) -> n.Citation | None:
        node = step.node
        if step.kind in ("benefit_year", "version"):
            return node.effective_citation
        if isinstance(node, (n.Insured, n.Recover)):
            return node.citation
        if isinstance(node, (n.Exclude, n.Treat)) and step.fund is None:
            return node.citation
        if step.fund is None or node is None or isinstance(node, (n.Fund, n.Rounding)):
            return getattr(node, "citation", None) if isinstance(node, n.Fund) else None
        if isinstance(node, n.Band):
            bands = next(c for c in self.funds[step.fund].clauses
                         if isinstance(c, n.Bands) and node in c.bands)
            return citation_of(self.funds[step.fund], bands)
        return citation_of(self.funds[step.fund], node)

    # -- one method per step kind (the evaluator's step names)
    def describe(self, step: Step) -> Line:
        text, formula, moves = getattr(self, f"step_{step.kind}")(step, step)  # the step's typed fields
        node = step.node
        citation, amended = self.citation(step), self.amended_citation(step)
        if amended is not None:  # the amended value's own words; the clause's reading (its note) still applies
            citation = attrs.evolve(amended, note=amended.note or (citation.note if citation is not None else None))
        sources = self.layers[step.layer].sources
        if isinstance(node, n.Insured):  # declared by the membership rulebook that routed the claim
            sources = router_sources(node)
        source = sources.get(citation.source) if citation is not None and citation.source else None
        return Line(step.kind, step.fund, text, formula, citation, getattr(node, "span", None),
                    self.inputs(step.reads, router_resolved(node) if isinstance(node, n.Insured) else None), moves, source.number if source and source.number else
                    (citation.source if citation is not None else None),
                    self.fund_title(step.fund) if step.fund else None, step.layer,
                    self.assumptions_read(step))

    def amended_citation(self, step: Step) -> n.Citation | None:
        """A parameter restated by an amendment, with its own citation, read by a clause the amendment inherits:
        the number shown is the parameter's, so the quote beside it must be too (never the old year's words)."""
        clause_file = getattr(getattr(step.node, "span", None), "file", None)
        for node, _ in step.reads:
            res = self.resolved.get(node) if isinstance(node, n.Ref) else None
            if res is None or res.kind != "param":
                continue
            p = self.layers[step.layer].parameter(res.target)
            cit = p.citation
            if cit is not None and not cit.assumed and cit.quote and clause_file and p.span.file != clause_file:
                return cit
        return None

    def assumptions_read(self, step: Step) -> tuple:
        """Parameters marked 'assumed' whose values this step used: the explanation flags them."""
        out = []
        for node, _ in step.reads:
            res = self.resolved.get(node) if isinstance(node, n.Ref) else None
            if res is not None and res.kind == "param":
                p = self.layers[step.layer].parameter(res.target)
                if p.citation.assumed and p.citation.assumption is not None and \
                        (res.target, p.citation.assumption) not in out:
                    out.append((res.target, p.citation.assumption))
        return tuple(out)

    def step_handoff(self, s, v):
        _ = self._
        return _("Settled under '{source}', handed on to '{target}': total cost {total}, paid by that scheme {paid}, "
                 "left to the member {member}.").format(source=v.from_, target=v.to, total=self.m(v.total),
                                                         paid=self.m(v.paid), member=self.m(v.member_pays)), \
            f"{self.a(v.total)} − {self.a(v.paid)} = {self.a(v.member_pays)}", True

    def step_version(self, s, v):
        _ = self._
        until = v.effective_to or _("now")
        return _("Settled under '{rulebook}': in force {start} to {until}, which contains this claim's "
                 "claim.{dated_by} {date}.").format(rulebook=v.rulebook, start=v.effective_from, until=until,
                                                    dated_by=v.dated_by, date=v.date), None, False

    def step_insured(self, s, v):
        _ = self._
        node = s.node
        scheme = node.label.best(self.lang) if node.label else v.scheme
        values = dict(date=v.date, dated_by=v.dated_by, scheme=scheme, because=node.because.best(self.lang),
                      condition=self.condition(node.when, s.reads), rulebook=v.rulebook)
        if v.compared:
            amounts = _("; ").join(_("'{rulebook}' {amount}").format(rulebook=k, amount=self.m(x))
                                   for k, x in v.compared.items())
            return _("On {date} (claim.{dated_by}) the member belonged to the {scheme}: {because} ({condition}). "
                     "The better benefit applies: settled under each scheme, the funds pay {amounts}; settled "
                     "under the higher, '{rulebook}'.").format(amounts=amounts, **values), None, False
        return _("On {date} (claim.{dated_by}) the member belonged to the {scheme}: {because} ({condition}); "
                 "settled under '{rulebook}'.").format(**values), None, False

    def step_recover(self, s, v):
        return self._("The funds pay first: {amount}, recoverable from the liable third party: {because} "
                      "({condition}).").format(amount=self.m(v.amount), because=s.node.because.best(self.lang),
                                               condition=self.condition(s.node.when, s.reads)), None, False

    def step_benefit_year(self, s, v):
        return self._("Benefit year {label} ({start} to {end}): year-to-date totals start at 0.").format(
            label=v.label, start=v.start, end=v.end), None, False

    def step_opening(self, s, v):
        items = "; ".join(f"{self.acc_title(k)} {self.m(x)}" for k, x in v.amounts.items())
        return self._("Already counted this year before these claims (from the facts file): {items}.").format(
            items=items), None, False

    def step_treat(self, s, v):
        cond = self.condition(s.node.when, s.reads)
        return self._("Treated as: {fact} {before} is settled as {after} ({condition}).").format(
            fact=v.fact, before=self.f.any(v.before), after=self.f.any(v.after), condition=cond), None, True

    def step_exclude(self, s, v):
        _ = self._
        cond = self.condition(s.node.when, s.reads)
        reason = s.node.reason.best(self.lang)
        if not v.all_funds:
            who = _("{fund} pays nothing").format(fund=self.fund_title(s.fund))
        elif len(self.layers) > 1:  # a rulebook-wide exclusion stops that rulebook's funds, not the others'
            header = self.layers[s.layer].rulebook.header
            title = header.title.best(self.lang) if header.title else header.id
            who = _("no fund of '{title}' pays").format(title=title)
        else:
            who = _("no fund pays")
        return _("Not paid: {reason}. {condition}, so {who}.").format(reason=reason, condition=cond, who=who), \
            None, True

    def step_flat(self, s, v):
        formula = f"min({self.a(v.amount)}, {self.a(v.part)}) = {self.a(v.paid)}"
        return self._("Flat amount {amount} (never more than this claim's {part}): {paid}.").format(
            amount=self.m(v.amount), part=self.m(v.part), paid=self.m(v.paid)), formula, True

    def step_applies(self, s, v):
        _ = self._
        fund = self.fund_title(s.fund)
        cond = self.condition(s.node.when, s.reads)
        if v.result:
            return _("{fund} applies: {condition}.").format(fund=fund, condition=cond), None, False
        return _("{fund} does not apply: {condition} does not hold, so it pays 0.").format(
            fund=fund, condition=cond), None, True

    def step_base(self, s, v):
        _ = self._
        formula = substituted(s.node.expr, s.reads, self.f, self.types)
        expr = source_text(s.node.expr)
        result = self.m(v.amount)
        if formula == self.a(v.amount):
            return _("Applies to {expr} = {result}.").format(expr=expr, result=result), None, False
        return _("Applies to {expr} = {formula} = {result}.").format(expr=expr, formula=formula, result=result), \
            f"{formula} = {self.a(v.amount)}", False

    def step_deductible(self, s, v):
        _ = self._
        amount, taken = v.amount, v.taken
        if not v.applies:
            cond = self.condition(s.node.when, s.reads)
            return _("No deductible: {condition} does not hold.").format(condition=cond), None, False
        if v.per == "year":
            formula = (f"{self.a(amount)} − {self.a(v.used_before)} = {self.a(v.remaining)}; "
                       f"min({self.a(v.remaining)}, {self.a(v.base)}) = {self.a(taken)}")
            return _("Deductible {amount} per year; {used} used before this claim, {remaining} left; this claim's "
                     "deductible: {taken}, paid by the member.").format(
                amount=self.m(amount), used=self.m(v.used_before), remaining=self.m(v.remaining),
                taken=self.m(taken)), formula, True
        return _(DEDUCTIBLE_PER[v.per]).format(amount=self.m(amount), taken=self.m(taken)), \
            f"min({self.a(v.base)}, {self.a(amount)}) = {self.a(taken)}", True

    def step_cap(self, s, v):
        _ = self._
        if v.what == "cost":
            text = _(COST_CAP[v.per == "year", bool(v.above)]).format(
                cap=self.m(v.cap), before=self.m(v.counted_before), to=self.m(v.to), above=self.m(v.above))
            formula = f"{self.a(v.to)} − max({self.a(v.from_)}, {self.a(v.point)}) = {self.a(v.above)}" \
                if v.above else None
            return text, formula, bool(v.above)
        room = f"{self.a(v.cap)} − {self.a(v.paid_before)} = {self.a(v.room)}"
        # a quota of each holder (per holder): the named holders' quotas summed, each drawn on in the 'quota' step
        words = (lambda limited: QUOTA_CAP[limited]) if v.per == "holder" else \
            (lambda limited: PAYMENT_CAP[v.per == "year", limited])
        computed = self.computed(s.node.amount, s.reads, self.a(v.cap)) if v.per != "holder" else None
        if computed:
            room = f"{computed}; {room}"
        amounts = dict(cap=self.m(v.cap), before=self.m(v.paid_before), room=self.m(v.room), raw=self.m(v.raw))
        if v.limited:
            text = _(words(True)).format(**amounts, above=self.m(v.above))
            split = v.split
            if split is not None:
                covered = split["covered"]
                earlier = v.room - split["room"]
                left = (f"{self.a(v.room)} − {self.a(earlier)} = " if earlier else "")
                within = _("{amount} of cost within the cap").format(amount=self.a(covered))
                formula = (f"{room}; {left}{self.a(split['room'])} ÷ {self.f.rate(split['rate'])} = "
                           f"{within}; "
                           f"{self.a(split['part'])} − {self.a(covered)}"
                           + (f" + {self.a(split['later'])}" if split["later"] else "")
                           + f" = {self.a(v.above)}")
            else:
                formula = f"{room}; {_('the cap was already reached: all of this claim is above it')}"
            return text, formula, True
        return _(words(False)).format(**amounts), room, False

    def _rate_words(self, v) -> str:
        if v.written_rate == v.rate:
            return self.f.rate(v.rate)
        return self._("{written} adjusted to {rate}").format(written=self.f.rate(v.written_rate),
                                                              rate=self.f.rate(v.rate))

    def step_band(self, s, v):
        _ = self._
        if v.upper is None:
            band = _("above {lower}").format(lower=self.a(v.lower))
        elif v.lower == 0:
            band = _("up to {upper}").format(upper=self.a(v.upper))
        else:
            band = _("{lower} to {upper}").format(lower=self.a(v.lower), upper=self.a(v.upper))
        formula = (f"({self.a(v.to)} − {self.a(v.from_)}) × {self.f.rate(v.rate)} = "
                   f"{self.a(v.part)} × {self.f.rate(v.rate)} = {self.a(v.amount)}")
        axis = _("on the year's cumulative cost") if v.cumulative else _("on this claim's amount")
        return _("Band {band} ({axis}): {part} of this claim falls in it ({start} → {end}), at {rate}: "
                 "{amount}.").format(band=band, axis=axis, part=self.m(v.part), start=self.a(v.from_),
                                     end=self.a(v.to), rate=self._rate_words(v), amount=self.m(v.amount)), \
            formula, True

    def step_rate(self, s, v):
        chosen = ""
        for node, index in s.reads:
            if isinstance(node, (n.Cases, n.Highest)):
                cond = (node.cases[index].when if index < len(node.cases) else None)
                chosen = (f" ({source_text(cond)})" if cond is not None else self._(" (otherwise)"))
        formula = f"{self.a(v.part)} × {self.f.rate(v.rate)} = {self.a(v.amount)}"
        computed = self.computed(s.node.expr, s.reads, self.f.rate(v.written_rate))
        if computed:
            formula = f"{computed}; {formula}"
        return self._("Rate {rate}{chosen}: {part} × {applied} = {amount}.").format(
            rate=self._rate_words(v), chosen=chosen, part=self.m(v.part), applied=self.f.rate(v.rate),
            amount=self.m(v.amount)), formula, True

    def step_adjust(self, s, v):
        _ = self._
        amount = self.f.points(v.amount) if v.adjustment == "points" else self.f.relpct(v.amount)
        cond = self.condition(s.node.when, s.reads)
        if v.applied:
            return _("Rate adjusted {amount}: {condition}.").format(amount=amount, condition=cond), None, True
        return _("Adjustment {amount} does not apply: {condition} does not hold.").format(
            amount=amount, condition=cond), None, False

    def step_rounding(self, s, v):
        _ = self._
        node = s.node
        if v.raw == v.rounded:
            return _("No rounding needed: {amount}.").format(amount=self.m(v.rounded)), None, False
        words = dict(mode=_(ROUNDING_MODES[node.mode]), quantum=node.quantum, raw=self.a(v.raw),
                     rounded=self.m(v.rounded))
        if v.within is not None:  # rounding would have paid more than the fund may
            return _("Rounded {mode} to {quantum} yuan it would exceed the {within} the fund may pay, so it pays "
                     "the largest amount within it: {raw} → {rounded}.").format(**words, within=self.m(v.within)), \
                f"{self.a(v.raw)} → {self.a(v.rounded)} ≤ {self.a(v.within)}", True
        return _("Rounded {mode} to {quantum} yuan: {raw} → {rounded}.").format(**words), \
            f"{self.a(v.raw)} → {self.a(v.rounded)}", True

    def step_quota(self, s, v):
        _ = self._
        parts, formulas = [], []
        for d in v.draws:
            if not d["drawn"] and len(v.draws) > 1:
                continue
            whose = _(QUOTA_RELATION[d["relation"]]).format(holder=d["holder"])
            parts.append(_("{amount} from {whose} ({left} left)").format(amount=self.m(d["drawn"]), whose=whose,
                                                                         left=self.m(d["left"])))
            formulas.append(f"{d['holder']}: {self.a(d['quota'])} − {self.a(d['used'])} − {self.a(d['drawn'])} = "
                            f"{self.a(d['left'])}")
        return _("Drawn on the quotas (the claim names whose pays, in order): {parts}.").format(
            parts=_("; ").join(parts)), "; ".join(formulas), True

    def step_accumulate(self, s, v):
        return self._("{accumulator}: {before} + {delta} = {after}.").format(
            accumulator=self.acc_title(v.accumulator), before=self.a(v.before), delta=self.a(v.delta),
            after=self.m(v.after)), f"{self.a(v.before)} + {self.a(v.delta)} = {self.a(v.after)}", False

    def step_paid(self, s, v):
        return self._("{fund} pays {amount}.").format(fund=self.fund_title(s.fund), amount=self.m(v.amount)), \
            None, True

    def step_total(self, s, v):
        _ = self._
        formula = substituted(s.node.expr, s.reads, self.f, self.types)
        expr = source_text(s.node.expr)
        if formula == self.a(v.amount):  # a single value: nothing to compute
            return _("Total cost {expr} = {amount}.").format(expr=expr, amount=self.m(v.amount)), None, True
        return _("Total cost {expr} = {formula} = {amount}.").format(expr=expr, formula=formula,
                                                                      amount=self.m(v.amount)), \
            f"{formula} = {self.a(v.amount)}", True

    def step_member_pays(self, s, v):
        formula = f"{self.a(v.total)} − {self.a(v.funds)} = {self.a(v.amount)}"
        return self._("The member pays: total {total} − funds {funds} = {amount}.").format(
            total=self.m(v.total), funds=self.m(v.funds), amount=self.m(v.amount)), formula, True
