"""Households: a group entity for contributions (以户为单位参保; 以家庭为单位选择同一档次参保).

A rulebook declares the facts of a household once, beside the member's::

    facts household {
      id: text "户号" | "household"
      tier: tier "全家参保档次" | "the household's tier"
    }

and a contribution reads them as ``household.tier``: what is the household's is stated once, so every
member of it pays at the same tier. Household facts are read by contributions only (checked).

A facts file gives a household and its members::

    {"household": {"id": "H1", "tier": "tier2"},
     "members": [{"id": "A", …}, {"id": "B", …}]}

or one member with their household: ``{"member": {…}, "household": {…}}``. A member record that
states a household fact is refused where it states it (the household states it once). In a member
TABLE (``medrules settle``), the household's facts are columns (``household.tier`` or
``household_tier``) repeated on each member's row; the rows of one household (same ``household.id``)
that differ in one of them are all rejected, each naming the column and the rows that disagree.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.facts import Facts, Located, _record, read_json, validate
from medrules.source import SourceFile

ZERO = Decimal(0)


@attrs.frozen
class HouseholdFacts:
    household_id: str  # '' when the rulebook declares no household id
    values: dict  # the household's facts
    members: tuple[Facts, ...]
    is_household: bool  # a household file (with 'members'), not one member's


def declares_household(checked) -> bool:
    return bool(checked.records.get("household"))


def load_household_facts(source: SourceFile, checked) -> HouseholdFacts:
    """A facts file of one member, or of a household and its members, checked against the rulebook."""
    doc = read_json(source)
    top = doc.value
    if not isinstance(top, dict) or "members" not in top:
        return _one_member(doc, source, checked)
    problems = []
    for key in top:
        if key not in ("household", "members"):
            problems.append(error("facts", f"'{key}' is not part of a household's facts file", doc.keys[key],
                                  "a household file holds 'household' (its facts) and 'members' (a list)"))
    values = _household(top.get("household"), doc, checked, problems)
    members = []
    items = top["members"]
    if not isinstance(items.value, list) or not items.value:
        problems.append(error("facts", "'members' must be a list of the household's members", items.span,
                              'write "members": [{"id": "A", …}, {"id": "B", …}]'))
    else:
        for i, m in enumerate(items.value):
            if not isinstance(m.value, dict):
                problems.append(error("facts", f"members[{i}] must be a JSON object (a member's facts)", m.span,
                                      'write e.g. {"id": "A", …}'))
                continue
            m = _without_household_facts(m, checked, f"members[{i}]", problems)
            try:
                members.append(validate(Located({"member": m}, m.span, {"member": m.span}), checked, source.name))
            except MedrulesError as exc:
                problems += exc.diagnostics
    if problems:
        raise MedrulesError(problems[:50])
    ids: dict[str, int] = {}
    for i, f in enumerate(members):
        if f.member_id in ids:
            raise MedrulesError(error("facts", f"member '{f.member_id}' is listed twice in the household",
                                      items.value[i].span, related=(("first listed here", items.value[ids[f.member_id]].span),)))
        ids[f.member_id] = i
    return HouseholdFacts(str(values.get("id", "") or ""), values, tuple(members), True)


def _one_member(doc: Located, source: SourceFile, checked) -> HouseholdFacts:
    top = doc.value
    problems = []
    household = top.get("household") if isinstance(top, dict) else None
    values = _household(household, doc, checked, problems) if declares_household(checked) or household else {}
    if household is not None:
        doc = Located({k: v for k, v in top.items() if k != "household"}, doc.span,
                      {k: s for k, s in (doc.keys or {}).items() if k != "household"})
    if isinstance(doc.value, dict) and "member" in doc.value:
        member = _without_household_facts(doc.value["member"], checked, "member", problems)
        doc = Located(doc.value | {"member": member}, doc.span, doc.keys)
    try:
        facts = validate(doc, checked, source.name)
    except MedrulesError as exc:
        problems += exc.diagnostics
    if problems:
        raise MedrulesError(problems[:50])
    return HouseholdFacts(str(values.get("id", "") or ""), values, (facts,), False)


def _without_household_facts(m: Located, checked, path: str, problems: list) -> Located:
    """A member's record without the household facts it states (each reported where it stands)."""
    if not isinstance(m.value, dict):
        return m
    member_fields = checked.records.get("member", {})
    stray = [k for k in m.value if k in checked.records.get("household", {}) and k not in member_fields]
    for key in stray:
        problems.append(error("facts", f"{path} states '{key}', a household fact", (m.keys or {}).get(key, m.span),
                              "the household states it once, for all its members: give it in "
                              f"\"household\": {{\"{key}\": …}}"))
    if not stray:
        return m
    return Located({k: v for k, v in m.value.items() if k not in stray}, m.span,
                   {k: s for k, s in (m.keys or {}).items() if k not in stray})


def _household(item: Located | None, doc: Located, checked, problems: list) -> dict:
    if not declares_household(checked):
        if item is not None:
            problems.append(error("facts", "this rulebook declares no household facts", item.span,
                                  "leave out 'household', or declare 'facts household { … }' in the rulebook"))
        return {}
    if item is None:
        item = Located({}, doc.span, {})
    return _record(item, checked, "household", "household", problems)


# ---------------------------------------------------------------- assessing a household
@attrs.frozen
class HouseholdAssessment:
    household_id: str
    values: dict
    members: tuple  # Assessment per member, in the file's order
    is_household: bool

    @property
    def member_owes(self) -> Decimal:
        return sum((a.member_owes for a in self.members), ZERO)

    @property
    def subsidised(self) -> Decimal:
        return sum((a.subsidised for a in self.members), ZERO)

    @property
    def premium(self) -> Decimal:
        return sum((a.premium for a in self.members), ZERO)


def assess_household(program, hf: HouseholdFacts, trace: bool = False) -> HouseholdAssessment:
    from medrules.evaluate.contribution import assess
    return HouseholdAssessment(hf.household_id, hf.values,
                               tuple(assess(program, f, trace=trace, household=hf.values) for f in hf.members),
                               hf.is_household)
