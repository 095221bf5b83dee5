"""Trace steps: what the evaluation did, recorded by the evaluation itself, one class per step kind.

A step holds the provision node it came from (for its citation and file:line), the raw values it
used and produced (``Decimal``s, dates, names) as typed fields, and the leaf inputs read while
evaluating its expressions (``reads``: pairs of the ``Ref`` node and its value, or of a ``Cases``
node and the index of the case that held). No strings are built while evaluating;
:mod:`medrules.explain` renders steps by reading their fields.

``step.values`` gives the fields as the JSON explanation writes them (``from`` for ``from_`` …);
:func:`values_schema` is the JSON schema of those values for each kind, and the published schema
(``medrules/schema/explanation-1.schema.json``) carries it.

=============  ==================  ==============================================================
kind           class               what it records
=============  ==================  ==============================================================
insured        InsuredStep         the scheme the person belonged to on the claim's date, and why (its route);
                                   under 'highest of': what each rulebook would pay, and the one chosen
version        VersionStep         which version of a rulebook set settles the claim, and why (its date)
benefit_year   BenefitYearStep     a new benefit year starts: accumulators begin at zero
opening        OpeningStep         opening year-to-date values taken from the facts file
handoff        HandoffStep         a supplementary rulebook takes over from the scheme it layers on
treat          TreatStep           a fact the claim is settled as if it were different (reclassification)
exclude        ExcludeStep         an exclusion that stops payment (by one fund, or by all), with its reason
applies        AppliesStep         whether a fund applies to the claim
base           BaseStep            the amount a fund applies to
deductible     DeductibleStep      the deductible taken from the claim
cap            CostCapStep         a cap on the cost counted (``what=cost``)
cap            PaymentCapStep      a cap on payments (``what=payments``)
band           BandStep            one band of a progressive scale: the part of the claim in it
rate           RateStep            a single rate applied to the payable cost
flat           FlatStep            a flat amount per claim instead of a rate
adjust         AdjustStep          a rate adjustment (points or relative percent), applied or not
rounding       RoundingStep        the declared rounding of a payment
quota          QuotaStep           a payment drawn on the quotas of the holders the claim names (定额包干)
accumulate     AccumulateStep      a year-to-date accumulator before and after
paid           PaidStep            what the fund pays on the claim
total          TotalStep           the claim's total cost
recover        RecoverStep         what the funds paid first, recoverable from a liable third party
member_pays    MemberPaysStep      what is left to the member
=============  ==================  ==============================================================
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

import attrs

SCHEMA_VERSION = "1"


def _step(cls):
    return attrs.define(slots=True, kw_only=True)(cls)


def _key(name: str):
    """A field written under another name in ``values`` (a Python keyword or a taken name)."""
    return {"key": name}


@_step
class Step:
    kind: ClassVar[str] = ""
    fund: str | None = None
    node: object = None  # the clause / declaration node the step comes from (None for built-ins)
    reads: tuple = ()
    layer: str = ""  # for a supplementary rulebook: which scheme below it the step belongs to ("basic")

    @property
    def values(self) -> dict:
        keys = _VALUE_KEYS.get(type(self)) or _value_keys(type(self))
        out = {}
        for name, key, optional in keys:
            value = getattr(self, name)
            if optional and value is None:
                continue
            out[key] = value
        return out


_VALUE_KEYS: dict[type, tuple] = {}


def _value_keys(cls) -> tuple:
    """(field, key in ``values``, left out when None) for a step class's own fields, read once."""
    keys = _VALUE_KEYS[cls] = tuple((a.name, a.metadata.get("key", a.name), bool(a.metadata.get("optional")))
                                    for a in attrs.fields(cls)[len(COMMON):])
    return keys


COMMON = ("fund", "node", "reads", "layer")

Money = Decimal  # a Decimal amount, or an exact rational (medrules.plan.arith.Exact) before rounding
Rate = Decimal  # a rate, points or relative percent, as a fraction (0.84)


_MONEY_SCHEMA = {"type": "string", "pattern": r"^-?\d+\.\d{2,}$"}


def _enum(*names: str) -> dict:
    return {"enum": list(names)}


@_step
class VersionStep(Step):
    kind: ClassVar[str] = "version"
    rulebook: str
    effective_from: dt.date
    effective_to: dt.date | None
    date: dt.date
    dated_by: str


