"""Membership over time: each claim settled under the scheme the person belonged to on its date.

A membership rulebook (``insured NAME "label" under "FILE.mr" when COND because "…" cites …``, see
docs/language.md §22) settles no claim itself: for each claim, the first 'insured' whose condition holds
on the claim's date (``year starts … by claim.FIELD`` names the date) says which scheme's rulebook settles
it, and why. The conditions read member and claim facts and the member's histories (``any(period, …)``,
language.md §21), so a person who leaves the employee scheme in April is settled under the resident
scheme from May, each claim with the reason and the provision that says so.

``under highest of "A.mr", "B.mr"`` (待遇就高不就低 during a scheme integration) settles the claims under
each rulebook named and, claim by claim, keeps the settlement whose funds pay more (ties: the first
named); the explanation shows every amount and the one chosen. Each rulebook keeps its own year-to-date
totals over all the claims settled under it, whichever 'insured' statement routed them there (claims are
grouped by rulebook, not by statement).

A facts file for a membership rulebook holds the facts of every rulebook involved: each rulebook reads
the facts it declares; a fact that none declares is an error, located, as in any facts file.
"""
from __future__ import annotations

import weakref
from pathlib import Path

import attrs

import medrules
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import ClaimResult, Program, Settlement, check_effective, settle
from medrules.evaluate.compile import Env, compile_expr
from medrules.evaluate.trace import InsuredStep
from medrules.facts import Located, _unknown_keys, read_json, validate
from medrules.source import SourceFile

_ROUTER: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # Insured node -> its CheckedRulebook


def router_sources(node) -> dict:
    """The sources declared by the membership rulebook an ``insured`` node belongs to (for its citation)."""
    ck = _ROUTER.get(node)
    return ck.sources if ck is not None else {}


def router_checked(node):
    """The membership rulebook (checked) an ``insured`` node belongs to, or None."""
    return _ROUTER.get(node)


def router_resolved(node) -> dict:
    """What the names in an ``insured`` node's condition mean (the membership rulebook's checker table)."""
    ck = _ROUTER.get(node)
    return ck.resolved if ck is not None else {}


@attrs.frozen
class Route:
    op: object  # medrules.plan.ops.Insured
    programs: tuple[Program, ...]  # one, or several under 'highest of'
    when: object  # the compiled condition (traced)

    @property
    def node(self):
        return self.op.node


@attrs.frozen
class MembershipSet:
    router: Program
    routes: tuple[Route, ...]

    @property
    def dated_by(self) -> str:
        return self.router.dated_by

    @property
    def programs(self) -> tuple[Program, ...]:
        """Every rulebook a claim may be settled under, once each, in the order named."""
        seen: dict[int, Program] = {}
        for r in self.routes:
            for p in r.programs:
                seen.setdefault(id(p), p)
        return tuple(seen.values())


def is_membership(program: Program) -> bool:
    return bool(program.plan.top.memberships)


@attrs.frozen
class _Named:  # what medrules.referenced reads of a reference: its path and where it is written
    path: str
    span: object


def settle_insured(route: "Route", env: Env) -> bool:
    """Whether the person was insured in this route's scheme on the claim's date (its condition, traced)."""
    return bool(route.when(env))


def load_membership(router: Program, read=SourceFile.read, root: str | Path | None = None,
                    readings: dict | None = None, path: str | Path | None = None) -> MembershipSet:
    """The scheme rulebooks a membership rulebook names, loaded relative to it (under the rulebook root).
    ``path``: where the membership rulebook is, when ``read`` named its source otherwise (the service)."""
    path = Path(path) if path is not None else Path(router.checked.file)
    base = Path(root) if root is not None else medrules.rulebook_root(path)
    try:
        base = base.resolve(strict=True)
    except (OSError, RuntimeError):
        raise MedrulesError(error("io", f"the rulebook root {base} cannot be used")) from None
    for node in router.checked.rulebook.memberships:
        _ROUTER[node] = router.checked
    loaded: dict[Path, Program] = {}
    readings = _scheme_readings(router, readings)
    routes = []
    for op in router.plan.top.memberships:
        programs = []
        for raw, span in zip(op.paths, op.node.path_spans):
            file = medrules.referenced(path, _Named(raw, span), base, "settles claims under")
            key = file.resolve()
            if key == path.resolve():
                raise MedrulesError(error("membership", f"'{raw}' is this membership rulebook itself", span,
                                          "name the scheme's own rulebook"))
            if key not in loaded:
                program = medrules.load(file, read=read, root=base, readings=readings.get(Path(raw).stem, {}))
                if program.plan.top.memberships:
                    raise MedrulesError(error("membership", f"'{raw}' routes claims itself: a membership names "
                                              "the rulebooks that settle them", span))
                if program.plan.top.total is None:
                    raise MedrulesError(error("membership", f"'{raw}' states contributions only: it settles no "
                                              "claims", span))
                if program.dated_by != router.dated_by:
                    raise MedrulesError(error("membership", f"'{raw}' places claims by claim.{program.dated_by}, "
                                              f"this rulebook by claim.{router.dated_by}", span,
                                              "a claim's scheme is decided on the date its scheme settles it by"))
                loaded[key] = program
            programs.append(loaded[key])
        routes.append(Route(op, tuple(programs), compile_expr(op.when, traced=True)))
    return MembershipSet(router, tuple(routes))


