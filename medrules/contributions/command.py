"""``medrules assess``: the command's body (cli.py holds only a thin wrapper)."""
from __future__ import annotations

import json

from medrules.contributions.household import HouseholdAssessment, assess_household, load_household_facts
from medrules.explain.contribution import explain_assessment, render_text, to_json
from medrules.explain.format import Formatter, money_text


def assess_command(program, facts_source, lang: str, view: str, as_json: bool) -> str:
    """What the member owes under the rulebook's contributions, explained (text or JSON); for a household file,
    each member in turn and what the household owes in all."""
    hf = load_household_facts(facts_source, program.checked)
    ha = assess_household(program, hf, trace=True)
    explanations = [explain_assessment(program, a, lang) for a in ha.members]
    if not hf.is_household:
        (e,) = explanations
        return to_json(e) if as_json else render_text(e, view)
    if as_json:
        return json.dumps({"rulebook": program.checked.id, "household": ha.household_id, "lang": lang,
                           "members": [json.loads(to_json(e)) for e in explanations],
                           "member_owes": money_text(ha.member_owes), "subsidised": money_text(ha.subsidised),
                           "premium": money_text(ha.premium), "household_sentence": household_sentence(ha, lang)},
                          ensure_ascii=False, indent=2)
    parts = [render_text(e, view) for e in explanations]
    return "\n\n".join(parts) + "\n\n" + household_total(ha, lang, view)


def household_sentence(ha: HouseholdAssessment, lang: str) -> str:
    from medrules.explain.i18n import gettext_for
    _ = gettext_for(lang)
    f = Formatter(lang)
    if ha.household_id:
        return _("Your household ({household}) of {members} pays {amount} in all.").format(
            household=ha.household_id, members=len(ha.members), amount=f.money(ha.member_owes))
    return _("Your household of {members} pays {amount} in all.").format(members=len(ha.members),
                                                                         amount=f.money(ha.member_owes))


def household_total(ha: HouseholdAssessment, lang: str, view: str) -> str:
    """The household's line: each member's share, and the sum."""
    if view == "citizen":
        return household_sentence(ha, lang)
    from medrules.explain.i18n import gettext_for
    _ = gettext_for(lang)
    f = Formatter(lang)
    shares = " + ".join(f.number(a.member_owes) for a in ha.members)
    values = dict(household=ha.household_id, members=len(ha.members), shares=shares, amount=f.money(ha.member_owes),
                  subsidised=f.money(ha.subsidised), premium=f.money(ha.premium))
    if ha.household_id:
        return _("=> the household {household} ({members} members) owes {shares} = {amount} in all; subsidies pay "
                 "{subsidised} (premiums {premium})").format(**values)
    return _("=> the household ({members} members) owes {shares} = {amount} in all; subsidies pay {subsidised} "
             "(premiums {premium})").format(**values)
