"""``medrules explain MEMBERSHIP FACTS --what-if …``: what changes when a fact or a parameter is different, for a
membership rulebook — including a claim that moves to another scheme.

What ``--what-if`` may change (docs/language.md §25):

* ``member.FIELD=VALUE``, ``claim.FIELD=VALUE``: a fact, declared by any rulebook involved (the membership
  rulebook or a scheme's); claim changes apply to the claims named with ``--claim``, or to all;
* ``HISTORY[N].FIELD=VALUE``: a field of the N-th record (from 1, in the facts file's order) of a member's
  history (``period[1].last_month=2020-05-01``: the employee period reaches May);
* ``NAME=VALUE``: a parameter of the membership rulebook itself (``arrears_months=3 months``): the routing
  changes, and a claim may be settled under another scheme;
* ``STEM.NAME=VALUE``: a parameter of a scheme's rulebook, named by the file stem the membership rulebook
  writes (``under "residents-2020.mr"`` → ``residents-2020.inpatient_rate=70%``); a parameter of a rulebook
  that scheme layers on is ``STEM.alias.NAME``.

A value is written as in a rulebook (``70%``, ``600 yuan``, ``3 months``, ``2020-06-01``, ``true``) and must
have the parameter's unit. Both settlements are traced; the result is a
:class:`medrules.analyses.whatif.WhatIf`, so the text, JSON, Markdown and HTML renderers of any what-if show
it. Each fund is named ``STEM.FUND`` and titled with the scheme it belongs to, so a claim that moves scheme
shows one scheme's fund going to 0 and the other's paying, and the auditor's view shows the membership
step before and after (which scheme, why).
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import attrs

from medrules.analyses.whatif import ClaimDifference, StepChange, WhatIf, align
from medrules.check.context import did_you_mean
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import Settlement
from medrules.facts import WrapsChange
from medrules.source import Span, SourceFile

_UNIT_TERMINALS = ("MONEY", "REL_PERCENT", "PERCENT", "POINTS", "DAYS", "MONTHS", "DATE", "NUMBER", "TRUE", "FALSE")
_BUILDERS = {"MONEY": "money", "REL_PERCENT": "rel_percent", "PERCENT": "percent", "POINTS": "points",
             "DAYS": "days", "MONTHS": "months", "DATE": "date", "NUMBER": "number", "TRUE": "boolean",
             "FALSE": "boolean"}


@attrs.frozen
class ParameterChange:
    """A parameter set to another value: of the membership rulebook (``scheme`` ''), or of a scheme's rulebook."""

    scheme: str  # the scheme rulebook's file stem, or '' for the membership rulebook
    name: str  # as that rulebook names it ('inpatient_rate', 'basic.inpatient_deductible')
    value: object
    text: str
    record = "parameter"

    @property
    def field(self) -> str:
        return f"{self.scheme}.{self.name}" if self.scheme else self.name


@attrs.frozen
class HistoryChange:
    """A field of one record of a member's history (``period[2].last_month=2020-06-01``: the second record of
    'periods' in the facts file, counted from 1) set to another value."""

    kind: str  # the history ('period')
    index: int  # from 1, in the facts file's order
    field: str
    value: object  # converted by the rulebook that declares the history
    raw: object  # the value as JSON
    text: str

    @property
    def record(self) -> str:
        return f"{self.kind}[{self.index}]"


@attrs.frozen
class FactChange(WrapsChange):
    """A fact changed in the facts document (every rulebook involved reads it)."""

    change: object  # medrules.facts.Change, converted by the rulebook that declares the fact
    raw: object  # the value as JSON
    text: str


def _span(text: str) -> Span:
    return Span("--what-if", 1, 1, 1, len(text) + 1)


def literal(text: str, raw: str):
    """A value written as in a rulebook (``70%``, ``600 yuan``, ``3 months``): a Literal node, or a located error."""
    from lark import Token

    from medrules.parse import _Builder, parser
    raw = raw.strip()
    p = parser()
    for name in _UNIT_TERMINALS:
        if re.fullmatch(p.get_terminal(name).pattern.to_regexp(), raw):
            tok = Token(name, raw, 0, 1, 1, 1, len(raw) + 1, len(raw))
            builder = _Builder("--what-if")
            node = getattr(builder, _BUILDERS[name])(None, [tok])
            if builder.diagnostics:
                raise MedrulesError([attrs.evolve(d, span=_span(text)) for d in builder.diagnostics])
            return node
    raise MedrulesError(error("what-if", f"'{text}': '{raw}' is not a value", _span(text),
                              "write it as in a rulebook: 70%, 600 yuan, 3 months, 2020-06-01, true"))


