"""Stored decisions for people: what the templates are given, and Markdown.

Everything here reads a decision's stored explanation (``medrules.explanation/1``);
only a what-if evaluates again (it asks about facts that were not decided).
"""
from __future__ import annotations

from decimal import Decimal

from medrules.diagnostics import MedrulesError, error
from medrules.explain.format import Formatter
from medrules.explain.json import plain, what_if_json
from medrules.service.errors import HTTPProblem, problem

WORDS = {
    "zh": {"title": "医保结算通知书", "explanation": "结算说明", "member": "参保人", "claim": "结算单",
           "date": "就诊日期", "rulebook": "规则书", "total": "总费用", "funds": "基金支付", "you": "个人负担",
           "limits": "已达到的年度限额", "no_limits": "本次未达到年度限额。", "why": "计算说明",
           "office": "经办机构", "issued": "通知日期", "ask": "咨询与复核", "phone": "电话", "address": "地址",
           "hours": "办公时间", "decision": "决定编号", "print": "打印", "fund": "基金", "paid": "支付",
           "limit_cap": "{fund}年度最高支付限额 {cap}", "limit_cost": "{fund}年度费用封顶线 {cap}",
           "resettled": "本决定更正第 {id} 号决定", "to_pay": "补付", "to_recover": "追回",
           "steps": "计算步骤", "version": "规则版本"},
    "en": {"title": "Medical insurance settlement letter", "explanation": "How it was settled", "member": "Member",
           "claim": "Claim", "date": "Date of care", "rulebook": "Rulebook", "total": "Total cost",
           "funds": "Funds pay", "you": "You pay", "limits": "Yearly limits reached",
           "no_limits": "No yearly limit was reached.", "why": "Why", "office": "Issuing office",
           "issued": "Date of this letter", "ask": "Questions and appeals", "phone": "Phone", "address": "Address",
           "hours": "Opening hours", "decision": "Decision no.", "print": "Print", "fund": "Fund", "paid": "pays",
           "limit_cap": "{fund}: yearly payment limit of {cap}", "limit_cost": "{fund}: yearly cost limit of {cap}",
           "resettled": "This decision corrects decision {id}", "to_pay": "to pay", "to_recover": "to recover",
           "steps": "Steps", "version": "Rulebook version"},
}


def rulebook_summary(rb) -> dict:
    h = rb.header
    return {"key": rb.key, "id": h.id, "years": [v.program.checked.id for v in rb.loaded.versions] if rb.years else None, "title": {"zh": h.title.zh, "en": h.title.en} if h.title else None,
            "scheme": h.scheme, "jurisdiction": h.jurisdiction, "effective_from": plain(h.effective_from),
            "effective_to": plain(h.effective_to), "digest": rb.digest,
            "funds": [{"name": name, "title": {"zh": f.title("zh"), "en": f.title("en")}}
                      for name, f in rb.program.all_funds()]}


def fund_titles(service, d, lang: str) -> dict[str, str]:
    rb = service.rulebooks.by_digest.get(d.rulebook_digest)
    program = rb.version(d.rulebook_digest) if rb else None
    return {name: f.title(lang) for name, f in program.all_funds()} if program else {}


def limits_reached(claim: dict, titles: dict[str, str], lang: str) -> list[str]:
    """The yearly caps this claim met: a payment cap that limited the fund, or a cost cap it went above."""
    f, w, out = Formatter(lang), WORDS[lang], []
    for step in claim["steps"]:
        v = step["values"]
        if step["kind"] != "cap" or v.get("per") != "year":
            continue
        fund = titles.get(step["fund"], step["fund"])
        if v.get("what") == "payments" and v.get("limited"):
            out.append(w["limit_cap"].format(fund=fund, cap=f.money(Decimal(v["cap"]))))
        elif v.get("what") == "cost" and Decimal(v.get("above") or 0) > 0:
            out.append(w["limit_cost"].format(fund=fund, cap=f.money(Decimal(v["cap"]))))
    return out


def context(service, d, lang: str) -> dict:
    """What the letter and explanation templates are given for one stored decision."""
    doc = d.explanation(lang)
    claim = doc["claims"][0]
    titles = fund_titles(service, d, lang)
    f = Formatter(lang)
    rb = service.rulebooks.by_digest.get(d.rulebook_digest)
    program = rb.version(d.rulebook_digest) if rb else None
    office = service.settings.office(d.rulebook, program.checked.rulebook.header, lang) if program else {}
    return {"w": WORDS[lang], "lang": lang, "d": d, "doc": doc, "claim": claim, "money": lambda x: f.money(Decimal(x)),
            "funds": [(titles.get(x["fund"], x["fund"]), x) for x in claim["funds"] if x["applied"] or
                      Decimal(x["paid"])],
            "limits": limits_reached(claim, titles, lang), "office": office,
            "rulebook_title": (doc["rulebook"]["title"] or {}).get(lang) or doc["rulebook"]["id"],
            "adjustments": [(titles.get(k, k), v) for k, v in d.adjustments.items() if v],
            "issued": d.created_at[:10], "causes": causes(d, titles, lang), "titles": titles,
            "signed": lambda x: ("+" if Decimal(x) > 0 else "") + f.money(Decimal(x))}


