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


ANNOTATION_WORDS = {"zh": {"assumed": "假定", "note": "说明"}, "en": {"assumed": "assumed", "note": "note"}}


def annotations(line: Line, lang: str, with_citation: bool = True) -> list[tuple[str, str]]:
    """What goes under a step, as (kind, text): its arithmetic, the assumptions it used, its
    citation and the drafter's note. Every rendering (terminal, Markdown, HTML) lays out these."""
    w = ANNOTATION_WORDS[lang]
    out = []
    if line.formula:
        out.append(("formula", line.formula))
    out += [("assumed", f"⚠ {w['assumed']} {name}: {why.best(lang)}") for name, why in line.assumptions]
    cit = line.citation
    if cit is not None and with_citation:
        if cit.assumed and cit.assumption is not None:
            out.append(("assumed", f"⚠ {w['assumed']}: {cit.assumption.best(lang)}"))
        elif cit.quote:
            article = f" {cit.article}" if cit.article else ""
            out.append(("cite", f"§ {line.document}{article}: “{cit.quote}”"))
        if cit.note:
            out.append(("note", f"{w['note']}: {cit.note.best(lang)}"))
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
        self.funds = dict(program.all_funds())
        self.accumulators = program.all_accumulators()
        self.layers = program.checked.layers()
        self.ck = program.checked
        self.types = _Merged([c.types for c in self.layers.values()])
        self.resolved = _Merged([c.resolved for c in self.layers.values()])

    # -- helpers
    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

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
        return self.t("(起算日为第1天)" if inclusive else "(起算日不计入,次日为第1天)",
                      " (the start day is day 1)" if inclusive else " (the start day is not counted: the next day is day 1)")

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
        return self.t(
            f"按《{v.from_}》结算后转入《{v.to}》:总费用 {self.m(v.total)},基本医保各基金支付 "
            f"{self.m(v.paid)},个人负担 {self.m(v.member_pays)}。",
            f"Settled under '{v.from_}', handed on to '{v.to}': total cost {self.m(v.total)}, "
            f"paid by that scheme {self.m(v.paid)}, left to the member {self.m(v.member_pays)}."), \
            f"{self.a(v.total)} − {self.a(v.paid)} = {self.a(v.member_pays)}", True

    def step_version(self, s, v):
        until = v.effective_to or self.t("今", "now")
        return self.t(f"适用版本《{v.rulebook}》:其施行期 {v.effective_from} 至 {until} 包含本次的 "
                      f"claim.{v.dated_by} {v.date}。",
                      f"Settled under '{v.rulebook}': in force {v.effective_from} to {until}, which contains "
                      f"this claim's claim.{v.dated_by} {v.date}."), None, False

    def step_insured(self, s, v):
        node = s.node
        scheme = node.label.best(self.lang) if node.label else v.scheme
        because = node.because.best(self.lang)
        cond = self.condition(node.when, s.reads)
        if v.compared:
            amounts = "; ".join(f"《{k}》{self.m(x)}" for k, x in v.compared.items())
            amounts_en = "; ".join(f"'{k}' {self.m(x)}" for k, x in v.compared.items())
            return self.t(f"{v.date}(claim.{v.dated_by})参保于{scheme}:{because}({cond})。待遇就高不就低:"
                          f"按各制度分别结算,各基金支付 {amounts};按较高者《{v.rulebook}》结算。",
                          f"On {v.date} (claim.{v.dated_by}) the member belonged to the {scheme}: {because} "
                          f"({cond}). The better benefit applies: settled under each scheme, the funds pay "
                          f"{amounts_en}; settled under the higher, '{v.rulebook}'."), None, False
        return self.t(f"{v.date}(claim.{v.dated_by})参保于{scheme}:{because}({cond}),按《{v.rulebook}》结算。",
                      f"On {v.date} (claim.{v.dated_by}) the member belonged to the {scheme}: {because} "
                      f"({cond}); settled under '{v.rulebook}'."), None, False

    def step_recover(self, s, v):
        because = s.node.because.best(self.lang)
        cond = self.condition(s.node.when, s.reads)
        return self.t(f"基金先行支付 {self.m(v.amount)},可向第三人追偿:{because}({cond})。",
                      f"The funds pay first: {self.m(v.amount)}, recoverable from the liable third party: "
                      f"{because} ({cond})."), None, False

    def step_benefit_year(self, s, v):
        return self.t(f"待遇年度 {v.label}({v.start} 至 {v.end}):年度累计从 0 开始。",
                      f"Benefit year {v.label} ({v.start} to {v.end}): year-to-date totals start at 0."), \
            None, False

    def step_opening(self, s, v):
        items = "; ".join(f"{self.acc_title(k)} {self.m(x)}" for k, x in v.amounts.items())
        return self.t(f"本年度此前已累计(事实文件给出):{items}。",
                      f"Already counted this year before these claims (from the facts file): {items}."), None, False

    def step_treat(self, s, v):
        cond = self.condition(s.node.when, s.reads)
        return self.t(f"按规定视同:{v.fact} 由 {self.f.any(v.before)} 视为 {self.f.any(v.after)}({cond})。",
                      f"Treated as: {v.fact} {self.f.any(v.before)} is settled as {self.f.any(v.after)} "
                      f"({cond})."), None, True

    def step_exclude(self, s, v):
        cond = self.condition(s.node.when, s.reads)
        reason = s.node.reason.best(self.lang)
        if not v.all_funds:
            who = self.t(f"{self.fund_title(s.fund)}不支付", f"{self.fund_title(s.fund)} pays nothing")
        elif len(self.layers) > 1:  # a rulebook-wide exclusion stops that rulebook's funds, not the others'
            header = self.layers[s.layer].rulebook.header
            title = header.title.best(self.lang) if header.title else header.id
            who = self.t(f"《{title}》各基金均不支付", f"no fund of '{title}' pays")
        else:
            who = self.t("各基金均不支付", "no fund pays")
        return self.t(f"不予支付:{reason}。{cond},{who}。", f"Not paid: {reason}. {cond}, so {who}."), None, True

    def step_flat(self, s, v):
        formula = f"min({self.a(v.amount)}, {self.a(v.part)}) = {self.a(v.paid)}"
        return self.t(f"定额支付 {self.m(v.amount)}(不超过本次费用 {self.m(v.part)}):{self.m(v.paid)}。",
                      f"Flat amount {self.m(v.amount)} (never more than this claim's {self.m(v.part)}): "
                      f"{self.m(v.paid)}."), formula, True

    def step_applies(self, s, v):
        fund = self.fund_title(s.fund)
        cond = self.condition(s.node.when, s.reads)
        if v.result:
            return self.t(f"{fund}适用:{cond}。", f"{fund} applies: {cond}."), None, False
        return self.t(f"{fund}不适用:{cond} 不成立,本基金支付 0。",
                      f"{fund} does not apply: {cond} does not hold, so it pays 0."), None, True

    def step_base(self, s, v):
        formula = substituted(s.node.expr, s.reads, self.f, self.types)
        expr = source_text(s.node.expr)
        result = self.m(v.amount)
        if formula == self.a(v.amount):
            return self.t(f"计算基数:{expr} = {result}。", f"Applies to {expr} = {result}."), None, False
        return self.t(f"计算基数:{expr} = {formula} = {result}。",
                      f"Applies to {expr} = {formula} = {result}."), f"{formula} = {self.a(v.amount)}", False

    def step_deductible(self, s, v):
        amount, taken = v.amount, v.taken
        if not v.applies:
            cond = self.condition(s.node.when, s.reads)
            return self.t(f"不扣起付标准:{cond} 不成立。", f"No deductible: {cond} does not hold."), None, False
        if v.per == "year":
            formula = (f"{self.a(amount)} − {self.a(v.used_before)} = {self.a(v.remaining)}; "
                       f"min({self.a(v.remaining)}, {self.a(v.base)}) = {self.a(taken)}")
            return self.t(
                f"起付标准每年 {self.m(amount)},本次之前已累计 {self.m(v.used_before)},尚余 "
                f"{self.m(v.remaining)};本次由个人承担起付部分 {self.m(taken)}。",
                f"Deductible {self.m(amount)} per year; {self.m(v.used_before)} used before this claim, "
                f"{self.m(v.remaining)} left; this claim's deductible: {self.m(taken)}, paid by the member."), \
                formula, True
        per = self.t({"admission": "每次住院", "claim": "每次"}[v.per],
                     {"admission": "per admission", "claim": "per claim"}[v.per])
        return self.t(f"起付标准{per} {self.m(amount)};本次由个人承担起付部分 {self.m(taken)}。",
                      f"Deductible {self.m(amount)} {per}; this claim's deductible: {self.m(taken)}, "
                      f"paid by the member."), f"min({self.a(v.base)}, {self.a(amount)}) = {self.a(taken)}", True

    def step_cap(self, s, v):
        if v.what == "cost":
            per = self.t("年度累计" if v.per == "year" else "本次", "in the benefit year" if v.per == "year"
                         else "on this claim")
            text = self.t(
                f"费用封顶:{per}费用计至 {self.m(v.cap)} 为止。本次之前已累计 {self.m(v.counted_before)},"
                f"本次计入后达到 {self.m(v.to)}",
                f"Cost cap: the fund pays on cost counted {per} up to {self.m(v.cap)}. "
                f"{self.m(v.counted_before)} was counted before this claim; with it, {self.m(v.to)}")
            if v.above:
                text += self.t(f";超过封顶线的 {self.m(v.above)} 本基金不予支付。",
                               f"; this fund does not pay the {self.m(v.above)} above the cap.")
                formula = f"{self.a(v.to)} − max({self.a(v.from_)}, {self.a(v.point)}) = {self.a(v.above)}"
            else:
                text += self.t(",未超过封顶线。", ", within the cap.")
                formula = None
            return text, formula, bool(v.above)
        per = self.t("年度" if v.per == "year" else "本次", "per benefit year" if v.per == "year" else "per claim")
        room = f"{self.a(v.cap)} − {self.a(v.paid_before)} = {self.a(v.room)}"
        computed = self.computed(s.node.amount, s.reads, self.a(v.cap))
        if computed:
            room = f"{computed}; {room}"
        if v.limited:
            text = self.t(
                f"最高支付限额{per} {self.m(v.cap)}:此前已支付 {self.m(v.paid_before)},尚可支付 "
                f"{self.m(v.room)};按比例应付 {self.m(v.raw)},限额内只付 {self.m(v.room)}。"
                f"限额以上的费用 {self.m(v.above)}。",
                f"Payment cap {self.m(v.cap)} {per}: {self.m(v.paid_before)} paid before, "
                f"{self.m(v.room)} left; the rates give {self.m(v.raw)}, so the fund pays only "
                f"{self.m(v.room)}. Cost above the cap: {self.m(v.above)}.")
            split = v.split
            if split is not None:
                covered = split["covered"]
                earlier = v.room - split["room"]
                left = (f"{self.a(v.room)} − {self.a(earlier)} = " if earlier else "")
                formula = (f"{room}; {left}{self.a(split['room'])} ÷ {self.f.rate(split['rate'])} = "
                           f"{self.a(covered)} {self.t('的费用在限额内', 'of cost within the cap')}; "
                           f"{self.a(split['part'])} − {self.a(covered)}"
                           + (f" + {self.a(split['later'])}" if split["later"] else "")
                           + f" = {self.a(v.above)}")
            else:
                formula = f"{room}; {self.t('限额已用完,本次可计费用全部在限额以上', 'the cap was already reached: all of this claim is above it')}"
            return text, formula, True
        return self.t(f"最高支付限额{per} {self.m(v.cap)}:此前已支付 {self.m(v.paid_before)},"
                      f"尚可支付 {self.m(v.room)},本次 {self.m(v.raw)} 未超限额。",
                      f"Payment cap {self.m(v.cap)} {per}: {self.m(v.paid_before)} paid before, "
                      f"{self.m(v.room)} left; {self.m(v.raw)} is within it."), room, False

    def _rate_words(self, v) -> str:
        if v.written_rate == v.rate:
            return self.f.rate(v.rate)
        return self.t(f"{self.f.rate(v.written_rate)} 调整为 {self.f.rate(v.rate)}",
                      f"{self.f.rate(v.written_rate)} adjusted to {self.f.rate(v.rate)}")

    def step_band(self, s, v):
        if v.upper is None:
            band = self.t(f"{self.a(v.lower)} 以上", f"above {self.a(v.lower)}")
        elif v.lower == 0:
            band = self.t(f"{self.a(v.upper)} 及以下", f"up to {self.a(v.upper)}")
        else:
            band = self.t(f"{self.a(v.lower)} 至 {self.a(v.upper)}", f"{self.a(v.lower)} to "
                          f"{self.a(v.upper)}")
        formula = (f"({self.a(v.to)} − {self.a(v.from_)}) × {self.f.rate(v.rate)} = "
                   f"{self.a(v.part)} × {self.f.rate(v.rate)} = {self.a(v.amount)}")
        axis = self.t("按年度累计费用" if v.cumulative else "按本次费用",
                      "on the year's cumulative cost" if v.cumulative else "on this claim's amount")
        return self.t(
            f"分段 {band}({axis}):本次落在此段的费用 {self.m(v.part)}"
            f"({self.a(v.from_)} → {self.a(v.to)}),支付比例 {self._rate_words(v)},支付 {self.m(v.amount)}。",
            f"Band {band} ({axis}): {self.m(v.part)} of this claim falls in it "
            f"({self.a(v.from_)} → {self.a(v.to)}), at {self._rate_words(v)}: {self.m(v.amount)}."), \
            formula, True

    def step_rate(self, s, v):
        chosen = ""
        for node, index in s.reads:
            if isinstance(node, (n.Cases, n.Highest)):
                cond = (node.cases[index].when if index < len(node.cases) else None)
                chosen = (f" ({source_text(cond)})" if cond is not None else self.t("(其他情形)", " (otherwise)"))
        formula = f"{self.a(v.part)} × {self.f.rate(v.rate)} = {self.a(v.amount)}"
        computed = self.computed(s.node.expr, s.reads, self.f.rate(v.written_rate))
        if computed:
            formula = f"{computed}; {formula}"
        return self.t(f"支付比例 {self._rate_words(v)}{chosen}:{self.m(v.part)} × {self.f.rate(v.rate)} = "
                      f"{self.m(v.amount)}。",
                      f"Rate {self._rate_words(v)}{chosen}: {self.m(v.part)} × {self.f.rate(v.rate)} = "
                      f"{self.m(v.amount)}."), formula, True

    def step_adjust(self, s, v):
        amount = self.f.points(v.amount) if v.adjustment == "points" else self.f.relpct(v.amount)
        cond = self.condition(s.node.when, s.reads)
        if v.applied:
            return self.t(f"比例调整 {amount}:{cond}。", f"Rate adjusted {amount}: {cond}."), None, True
        return self.t(f"比例调整 {amount} 不适用:{cond} 不成立。",
                      f"Adjustment {amount} does not apply: {cond} does not hold."), None, False

    def step_rounding(self, s, v):
        node = s.node
        if v.raw == v.rounded:
            return self.t(f"无需舍入:{self.m(v.rounded)}。", f"No rounding needed: {self.m(v.rounded)}."), \
                None, False
        mode = {"half_up": self.t("四舍五入", "half-up"), "half_even": self.t("银行家舍入", "half-even"),
                "down": self.t("舍去", "down"), "up": self.t("进位", "up")}[node.mode]
        if v.within is not None:  # rounding would have paid more than the fund may
            return self.t(f"按{mode}保留到 {node.quantum} 元将超过可支付的 {self.m(v.within)},"
                          f"故取不超过该额的 {self.m(v.rounded)}:{self.a(v.raw)} → {self.m(v.rounded)}。",
                          f"Rounded {mode} to {node.quantum} yuan it would exceed the {self.m(v.within)} the fund "
                          f"may pay, so it pays the largest amount within it: {self.a(v.raw)} → "
                          f"{self.m(v.rounded)}."), f"{self.a(v.raw)} → {self.a(v.rounded)} ≤ "\
                f"{self.a(v.within)}", True
        return self.t(f"按{mode}保留到 {node.quantum} 元:{self.a(v.raw)} → {self.m(v.rounded)}。",
                      f"Rounded {mode} to {node.quantum} yuan: {self.a(v.raw)} → {self.m(v.rounded)}."), \
            f"{self.a(v.raw)} → {self.a(v.rounded)}", True

    def step_accumulate(self, s, v):
        return self.t(f"{self.acc_title(v.accumulator)}:{self.a(v.before)} + {self.a(v.delta)} = "
                      f"{self.m(v.after)}。",
                      f"{self.acc_title(v.accumulator)}: {self.a(v.before)} + {self.a(v.delta)} = "
                      f"{self.m(v.after)}."), \
            f"{self.a(v.before)} + {self.a(v.delta)} = {self.a(v.after)}", False

    def step_paid(self, s, v):
        return self.t(f"{self.fund_title(s.fund)}支付 {self.m(v.amount)}。",
                      f"{self.fund_title(s.fund)} pays {self.m(v.amount)}."), None, True

    def step_total(self, s, v):
        formula = substituted(s.node.expr, s.reads, self.f, self.types)
        if formula == self.a(v.amount):  # a single value: nothing to compute
            return self.t(f"本次总费用 {source_text(s.node.expr)} = {self.m(v.amount)}。",
                          f"Total cost {source_text(s.node.expr)} = {self.m(v.amount)}."), None, True
        return self.t(f"本次总费用 {source_text(s.node.expr)} = {formula} = {self.m(v.amount)}。",
                      f"Total cost {source_text(s.node.expr)} = {formula} = {self.m(v.amount)}."), \
            f"{formula} = {self.a(v.amount)}", True

    def step_member_pays(self, s, v):
        formula = f"{self.a(v.total)} − {self.a(v.funds)} = {self.a(v.amount)}"
        return self.t(f"个人负担:总费用 {self.m(v.total)} − 各基金支付 {self.m(v.funds)} = {self.m(v.amount)}。",
                      f"The member pays: total {self.m(v.total)} − funds {self.m(v.funds)} = "
                      f"{self.m(v.amount)}."), formula, True
