"""Regression tests for rulebook teams: snapshot a claims corpus per policy year.

A pytest plugin (installed with medrules; pytest finds it through the ``pytest11`` entry
point) with one fixture, ``medrules_corpus``::

    def test_pingyang(medrules_corpus, snapshot):
        assert medrules_corpus("rulebooks/pingyang", "corpus/pingyang/year.json") == snapshot

It settles the facts file under the rulebook (or under each claim's version, for a folder of
policy years) and returns stable text: one line per claim and fund, the member's share, and
the citizen's explanation. syrupy stores it as text, so when a rulebook changes, the snapshot
diff shows exactly which claims moved, by how much, and the sentence that says why. Run
``pytest --snapshot-update`` to accept the new figures, after reading the diff.

A second fixture, ``medrules_assessment``, does the same for contributions (what members owe)::

    def test_jiang(medrules_assessment, snapshot):
        assert medrules_assessment("rulebooks/jiang/contributions-2021.mr", "corpus/jiang/") == snapshot

It assesses each member facts file (a file, or every ``*.json`` of a folder, in name order; a household
file: each member, then the household's line) and returns one block per member: per contribution the
premium, each subsidy granted and what the member owes, then the citizen's sentence that says why.

The ``snapshot`` fixture is syrupy's: install it with ``pip install 'medrules[testing]'``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import medrules
from medrules.evaluate import Program, Settlement
from medrules.explain import explain
from medrules.explain.citizen import citizen_view
from medrules.explain.format import Formatter
from medrules.facts import load_facts
from medrules.source import SourceFile


def settlement_text(programs: dict[str, Program], s: Settlement, lang: str = "zh") -> str:
    """``programs``: claim id → the rulebook version that settled it."""
    f = Formatter(lang)
    lines = []
    for c in s.claims:
        program = programs[c.id]
        lines.append(f"claim {c.id} · {c.date} · {program.checked.id}")
        for fund in c.funds:
            if fund.applied or fund.paid:
                lines.append(f"  {fund.fund:<28} {f.number(fund.paid):>14}")
        lines.append(f"  {'member pays':<28} {f.number(c.member_pays):>14}")
        e = explain(program, Settlement(s.rulebook, s.member_id, (c,)), lang)
        lines += [f"    {sentence}" for claim in citizen_view(e) for sentence in claim.sentences]
    return "\n".join(lines) + "\n"


def settle_corpus(rulebook: str | Path, facts: str | Path, lang: str = "zh") -> str:
    """Settle one facts file under a rulebook, or a folder of policy years, as snapshot text."""
    rulebook, facts = Path(rulebook), Path(facts)
    if rulebook.is_dir():
        from medrules.versions import load_set, settle_set
        s, used = settle_set(load_set(rulebook), SourceFile.read(facts), trace=True)
        return settlement_text(used, s, lang)
    program = medrules.load(rulebook)
    s = medrules.settle(program, load_facts(facts, program.checked), trace=True)
    return settlement_text({c.id: program for c in s.claims}, s, lang)


@pytest.fixture
def medrules_corpus():
    """``medrules_corpus(RULEBOOK_OR_FOLDER, FACTS, lang="zh")`` → the settlement as snapshot text."""
    return settle_corpus


def assessment_text(program: Program, assessments, lang: str = "zh") -> str:
    """Stable text of assessments (:func:`medrules.evaluate.assess` with ``trace=True``), one block per member."""
    from medrules.explain.contribution import explain_assessment
    f = Formatter(lang)
    lines = []
    for a in assessments:
        lines.append(f"member {a.member_id} · {program.checked.id}")
        e = explain_assessment(program, a, lang)
        for c, x in zip(a.contributions, e.contributions):
            lines.append(f"  {c.name:<28} {'premium':<22} {f.number(c.premium):>12}")
            for s in c.subsidies:
                lines.append(f"  {'':<28} {'subsidy ' + s.name:<22} {f.number(s.granted):>12}")
            lines.append(f"  {'':<28} {'member owes':<22} {f.number(c.member_owes):>12}")
            lines += [f"    {sentence}" for sentence in x.sentences]
        lines.append(f"  {'member owes in all':<51} {f.number(a.member_owes):>12}")
    return "\n".join(lines) + "\n"


def assess_corpus(rulebook: str | Path, facts: str | Path, lang: str = "zh") -> str:
    """Assess member facts files (a file, or a folder of ``*.json``; a household file assesses each member and
    adds the household's line) under a rulebook of contributions, as snapshot text."""
    from medrules.contributions.household import assess_household, load_household_facts
    program = medrules.load(Path(rulebook))
    facts = Path(facts)
    files = sorted(facts.glob("*.json")) if facts.is_dir() else [facts]
    f = Formatter(lang)
    out = []
    for p in files:
        ha = assess_household(program, load_household_facts(SourceFile.read(p), program.checked), trace=True)
        out.append(assessment_text(program, ha.members, lang))
        if ha.is_household:
            out.append(f"household {ha.household_id or '-'} · {len(ha.members)} members · owes "
                       f"{' + '.join(f.number(a.member_owes) for a in ha.members)} = {f.number(ha.member_owes)}\n")
    return "".join(out)


@pytest.fixture
def medrules_assessment():
    """``medrules_assessment(RULEBOOK, FACTS_FILE_OR_FOLDER, lang="zh")`` → the assessments as snapshot text."""
    return assess_corpus