def _scheme_readings(router: Program, readings: dict | None) -> dict[str, dict]:
    """``--reading STEM.NAME=ALT`` split by scheme: file stem -> {NAME: ALT} (a scheme's readings are named by the
    file stem the membership rulebook writes, as its parameters are in --what-if). A name that is neither a
    scheme's nor one the membership rulebook declares itself is refused, with the schemes' readings."""
    from medrules.readings import scheme_stems
    rulebook = router.checked.rulebook
    stems = scheme_stems(rulebook)
    own = {r.name for r in rulebook.readings}
    out: dict[str, dict] = {}
    for name, alternative in (readings or {}).items():
        head, _, rest = name.partition(".")
        if head in stems and rest:
            out.setdefault(head, {})[rest] = alternative
        elif name not in own:
            raise MedrulesError(error("reading", f"there is no reading '{name}' in '{router.checked.id}': it routes "
                                      "claims, and the readings are its schemes'", hint="name a scheme's reading by "
                                      "the file stem the membership rulebook writes: "
                                      + ", ".join(f"{stem}.NAME" for stem in sorted(stems))
                                      + " (medrules readings lists them)"))
    return out


def settle_membership(ms: MembershipSet, source: SourceFile, trace: bool = False, in_force_only: bool = True
                      ) -> tuple[Settlement, dict[str, Program]]:
    """Settle every claim under the scheme the person belonged to on its date. Returns the settlement (claims
    in date order) and, for each claim id, the rulebook it was settled under. ``in_force_only=False``: claims
    outside the rulebooks' effective periods too (``medrules diff``)."""
    return settle_membership_doc(ms, read_json(source), source.name, trace, in_force_only)


def settle_membership_doc(ms: MembershipSet, doc: Located, name: str, trace: bool = False, in_force_only: bool = True
                          ) -> tuple[Settlement, dict[str, Program]]:
    """:func:`settle_membership` on a facts document already read (``name``: its file, for messages), e.g. the
    facts of a rulebook test file (``medrules test``)."""
    _refuse_unknown(doc, (ms.router, *ms.programs))
    facts = validate(_only(doc, ms.router), ms.router.checked, name)
    if in_force_only:
        check_effective(ms.router, list(facts.claims))
    position = {c.id: c.index for c in facts.claims}
    claims = doc.value["claims"].value if isinstance(doc.value.get("claims"), Located) else []
    env = Env(facts.member, {}, True, facts.histories)
    # claims grouped by the rulebook(s) that settle them, not by route: a scheme keeps one year-to-date total
    # over all the claims settled under it, whichever 'insured' statement sent them there
    chosen: dict[tuple, list] = {}  # rulebooks -> [(claim item, route index, its reads)]
    problems = []
    for claim in facts.claims:
        env.claim, route, reads = claim.values, None, ()
        for i, r in enumerate(ms.routes):  # the first that holds; its reads only
            env.reads = []
            if settle_insured(r, env):
                route, reads = i, tuple(env.reads)
                break
        if route is None:
            day = claim.values[ms.dated_by]
            problems.append(error("membership", f"on {day} claim '{claim.id}' is insured in no scheme of "
                                  f"'{ms.router.checked.id}'", claim.spans.get(ms.dated_by, claim.span),
                                  "its 'insured' statements: " + ", ".join(r.op.name for r in ms.routes)
                                  + "; check the member's histories for that date"))
            continue
        chosen.setdefault(_settled_by(ms.routes[route]), []).append((claims[claim.index], route, reads))
    if problems:
        raise MedrulesError(problems)
    results: list[ClaimResult] = []
    used: dict[str, Program] = {}
    member_id = facts.member_id
    for items in chosen.values():
        programs = ms.routes[items[0][1]].programs
        part = attrs.evolve(doc, value=doc.value | {"claims": attrs.evolve(doc.value["claims"],
                                                                           value=[item for item, _, _ in items])})
        settled = [settle(p, validate(_only(part, p), p.checked, name), trace, in_force_only)
                   for p in programs]
        by_id = [{c.id: c for c in s.claims} for s in settled]
        order = [c.id for c in settled[0].claims]
        route_of = {c.id: items[c.claim.index][1:] for c in settled[0].claims}
        for cid in order:
            options = [ids[cid] for ids in by_id]
            best = max(range(len(options)), key=lambda i: (options[i].funds_paid, -i))
            c, program = options[best], programs[best]
            route, reads = ms.routes[route_of[cid][0]], route_of[cid][1]
            used[cid] = program
            if trace:
                compared = ({p.checked.id: o.funds_paid for p, o in zip(programs, options)}
                            if route.op.highest else None)
                step = InsuredStep(node=route.node, reads=reads, scheme=route.op.name,
                                      rulebook=program.checked.id, date=c.date, dated_by=ms.dated_by,
                                      compared=compared)
                c = attrs.evolve(c, steps=(step,) + c.steps)
            results.append(c)
    results.sort(key=lambda c: (c.date, position[c.id]))
    return Settlement(ms.router.checked.id, member_id, tuple(results)), used


