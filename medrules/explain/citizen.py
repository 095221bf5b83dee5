"""The citizen's view: what was paid and why, in a few plain sentences.

Composed from the same recorded steps as the auditor's view (never recomputed): per claim,
one sentence for each fund that paid or was stopped, naming the deductible kept, the share
paid, any limit reached, and the document it comes from; then what is left to the member.
"""
from __future__ import annotations

import attrs

from medrules import nodes as n
from medrules.explain import Explanation
from medrules.explain.format import Formatter
from medrules.explain.steps import Line
from medrules.explain.words import Vocabulary, reading_sentence


@attrs.frozen
class CitizenClaim:
    claim_id: str
    heading: str
    sentences: tuple[str, ...]


def citizen_view(e: Explanation) -> tuple[CitizenClaim, ...]:
    v = Vocabulary(e.program.checked, e.lang, grid=True)
    f, zh = v.f, v.zh
    titles = {name: fund.title(e.lang) for name, fund in e.program.all_funds()}
    layers = e.program.checked.layers()
    out = []
    for c in e.claims:
        r = c.result
        heading = (f"结算单 {r.id}({r.date}):总费用 {f.money(r.total_cost)}" if zh
                   else f"Claim {r.id} ({r.date}): total cost {f.money(r.total_cost)}")
        sentences = []
        by_fund: dict[str, list[tuple[Line, object]]] = {}
        for line, step in zip(c.lines, r.steps):
            if step.kind == "exclude" and step.fund is None:
                sentence = _exclusion(line, step, v, all_funds=True)
                if len(layers) > 1:  # say which scheme refused: another may still pay
                    header = layers[step.layer].rulebook.header
                    title = header.title.best(e.lang) if header.title else (header.scheme or "")
                    sentence = f"{title}:{sentence}" if zh else f"{title}: {sentence}"
                sentences.append(sentence)
            if step.fund is not None:
                by_fund.setdefault(step.fund, []).append((line, step))
        for fund, items in by_fund.items():
            sentence = _fund_sentence(fund, items, v, titles)
            if sentence:
                sentences.append(sentence)
        if not any(result.paid for result in r.funds) and not sentences:
            sentences.append("本次费用不属于任何基金的支付范围。" if zh else "No fund covers this claim.")
        for note in e.reading_notes(r.id):
            sentences.append(reading_sentence(note, f, titles, r.funds_paid, r.member_pays))
        sentences.append((f"您需自付 {f.money(r.member_pays)}。" if zh else f"You pay {f.money(r.member_pays)}.")
                         + (f"(总费用 {f.number(r.total_cost)} − 各基金支付 {f.number(r.funds_paid)})" if zh else
                            f" (total {f.number(r.total_cost)} − funds {f.number(r.funds_paid)})"))
        out.append(CitizenClaim(r.id, heading, tuple(sentences)))
    return tuple(out)


def _fund_sentence(fund: str, items, vocabulary: Vocabulary, titles: dict) -> str | None:
    f, zh = vocabulary.f, vocabulary.zh
    steps = {step.kind: (line, step) for line, step in items if step.kind != "cap"}
    title = items[0][0].fund_title or fund
    if "exclude" in steps:
        line, step = steps["exclude"]
        return f"{title}:" + _exclusion(line, step, vocabulary, all_funds=False) if zh else \
            f"{title}: " + _exclusion(line, step, vocabulary, all_funds=False)
    if "paid" not in steps:  # the fund does not apply to this kind of claim: not the citizen's concern
        return None
    parts = []
    if "deductible" in steps:
        v = steps["deductible"][1].values
        if v["taken"]:
            parts.append(f"起付标准中的 {f.money(v['taken'])} 由您自付" if zh
                         else f"{f.money(v['taken'])} of the deductible is yours")
    for line, step in items:
        if step.kind == "cap" and step.values["what"] == "cost" and step.values["above"]:
            v = step.values
            parts.append(f"超过费用封顶线 {f.money(v['cap'])} 的 {f.money(v['above'])} 本基金不付" if zh
                         else f"the {f.money(v['above'])} above its cost limit of {f.money(v['cap'])} is not covered")
    if "base" in steps:
        on = _what_the_base_is(steps["base"][1], zh, titles)
        if on:
            parts.append(on)
    shares = [step.values for line, step in items if step.kind in ("band", "rate")]
    if shares:
        adjustments = " ".join(_adjustment(st, vocabulary) for _, st in items
                               if st.kind == "adjust" and st.values["applied"])

        def rate(v):
            if v["written_rate"] == v["rate"] or not adjustments:
                return f.rate(v["rate"])
            return f"{f.rate(v['rate'])}({f.rate(v['written_rate'])} {adjustments})" if zh else \
                f"{f.rate(v['rate'])} ({f.rate(v['written_rate'])} {adjustments})"
        pieces = [f"{f.number(v['part'])} × {rate(v)}" for v in shares if v["part"]]
        if pieces:
            total = sum((v["amount"] for v in shares), shares[0]["amount"] * 0)
            parts.append((f"按比例计算 {' + '.join(pieces)} = {f.number(total)} 元" if zh
                          else f"the rates give {' + '.join(pieces)} = {f.number(total)} yuan"))
    if "flat" in steps:
        v = steps["flat"][1].values
        parts.append(f"定额支付 {f.money(v['paid'])}" if zh else f"a flat {f.money(v['paid'])}")
    for line, step in items:
        if step.kind == "cap" and step.values["what"] == "payments" and step.values["limited"]:
            v = step.values
            if v["room"]:
                parts.append(f"但最高支付限额 {f.money(v['cap'])} 只剩 {f.money(v['room'])}" if zh
                             else f"but only {f.money(v['room'])} was left of its limit of {f.money(v['cap'])}")
            else:
                parts.append(f"但最高支付限额 {f.money(v['cap'])} 已用完" if zh
                             else f"but its limit of {f.money(v['cap'])} was already reached")
    paid = steps["paid"][1].values["amount"]
    if not parts and not paid:
        return None
    line = steps["paid"][0]
    rounding = steps.get("rounding")
    rounded = rounding is not None and rounding[1].values["raw"] != rounding[1].values["rounded"]
    pays = (f"{'保留到分后' if rounded else ''}支付 {f.money(paid)}" if zh
            else f"so it pays {f.money(paid)}{' (rounded to the fen)' if rounded else ''}")
    body = (";".join(parts) + ";" if parts else "") if zh else ("; ".join(parts) + ", " if parts else "")
    return (f"{title}:{body}{pays}。" if zh else f"{title}: {body}{pays}.") + _source(line, zh)


