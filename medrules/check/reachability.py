"""Warnings for provisions that can never take effect (reported, not fatal)."""
from __future__ import annotations

from medrules import nodes as n

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6}


def expr_text(e, parent: int = 0) -> str:
    """An expression as a drafter writes it (for labels and messages)."""
    if isinstance(e, n.Literal):
        return e.text
    if isinstance(e, n.Ref):
        return e.text
    if isinstance(e, n.Unary):
        return f"{e.op}{expr_text(e.operand, 7)}"
    if isinstance(e, n.Binary):
        p = _PREC[e.op]
        text = f"{expr_text(e.left, p)} {e.op} {expr_text(e.right, p + 1)}"
    elif isinstance(e, n.Comparison):
        p = _PREC["cmp"]
        text = f"{expr_text(e.left, p + 1)} {e.op} {expr_text(e.right, p + 1)}"
    elif isinstance(e, n.Membership):
        p = _PREC["cmp"]
        text = f"{expr_text(e.operand, p + 1)} {'not in' if e.negated else 'in'} {{{', '.join(e.names)}}}"
    elif isinstance(e, n.Logic):
        p = _PREC[e.op]
        if e.op == "not":
            text = f"not {expr_text(e.operands[0], p)}"
        else:
            text = f" {e.op} ".join(expr_text(x, p) for x in e.operands)
    elif isinstance(e, n.Call):
        return f"{e.func}({', '.join(expr_text(a) for a in e.args)})"
    elif isinstance(e, (n.Cases, n.Highest)):
        body = ", ".join(f"{expr_text(c.value)} when {expr_text(c.when)}" for c in e.cases)
        return f"{'highest ' if isinstance(e, n.Highest) else ''}{{ {body}, otherwise {expr_text(e.otherwise)} }}"
    else:
        return type(e).__name__.lower()
    return f"({text})" if p < parent else text


# ---------------------------------------------------------------- conditions as constraints
# A condition is turned into negation normal form over three kinds of atoms, each decided
# exactly on its own domain: an enumerated fact is in a set of members (finite domain), a
# yes/no atom, and a number, amount or date compared with a constant (intervals). Anything
# else (a comparison of two facts, a computed amount, day_number(…)) is a free yes/no atom
# named by its text: that can only make a condition look satisfiable, never the reverse,
# so a warning is never given for a provision that can take effect.
TRUE, FALSE = ("true",), ("false",)
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}
_NEGATE = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}