def _stem(program) -> str:
    return Path(program.checked.file).stem


def parse_changes(texts: list[str], ms) -> tuple[list[FactChange], list[ParameterChange]]:
    from medrules.facts import MAX_TEXT, parse_change, unsafe_text
    programs = (ms.router, *ms.programs)
    schemes = {_stem(p): p for p in ms.programs}
    facts, params = [], []
    for text in texts:
        name, sep, raw = text.partition("=")
        name = name.strip()
        why = unsafe_text(text)
        if why is not None or len(text) > MAX_TEXT:
            raise MedrulesError(error("what-if", f"'{name}': the change is too long or contains {why or 'too much'}",
                                      _span(text), "write e.g. --what-if member.employment=flexible"))
        if not sep or not name:
            raise MedrulesError(error("what-if", f"'{text}' is not NAME=VALUE", _span(text), _HINT))
        head, _, rest = name.partition(".")
        if _RECORD.fullmatch(head):  # a field of one record of a history: period[1].last_month=…
            facts.append(_history_change(text, head, rest, raw, programs))
            continue
        if head in ("member", "claim"):
            declaring = [p for p in programs if rest in p.checked.records.get(head, {})]
            if not declaring:
                known = sorted({f for p in programs for f in p.checked.records.get(head, {})})
                raise MedrulesError(error("what-if", f"'{name}' is not a {head} fact of any rulebook involved",
                                          _span(text), did_you_mean(rest, known) or "facts: " + ", ".join(known)))
            change = parse_change(text, declaring[0].checked)
            facts.append(FactChange(change, _raw(raw), text))
            continue
        if "." not in name:  # a parameter of the membership rulebook
            program, scheme, pname = ms.router, "", head
        elif head in schemes:
            program, scheme, pname = schemes[head], head, rest
        else:
            raise MedrulesError(error("what-if", f"'{name}': no parameter '{head}' in '{ms.router.checked.id}', "
                                      f"and no scheme rulebook '{head}.mr'", _span(text),
                                      did_you_mean(head, [*schemes, *ms.router.checked.parameters]) or _HINT))
        params.append(ParameterChange(scheme, pname, _parameter_value(program, pname, text, raw), text))
    return facts, params


_HINT = ("member.FIELD=VALUE or claim.FIELD=VALUE (a fact), HISTORY[N].FIELD=VALUE (a field of the N-th record "
         "of a history, e.g. period[1].last_month=2020-05-01), NAME=VALUE (a parameter of the membership rulebook), "
         "STEM.NAME=VALUE (a parameter of the scheme rulebook STEM.mr)")
_RECORD = re.compile(r"([a-z_][a-z0-9_]*)\[([0-9]{1,6})\]")


def _history_change(text: str, head: str, field: str, raw: str, programs) -> HistoryChange:
    from medrules.check.types import histories
    from medrules.facts import Located, _convert
    kind, index = _RECORD.fullmatch(head).groups()
    declaring = [p for p in programs if kind in histories(p.checked.records)]
    if not declaring:
        known = sorted({k for p in programs for k in histories(p.checked.records)})
        raise MedrulesError(error("what-if", f"'{kind}' is not a history of any rulebook involved", _span(text),
                                  did_you_mean(kind, known) or ("histories: " + ", ".join(known) if known
                                                                else "these rulebooks read no history")))
    fields = declaring[0].checked.records[kind]
    if field not in fields:
        raise MedrulesError(error("what-if", f"'{head}.{field}' is not a field of {kind}", _span(text),
                                  did_you_mean(field, fields) or "fields: " + ", ".join(fields)))
    if int(index) < 1:
        raise MedrulesError(error("what-if", f"'{head}': records are counted from 1", _span(text), _HINT))
    ck = declaring[0].checked
    problems: list = []
    value = _convert(Located(_raw(raw), _span(text)), ck.field_types[fields[field]], ck, f"{head}.{field}", problems)
    if problems:
        raise MedrulesError(problems)
    return HistoryChange(kind, int(index), field, value, _raw(raw), text)