def _settled_by(route: "Route") -> tuple:
    """What settles a route's claims: its rulebooks, by identity and order ('highest of A, B' is not 'A')."""
    return (route.op.highest, *(p.checked.id for p in route.programs))


def routes_of(ms: MembershipSet, result: Settlement, used: dict[str, Program]) -> list[tuple[Program, list[str]]]:
    """The rulebooks that settled claims, each with its claims' ids (in the order of the settlement)."""
    out: dict[int, tuple[Program, list[str]]] = {}
    for c in result.claims:
        program = used[c.id]
        out.setdefault(id(program), (program, []))[1].append(c.id)
    return list(out.values())


# ---------------------------------------------------------------- each rulebook reads its own facts
def _declared(program: Program) -> dict[str, set]:
    ck = program.checked
    from medrules.check.declarations import history_key
    from medrules.check.types import histories
    out = {"member": set(ck.records.get("member", {})), "claim": set(ck.records.get("claim", {})),
           "top": {"member", "claims", "opening"} | {history_key(k) for k in histories(ck.records)},
           "opening": set(ck.accumulator_names())}
    return out


def _refuse_unknown(doc: Located, programs) -> None:
    """Keys that no rulebook involved declares, each at its place (as for a single rulebook's facts)."""
    if not isinstance(doc.value, dict):
        raise MedrulesError(error("facts", "a facts file is a JSON object with 'member' and 'claims'", doc.span))
    every = [_declared(p) for p in programs]
    union = {k: set().union(*(d[k] for d in every)) for k in every[0]}
    problems = []
    _unknown_keys(doc, union["top"], "a facts file", problems)
    member = doc.value.get("member")
    if isinstance(member, Located) and isinstance(member.value, dict):
        _unknown_keys(member, union["member"], "the declared member facts", problems)
    claims = doc.value.get("claims")
    if isinstance(claims, Located) and isinstance(claims.value, list):
        for item in claims.value:
            if isinstance(item.value, dict):
                _unknown_keys(item, union["claim"], "the declared claim facts", problems)
    opening = doc.value.get("opening")
    if isinstance(opening, Located) and isinstance(opening.value, dict):
        _unknown_keys(opening, union["opening"], "the accumulators of these rulebooks", problems)
    if problems:
        raise MedrulesError(problems)


def _only(doc: Located, program: Program) -> Located:
    """The facts file as one rulebook sees it: only the facts it declares."""
    d = _declared(program)

    def keep(obj, allowed):
        if not isinstance(obj, Located) or not isinstance(obj.value, dict):
            return obj
        return attrs.evolve(obj, value={k: v for k, v in obj.value.items() if k in allowed},
                            keys={k: s for k, s in (obj.keys or {}).items() if k in allowed})

    top = keep(doc, d["top"])
    value = dict(top.value)
    if "member" in value:
        value["member"] = keep(value["member"], d["member"])
    if "opening" in value:
        value["opening"] = keep(value["opening"], d["opening"])
    claims = value.get("claims")
    if isinstance(claims, Located) and isinstance(claims.value, list):
        value["claims"] = attrs.evolve(claims, value=[keep(item, d["claim"]) for item in claims.value])
    return attrs.evolve(top, value=value)

