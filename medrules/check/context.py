"""What the checker passes share, and what they hand to the evaluator."""
from __future__ import annotations

import difflib
from decimal import Decimal

import attrs

from medrules import nodes as n
from medrules.diagnostics import Diagnostic, error
from medrules.source import Span
from medrules.units import Type

# What a fund makes available to later funds, as ``fund_name.output``.
FUND_OUTPUTS = {
    "paid": "what the fund paid on this claim",
    "base": "the amount the fund applied to",
    "deductible": "the deductible taken from this claim",
    "payable": "the cost the fund paid a share of",
    "above_cap": "the cost left unpaid because the fund's payment cap was reached",
    "above_ceiling": "the cost above the fund's cost cap",
    "remaining": "base minus paid: what this fund left to the member",
}


@attrs.frozen
class Resolved:
    """What a :class:`~medrules.nodes.Ref` names."""

    kind: str  # fact | param | accumulator | fund_output | enum_member | history
    target: str  # field / parameter / accumulator name, fund name, enum name
    detail: str | None = None  # record kind for facts, output for funds, member for enums


# What a supplementary rulebook can read of the scheme it layers on, as ``alias.NAME``
# (besides ``alias.FUND.OUTPUT`` for each of the base's funds).
BASE_OUTPUTS = {
    "total_cost": "the claim's total cost under the base scheme",
    "paid": "what all the base scheme's funds paid on the claim",
    "member_pays": "what the base scheme left to the member",
}


@attrs.define
class Context:
    rulebook: n.Rulebook
    base: CheckedRulebook | None = None
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    sources: dict[str, n.Source] = attrs.Factory(dict)
    enums: dict[str, n.EnumDecl] = attrs.Factory(dict)
    records: dict[str, dict[str, n.Field]] = attrs.Factory(dict)
    parameters: dict[str, n.Parameter] = attrs.Factory(dict)
    accumulators: dict[str, n.Accumulator] = attrs.Factory(dict)
    funds: dict[str, n.Fund] = attrs.Factory(dict)
    field_types: dict[n.Field, Type] = attrs.Factory(dict)
    resolved: dict[n.Ref, Resolved] = attrs.Factory(dict)
    types: dict[object, Type] = attrs.Factory(dict)  # expression node -> type
    constants: dict[object, Decimal] = attrs.Factory(dict)  # band bounds, folded
    cyclic: set[str] = attrs.Factory(set)  # parameters defined in a circle (reported once)
    optional: set[n.Field] = attrs.Factory(set)  # facts declared '= none': they may be left out
    bound: list[str] = attrs.Factory(list)  # histories whose record is in hand (inside any(NAME, …) and kin)

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None,
              related: tuple = ()) -> None:
        self.diagnostics.append(error(code, message, span, hint, related))

    @property
    def alias(self) -> str | None:
        layers = self.rulebook.header.layers_on if self.rulebook.header else None
        return layers.alias if layers else None

    def freeze(self) -> CheckedRulebook:
        return CheckedRulebook(self.rulebook, self.sources, self.enums, self.records, self.parameters,
                               self.accumulators, self.funds, self.field_types, self.resolved, self.types,
                               self.constants, self.base, frozenset(self.optional))


def did_you_mean(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


@attrs.frozen
class CheckedRulebook:
    """A rulebook that passed every check, with the checker's side tables."""

    rulebook: n.Rulebook
    sources: dict[str, n.Source]
    enums: dict[str, n.EnumDecl]
    records: dict[str, dict[str, n.Field]]
    parameters: dict[str, n.Parameter]
    accumulators: dict[str, n.Accumulator]
    funds: dict[str, n.Fund]
    field_types: dict[n.Field, Type]
    resolved: dict[n.Ref, Resolved]
    types: dict[object, Type]
    constants: dict[object, Decimal]
    base: CheckedRulebook | None = None  # the rulebook this one layers on
    optional: frozenset = frozenset()  # facts that may be left out (declared '= none')
    warnings: tuple = ()  # diagnostics of severity 'warning' (e.g. an amended value still quoted)

    @property
    def alias(self) -> str | None:
        layers = self.rulebook.header.layers_on
        return layers.alias if layers else None

    def accumulator_names(self) -> list[str]:
        """Own accumulators, and the base scheme's as ``alias.NAME`` (what opening values may name)."""
        base = [f"{self.alias}.{name}" for name in self.base.accumulator_names()] if self.base else []
        return base + list(self.accumulators)

    def resolution(self, ref) -> Resolved | None:
        """What a name means, in this rulebook or the one it layers on (inherited facts' defaults)."""
        res = self.resolved.get(ref)
        if res is None and self.base is not None:
            return self.base.resolution(ref)
        return res

    def parameter(self, name: str):
        if name in self.parameters or self.base is None:
            return self.parameters[name]
        return self.base.parameter(name)

    def layers(self) -> dict[str, CheckedRulebook]:
        """Each rulebook in a layered scheme by how the top one names it ('' for itself)."""
        out = {"": self}
        if self.base is not None:
            out |= {(f"{self.alias}.{k}" if k else self.alias): v for k, v in self.base.layers().items()}
        return out

    @property
    def id(self) -> str:
        return self.rulebook.header.id

    @property
    def file(self) -> str:
        return self.rulebook.file