def _parameter_value(program, name: str, text: str, raw: str):
    layers = program.checked.layers()
    alias, _, own = name.rpartition(".")
    ck = layers.get(alias)
    if ck is None or own not in ck.parameters:
        known = [f"{a}.{p}" if a else p for a, c in layers.items() for p in c.parameters]
        raise MedrulesError(error("what-if", f"'{name}' is not a parameter of '{program.checked.id}'", _span(text),
                                  did_you_mean(name, known) or "parameters: " + (", ".join(known) or "none")))
    param = ck.parameters[own]
    node = literal(text, raw)
    want = ck.types[param.value]
    if node.type != want:
        raise MedrulesError(error("what-if", f"'{name}' is {want}, and '{raw.strip()}' is {node.type}", _span(text),
                                  f"the rulebook writes it {param.type_name}: e.g. {name}="
                                  + _example(ck, param)))
    return node.value


def _example(ck, param) -> str:
    from medrules.explain.formula import source_text
    return source_text(param.value)


def _raw(raw: str):
    raw = raw.strip()
    try:
        value = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        return raw  # a bare word: an enumeration member, a date, text
    return str(value) if isinstance(value, Decimal) else value


def changed_source(source: SourceFile, facts: list[FactChange], claim_ids) -> SourceFile:
    """The facts document with the fact changes applied (claim changes to the named claims, or to all)."""
    if not facts:
        return source
    doc = json.loads(source.text, parse_float=Decimal, parse_int=Decimal)
    for f in facts:
        if isinstance(f, HistoryChange):
            from medrules.check.declarations import history_key
            records = doc.get(history_key(f.kind))
            if not isinstance(records, list) or f.index > len(records) or not isinstance(records[f.index - 1], dict):
                given = len(records) if isinstance(records, list) else 0
                raise MedrulesError(error("what-if", f"'{f.record}': {source.name} gives {given} record(s) of "
                                          f"'{history_key(f.kind)}'", _span(f.text),
                                          f"name one of {f.kind}[1] … {f.kind}[{given}]" if given
                                          else f"give the member's {history_key(f.kind)} in the facts file"))
            records[f.index - 1][f.field] = f.raw
        elif f.record == "member":
            doc.setdefault("member", {})[f.field] = f.raw
        else:
            for claim in doc.get("claims", []):
                if not claim_ids or claim.get("id") in claim_ids:
                    claim[f.field] = f.raw
    return SourceFile(f"{source.name} (what if)", json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def changed_membership(ms, params: list[ParameterChange], load):
    """The membership set with the parameter changes: the membership rulebook's (its routes again, through
    ``load(router)``) and each scheme's (its program with the overrides)."""
    own = {p.name: p.value for p in params if not p.scheme}
    if own:  # routed again; the schemes' programs stay those loaded (the same rulebooks, the same nodes)
        loaded = {p.checked.file: p for p in ms.programs}
        ms = load(ms.router.with_overrides(own))
        ms = attrs.evolve(ms, routes=tuple(attrs.evolve(r, programs=tuple(loaded.get(p.checked.file, p)
                                                                            for p in r.programs))
                                           for r in ms.routes))
    by_scheme: dict[str, dict] = {}
    for p in params:
        if p.scheme:
            by_scheme.setdefault(p.scheme, {})[p.name] = p.value
    if not by_scheme:
        return ms
    replaced: dict[int, object] = {}
    for program in ms.programs:
        if _stem(program) in by_scheme:
            replaced[id(program)] = program.with_overrides(by_scheme[_stem(program)])
    routes = tuple(attrs.evolve(r, programs=tuple(replaced.get(id(p), p) for p in r.programs)) for r in ms.routes)
    return attrs.evolve(ms, routes=routes)


def _explained(result: Settlement, used: dict, lang: str, claim_ids) -> dict:
    """Each claim's explanation lines under the rulebook that settled it: id -> (ClaimExplanation, program)."""
    from medrules.explain import explain
    out = {}
    groups: dict[int, tuple] = {}
    for c in result.claims:
        groups.setdefault(id(used[c.id]), (used[c.id], []))[1].append(c)
    for program, claims in groups.values():
        e = explain(program, Settlement(program.checked.id, result.member_id, tuple(claims)), lang, claim_ids)
        for ce in e.claims:
            out[ce.result.id] = (ce, program)
    return out


def _insured(ce):
    return next(((line, step) for line, step in zip(ce.lines, ce.result.steps) if step.kind == "insured"),
                (None, None))


def what_if(ms, source: SourceFile, texts: list[str], lang: str, claim_ids=None, load=None,
            readings: dict | None = None) -> WhatIf:
    """Settle under the membership rulebook as given and with the changes; compare claim by claim.
    ``load(router_program)`` -> the membership set of a membership rulebook with other parameters.
    ``readings`` (the --reading choices, {} for none): each scenario also says what the schemes' other readings
    would have paid (``load(router_program, readings)`` must then take the readings)."""
    from medrules.membership import settle_membership
    facts, params = parse_changes(texts, ms)
    after_ms = changed_membership(ms, params, load)
    before, used_b = settle_membership(ms, source, trace=True)
    after, used_a = settle_membership(after_ms, changed_source(source, facts, claim_ids), trace=True)
    eb, ea = _explained(before, used_b, lang, claim_ids), _explained(after, used_a, lang, claim_ids)
    diffs, titles = [], {}
    for c in after.claims:
        if c.id not in ea or c.id not in eb:
            continue
        (cb, pb), (ca, pa) = eb[c.id], ea[c.id]
        rows = {}
        for ce, program, side in ((cb, pb, 0), (ca, pa, 1)):
            line, step = _insured(ce)
            scheme = step.node.label.best(lang) if step is not None and step.node.label else _stem(program)
            funds = dict(program.all_funds())
            for f in ce.result.funds:
                key = f"{_stem(program)}.{f.fund}"
                title = f"{funds[f.fund].title(lang)} ({scheme})"
                titles[key] = title
                row = rows.setdefault(key, [key, title, Decimal("0.00"), Decimal("0.00")])
                row[2 + side] = f.paid
        moved = _stem(pb) != _stem(pa)
        funds = tuple((k, t, b, a) for k, t, b, a in rows.values() if b != a or (moved and (a or b)))
        steps = []
        (lb, sb), (la, sa) = _insured(cb), _insured(ca)
        if lb is not None and la is not None and lb.text != la.text:
            steps.append(StepChange(lb, la))
        steps += align(cb.lines, cb.result.steps, ca.lines, ca.result.steps)
        diffs.append(ClaimDifference(c.id, funds, cb.result.member_pays, ca.result.member_pays, tuple(steps)))
    notes_before = notes_after = ()
    if readings is not None:  # the schemes' other readings, in both scenarios (medrules.membership_readings)
        from medrules.membership_readings import reading_notes
        selected = {d.claim_id for d in diffs}
        notes_before = tuple(n for n in reading_notes(lambda choice: load(ms.router, choice), ms, source, before,
                                                      used_b, readings, qualified=True) if n.claim_id in selected)
        notes_after = tuple(n for n in reading_notes(
            lambda choice: changed_membership(load(ms.router, choice), params, lambda r: load(r, choice)), after_ms,
            changed_source(source, facts, claim_ids), after, used_a, readings, qualified=True)
            if n.claim_id in selected)
        for program in ms.programs:  # a fund only another reading pays is titled too
            for name, fund in program.all_funds():
                titles.setdefault(f"{_stem(program)}.{name}", f"{fund.title(lang)} ({_stem(program)})")
    return WhatIf(tuple([*facts, *params]), lang, before, after, tuple(diffs), notes_before, notes_after, titles)


def schemes(w: WhatIf) -> dict[str, dict]:
    """Claim id -> the scheme and rulebook before and after (for the JSON)."""
    def of(s: Settlement, cid: str):
        step = next((x for x in s.claim(cid).steps if x.kind == "insured"), None)
        return None if step is None else {"scheme": step.scheme, "rulebook": step.rulebook,
                                          **({"compared": {k: str(v) for k, v in step.compared.items()}}
                                             if step.compared else {})}
    return {d.claim_id: {"before": of(w.before, d.claim_id), "after": of(w.after, d.claim_id)} for d in w.claims}


def what_if_json(w: WhatIf, sensitivity=()) -> dict:
    """``sensitivity``: medrules.membership_sensitivity's ranking (each entry also says which claims move)."""
    from medrules.explain.json import plain, what_if_json as base
    doc = base(w, sensitivity)
    doc["changes"] = [{"parameter": c.field, "value": plain(c.value)} if isinstance(c, ParameterChange)
                      else {"fact": f"{c.record}.{c.field}", "value": plain(c.value)} for c in w.changes]
    moves = schemes(w)
    for claim in doc["claims"]:
        claim["scheme"] = moves[claim["id"]]
    return doc
