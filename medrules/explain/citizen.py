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
    f, _ = v.f, v._
    titles = {name: fund.title(e.lang) for name, fund in e.program.all_funds()}
    layers = e.program.checked.layers()
    out = []
    for c in e.claims:
        r = c.result
        heading = _("Claim {id} ({date}): total cost {total}").format(id=r.id, date=r.date, total=f.money(r.total_cost))
        sentences = []
        by_fund: dict[str, list[tuple[Line, object]]] = {}
        later: list[str] = []
        for line, step in zip(c.lines, r.steps):
            if step.kind in ("insured", "recover"):  # membership over time (first), third parties (after the funds)
                (sentences if step.kind == "insured" else later).append(
                    _membership_sentence(step, v, e.lang, layers[step.layer].sources))
            if step.kind == "exclude" and step.fund is None:
                sentence = _exclusion(line, step, v, all_funds=True)
                if len(layers) > 1:  # say which scheme refused: another may still pay
                    header = layers[step.layer].rulebook.header
                    title = header.title.best(e.lang) if header.title else (header.scheme or "")
                    sentence = _("{title}: {sentence}").format(title=title, sentence=sentence)
                sentences.append(sentence)
            if step.fund is not None:
                by_fund.setdefault(step.fund, []).append((line, step))
        for fund, items in by_fund.items():
            sentence = _fund_sentence(fund, items, v, titles)
            if sentence:
                sentences.append(sentence)
        sentences += later
        if not any(result.paid for result in r.funds) and not sentences:
            sentences.append(_("No fund covers this claim."))
        for note in e.reading_notes(r.id):
            sentences.append(reading_sentence(note, f, titles, r.funds_paid, r.member_pays))
        sentences.append(_("You pay {amount}.").format(amount=f.money(r.member_pays))
                         + _(" (total {total} − funds {funds})").format(total=f.number(r.total_cost),
                                                                       funds=f.number(r.funds_paid)))
        out.append(CitizenClaim(r.id, heading, tuple(sentences)))
    return tuple(out)


def _fund_sentence(fund: str, items, vocabulary: Vocabulary, titles: dict) -> str | None:
    f, _ = vocabulary.f, vocabulary._
    steps = {step.kind: (line, step) for line, step in items if step.kind != "cap"}
    title = items[0][0].fund_title or fund
    if "exclude" in steps:
        line, step = steps["exclude"]
        return _("{title}: {sentence}").format(title=title,
                                               sentence=_exclusion(line, step, vocabulary, all_funds=False))
    if "paid" not in steps:  # the fund does not apply to this kind of claim: not the citizen's concern
        return None
    parts = []
    if "deductible" in steps:
        v = steps["deductible"][1].values
        if v["taken"]:
            parts.append(_("{amount} of the deductible is yours").format(amount=f.money(v['taken'])))
    for line, step in items:
        if step.kind == "cap" and step.values["what"] == "cost" and step.values["above"]:
            v = step.values
            parts.append(_("the {above} above its cost limit of {cap} is not covered").format(
                above=f.money(v['above']), cap=f.money(v['cap'])))
    if "base" in steps:
        on = _what_the_base_is(steps["base"][1], vocabulary, titles)
        if on:
            parts.append(on)
    shares = [step.values for line, step in items if step.kind in ("band", "rate")]
    if shares:
        adjustments = " ".join(_adjustment(st, vocabulary) for _line, st in items
                               if st.kind == "adjust" and st.values["applied"])

        def rate(v):
            if v["written_rate"] == v["rate"] or not adjustments:
                return f.rate(v["rate"])
            return _("{rate} ({written} {adjustments})").format(rate=f.rate(v['rate']), written=f.rate(v['written_rate']),
                                                               adjustments=adjustments)
        pieces = [f"{f.number(v['part'])} × {rate(v)}" for v in shares if v["part"]]
        if pieces:
            total = sum((v["amount"] for v in shares), shares[0]["amount"] * 0)
            parts.append(_("the rates give {pieces} = {total} yuan").format(pieces=" + ".join(pieces),
                                                                             total=f.number(total)))
    if "flat" in steps:
        v = steps["flat"][1].values
        parts.append(_("a flat {amount}").format(amount=f.money(v['paid'])))
    for line, step in items:
        if step.kind == "cap" and step.values["what"] == "payments" and step.values["limited"]:
            v = step.values
            if v["room"]:
                parts.append(_("but only {room} was left of its limit of {cap}").format(room=f.money(v['room']),
                                                                                       cap=f.money(v['cap'])))
            else:
                parts.append(_("but its limit of {cap} was already reached").format(cap=f.money(v['cap'])))
    if "quota" in steps:  # 'cap … per holder': whose quotas paid (本人、亲属或指定人)
        from medrules.explain.steps import QUOTA_RELATION
        draws = [d for d in steps["quota"][1].values["draws"] if d["drawn"]]
        if draws:
            parts.append(_("drawn on {draws}").format(draws=_("; ").join(
                _("{amount} from {whose} ({left} left)").format(
                    amount=f.money(d["drawn"]), whose=_(QUOTA_RELATION[d["relation"]]).format(holder=d["holder"]),
                    left=f.money(d["left"])) for d in draws)))
    paid = steps["paid"][1].values["amount"]
    if not parts and not paid:
        return None
    line = steps["paid"][0]
    rounding = steps.get("rounding")
    rounded = rounding is not None and rounding[1].values["raw"] != rounding[1].values["rounded"]
    pays = (_("so it pays {amount} (rounded to the fen)") if rounded else _("so it pays {amount}")).format(
        amount=f.money(paid))
    body = _("{parts}, ").format(parts=_("; ").join(parts)) if parts else ""
    return _("{title}: {body}{pays}.").format(title=title, body=body, pays=pays) + _source(line, vocabulary)


