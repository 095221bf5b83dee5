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
    f = Formatter(lang)
    who = f"(户号 {ha.household_id})" if ha.household_id else ""
    if lang == "zh":
        return f"您家{who}{len(ha.members)} 人共需缴纳 {f.money(ha.member_owes)}。"
    who = f" ({ha.household_id})" if ha.household_id else ""
    return f"Your household{who} of {len(ha.members)} pays {f.money(ha.member_owes)} in all."


def household_total(ha: HouseholdAssessment, lang: str, view: str) -> str:
    """The household's line: each member's share, and the sum."""
    if view == "citizen":
        return household_sentence(ha, lang)
    f = Formatter(lang)
    zh = lang == "zh"
    shares = " + ".join(f.number(a.member_owes) for a in ha.members)
    head = (f"=> 全户{'(户号 ' + ha.household_id + ')' if ha.household_id else ''} {len(ha.members)} 人个人应缴合计 "
            f"{shares} = {f.money(ha.member_owes)};补助合计 {f.money(ha.subsidised)}(保费合计 {f.money(ha.premium)})"
            if zh else
            f"=> the household{' ' + ha.household_id if ha.household_id else ''} ({len(ha.members)} members) owes "
            f"{shares} = {f.money(ha.member_owes)} in all; subsidies pay {f.money(ha.subsidised)} "
            f"(premiums {f.money(ha.premium)})")
    return head