class _Conditions:
    def __init__(self, ck):
        self.ck = ck
        self.domains: dict[str, frozenset] = {}  # enum variable -> its members
        self.nonnegative: set[str] = set()  # amounts read from facts, accumulators and fund outputs

    def resolution(self, ref):
        return self.ck.resolution(ref) if hasattr(self.ck, "resolution") else self.ck.resolved.get(ref)

    def type_of(self, e):
        return self.ck.types.get(e)

    # -- operands
    def variable(self, e) -> str | None:
        """A name for what a reference reads (the same fact read twice is one variable)."""
        if not isinstance(e, n.Ref):
            return None
        res = self.resolution(e)
        if res is None or res.kind in ("enum_member", "param"):
            return None
        key = f"{res.kind}:{e.text}"
        t = self.type_of(e)
        if t is not None and t.unit == "enum":
            self.domains[key] = frozenset(m.name for m in self.ck.enums[t.enum].members) \
                if t.enum in self.ck.enums else frozenset()
        if t is not None and t.unit == "money" and res.kind in ("fact", "accumulator", "fund_output"):
            self.nonnegative.add(key)
        return key

    def member(self, e) -> str | None:
        if isinstance(e, n.Ref):
            res = self.resolution(e)
            if res is not None and res.kind == "enum_member":
                return res.detail
        return None

    def constant(self, e):
        """A number, amount or date known when the rulebook is written (a literal or a literal parameter)."""
        if isinstance(e, n.Literal) and not isinstance(e.value, (bool, str)) and e.value is not None:
            return e.value
        if isinstance(e, n.Unary) and e.op == "-":
            v = self.constant(e.operand)
            return -v if v is not None and not hasattr(v, "year") else None
        if isinstance(e, n.Ref):
            res = self.resolution(e)
            if res is not None and res.kind == "param" and len(e.parts) == 1:
                try:
                    p = self.ck.parameter(e.parts[0])
                except KeyError:
                    return None
                return self.constant(p.value)
        return None

    # -- expressions -> NNF
    def nnf(self, e, positive: bool = True):
        if isinstance(e, n.Logic):
            if e.op == "not":
                return self.nnf(e.operands[0], not positive)
            parts = [self.nnf(x, positive) for x in e.operands]
            return ("and" if (e.op == "and") == positive else "or", parts)
        if isinstance(e, n.Literal) and isinstance(e.value, bool):
            return TRUE if e.value == positive else FALSE
        if isinstance(e, n.Membership):
            var = self.variable(e.operand)
            if var is not None and var in self.domains:
                return ("enum", var, frozenset(e.names), positive != e.negated)
        if isinstance(e, n.Comparison):
            atom = self.comparison(e, positive)
            if atom is not None:
                return atom
        if isinstance(e, n.Ref):
            var = self.variable(e)
            t = self.type_of(e)
            if var is not None and t is not None and t.unit == "bool":
                return ("bool", var, positive)
        if isinstance(e, n.Call) and e.func == "given" and e.args:
            return ("bool", f"given:{expr_text(e.args[0])}", positive)
        if isinstance(e, n.Call) and e.func == "has" and len(e.args) >= 2:
            group = expr_text(e.args[0])
            parts = [("bool", f"has:{group}:{expr_text(m)}", positive) for m in e.args[1:]]
            return ("or" if positive else "and", parts)
        return ("bool", f"?{expr_text(e)}", positive)

    def comparison(self, e: n.Comparison, positive: bool):
        op = e.op if positive else _NEGATE[e.op]
        for left, right, o in ((e.left, e.right, op), (e.right, e.left, _FLIP[op])):
            var = self.variable(left)
            if var is None:
                continue
            if var in self.domains and o in ("==", "!="):
                m = self.member(right)
                if m is not None:
                    return ("enum", var, frozenset([m]), o == "==")
            t = self.type_of(left)
            if t is not None and t.unit == "bool" and isinstance(right, n.Literal) and isinstance(right.value, bool) \
                    and o in ("==", "!="):
                return ("bool", var, right.value == (o == "=="))
            c = self.constant(right)
            if c is not None and var not in self.domains:
                return ("cmp", var, o, c)
        return None

    # -- satisfiability
    def satisfiable(self, *conditions) -> bool:
        goals = [self.nnf(c) for c in conditions if c is not None]
        return self._solve(goals, {}, {}, {})

    def _solve(self, goals: list, enums: dict, bools: dict, nums: dict) -> bool:
        while goals:
            g = goals.pop()
            kind = g[0]
            if kind == "true":
                continue
            if kind == "false":
                return False
            if kind == "and":
                goals.extend(g[1])
                continue
            if kind == "or":
                return any(self._solve(goals + [alt], dict(enums), dict(bools), dict(nums)) for alt in g[1])
            if kind == "enum":
                _, var, members, inside = g
                allowed = enums.get(var, self.domains.get(var, frozenset()))
                allowed = allowed & members if inside else allowed - members
                if not allowed:
                    return False
                enums[var] = allowed
            elif kind == "bool":
                _, var, value = g
                if bools.setdefault(var, value) != value:
                    return False
            elif kind == "cmp":
                _, var, op, c = g
                interval = nums.get(var) or _Interval.start(var in self.nonnegative, c)
                interval = interval.restrict(op, c)
                if interval is None:
                    return False
                nums[var] = interval
        return True


class _Interval:
    """The values a number may take: between lo and hi (open or closed ends), except some points."""

    __slots__ = ("lo", "lo_open", "hi", "hi_open", "ne")

    def __init__(self, lo, lo_open, hi, hi_open, ne):
        self.lo, self.lo_open, self.hi, self.hi_open, self.ne = lo, lo_open, hi, hi_open, ne

    @classmethod
    def start(cls, nonnegative: bool, sample):
        zero = type(sample)(0) if nonnegative and not hasattr(sample, "year") else None
        return cls(zero, False, None, False, frozenset())

    def restrict(self, op: str, c):
        lo, lo_open, hi, hi_open, ne = self.lo, self.lo_open, self.hi, self.hi_open, self.ne
        try:
            if op in (">", ">=", "=="):
                opened = op == ">"
                if lo is None or c > lo or (c == lo and opened):
                    lo, lo_open = c, opened
            if op in ("<", "<=", "=="):
                opened = op == "<"
                if hi is None or c < hi or (c == hi and opened):
                    hi, hi_open = c, opened
            if op == "!=":
                ne = ne | {c}
            if lo is not None and hi is not None:
                if lo > hi or (lo == hi and (lo_open or hi_open or lo in ne)):
                    return None
        except TypeError:  # values of different kinds: not decided here
            return self
        return _Interval(lo, lo_open, hi, hi_open, ne)