def balance(decisions, superseded: set) -> dict[str, dict[str, Decimal]]:
    """Per fund, over a member's decisions: what the current decisions pay, and the sums of the
    re-settlements' amounts to pay (补付) and to recover (追回)."""
    out: dict[str, dict[str, Decimal]] = {}
    zero = Decimal("0.00")
    for d in decisions:
        for fund, paid in d.funds.items():
            row = out.setdefault(fund, {"paid": zero, "to_pay": zero, "to_recover": zero})
            if d.id not in superseded:
                row["paid"] += paid
        for fund, amount in d.adjustments.items():
            row = out.setdefault(fund, {"paid": zero, "to_pay": zero, "to_recover": zero})
            row["to_pay" if amount > 0 else "to_recover"] += abs(amount)
    return {fund: row for fund, row in out.items() if any(row.values())}


def causes(d, titles: dict[str, str], lang: str) -> list[dict]:
    """Why a re-settlement pays or recovers, per fund: the facts that changed, the rulebook version that
    changed, the earlier claims that moved, and the provisions whose result moved (from the ledger)."""
    f, out = Formatter(lang), []
    for c in d.changes:
        cause = c.cause or {}
        reasons = [f"{x['fact']}: {x['before']} → {x['after']}" for x in cause.get("facts", [])]
        if cause.get("rulebook"):
            r = cause["rulebook"]
            reasons.append(f"{r['before']['id']} ({r['before']['hash'][:12]}) → {r['after']['id']} "
                           f"({r['after']['hash'][:12]})")
        if cause.get("after_claims"):
            claims = ", ".join(cause["after_claims"])
            reasons.append(f"同年度内结算单 {claims} 变化" if lang == "zh" else f"claims {claims} of the same year changed")
        steps = [{"text": (s.get("text") or {}).get(lang, ""), "citation": s.get("citation"),
                  "source": s.get("source")} for s in cause.get("steps", [])]
        out.append({"fund": titles.get(c.fund, c.fund), "amount": c.amount, "pay": c.amount > 0,
                    "money": f.money(abs(c.amount)), "reasons": reasons, "steps": steps})
    return out


def markdown(d, view: str, lang: str) -> str:
    doc = d.explanation(lang)
    claim = doc["claims"][0]
    w, f = WORDS[lang], Formatter(lang)
    title = (doc["rulebook"]["title"] or {}).get(lang) or doc["rulebook"]["id"]
    out = [f"# {w['explanation']}", "", f"{w['rulebook']}: **{title}** (`{doc['rulebook']['id']}`) · "
           f"{w['member']}: {doc['member']} · {w['decision']} {d.id}", "",
           f"## {w['claim']} {claim['id']} · {claim['date']}", ""]
    if view == "citizen":
        out += [f"- {s}" for s in claim["citizen"]]
    else:
        for i, step in enumerate(claim["steps"], 1):
            src = step.get("source")
            where = f" `{src['file']}:{src['line']}`" if src and src.get("line") else ""
            out.append(f"{i}. {step['text']}{where}")
            if step.get("formula"):
                out.append(f"   - `{step['formula']}`")
            c = step.get("citation")
            if c and c.get("quote"):
                out.append(f"   - § {c.get('document') or c.get('source')} {c.get('article') or ''}: “{c['quote']}”")
    out += ["", f"**{w['funds']} {f.money(d.funds_paid)}; {w['you']} {f.money(d.member_pays)}**", ""]
    return "\n".join(out)


def what_if(service, d, changes: list[str], lang: str):
    """Settle the decision's stored facts again with the changes; nothing is recorded."""
    from medrules.analyses.whatif import sensitivity, what_if as compare
    from medrules.facts import facts_from_source, parse_change
    if d.membership:  # settled under a membership rulebook: the same routing, before and after
        return _membership_what_if(service, d, changes, lang)
    rb = service.rulebooks.by_digest.get(d.rulebook_digest)
    program = rb.version(d.rulebook_digest) if rb else None
    if program is None:
        raise problem("conflict", "the rulebook that settled this decision is no longer loaded in this version",
                      hint="a what-if needs the same rulebook version as the decision")
    source = service.ledger.facts(d, program)
    try:
        facts = facts_from_source(source, program.checked)
        parsed = [parse_change(text, program.checked) for text in changes]
        w = compare(program, facts, parsed, lang, [d.claim])
        most = sensitivity(program, facts, [d.claim], most=3)
    except MedrulesError as exc:
        raise HTTPProblem(exc, {source.name: source} | rb.sources, status=422) from None
    return what_if_json(w, most), w


def _membership_what_if(service, d, changes: list[str], lang: str):
    """What if, on a decision settled under a membership rulebook (medrules.membership_whatif)."""
    from medrules import membership_whatif
    from medrules.membership import load_membership
    rb = service.rulebooks.by_digest.get(d.membership["rulebook"]["hash"])
    if rb is None or rb.loaded.membership is None:
        raise problem("conflict", "the membership rulebook that settled this decision is no longer loaded in this "
                                  "version", hint="a what-if needs the same rulebook version as the decision")
    source = service.ledger.facts(d, rb.program)
    try:
        w = membership_whatif.what_if(rb.loaded.membership, source, changes, lang, [d.claim],
                                      load=lambda router: load_membership(router, path=rb.loaded.name))
        from medrules.membership_sensitivity import sensitivity  # the facts that matter most, as for one rulebook
        most = sensitivity(rb.loaded.membership, source, [d.claim], most=3)
    except MedrulesError as exc:
        raise HTTPProblem(exc, {source.name: source} | rb.sources, status=422) from None
    return membership_whatif.what_if_json(w, most), w


__all__ = ["MedrulesError", "context", "error", "markdown", "rulebook_summary", "what_if"]