@_step
class InsuredStep(Step):
    kind: ClassVar[str] = "insured"
    scheme: str  # the 'insured' statement's name in the membership rulebook
    rulebook: str  # the id of the rulebook the claim is settled under
    date: dt.date
    dated_by: str
    compared: dict | None = attrs.field(default=None, metadata={"optional": True})  # rulebook id -> funds' payment


@_step
class BenefitYearStep(Step):
    kind: ClassVar[str] = "benefit_year"
    start: dt.date
    end: dt.date
    label: str


@_step
class OpeningStep(Step):
    kind: ClassVar[str] = "opening"
    amounts: dict = attrs.field(metadata=_key("values") | {"schema": {"type": "object", "additionalProperties": {
        "type": "string", "pattern": r"^-?\d+\.\d{2,}$"}}})


@_step
class HandoffStep(Step):
    kind: ClassVar[str] = "handoff"
    from_: str = attrs.field(metadata=_key("from"))
    to: str
    total: Money
    paid: Money
    member_pays: Money


@_step
class TreatStep(Step):
    kind: ClassVar[str] = "treat"
    fact: str
    before: object
    after: object


@_step
class ExcludeStep(Step):
    kind: ClassVar[str] = "exclude"
    all_funds: bool


@_step
class AppliesStep(Step):
    kind: ClassVar[str] = "applies"
    result: bool


@_step
class BaseStep(Step):
    kind: ClassVar[str] = "base"
    amount: Money


@_step
class DeductibleStep(Step):
    kind: ClassVar[str] = "deductible"
    amount: Money
    per: str = attrs.field(metadata=_enum("year", "admission", "claim"))
    applies: bool
    base: Money
    used_before: Money
    remaining: Money
    taken: Money


@_step
class CostCapStep(Step):
    kind: ClassVar[str] = "cap"
    what: str = "cost"  # the schema tells the two caps apart by it
    cap: Money
    per: str = attrs.field(metadata=_enum("year", "claim"))
    counted_before: Money
    from_: Money = attrs.field(metadata=_key("from"))
    to: Money
    point: Money
    above: Money


@_step
class PaymentCapStep(Step):
    kind: ClassVar[str] = "cap"
    what: str = "payments"
    cap: Money
    per: str = attrs.field(metadata=_enum("year", "claim", "holder"))
    paid_before: Money
    room: Money
    raw: Money
    limited: bool
    above: Money
    split: dict | None  # where the room ran out: room, rate, part, covered, later


@_step
class QuotaStep(Step):
    """'cap payments … per holder of …': what the fund paid, drawn on the holders' quotas in the order the
    claim names them: per holder its id, quota, used before, drawn and left (``draws``)."""
    kind: ClassVar[str] = "quota"
    patient: str  # the member whose claim it is
    paid: Money
    draws: tuple = attrs.field(metadata={"schema": {"type": "array", "items": {
        "type": "object", "required": ["holder", "quota", "used", "drawn", "left", "relation"],
        "properties": {"holder": {"type": "string"}, "quota": _MONEY_SCHEMA, "used": _MONEY_SCHEMA,
                       "drawn": _MONEY_SCHEMA, "left": _MONEY_SCHEMA,
                       "relation": {"enum": ["own", "household", "designated"]}}}}})


@_step
class BandStep(Step):
    kind: ClassVar[str] = "band"
    lower: Money
    upper: Money | None
    cumulative: bool
    from_: Money = attrs.field(metadata=_key("from"))
    to: Money
    part: Money
    written_rate: Rate
    rate: Rate
    amount: Money


@_step
class RateStep(Step):
    kind: ClassVar[str] = "rate"
    part: Money
    written_rate: Rate
    rate: Rate
    amount: Money


@_step
class FlatStep(Step):
    kind: ClassVar[str] = "flat"
    amount: Money
    part: Money
    paid: Money


@_step
class AdjustStep(Step):
    kind: ClassVar[str] = "adjust"
    applied: bool
    adjustment: str = attrs.field(metadata=_key("kind") | _enum("points", "relpct"))
    amount: Rate


@_step
class RoundingStep(Step):
    kind: ClassVar[str] = "rounding"
    raw: Money
    rounded: Money
    within: Money | None = attrs.field(default=None, metadata={"optional": True})  # the limit it kept within


