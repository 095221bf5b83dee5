"""How a fund settles a claim: generated per fund by :mod:`medrules.evaluate.kernel` (one emitter per operation
kind, the scalar backend's meaning of each provision). The names kept here are that module's."""
from __future__ import annotations

from medrules.evaluate.kernel import NOT_APPLIED, cost_beyond, empty_outputs

__all__ = ["NOT_APPLIED", "cost_beyond", "empty_outputs"]
