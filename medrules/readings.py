"""Readings: the alternatives of an ambiguity a rulebook declares, and the choice it settles by.

A rulebook names what its text leaves open and writes each alternative as clauses::

    reading cap_axis "“最高支付限额”限定的是什么" | "what 最高支付限额 limits" {
      payments "住院统筹基金的年度支付额" | "the fund's payments in a year"
      cost "年度累计住院医疗费用" | "the cost counted in a year"
    } chosen cost
      cites QZ2011_102 at "二" "6万元以上至最高支付限额部分,统筹基金支付87%"

    fund inpatient_pool … {
      under cap_axis.payments cap payments at 160_000 yuan …
      under cap_axis.cost cap cost at 160_000 yuan …
    }

:func:`select` runs before the checker (like an amendment, it rewrites the tree): the clauses of the
chosen alternatives are kept, the others dropped, so the checker and the evaluator never see a
reading. ``choices`` (``--reading cap_axis=payments``) replace the rulebook's own choice; each
``Reading`` keeps both (``chosen``, ``declared``) so that explanations can say which was used.
"""
from __future__ import annotations

import itertools

import attrs

from medrules import nodes as n
from medrules.diagnostics import MedrulesError, error


def parse_choice(text: str) -> tuple[str, str]:
    """'cap_axis=cost' -> ('cap_axis', 'cost')."""
    name, sep, alternative = text.partition("=")
    if not sep or not name.strip() or not alternative.strip():
        raise MedrulesError(error("reading", f"'{text}' is not a reading choice", hint="write NAME=ALTERNATIVE, "
                                  "e.g. --reading cap_axis=cost"))
    return name.strip(), alternative.strip()


def select(rulebook: n.Rulebook, choices: dict[str, str] | None = None) -> n.Rulebook:
    """The rulebook under its chosen readings (``choices`` override the rulebook's own); every 'under' checked
    against the declared readings, every choice against their alternatives."""
    choices = dict(choices or {})
    if rulebook.memberships:  # 'STEM.NAME': a reading of the scheme rulebook STEM.mr (medrules.membership)
        stems = scheme_stems(rulebook)
        choices = {k: v for k, v in choices.items() if k.partition(".")[0] not in stems}
    problems = []
    declared: dict[str, n.Reading] = {}
    for r in rulebook.readings:
        if r.name in declared:
            problems.append(error("duplicate", f"reading '{r.name}' is declared twice", r.span,
                                  related=(("first declared here", declared[r.name].span),)))
            continue
        declared[r.name] = r
        names = [a.name for a in r.alternatives]
        if len(names) < 2:
            problems.append(error("reading", f"reading '{r.name}' needs at least two alternatives", r.span))
        if len(set(names)) != len(names):
            problems.append(error("duplicate", f"reading '{r.name}' names an alternative twice", r.span))
        cit = r.citation
        if cit is not None and getattr(cit, "source", None) and cit.source not in {x.name for x in rulebook.sources}:
            problems.append(error("citation", f"reading '{r.name}' cites '{cit.source}', which is not a declared "
                                  "source", cit.span))
        if r.declared not in names:
            problems.append(error("reading", f"'{r.declared}' is not an alternative of reading '{r.name}'",
                                  r.chosen_span or r.span, "choose one of: " + ", ".join(names)))
    for name, alternative in choices.items():
        r = declared.get(name)
        if r is None:
            hint = ("its readings are: " + ", ".join(declared)) if declared else "this rulebook declares no readings"
            if rulebook.memberships:  # a membership rulebook: the readings are its schemes'
                hint += "; name a scheme's reading by its file stem: " + ", ".join(
                    f"{stem}.NAME" for stem in sorted(scheme_stems(rulebook)))
            problems.append(error("reading", f"there is no reading '{name}' in {rulebook.file}", hint=hint))
        elif r.alternative(alternative) is None:
            problems.append(error("reading", f"'{alternative}' is not an alternative of reading '{name}'",
                                  hint="choose one of: " + ", ".join(a.name for a in r.alternatives)))
    chosen = {name: choices.get(name, r.declared) for name, r in declared.items()}

    def keep(clause) -> bool:
        if not isinstance(clause, n.Under):
            return True
        r = declared.get(clause.reading)
        if r is None:
            problems.append(error("reading", f"there is no reading '{clause.reading}'", clause.ref_span or clause.span,
                                  ("declare it with 'reading " + clause.reading + " { … } chosen …'") if not declared
                                  else "the readings are: " + ", ".join(declared)))
            return False
        if r.alternative(clause.alternative) is None:
            problems.append(error("reading", f"'{clause.alternative}' is not an alternative of reading "
                                  f"'{clause.reading}'", clause.ref_span or clause.span,
                                  "its alternatives are: " + ", ".join(a.name for a in r.alternatives),
                                  related=(("the reading", r.span),)))
            return False
        return chosen[clause.reading] == clause.alternative

    funds = tuple(attrs.evolve(f, clauses=tuple(c.clause if isinstance(c, n.Under) else c
                                                for c in f.clauses if keep(c))) for f in rulebook.funds)
    if problems:
        raise MedrulesError(problems)
    readings = tuple(attrs.evolve(r, chosen=chosen[r.name]) for r in declared.values())
    return attrs.evolve(rulebook, funds=funds, readings=readings)


def scheme_stems(rulebook: n.Rulebook) -> set[str]:
    """The file stems of the scheme rulebooks a membership rulebook routes claims to ('residents-2020'): the
    names its schemes' readings and parameters go by (``--reading residents-2020.NAME=ALT``)."""
    from pathlib import PurePosixPath
    return {PurePosixPath(p).stem for m in rulebook.memberships for p in m.paths}


def has_readings(rulebook: n.Rulebook) -> bool:
    return bool(rulebook.readings)


def combinations(readings: dict[str, n.Reading]) -> list[dict[str, str]]:
    """Every combination of alternatives, the declared one first."""
    names = list(readings)
    declared = {name: readings[name].declared for name in names}
    out = [declared]
    for combo in itertools.product(*([a.name for a in readings[name].alternatives] for name in names)):
        choice = dict(zip(names, combo))
        if choice != declared:
            out.append(choice)
    return out