@_step
class AccumulateStep(Step):
    kind: ClassVar[str] = "accumulate"
    accumulator: str
    role: str = attrs.field(metadata=_enum("cost", "payments", "deductible"))
    before: Money
    delta: Money
    after: Money


@_step
class PaidStep(Step):
    kind: ClassVar[str] = "paid"
    amount: Money


@_step
class TotalStep(Step):
    kind: ClassVar[str] = "total"
    amount: Money


@_step
class RecoverStep(Step):
    kind: ClassVar[str] = "recover"
    amount: Money  # what the funds paid on the claim: recoverable from the third party


@_step
class MemberPaysStep(Step):
    kind: ClassVar[str] = "member_pays"
    total: Money
    funds: Money
    amount: Money


STEP_CLASSES = (InsuredStep, VersionStep, BenefitYearStep, OpeningStep, HandoffStep, TreatStep, ExcludeStep, AppliesStep,
                BaseStep, DeductibleStep, CostCapStep, PaymentCapStep, BandStep, RateStep, FlatStep, AdjustStep,
                RoundingStep, QuotaStep, AccumulateStep, PaidStep, TotalStep, RecoverStep, MemberPaysStep)
STEP_KINDS = tuple(dict.fromkeys(c.kind for c in STEP_CLASSES))


# ---------------------------------------------------------------- recording cheaply, building when read
# A traced evaluation records each step as a tuple, ``(BandStep, fund, node, reads, layer, *own fields)``
# in the class's field order (the hot steps, written out in medrules.evaluate.fund), or with
# ``BandStep.record(fund=…, …)`` (the class's own keywords, a third of the cost of the object; the rare
# steps); :func:`built` makes the typed step when a settlement's steps are first read
# (:attr:`medrules.evaluate.ClaimResult.steps`).
_FIELDS: dict[type, tuple[str, ...]] = {}


def _recorder(cls):
    fields = attrs.fields(cls)
    params = ", ".join(a.name if a.default is attrs.NOTHING else f"{a.name}=_default_{a.name}" for a in fields)
    namespace = {"_cls": cls} | {f"_default_{a.name}": a.default for a in fields if a.default is not attrs.NOTHING}
    exec(f"def record(*, {params}):\n    return (_cls, {', '.join(a.name for a in fields)})\n", namespace)
    return staticmethod(namespace["record"])


for _cls in STEP_CLASSES:
    _FIELDS[_cls] = tuple(a.name for a in attrs.fields(_cls))
    _cls.record = _recorder(_cls)


def built(step) -> Step:
    """A step recorded as a tuple, as its typed object (a step object is returned as it is)."""
    if type(step) is not tuple:
        return step
    cls = step[0]
    names = _FIELDS[cls]
    if len(step) != len(names) + 1:
        raise AssertionError(f"a {cls.__name__} recorded with {len(step) - 1} values for {len(names)} fields")
    return cls(**dict(zip(names, step[1:])))


_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2,}$"}
_JSON = {"str": {"type": "string"}, "bool": {"type": "boolean"}, "dict": {"type": "object"}, "object": {},
         "Money": _MONEY, "Rate": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
         "dt.date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}}


def _field_schema(f) -> dict:
    if "schema" in f.metadata:
        return f.metadata["schema"]
    if "enum" in f.metadata:
        return {"enum": f.metadata["enum"]}
    annotation = f.type
    if annotation.endswith(" | None"):
        return {"anyOf": [_JSON[annotation.removesuffix(" | None")], {"type": "null"}]}
    return _JSON[annotation]


def values_schema() -> list[dict]:
    """For each step class: ``if`` the step is of its kind (and, for caps, of its ``what``), ``then`` its
    values have these fields. The published JSON schema holds this list under the step items' ``allOf``
    (tests/test_trace_schema.py checks that it is the same)."""
    out = []
    for cls in STEP_CLASSES:
        fields = attrs.fields(cls)[len(COMMON):]
        props = {f.metadata.get("key", f.name): _field_schema(f) for f in fields}
        required = [f.metadata.get("key", f.name) for f in fields if not f.metadata.get("optional")]
        condition = {"kind": {"const": cls.kind}}
        if "what" in props:
            what = attrs.fields_dict(cls)["what"].default
            condition["values"] = {"properties": {"what": {"const": what}}}
            props["what"] = {"const": what}
        out.append({"if": {"properties": condition}, "then": {"properties": {"values": {
            "type": "object", "required": required, "properties": props}}}})
    return out
