"""Policy years: a folder of rulebook versions, and the version in force for each claim.

A rulebook set is every ``.mr`` file in a folder (a scheme's policy years). Each claim is
settled under the version whose effective period contains the claim's date — the date the
rulebooks declare (``year starts … by claim.FIELD``): service, admission or discharge date.
Versions must not overlap and must place claims by the same date. A facts file spanning two
years is settled under both, each claim under its own year; every claim's explanation opens
with the version used and why.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs

import medrules
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import ClaimResult, Program, Settlement, settle
from medrules.evaluate.trace import VersionStep
from medrules.facts import Located, read_json, validate
from medrules.source import SourceFile


@attrs.frozen
class RulebookSet:
    folder: str
    versions: tuple[Program, ...]  # by effective date

    @property
    def dated_by(self) -> str:
        return self.versions[0].dated_by

    def in_force(self, day: dt.date) -> Program | None:
        for p in self.versions:
            h = p.checked.rulebook.header
            if h.effective_from <= day and (h.effective_to is None or day <= h.effective_to):
                return p
        return None


def load_set(folder: str | Path, read=SourceFile.read, root: str | Path | None = None,
             readings: dict | None = None) -> RulebookSet:
    paths = sorted(Path(folder).glob("*.mr"))
    if not paths:
        raise MedrulesError(error("io", f"no rulebooks (*.mr) in {folder}"))
    loaded = [medrules.load(p, read=read, root=root) for p in paths]
    if readings:  # a reading chosen for a folder applies to the versions that declare it (not to, e.g., contributions)
        declared = [{r.name for r in p.checked.rulebook.readings} for p in loaded]
        unknown = [k for k in readings if "." not in k and not any(k in d for d in declared)]
        if unknown:
            every = sorted(set().union(*declared))
            raise MedrulesError(error("reading", f"there is no reading '{unknown[0]}' in any rulebook in {folder}",
                                      hint=("their readings are: " + ", ".join(every)) if every
                                      else "these rulebooks declare no readings"))
        loaded = [medrules.load(p, read=read, root=root, readings=mine) if mine else program
                  for p, program, d in zip(paths, loaded, declared)
                  for mine in [{k: v for k, v in readings.items() if "." in k or k in d}]]
    versions = sorted((p for p in loaded if p.plan.top.total is not None),  # contributions-only: no claims
                      key=lambda p: p.checked.rulebook.header.effective_from)
    if not versions:
        raise MedrulesError(error("io", f"no rulebook in {folder} settles claims (they state contributions only)",
                                  None, "assess members with 'medrules assess RULEBOOK FACTS'"))
    problems = []
    for a, b in zip(versions, versions[1:]):
        ha, hb = a.checked.rulebook.header, b.checked.rulebook.header
        if ha.effective_to is None or ha.effective_to >= hb.effective_from:
            problems.append(error("versions", f"'{ha.id}' and '{hb.id}' are both in force on {hb.effective_from}",
                                  hb.span, "give the earlier version an end date ('effective from … to …')",
                                  related=((f"'{ha.id}' in force from {ha.effective_from}", ha.span),)))
        if a.dated_by != b.dated_by:
            problems.append(error("versions", f"'{hb.id}' places claims by claim.{b.dated_by}, '{ha.id}' by "
                                  f"claim.{a.dated_by}", hb.span, "versions of one scheme must choose by the same date"))
    if problems:
        raise MedrulesError(problems)
    return RulebookSet(str(folder), tuple(versions))


def settle_set(rs: RulebookSet, source: SourceFile, trace: bool = False) -> tuple[Settlement, dict[str, Program]]:
    """Settle every claim under the version in force on its date. Returns the settlement (claims in date
    order) and, for each claim id, the version it was settled under."""
    parts = year_facts(rs, source)
    if parts is None:
        doc = read_json(source)
        return settle(rs.versions[0], validate(doc, rs.versions[0].checked, source.name)), {}
    results, used, member_id = [], {}, ""
    for program, facts in parts:
        member_id = facts.member_id
        for c in settle(program, facts, trace).claims:
            used[c.id] = program
            results.append(_with_version_step(c, program) if trace else c)
    results.sort(key=lambda c: (c.date, c.claim.index))
    return Settlement(rs.folder, member_id, tuple(results)), used


def year_facts(rs: RulebookSet, source: SourceFile) -> list[tuple[Program, object]] | None:
    """The facts of each version that has claims: the member, and the claims dated in its period, validated
    against it (in the versions' order). None when the file has no list of claims (validation says why)."""
    doc = read_json(source)
    claims = doc.value.get("claims") if isinstance(doc.value, dict) else None
    if claims is None or not isinstance(claims.value, list):
        return None
    groups: dict[int, list[Located]] = {}
    problems = []
    seen = {}  # claim ids are unique in the whole file, not only within one year's claims
    for item in claims.value:
        cid = item.value.get("id") if isinstance(item.value, dict) else None
        if cid is not None and isinstance(cid.value, str):
            if cid.value in seen:
                problems.append(error("facts", f"claim id '{cid.value}' is used twice", cid.span,
                                      related=(("first used here", seen[cid.value]),)))
            seen.setdefault(cid.value, cid.span)
    for item in claims.value:
        date = item.value.get(rs.dated_by) if isinstance(item.value, dict) else None
        try:
            day = dt.date.fromisoformat(date.value)
        except (AttributeError, TypeError, ValueError):
            continue  # validation below reports it, against the first version
        version = rs.in_force(day)
        if version is None:
            periods = "; ".join(f"{p.checked.id}: {_period(p)}" for p in rs.versions)
            problems.append(error("versions", f"no version of {rs.folder} is in force on {day}", date.span,
                                  f"versions: {periods}"))
            continue
        groups.setdefault(rs.versions.index(version), []).append(item)
    if problems:
        raise MedrulesError(problems)
    out = []
    for index, items in sorted(groups.items()):
        program = rs.versions[index]
        part = attrs.evolve(doc, value=doc.value | {"claims": attrs.evolve(claims, value=items)})
        out.append((program, validate(part, program.checked, source.name)))
    return out


def _with_version_step(c: ClaimResult, program: Program) -> ClaimResult:
    h = program.checked.rulebook.header
    step = VersionStep(node=h, rulebook=h.id, effective_from=h.effective_from, effective_to=h.effective_to,
                       date=c.date, dated_by=program.dated_by)
    return attrs.evolve(c, steps=(step,) + c.steps)


def _period(p: Program) -> str:
    h = p.checked.rulebook.header
    return f"{h.effective_from} – {h.effective_to}" if h.effective_to else f"from {h.effective_from}"
