"""The rulebook AST: frozen attrs nodes, each with the span it was parsed from.

One name per provision kind, used everywhere: grammar rule ``deductible``, node
:class:`Deductible`, checker ``check_deductible``, evaluator step ``deductible``,
explanation key ``deductible``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Union

import attrs

from medrules.source import Span
from medrules.units import Type


def _nodes(cls):  # frozen, identity-hashed (nodes are keys in checker side tables)
    return attrs.frozen(eq=False)(cls)


# ---------------------------------------------------------------- expressions
@_nodes
class Literal:
    value: object  # Decimal | int | date | bool | str
    type: Type
    text: str
    span: Span


@_nodes
class Ref:
    """A dotted name: ``claim.kind``, ``inpatient_deductible``, ``inpatient_pool.above_cap``."""

    parts: tuple[str, ...]
    span: Span

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@_nodes
class Unary:
    op: str
    operand: Expr
    span: Span


@_nodes
class Binary:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span


@_nodes
class Comparison:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    span: Span


@_nodes
class Membership:
    operand: Expr
    names: tuple[str, ...]
    negated: bool
    span: Span
    name_spans: tuple[Span, ...] = ()


@_nodes
class Logic:
    op: str  # and / or / not
    operands: tuple[Expr, ...]
    span: Span


@_nodes
class Call:
    func: str  # min, max
    args: tuple[Expr, ...]
    span: Span


@_nodes
class Case:
    value: Expr
    when: Expr
    span: Span


@_nodes
class Cases:
    """``{ 55% when claim.institution == grassroots otherwise 50% }``"""

    cases: tuple[Case, ...]
    otherwise: Expr
    span: Span


@_nodes
class Highest:
    """``highest { 70% when a, 60% when b, otherwise 0% }``: the largest value among the cases
    that hold (就高原则), not the first."""

    cases: tuple[Case, ...]
    otherwise: Expr
    span: Span


Expr = Union[Literal, Ref, Unary, Binary, Comparison, Membership, Logic, Call, Cases, Highest]


# ---------------------------------------------------------------- citations
@_nodes
class Label:
    zh: str
    en: str | None
    span: Span

    def best(self, lang: str = "zh") -> str:
        return (self.en or self.zh) if lang == "en" else self.zh


@_nodes
class Citation:
    """Where a provision comes from: a declared source, its article, the quoted text.

    ``assumed`` citations mark values the source documents do not state; the
    explanation shows them as assumptions.
    """

    source: str | None
    article: str | None
    quote: str | None  # the source's own words (one language: the policy's)
    note: Label | None  # the drafter's reading of the text, zh | en
    assumed: bool
    span: Span
    source_span: Span | None = None  # where the source's name is written
    assumption: Label | None = None  # for 'assumed': why the value is not from a source, zh | en


# ---------------------------------------------------------------- declarations
@_nodes
class Rounding:
    mode: str
    quantum: Decimal
    scope: str
    span: Span
    mode_span: Span | None = None
    scope_span: Span | None = None


@_nodes
class Header:
    id: str
    title: Label | None
    scheme: str | None
    jurisdiction: str | None
    effective_from: dt.date | None
    effective_to: dt.date | None
    year_starts: tuple[int, int]
    dated_by: Ref | None
    rounding: Rounding | None
    span: Span
    effective_citation: Citation | None = None
    day_count: str = "inclusive"  # inclusive: the start day is day 1; exclusive: the day after is day 1
    day_count_span: Span | None = None
    layers_on: Layers | None = None  # a supplementary rulebook: the scheme it settles after
    day_count_citation: Citation | None = None
    amends: Amends | None = None  # restates only what changes in another rulebook
    office: Label | None = None  # who issues the letter to a member
    appeal: Label | None = None  # how a member asks or appeals


@_nodes
class Amends:
    """``amends "residents-earlier.mr"``: this rulebook is that one with the provisions it restates."""

    path: str  # relative to this rulebook's file
    span: Span


@_nodes
class Layers:
    """``layers on "employee-2012.mr" as basic``: settle each claim under that rulebook first."""

    path: str  # relative to this rulebook's file
    alias: str
    span: Span


@_nodes
class Source:
    name: str
    number: str | None
    title: Label | None
    issued: dt.date | None
    effective_from: dt.date | None
    span: Span


@_nodes
class EnumMember:
    name: str
    label: Label | None
    span: Span


@_nodes
class EnumDecl:
    name: str
    label: Label | None
    members: tuple[EnumMember, ...]
    span: Span


@_nodes
class Field:
    name: str
    type_name: str
    default: Expr | None
    label: Label | None
    span: Span
    type_span: Span
    is_set: bool = False  # 'set of ENUM': several members at once (e.g. veterans' categories)


@_nodes
class Record:
    kind: str  # member | claim | a history's name ('facts period "缴费期间" { … }': a list of records)
    fields: tuple[Field, ...]
    span: Span
    label: Label | None = None


@_nodes
class Parameter:
    name: str
    type_name: str
    value: Expr
    label: Label | None
    citation: Citation | None  # required: the checker reports a parameter without one
    span: Span
    type_span: Span


@_nodes
class Accumulator:
    name: str
    type_name: str
    period: str  # year | claim
    label: Label | None
    span: Span
    type_span: Span
    period_span: Span


# ---------------------------------------------------------------- fund clauses
@_nodes
class Applies:
    when: Expr
    citation: Citation | None
    span: Span


@_nodes
class Exclude:
    """``exclude when COND because "reason"``: the claim is not paid (by this fund, or by any
    fund when written at the top level), and the explanation gives the reason."""

    when: Expr
    reason: Label
    citation: Citation | None
    span: Span


@_nodes
class Treat:
    """``treat claim.kind as inpatient when …``: a claim is settled as if a fact were different
    (special-disease outpatient care treated as inpatient care)."""

    target: Ref
    value: Expr
    when: Expr
    citation: Citation | None
    span: Span


@_nodes
class Base:
    expr: Expr
    citation: Citation | None
    span: Span


@_nodes
class Accumulate:
    role: str  # cost | payments | deductible
    accumulator: str
    span: Span
    role_span: Span
    accumulator_span: Span


@_nodes
class Deductible:
    amount: Expr
    per: str  # year | admission | claim
    when: Expr | None
    citation: Citation | None
    span: Span
    per_span: Span


@_nodes
class Cap:
    """``cap payments at 160_000 yuan`` limits what the fund pays;
    ``cap cost at 3_000 yuan`` limits the cost the fund pays on."""

    what: str  # payments | cost
    amount: Expr
    per: str | None  # None or "year": the accumulator's period; "claim": each claim on its own
    citation: Citation | None
    span: Span
    what_span: Span
    per_span: Span | None = None
    # 'per holder of claim.quota_from, …': the cap is a quota of each holder (定额包干), drawn on in the order
    # the facts name them (those not given are skipped; none given: the patient's own); () for other caps
    holders: tuple = ()


@_nodes
class Rate:
    expr: Expr
    citation: Citation | None
    span: Span


@_nodes
class Band:
    lower: Expr | None  # None: from zero
    upper: Expr | None  # None: unbounded
    rate: Expr
    span: Span


@_nodes
class Bands:
    on: str | None  # accumulator name; None: the claim's own amount from zero
    bands: tuple[Band, ...]
    citation: Citation | None
    span: Span
    on_span: Span | None


@_nodes
class Flat:
    """``flat 800 yuan``: a fixed amount per claim (定额包干) instead of a rate; never more than the base."""

    amount: Expr
    citation: Citation | None
    span: Span


@_nodes
class Adjust:
    amount: Expr  # points or relpct
    when: Expr
    citation: Citation | None
    span: Span


@_nodes
class Cliff:
    """``cliff when COND because "reason" cites …``: the policy itself makes the payout drop where ``when``
    changes as the cost rises (an eligibility threshold on cost, a deductible waived or charged by a
    threshold). Metadata for ``medrules prove``: two claims on either side of it are exempt from
    'monotone'. It changes no payment."""

    when: Expr
    reason: Label
    citation: Citation | None  # required (a cliff is the policy's, never an assumption): the checker says so
    span: Span


@_nodes
class Actionable:
    """``actionable member.paid_on, claim.referred``: facts a member can change."""

    facts: tuple[Ref, ...]
    span: Span


@_nodes
class Under:
    """``under cap_axis.cost <clause>``: the clause holds only when that reading is chosen."""

    reading: str
    alternative: str
    clause: object  # a Clause
    span: Span
    ref_span: Span | None = None


Clause = Union[Applies, Exclude, Base, Accumulate, Deductible, Cap, Rate, Bands, Flat, Adjust, Under, Cliff]


@_nodes
class ReadingAlternative:
    name: str
    label: Label | None
    span: Span


@_nodes
class Reading:
    """``reading NAME "…" { alt "…" … } chosen alt cites …``: an ambiguity of the text, its alternatives,
    and the one the rulebook settles by (``chosen``; ``declared`` keeps the rulebook's own choice
    when a user asks for another with ``--reading NAME=ALT``)."""

    name: str
    label: Label | None
    alternatives: tuple[ReadingAlternative, ...]
    chosen: str
    citation: Citation | None
    span: Span
    chosen_span: Span | None = None
    declared: str | None = None

    def alternative(self, name: str) -> ReadingAlternative | None:
        return next((a for a in self.alternatives if a.name == name), None)

    def title(self, lang: str = "zh") -> str:
        return self.label.best(lang) if self.label else self.name


class _Block:
    """A named block of clauses (a fund, a contribution): its clauses of one kind, its title."""

    __slots__ = ()

    def clause(self, kind: type) -> list:
        return [c for c in self.clauses if isinstance(c, kind)]

    def title(self, lang: str = "zh") -> str:
        return self.label.best(lang) if self.label else self.name


@_nodes
class Fund(_Block):
    name: str
    label: Label | None
    citation: Citation | None
    clauses: tuple[Clause, ...]
    span: Span


@_nodes
class Total:
    expr: Expr
    span: Span


# ---------------------------------------------------------------- contributions (premium side)
@_nodes
class Premium:
    """``premium { 380 yuan when member.tier == tier2, otherwise 280 yuan }``: the full premium
    (缴费标准) for the member's year of cover, before any subsidy."""

    amount: Expr
    citation: Citation | None
    span: Span