# What a later layer pays on, when it is another fund's result: said in words.
_OUTPUT_WORDS = {
    "above_cap": ("{fund}最高支付限额以上的费用 {amount}", "on the {amount} above {fund}'s limit"),
    "above_ceiling": ("{fund}费用封顶线以上的费用 {amount}", "on the {amount} above {fund}'s cost limit"),
    "remaining": ("{fund}支付后剩余的 {amount}", "on the {amount} that {fund} left"),
}


def _what_the_base_is(step, zh: bool, titles: dict) -> str | None:
    expr = step.node.expr if step.node is not None else None
    f = Formatter("zh" if zh else "en", grid=True)
    if isinstance(expr, n.Ref) and expr.parts[0] == "claim":  # the claim's own cost: nothing to say
        return None
    if not isinstance(expr, n.Ref) or len(expr.parts) < 2 or expr.parts[-1] not in _OUTPUT_WORDS:
        amount = f.money(step.values["amount"])
        return f"计算基数 {amount}" if zh else f"on {amount}"
    words = _OUTPUT_WORDS[expr.parts[-1]][0 if zh else 1]
    name = ".".join(expr.parts[:-1])
    qualified = f"{step.layer}.{name}" if step.layer else name
    return words.format(fund=titles.get(qualified, name), amount=f.money(step.values["amount"]))


def _adjustment(step, vocabulary: Vocabulary) -> str:
    """'+5 个百分点(人员类别为退休人员)' / '+5 points because the member category is retired'."""
    f = vocabulary.f
    amount = f.points(step.values["amount"]) if step.values["kind"] == "points" else f.relpct(step.values["amount"])
    why = vocabulary.condition(step.node.when) if step.node is not None else ""
    if not why:
        return amount
    return f"{amount},因为{why}" if vocabulary.zh else f"{amount} because {why}"


def _exclusion(line: Line, step, vocabulary: Vocabulary, all_funds: bool) -> str:
    """'Not paid: <reason> (the facts that decided it)' — the condition itself is in the auditor's view."""
    zh = vocabulary.zh
    reason = step.node.reason.best("zh" if zh else "en")
    shown, seen = [], set()
    dates = {node.text: value for node, value in step.reads if isinstance(node, n.Ref)}
    for node, _ in step.reads:  # the dates a day count was taken between are said with it
        if isinstance(node, n.Call) and node.func == "day_number":
            seen |= {a.text for a in node.args if isinstance(a, n.Ref)}
    for node, value in step.reads:
        text = node.text if isinstance(node, n.Ref) else None
        if isinstance(node, n.Call) and node.func == "day_number":
            shown.append(vocabulary.day(node, value, dates))
        elif text and (text.startswith("member.") or text.startswith("claim.")) and text not in seen:
            seen.add(text)
            shown.append(vocabulary.fact(text, value))
    facts = f"({';'.join(shown)})" if zh and shown else (f" ({'; '.join(shown)})" if shown else "")
    return (f"不予支付:{reason}{facts}。" if zh else f"Not paid: {reason}{facts}.") + _source(line, zh)


def _source(line: Line, zh: bool) -> str:
    if line.citation is None or line.document is None:
        return ""
    article = f" {line.citation.article}" if line.citation.article else ""
    return f"(依据:{line.document}{article})" if zh else f" (per {line.document}{article})"
