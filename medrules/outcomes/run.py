"""Run test files: settle each test's facts under its rulebook and compare with what the drafter expected.

A failure carries the expected and the settled value, where the expectation is written, and the
explanation's steps for that fund on that claim (what the rulebook did instead).
"""
from __future__ import annotations

from pathlib import Path

import attrs

import medrules
from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.evaluate import Settlement, settle
from medrules.facts import validate
from medrules.outcomes.spec import OutcomeCase, read_tests
from medrules.source import SourceFile, Span


@attrs.frozen
class Mismatch:
    claim: str
    what: str  # a fund's name, 'member_pays', 'excluded FUND', 'accumulator NAME', 'claim'
    expected: str
    got: str
    span: Span | None
    steps: tuple[str, ...] = ()  # the explanation of what the rulebook did


@attrs.frozen
class CaseResult:
    case: OutcomeCase
    mismatches: tuple[Mismatch, ...] = ()
    errors: tuple[Diagnostic, ...] = ()  # the test could not run (bad facts, rulebook errors)
    program: object = None
    settlement: Settlement | None = None
    used: dict | None = None  # under a membership rulebook: claim id -> the scheme's rulebook that settled it

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.errors


@attrs.frozen
class FileResult:
    file: str
    cases: tuple[CaseResult, ...]
    errors: tuple[Diagnostic, ...] = ()  # the file itself could not be read


class Runner:
    """Runs test files; rulebooks are loaded once each."""

    def __init__(self, read=SourceFile.read, lang: str = "zh"):
        self.read, self.lang = read, lang
        self.programs: dict[tuple, object] = {}

    def program(self, path: Path, readings: tuple = ()):
        key = (medrules.resolve_rulebook_path(path).resolve(), readings)
        if key not in self.programs:
            self.programs[key] = medrules.load(path, read=self.read, readings=dict(readings))
        return self.programs[key]

    def run_file(self, path: Path) -> FileResult:
        try:
            cases = read_tests(self.read(path))
        except MedrulesError as exc:
            return FileResult(str(path), (), tuple(exc.diagnostics))
        return FileResult(str(path), tuple(self.run_case(c) for c in cases))

    def run_case(self, case: OutcomeCase) -> CaseResult:
        try:
            program = self.program(case.rulebook, case.readings)
        except MedrulesError as exc:
            return CaseResult(case, errors=tuple(exc.diagnostics))
        used = None
        try:
            if program.plan.top.memberships:  # each claim under the scheme of its date (medrules.membership)
                settlement, used = self.settle_routed(program, case)
            else:
                facts = validate(case.facts, program.checked, case.file)
                settlement = settle(program, facts, trace=True)
        except MedrulesError as exc:
            return CaseResult(case, errors=tuple(exc.diagnostics), program=program)
        return CaseResult(case, tuple(compare(case, program, settlement, self.lang, used)), (), program, settlement,
                          used)

    def settle_routed(self, program, case: OutcomeCase):
        """A membership rulebook's test: the facts (of the router and every scheme, histories nested) settled as
        ``medrules run`` settles them; returns (settlement, claim id → the rulebook that settled it)."""
        from medrules.membership import load_membership, settle_membership_doc
        key = ("membership", id(program))
        if key not in self.programs:
            self.programs[key] = (program, load_membership(program, read=self.read, readings=dict(case.readings)))
        return settle_membership_doc(self.programs[key][1], case.facts, case.file, trace=True)


def compare(case: OutcomeCase, program, settlement: Settlement, lang: str, used: dict | None = None) -> list[Mismatch]:
    """``used``: under a membership rulebook, claim id → the scheme's rulebook that settled it (explained by it)."""
    if used is not None:
        def _steps(_program, s, claim, fund, lang):
            c = next(x for x in s.claims if x.id == claim)
            return _steps_of(used[claim], Settlement(s.rulebook, s.member_id, (c,)), claim, fund, lang)
    else:
        _steps = _steps_of
    out = []
    claims = {c.id: c for c in settlement.claims}
    for e in case.expected:
        c = claims.get(e.claim)
        if c is None:
            out.append(Mismatch(e.claim, "claim", f"claim {e.claim}", "no such claim in the facts", e.span))
            continue
        funds = {f.fund: f for f in c.funds}
        for name, amount in e.funds.items():
            f = funds.get(name)
            if f is None:
                out.append(Mismatch(e.claim, name, str(amount.value), "no such fund", amount.span,
                                    ("funds: " + ", ".join(funds),)))
            elif f.paid != amount.value:
                out.append(Mismatch(e.claim, name, _yuan(amount.value), _yuan(f.paid), amount.span,
                                    _steps(program, settlement, e.claim, name, lang)))
        if e.member_pays is not None and c.member_pays != e.member_pays.value:
            out.append(Mismatch(e.claim, "member_pays", _yuan(e.member_pays.value), _yuan(c.member_pays),
                                e.member_pays.span, _steps(program, settlement, e.claim, None, lang)))
        for name, (reason, span) in e.excluded.items():
            targets = list(funds.values()) if name == "all" else [funds[name]] if name in funds else []
            if not targets:
                out.append(Mismatch(e.claim, f"excluded {name}", reason, "no such fund", span))
                continue
            for f in targets:
                got = _reason(f.excluded_by)
                if got is None or not any(reason.strip() in g for g in got):
                    out.append(Mismatch(e.claim, f"excluded {f.fund}", reason,
                                        "not excluded" if got is None else " | ".join(got), span,
                                        _steps(program, settlement, e.claim, f.fund, lang)))
    if case.accumulators_after and settlement.claims:
        after = settlement.claims[-1].accumulators
        for name, amount in case.accumulators_after.items():
            got = after.get(name)
            if got != amount.value:
                out.append(Mismatch(settlement.claims[-1].id, f"accumulator {name}", _yuan(amount.value),
                                    "no such accumulator" if got is None else _yuan(got), amount.span))
    return out


def _yuan(d) -> str:
    return f"{d:,.2f}"


def _reason(node) -> tuple[str, ...] | None:
    if node is None:
        return None
    return tuple(x for x in (node.reason.zh, node.reason.en) if x)


def _steps_of(program, settlement: Settlement, claim: str, fund: str | None, lang: str) -> tuple[str, ...]:
    """The explanation's lines for one fund on one claim (every money-moving line when fund is None)."""
    from medrules.explain import explain
    e = explain(program, settlement, lang, [claim])
    lines = []
    for line in e.claims[0].lines:
        if (fund is None and line.moves_money) or (fund is not None and line.fund == fund) or \
                (line.kind == "exclude" and line.fund is None):
            lines.append(line.text + (f"   [{line.formula}]" if line.formula else ""))
    return tuple(lines)


def run_paths(paths: list[Path], read=SourceFile.read, lang: str = "zh") -> list[FileResult]:
    from medrules.outcomes.spec import find_test_files
    runner = Runner(read, lang)
    files = find_test_files(paths)
    if not files:
        return [FileResult(", ".join(map(str, paths)), (), (error(
            "test", "no test files found", None, "test files are YAML files (*.yaml), e.g. in a tests/ folder beside the rulebook"),))]
    return [runner.run_file(p) for p in files]