@_nodes
class Subsidy:
    """``subsidy government "政府补助" | "government subsidy": highest { … } when …``: an amount paid
    for the member (by the government, or an offset), never more than what is left of the premium."""

    name: str
    label: Label | None
    amount: Expr
    when: Expr | None
    citation: Citation | None
    span: Span
    name_span: Span

    def title(self, lang: str = "zh") -> str:
        return self.label.best(lang) if self.label else self.name


@_nodes
class Prorate:
    """``prorate from 09-01 to 12-31 when … rounding half_up to 1 yuan``: cover for part of the year;
    the premium is (whole calendar months covered) / 12 of the year's, rounded as declared."""

    start: tuple[int, int]  # (month, day) in the contribution year
    end: tuple[int, int]
    when: Expr | None
    mode: str
    quantum: Decimal
    citation: Citation | None
    span: Span
    mode_span: Span
    start_span: Span
    end_span: Span


ContributionClause = Union[Applies, Premium, Subsidy, Prorate]


@_nodes
class Contribution(_Block):
    """``contribution basic "基本医疗保险个人缴费" cites … { applies …; premium …; subsidy …; prorate … }``:
    what a member owes for a year's cover (the member owes X, the government pays Y)."""

    name: str
    label: Label | None
    citation: Citation | None
    clauses: tuple[ContributionClause, ...]
    span: Span