# ---------------------------------------------------------------- the warnings
def _warning(code: str, message: str, span, hint: str | None = None, related: tuple = ()):
    from medrules.diagnostics import Diagnostic
    return Diagnostic(code, message, span, hint, "warning", related)


def _choices(node, out: list) -> None:
    """Every ``{… when …}`` and ``highest {…}`` inside a node (outermost first)."""
    import attrs
    if isinstance(node, (n.Cases, n.Highest)):
        out.append(node)
    if isinstance(node, (tuple, list)):
        for x in node:
            _choices(x, out)
        return
    if attrs.has(type(node)) and not isinstance(node, (n.Citation, n.Label)) and not hasattr(node, "file"):
        for field in attrs.fields(type(node)):
            if field.name != "span":
                _choices(getattr(node, field.name), out)


def _case_warnings(c: _Conditions, choice, context: list, where: str) -> list:
    out = []
    earlier = []
    for i, case in enumerate(choice.cases):
        if not c.satisfiable(*context, case.when):
            out.append(_warning("dead-case", f"this case can never be chosen: '{expr_text(case.when)}' "
                                f"cannot hold{where}", case.span,
                                "remove the case, or correct its condition"))
        elif isinstance(choice, n.Cases) and earlier and not c.satisfiable(
                *context, case.when, *[n.Logic("not", (w,), w.span) for w in earlier]):
            out.append(_warning("shadowed-case", f"this case is shadowed: whenever '{expr_text(case.when)}' "
                                "holds, an earlier case holds too and is chosen first", case.span,
                                "cases are tried in order; put the narrower case first",
                                related=tuple(("an earlier case", x.span) for x in choice.cases[:i])))
        earlier.append(case.when)
    return out


def warnings(ck) -> list:
    """Provisions of a checked rulebook that can never take effect, as warnings (never fatal)."""
    c = _Conditions(ck)
    out = []
    rb = ck.rulebook
    for x in rb.exclusions:
        if not c.satisfiable(x.when):
            out.append(_warning("never-excludes", f"this exclusion can never apply: '{expr_text(x.when)}' "
                                "cannot hold", x.span, "check the condition's values and comparisons"))
    for t in rb.treatments:
        if not c.satisfiable(t.when):
            out.append(_warning("never-treats", f"this treatment can never apply: '{expr_text(t.when)}' "
                                "cannot hold", t.span))
    for p in rb.parameters:
        choices: list = []
        _choices(p.value, choices)
        for choice in choices:
            out += _case_warnings(c, choice, [], "")
    for fund in rb.funds:
        applies = (fund.clause(n.Applies) or [None])[0]
        context = [applies.when] if applies is not None else []
        if applies is not None and not c.satisfiable(applies.when):
            out.append(_warning("never-applies", f"fund '{fund.name}' can never apply: "
                                f"'{expr_text(applies.when)}' cannot hold", applies.span,
                                "check the condition's values and comparisons"))
            continue  # everything inside it is dead too: one warning says it
        with_fund = " together with the fund's condition" if applies is not None else ""
        for clause in fund.clauses:
            if isinstance(clause, n.Exclude) and not c.satisfiable(*context, clause.when):
                out.append(_warning("never-excludes", f"this exclusion can never apply: "
                                    f"'{expr_text(clause.when)}' cannot hold{with_fund}", clause.span,
                                    related=(("the fund's condition", applies.span),) if applies else ()))
            elif isinstance(clause, n.Adjust) and not c.satisfiable(*context, clause.when):
                out.append(_warning("never-adjusts", f"this adjustment can never apply: "
                                    f"'{expr_text(clause.when)}' cannot hold{with_fund}", clause.span,
                                    related=(("the fund's condition", applies.span),) if applies else ()))
            elif isinstance(clause, n.Deductible) and clause.when is not None and \
                    not c.satisfiable(*context, clause.when):
                out.append(_warning("never-deducts", f"this deductible can never apply: "
                                    f"'{expr_text(clause.when)}' cannot hold{with_fund}", clause.span))
            choices = []
            if not isinstance(clause, (n.Applies, n.Exclude)):
                _choices(clause, choices)
            extra = [clause.when] if isinstance(clause, n.Deductible) and clause.when is not None else []
            for choice in choices:
                out += _case_warnings(c, choice, context + extra, with_fund)
    return out
