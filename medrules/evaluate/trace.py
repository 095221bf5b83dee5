"""Trace steps: what the evaluation did, recorded by the evaluation itself.

A step holds the provision node it came from (for its citation and file:line),
the raw values it used and produced (``Decimal``s, dates, names), and the leaf
inputs read while evaluating its expressions (``reads``: pairs of the ``Ref`` node
and its value, or of a ``Cases`` node and the index of the case that held).
No strings are built while evaluating; :mod:`medrules.explain` renders steps.

Step kinds (one name per provision kind, as in the grammar and the nodes):

=============  ==============================================================
version        which version of a rulebook set settles the claim, and why (its date)
benefit_year   a new benefit year starts: accumulators begin at zero
opening        opening year-to-date values taken from the facts file
handoff        a supplementary rulebook takes over from the scheme it layers on
treat          a fact the claim is settled as if it were different (reclassification)
exclude        an exclusion that stops payment (by one fund, or by all), with its reason
applies        whether a fund applies to the claim
base           the amount a fund applies to
deductible     the deductible taken from the claim
cap            a cap: on cost counted (``what=cost``) or on payments
band           one band of a progressive scale: the part of the claim in it
rate           a single rate applied to the payable cost
flat           a flat amount per claim instead of a rate
adjust         a rate adjustment (points or relative percent), applied or not
rounding       the declared rounding of a payment
accumulate     a year-to-date accumulator before and after
paid           what the fund pays on the claim
total          the claim's total cost
member_pays    what is left to the member
=============  ==============================================================
"""
from __future__ import annotations

import attrs

SCHEMA_VERSION = "1"

STEP_KINDS = ("version", "benefit_year", "opening", "handoff", "treat", "exclude", "applies", "base", "deductible", "cap", "band",
              "rate", "flat", "adjust", "rounding", "accumulate", "paid", "total", "member_pays")


@attrs.define(slots=True)
class Step:
    kind: str
    fund: str | None
    node: object  # the clause / declaration node the step comes from (None for built-ins)
    values: dict
    reads: tuple = ()
    layer: str = ""  # for a supplementary rulebook: which scheme below it the step belongs to ("basic")