@_nodes
class Insured:
    """``insured resident "城乡居民医保" under "residents-2020.mr" when … because "…" cites …``: on a claim's
    date the person belongs to this scheme when the condition holds (the first that holds); ``highest``:
    settled under each of ``paths`` and the better paid (待遇就高不就低)."""

    name: str
    label: Label | None
    paths: tuple[str, ...]
    path_spans: tuple[Span, ...]
    highest: bool
    when: Expr
    because: Label
    citation: Citation | None
    span: Span


@_nodes
class Recover:
    """``recover when claim.third_party in {refuses, unknown} because "…" cites …``: the funds pay first and
    what they paid on the claim is recoverable from the liable third party (先行支付, 追偿)."""

    when: Expr
    because: Label
    citation: Citation | None
    span: Span


@_nodes
class Comment:
    """``# …`` to the end of its line; ``trailing`` when code precedes it on the line."""

    text: str  # with its '#'
    trailing: bool
    span: Span


@_nodes
class Rulebook:
    file: str
    header: Header | None
    sources: tuple[Source, ...]
    enums: tuple[EnumDecl, ...]
    records: tuple[Record, ...]
    parameters: tuple[Parameter, ...]
    accumulators: tuple[Accumulator, ...]
    funds: tuple[Fund, ...]
    total: Total | None
    span: Span
    exclusions: tuple[Exclude, ...] = ()  # top level: apply to every fund
    treatments: tuple[Treat, ...] = ()
    comments: tuple[Comment, ...] = ()  # in source order; the formatter puts them back
    lang: str = "en"  # the keyword set it is written in: en | zh
    readings: tuple[Reading, ...] = ()
    actionable: tuple[Actionable, ...] = ()
    contributions: tuple[Contribution, ...] = ()  # what a member owes (premium side)
    memberships: tuple[Insured, ...] = ()  # 'insured …': the scheme each claim is settled under, by its date
    recoveries: tuple[Recover, ...] = ()  # paid first, recoverable from a third party

    def actionable_facts(self) -> tuple[str, ...]:
        """The facts a member can change ('member.paid_on'), in the order declared; () when none are declared."""
        return tuple(dict.fromkeys(ref.text for a in self.actionable for ref in a.facts))


# ---------------------------------------------------------------- comparing trees
_PLACE = {"span", "file", "name_spans", "path_spans", "comments", "lang"}  # where it was written, not what it says


def shape(value: object) -> object:
    """A node (or anything holding nodes) as plain tuples, without positions, file names,
    comments, keyword language or the literal spelling: two rulebooks that say the same thing
    in either keyword set, or before and after formatting, have the same shape."""
    if attrs.has(type(value)):
        return (type(value).__name__,) + tuple(
            (f.name, shape(getattr(value, f.name))) for f in attrs.fields(type(value))
            if f.name not in _PLACE and not f.name.endswith("_span")
            and not (f.name == "text" and isinstance(value, Literal)))
    if isinstance(value, dict):
        return tuple((shape(k), shape(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [shape(v) for v in value]
        return tuple(sorted(items, key=repr)) if isinstance(value, (set, frozenset)) else tuple(items)
    if isinstance(value, Span):
        return None
    return value
