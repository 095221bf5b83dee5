"""A loaded rulebook: the checked rulebook and its plan, compiled for the scalar backend on first use.

:func:`medrules.load` returns a :class:`Program`. Checking a rulebook (``medrules check``) lowers it —
lowering finds the errors of folding parameters — but never settles a claim, so the closures of the
scalar backend (:mod:`medrules.evaluate.compile`) are built, and the evaluator imported, only when
a settlement first asks for them (once per program).
"""
from __future__ import annotations

import attrs

from medrules.plan import Plan, lower


@attrs.frozen
class Program:
    """A checked rulebook, lowered to its plan and compiled for the scalar backend: build once, settle
    many times."""

    checked: object  # CheckedRulebook
    plan: Plan
    _compiled: dict = attrs.field(factory=dict, init=False, eq=False, repr=False)  # traced -> layers

    def _layers(self, traced: bool) -> tuple:
        layers = self._compiled.get(traced)
        if layers is None:
            from medrules.evaluate.compile import compile_layer
            layers = self._compiled[traced] = tuple(compile_layer(layer, traced) for layer in self.plan.layers)
        return layers

    @property
    def layers(self) -> tuple:
        """The compiled layers, the base scheme first; closures that record what they read."""
        return self._layers(True)

    @property
    def untraced(self) -> tuple:
        """The same without recording (settle without a trace)."""
        return self._layers(False)

    @property
    def dated_by(self) -> str:
        return self.plan.dated_by

    @property
    def alias(self) -> str | None:
        return self.checked.alias

    @property
    def base(self) -> Program | None:
        """The scheme a supplementary rulebook layers on, as its own program."""
        if self.checked.base is None:
            return None
        return compile_rulebook(self.checked.base, overrides={
            k.split(".", 1)[1]: v for k, v in self.plan.overrides.items() if k.startswith(f"{self.alias}.")})

    @property
    def funds(self) -> tuple:
        return self.layers[-1].funds

    @property
    def total(self):
        return self.layers[-1].total

    def all_funds(self) -> list[tuple[str, object]]:
        """Every fund that settles a claim, in order, by qualified name (``basic.inpatient_pool``)."""
        return [(f"{layer.prefix}.{f.name}" if layer.prefix else f.name, f.node)
                for layer in self.plan.layers for f in layer.funds]

    def all_accumulators(self) -> dict[str, object]:
        return {f"{layer.prefix}.{a.name}" if layer.prefix else a.name: a.node
                for layer in self.plan.layers for a in layer.accumulators}

    def with_overrides(self, overrides: dict) -> Program:
        """The same rulebook with some parameters set to other values (``alias.NAME`` below)."""
        return compile_rulebook(self.checked, overrides=overrides)


def compile_rulebook(ck, base: Program | None = None, overrides: dict | None = None) -> Program:
    """Lower a checked rulebook (with the ones it layers on); its plan is compiled on first settlement.
    ``base`` is accepted for compatibility: the plan already holds the layers below."""
    return Program(ck, lower(ck, overrides))
