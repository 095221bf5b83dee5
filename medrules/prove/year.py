"""Proofs across the claims of a year: k symbolic claims of one member in one benefit year.

``prove`` (one claim from ANY year-to-date state) cannot see a limit that only a sequence of claims
reaches. Here the first ``k`` claims of a benefit year are encoded in order: the accumulators start at 0
(the start of the year, as the evaluator starts them without opening values) and each claim's state is
what the claims before it left (plan step i, fund by fund); the member's facts are shared, each claim's
facts are its own, and the claims' dates lie in one benefit year in the order the evaluator settles them.

A yearly limit reads a running total (an accumulator); the properties say that the running total the
limit reads is the year's total it limits — whichever funds feed it:

* ``year_caps``       every accumulator a yearly payment cap reads: the payments of all the funds that
                      accumulate their payments in it, summed over the year so far, never grow past the
                      largest such cap (as the claim that makes them grow reads it);
* ``year_ceiling``    every accumulator a yearly cost cap (ceiling) reads: the cost those funds pay on
                      (``payable``), summed over the year, never grows past the largest such ceiling;
* ``year_deductible`` every accumulator a yearly deductible reads: the deductible taken, summed over the
                      year, never grows past the largest such deductible (a member pays it once a year).

Each is decided for 1 … k claims at once (a violation after claim i < k is one of the k-claim models).
The accumulators equal the sum of what they accumulate by the plan's construction (step i), and the
encoding builds them the same way, so that is not asked of the solver; a counterexample's facts file is
settled by the real evaluator, whose own fund results must show the running total past the limit
(otherwise the finding is ``unconfirmed``), and whose accumulators must equal the sums of the fund results
that feed them (otherwise the finding fails: the evaluator disagrees with the plan).

Not properties (they do not hold, and why, in docs/prove.md): the year's total is not independent of
the order of the claims, and not monotone in an earlier claim's cost, wherever claims of one year are
paid at different rates under one ceiling or band scale (Quzhou's outpatient pool: 50% and 55% under the
3,000 ceiling).
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from medrules.plan import ops
from medrules.prove import Finding, _Encoding, _facts_doc, _max, decide

YEAR_PROPERTIES = ("year_caps", "year_ceiling", "year_deductible")
ROLE_PROPERTY = {"payments": "year_caps", "cost": "year_ceiling", "deductible": "year_deductible"}
QUANTITY = {"payments": "paid", "cost": "payable", "deductible": "deductible"}  # what the limit limits
WORDS = {"payments": "payments", "cost": "cost paid on", "deductible": "deductible taken"}
ROLE_RESULT = {"cost": "base", "deductible": "deductible", "payments": "paid"}  # what step (i) adds
CLAIMS_PER_YEAR = 2


def prove_year(program, layer: ops.Layer, k: int = CLAIMS_PER_YEAR, properties=YEAR_PROPERTIES,
               timeout_ms: int = 20_000) -> list[Finding]:
    """Decide the yearly limits of one layer over its first ``k`` claims of a benefit year."""
    import z3
    claims = year_claims(layer, k)
    findings = []
    for (role, acc), limits in _limits(layer, claims).items():
        prop = ROLE_PROPERTY[role]
        if prop not in properties:
            continue
        feeders = [f.name for f in layer.funds if any(a.role == role and a.accumulator == acc for a in f.accumulates)]
        running, grows = [], []
        total = z3.RealVal(0)
        for enc in claims:
            this = z3.Sum([enc.outputs[name][QUANTITY[role]] for name in feeders])
            total = total + this
            running.append(total)
            grows.append(this > 0)
        largest = [_largest(z3, [amounts[i] for _, _, amounts in limits]) for i in range(k)]
        negation = z3.Or([z3.And(grows[i], running[i] > largest[i]) for i in range(k)])
        s, result = decide([x for enc in claims for x in enc.pre] + [negation], timeout_ms)
        funds = ", ".join(dict.fromkeys(f for f, _, _ in limits))
        if result == z3.unsat:
            findings.append(Finding(layer.id, funds, prop, "proved",
                                    f"over {k} claims of a year: the {WORDS[role]} counted in {acc}"))
        elif result == z3.sat:
            findings.append(_counterexample(program, layer, claims, s.model(), role, acc, feeders, limits, funds,
                                            prop, running, largest))
        else:
            findings.append(Finding(layer.id, funds, prop, "unknown", s.reason_unknown()))
    return findings


def year_claims(layer: ops.Layer, k: int) -> list[_Encoding]:
    """k claims of one member, in settlement order, in one benefit year, from the start of the year."""
    import z3
    state = {a.name: z3.RealVal(0) for a in layer.accumulators}
    claims = []
    for i in range(k):
        enc = _Encoding(layer, tag=f"c{i + 1}.", state=state, separate=True)
        claims.append(enc)
        state = dict(enc.acc)
    if layer.dated_by is not None:
        days = [enc.fact("claim", layer.dated_by) for enc in claims]
        claims[0].pre += [a <= b for a, b in zip(days, days[1:])]  # the order the evaluator settles them in
        years = [z3.And(days[0] >= start.toordinal(), days[-1] <= end.toordinal())
                 for start, end in benefit_years(layer)]
        claims[0].pre.append(z3.Or(years))
    return claims


def benefit_years(layer: ops.Layer, most: int = 6) -> list[tuple[dt.date, dt.date]]:
    """The benefit years that overlap the period the encoding dates claims in (at most ``most``)."""
    from medrules.evaluate.runtime import benefit_year
    lo = layer.effective_from or dt.date(1900, 1, 1)
    hi = layer.effective_to or dt.date(lo.year + 1, lo.month, 1) - dt.timedelta(days=1)
    out, day = [], lo
    while day <= hi and len(out) < most:
        start, end = benefit_year(day, layer.year_starts)
        out.append((start, end))
        day = end + dt.timedelta(days=1)
    return out


def _limits(layer: ops.Layer, claims: list[_Encoding]) -> dict:
    """(role, accumulator) -> [(fund, op, [its amount on claim 1 … k])] for every yearly limit."""
    out: dict = {}
    for fund in layer.funds:
        per_claim = [enc.funds[fund.name]["limits"] for enc in claims]
        for j, (role, acc, op, _) in enumerate(per_claim[0]):
            out.setdefault((role, acc), []).append((fund.name, op, [lims[j][3] for lims in per_claim]))
    return out


def _largest(z3, amounts):
    best = amounts[0]
    for a in amounts[1:]:
        best = _max(z3, best, a)
    return best


def _counterexample(program, layer, claims, model, role, acc, feeders, limits, funds, prop, running, largest):
    z3 = claims[0].z3
    docs = [_facts_doc(program, layer, enc, model) for enc in claims]
    member = dict(docs[0]["member"])  # the member's facts are shared by name: take each from a claim that read it
    for enc, d in zip(claims, docs):
        for name, value in d["member"].items():
            if ("member", name) in enc.fen or ("member", name) in enc.vars:
                member[name] = value
    doc = {"member": member, "claims": []}
    for i, d in enumerate(docs):
        doc["claims"].append(d["claims"][0] | {"id": f"C{i + 1}"})
    limit = [_value(model.eval(x, model_completion=True)) for x in largest]
    solver_total = [_value(model.eval(x, model_completion=True)) for x in running]
    confirmed, detail = _confirm(program, layer, doc, role, acc, feeders, limit)
    if not confirmed:
        detail += f" (the solver's running total: {', '.join(map(str, solver_total))})"
    return Finding(layer.id, funds, prop, "failed" if confirmed else "unconfirmed", detail, doc)


def _value(v) -> Decimal:
    frac = v.as_fraction()
    return (Decimal(frac.numerator) / Decimal(frac.denominator)).quantize(Decimal("0.01"))


def _confirm(program, layer, doc, role, acc, feeders, limit) -> tuple[bool, str]:
    """Settle the claims with the real evaluator: does the year's running total pass the limit?"""
    from medrules.diagnostics import MedrulesError
    from medrules.evaluate import settle
    from medrules.facts import facts_from_source
    from medrules.source import SourceFile
    try:
        facts = facts_from_source(SourceFile("counterexample.json", json.dumps(doc)), program.checked)
        results = settle(program, facts).claims
    except MedrulesError as exc:
        d = exc.diagnostics[0]
        if d.code == "evaluate":
            return True, f"the settlement refuses it: {d.message}"
        return False, f"not reproduced: {d.code}: {d.message}"
    prefix = layer.prefix + "." if layer.prefix else ""
    names = {prefix + f for f in feeders}
    fed = [(prefix + f.name, ROLE_RESULT[a.role]) for f in layer.funds for a in f.accumulates if a.accumulator == acc]
    running = Decimal(0)
    for claim in results:  # the accumulator is the sum of what it accumulates (plan step i), on the evaluator
        running += sum((getattr(f, field) for f in claim.funds for name, field in fed if f.fund == name), Decimal(0))
        if claim.accumulators.get(prefix + acc) != running:
            return True, (f"after claim {claim.id} the evaluator's {acc} is {claim.accumulators.get(prefix + acc)}, "
                          f"not the {running} it accumulated")
    total = Decimal(0)
    for i, claim in enumerate(results):
        this = sum((getattr(f, QUANTITY[role]) for f in claim.funds if f.fund in names), Decimal(0))
        total += this
        if this > 0 and total > limit[i]:
            return True, (f"after claim {claim.id} the year's {WORDS[role]} counted in {acc} "
                          f"({', '.join(sorted(feeders))}) reach {total} > {limit[i]}")
    return False, f"not reproduced by the evaluator (its running total {total})"