# What a later layer pays on, when it is another fund's result: said in words.
_OUTPUT_WORDS = {
    "above_cap": "on the {amount} above {fund}'s limit",
    "above_ceiling": "on the {amount} above {fund}'s cost limit",
    "remaining": "on the {amount} that {fund} left",
}


def _what_the_base_is(step, vocabulary: Vocabulary, titles: dict) -> str | None:
    expr = step.node.expr if step.node is not None else None
    f, _ = vocabulary.f, vocabulary._
    if isinstance(expr, n.Ref) and expr.parts[0] == "claim":  # the claim's own cost: nothing to say
        return None
    if not isinstance(expr, n.Ref) or len(expr.parts) < 2 or expr.parts[-1] not in _OUTPUT_WORDS:
        return _("on {amount}").format(amount=f.money(step.values["amount"]))
    name = ".".join(expr.parts[:-1])
    qualified = f"{step.layer}.{name}" if step.layer else name
    return _(_OUTPUT_WORDS[expr.parts[-1]]).format(fund=titles.get(qualified, name),
                                                   amount=f.money(step.values["amount"]))


def _adjustment(step, vocabulary: Vocabulary) -> str:
    """'+5 个百分点(人员类别为退休人员)' / '+5 points because the member category is retired'."""
    f = vocabulary.f
    amount = f.points(step.values["amount"]) if step.values["kind"] == "points" else f.relpct(step.values["amount"])
    why = vocabulary.condition(step.node.when) if step.node is not None else ""
    if not why:
        return amount
    return vocabulary._("{amount} because {why}").format(amount=amount, why=why)


def _exclusion(line: Line, step, vocabulary: Vocabulary, all_funds: bool) -> str:
    """'Not paid: <reason> (the facts that decided it)' — the condition itself is in the auditor's view."""
    _ = vocabulary._
    reason = step.node.reason.best(vocabulary.lang)
    shown, seen = [], set()
    dates = {node.text: value for node, value in step.reads if isinstance(node, n.Ref)}
    for node, _value in step.reads:  # the dates a day count was taken between are said with it
        if isinstance(node, n.Call) and node.func == "day_number":
            seen |= {a.text for a in node.args if isinstance(a, n.Ref)}
    for node, value in step.reads:
        text = node.text if isinstance(node, n.Ref) else None
        if isinstance(node, n.Call) and node.func == "day_number":
            shown.append(vocabulary.day(node, value, dates))
        elif text and vocabulary.field(text) is not None and text not in seen:  # member, claim or history facts
            seen.add(text)
            shown.append(vocabulary.fact(text, value))
    facts = _(" ({facts})").format(facts=_("; ").join(shown)) if shown else ""
    return _("Not paid: {reason}{facts}.").format(reason=reason, facts=facts) + _source(line, vocabulary)


def _source(line: Line, vocabulary: Vocabulary) -> str:
    if line.citation is None or line.document is None:
        return ""
    article = f" {line.citation.article}" if line.citation.article else ""
    return vocabulary._(" (per {document}{article})").format(document=line.document, article=article)


def _membership_sentence(step, vocabulary: Vocabulary, lang: str, own_sources: dict) -> str:
    """'On 2020-05-10 you were insured in the resident scheme: employee insurance stopped …' (insured), or
    what the fund paid first and may recover from a third party (recover); with the document they cite."""
    f, _ = vocabulary.f, vocabulary._
    node = step.node
    because = node.because.best(lang)
    if step.kind == "recover":
        sentence = _("The fund paid first: {amount} is recoverable from the liable third party ({because}).").format(
            amount=f.money(step.amount), because=because)
    else:
        from medrules.membership import router_checked
        scheme = node.label.best(lang) if node.label else step.scheme
        ck = router_checked(node)
        if ck is not None:  # the facts that decided it (the member's, the claim's, the period's), by their labels
            words, shown = Vocabulary(ck, lang, grid=True), []
            for ref, value in step.reads:
                text = ref.text if isinstance(ref, n.Ref) else None
                if text and not text.startswith("claim.") and words.field(text) is not None \
                        and words.fact(text, value) not in shown:
                    shown.append(words.fact(text, value))
            if shown:
                because += _(" ({facts})").format(facts=_("; ").join(shown))
        sentence = _("On {date} you were insured in the {scheme}: {because}.").format(
            date=step.date, scheme=scheme, because=because)
        if step.compared:
            amounts = "; ".join(f"{k} {f.money(x)}" for k, x in step.compared.items())
            sentence += _(" Settled under each earlier scheme ({amounts}): the better one applies.").format(
                amounts=amounts)
    if node.citation is not None and node.citation.source:
        from medrules.membership import router_sources
        sources = router_sources(node) if step.kind == "insured" else own_sources
        source = sources.get(node.citation.source)
        number = source.number if source is not None and source.number else node.citation.source
        article = f" {node.citation.article}" if node.citation.article else ""
        sentence += _(" (per {document}{article})").format(document=number, article=article)
    return sentence
