"""A fund settles a claim by its generated kernel (:mod:`medrules.evaluate.kernel`, one emitter per operation
kind: the scalar backend's meaning of each provision); this module keeps what the layer around the funds
uses: the rulebook-wide exclusion and the all-zero outputs of a fund that does not pay."""
from __future__ import annotations

from medrules.evaluate.compile import Env
from medrules.evaluate.kernel import NOT_APPLIED, cost_beyond, empty_outputs
from medrules.evaluate.trace import ExcludeStep

__all__ = ["NOT_APPLIED", "cost_beyond", "empty_outputs", "settle_exclude"]


def settle_exclude(fund, exclusion, env: Env, steps: list | None) -> bool:
    """A rulebook-wide exclusion (``fund`` None): whether it holds, recorded when it does."""
    if exclusion.fn(env):
        if steps is not None:
            steps.append((ExcludeStep, fund.name if fund else None, exclusion.node, env.take(), "", fund is None))
        return True
    if env.reads:  # what it read is no step's: dropped
        env.reads = []
    return False
