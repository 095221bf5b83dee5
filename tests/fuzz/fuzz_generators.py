"""Grammar-aware hypothesis strategies for rulebooks and facts files, and the CLI harness they run through.

* :func:`mutated_rulebooks`: a shipped rulebook with a few edits that a careless or hostile drafter
  makes (a token replaced by another the grammar knows, a literal made huge, negative, sub-fen or
  very fine, a line duplicated or dropped, a control character, a deep nesting, an ``amends`` of
  a file outside the root).
* :func:`generated_rulebooks`: rulebooks built statement by statement from the grammar (header,
  sources, enumerations, facts, parameters, accumulators, funds with random clauses and
  expressions), mostly well-formed, some not.
* :func:`facts_for`: facts files for a rulebook, generated from its declarations (members,
  parameters' neighbourhoods, pensions, dates, amounts), with hostile values mixed in.
* :func:`mutated_facts`: a shipped example's JSON with values replaced by hostile ones.

Every input runs through the command line's handler (typer's CliRunner); :func:`assert_sane`
checks there was no internal error and every diagnostic has a file:line:col.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import strategies as st
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent.parent
RULEBOOKS = sorted((ROOT / "rulebooks").rglob("*.mr"))
EXAMPLES = sorted((ROOT / "examples").glob("*.json")) + sorted((ROOT / "examples" / "membership").glob("*.json"))
MEMBERSHIP_EXAMPLES = {"qinhuangdao-integration-2017": "rulebooks/qinhuangdao-integration/integration-2017.mr",
                       "quzhou-employee-stopped-in-april": "rulebooks/quzhou/membership-2020.mr"}
KEYWORDS = ("rulebook", "fund", "base", "rate", "cap", "payments", "cost", "deductible", "per", "year", "claim",
            "bands", "up", "to", "above", "flat", "applies", "when", "otherwise", "and", "or", "not", "in",
            "accumulate", "cites", "note", "exclude", "because", "treat", "as", "highest", "amends", "layers",
            "on", "{", "}", "(", ")", ",", ":", "=", "==", "+", "-", "*", "/", "%", "|", ".", '"', "#")
LITERALS = ("0 yuan", "-800 yuan", "0.001 yuan", "123.465 yuan", "100000000000000000000000000 yuan",
            "0.000000000000000000000000000001 yuan", "99999999999 days", "9" * 60 + " days", "55%", "150%",
            "-5%", "5 points", "20% relative", "2012-02-30", "02-29", "9999-12-31", "0001-01-01", "1e99999",
            "NaN", '"\x1b[2J"', '"[/bold]"', '"\\ud800"')
HOSTILE_TEXT = ("\x1b[2J\x1b[31mPAID IN FULL", "[/bold]", "[link=https://x]C[/link]", "\ud800", "a\tb", "\u202e",
                "x" * 250, "", " ", "C1", "的", "\\", '"', "\x00")
HOSTILE_JSON = ("NaN", "Infinity", "-1", "1e99999", "100000000000000000000000000.00", "0.001", "[]", "{}", "null",
                "true", '"9999-06-01"', '"0001-01-01"', '"2012-02-30"', '"1899-12-31"', '"2101-01-01"', '"55"',
                '"1e3"', '"-0.00"', '"0x10"', '"1_000"', '"١٢"', "[" * 40 + "]" * 40, '"\\q"', '"\\ud800"',
                '"\\u001b[2J"', "12345678901234567890")

# ---------------------------------------------------------------- the harness
LOCATED = re.compile(r"^(?P<where>\S.*?):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>[\w-]+)\]")
DIAGNOSTIC = re.compile(r"error\[(?P<code>[\w-]+)\]:")


def run_cli(*args) -> object:
    from medrules.cli import app
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_sane(result, what: str = "") -> dict[str, int]:
    """No internal error, no traceback, and a file:line:col on every diagnostic. Returns the codes seen."""
    out = result.output
    assert result.exit_code in (0, 1), f"{what}: exit {result.exit_code}\n{out[-3000:]}"
    assert "internal error" not in out and "Traceback" not in out, f"{what}\n{out[-3000:]}"
    assert "\x1b[2J" not in out, f"{what}: a raw escape reached the terminal\n{out[-2000:]}"
    codes: dict[str, int] = {}
    for line in out.splitlines():
        m = DIAGNOSTIC.search(line)
        if m is None or not line.lstrip().startswith(line[: m.start()].lstrip()) or "|" in line[: m.start()]:
            continue
        codes[m["code"]] = codes.get(m["code"], 0) + 1
        assert LOCATED.match(line), f"{what}: a diagnostic without file:line:col: {line}\n{out[-2000:]}"
    return codes


# ---------------------------------------------------------------- rulebooks
@st.composite
def mutated_rulebooks(draw, texts: tuple[str, ...] | None = None) -> str:
    """A shipped rulebook (no 'amends'/'layers on', which need their neighbours) with 1–4 edits."""
    texts = texts or _standalone_texts()
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        text = draw(_mutation(text))
    return text


def _standalone_texts() -> tuple[str, ...]:
    return tuple(t for t in (p.read_text("utf-8") for p in RULEBOOKS)
                 if not re.search(r"^\s*(amends|layers on)\b", t, re.M))


@st.composite
def _mutation(draw, text: str) -> str:
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(("token", "literal", "delete", "duplicate", "swap", "char", "deep", "amends",
                                 "number", "under")))
    line = lines[i]
    if kind == "token" and line:
        j = draw(st.integers(0, len(line)))
        lines[i] = line[:j] + " " + draw(st.sampled_from(KEYWORDS)) + " " + line[j:]
    elif kind == "literal":
        j = draw(st.integers(0, len(line)))
        lines[i] = line[:j] + draw(st.sampled_from(LITERALS)) + line[j:]
    elif kind == "number":  # change a literal's number in place: keeps the statement well-formed
        numbers = list(re.finditer(r"\d[\d_]*(\.\d+)?", line))
        if numbers:
            m = draw(st.sampled_from(numbers))
            new = draw(st.sampled_from(("0", "0.001", "123.465", "1" + "0" * 30, "-1", "10", "0.010", "1.0", "29",
                                        "13", "99999999999")))
            lines[i] = line[:m.start()] + new + line[m.end():]
    elif kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, line)
    elif kind == "swap":
        k = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[k] = lines[k], lines[i]
    elif kind == "char":
        j = draw(st.integers(0, len(line)))
        ch = draw(st.sampled_from(("\x1b", "\x00", "\x07", "\u202e", "\ufeff", "\r", "\t", "％", "\\", "\ud800")))
        lines[i] = line[:j] + ch + line[j:]
    elif kind == "deep":
        n = draw(st.sampled_from((50, 99, 150, 500)))
        what = draw(st.sampled_from(("(" * n + "1 yuan" + ")" * n, "not " * n + "true", "-" * n + "1 yuan",
                                     " or ".join(["true"] * n))))
        j = draw(st.integers(0, len(line)))
        lines[i] = line[:j] + what + line[j:]
    elif kind == "under" and re.search(r'under (highest of )?"', text):  # round 2: a membership's rulebooks
        target = draw(st.sampled_from(("/etc/passwd", "/proc/self/environ", "/dev/zero", "../../../etc/hostname",
                                       "", "missing.mr", "a" * 300 + ".mr", ".", "[/bold].mr", "\x1b[2J.mr")))
        return re.sub(r'(under (?:highest of )?)"[^"]*"', lambda m: m.group(1) + json.dumps(target, ensure_ascii=False),
                      text, count=1)
    elif kind == "amends":
        target = draw(st.sampled_from(("/etc/passwd", "/proc/self/environ", "/dev/zero", "../../../etc/hostname",
                                       "", "missing.mr", "a" * 300 + ".mr")))
        text = "\n".join(lines)
        return text.replace("{", "{\n  amends \"" + target + "\"", 1)
    return "\n".join(lines)


# A small grammar of statements: most combinations are valid rulebooks, some are not.
class _Flag:
    value = False


_HOSTILE = _Flag()  # whether the rulebook being drawn may contain mistakes


def pick(draw, valid: tuple, bad: tuple):
    """A valid choice, or (in a rulebook drawn to have mistakes) sometimes a bad one."""
    return draw(st.sampled_from(valid + bad if _HOSTILE.value else valid))

_ENUMS = {"kind": ("outpatient", "inpatient"), "category": ("working", "retired")}
_MONEY_REFS = ("claim.cost", "claim.extra", "member.pension", "p_money")
_HISTORY_CONDS = ("any(period, period.paid and claim.date >= period.start)", "count(period, period.paid) >= 2",
                  "not any(period, period.start > claim.date)")
_CONDS = ("claim.kind == inpatient", "claim.kind == outpatient", "member.category == retired", "claim.urgent",
          "not claim.urgent", "claim.cost > p_money", "claim.date >= 2012-06-01", "member.age >= 60",
          "claim.days > 3 days")


@st.composite
def money_expr(draw, depth: int = 0):
    choices = ["ref", "lit"] + (["bin", "cases", "paren", "neg"] if depth < 3 else [])
    kind = draw(st.sampled_from(choices))
    if kind == "ref":
        return draw(st.sampled_from(_MONEY_REFS))
    if kind == "lit":
        return pick(draw, ("0 yuan", "100 yuan", "1_500 yuan", "0.5 yuan", "12.34 yuan", "200_000 yuan"),
                    ("-50 yuan", "0.001 yuan"))
    if kind == "bin":
        op = draw(st.sampled_from(("+", "-")))
        if draw(st.booleans()):
            return f"{draw(money_expr(depth + 1))} * {draw(st.sampled_from(('10%', '50%', 'p_rate', '2')))}"
        return f"{draw(money_expr(depth + 1))} {op} {draw(money_expr(depth + 1))}"
    if kind == "cases":
        return "{ " + f"{draw(money_expr(depth + 1))} when {draw(st.sampled_from(_CONDS))}, otherwise " \
            f"{draw(money_expr(depth + 1))}" + " }"
    if kind == "neg":
        return f"-{draw(money_expr(depth + 1))}"
    return f"({draw(money_expr(depth + 1))})"


@st.composite
def _fund(draw, index: int) -> str:
    name = f"f{index}"
    clauses = [f"base {draw(money_expr())}"]
    if draw(st.booleans()):
        clauses.insert(0, f"applies when {draw(st.sampled_from(_CONDS))}")
    how = draw(st.sampled_from(("rate", "rate_cases", "bands", "flat")))
    accs = []
    if how == "rate":
        clauses.append(f"rate {draw(st.sampled_from(('0%', '50%', '100%', '85.5%', 'p_rate')))}")
    elif how == "rate_cases":
        clauses.append("rate { 90% when claim.kind == inpatient, otherwise 50% }")
    elif how == "bands":
        accs.append(f"accumulate cost in {name}_cost")
        edge = pick(draw, ("10_000 yuan", "25_000 yuan"), ("p_money", "0.5 yuan"))
        clauses.append(f"bands on {name}_cost {{ up to {edge}: 60%, above {edge}: 80% }}")
    else:
        clauses.append(f"flat {pick(draw, ('800 yuan', '0 yuan', 'p_money'), ('-800 yuan', '12.345 yuan'))}")
    if how != "flat" and draw(st.booleans()):
        per = pick(draw, ("claim", "year", "admission"), ("month",))
        if per == "year":
            accs.append(f"accumulate deductible in {name}_ded")
        clauses.append(f"deductible {pick(draw, ('300 yuan', 'p_money'), ('0.001 yuan', '-1 yuan'))} per {per}")
    if draw(st.booleans()):
        amount = pick(draw, ("160_000 yuan", "p_money", "member.pension * 10%", "0 yuan", "100 yuan"), ("100.5 yuan",))
        if draw(st.booleans()):
            clauses.append(f"cap payments at {amount} per claim")
        else:
            accs.append(f"accumulate payments in {name}_paid")
            clauses.append(f"cap payments at {amount}")
    if index and draw(st.booleans()):
        clauses[-1 if how == "flat" else 0] = clauses[-1 if how == "flat" else 0]
        clauses.append(f"cap payments at f{index - 1}.paid + 1 yuan per claim")
    if draw(st.integers(0, 3)) == 0:  # a declared cliff (round 2), with its own quote or, hostile, without
        quote = pick(draw, (' cites S at "一" "超过限额的不予支付"',), ("",))
        cond = draw(st.sampled_from(_CONDS + _HISTORY_CONDS))
        clauses.append(f'cliff when {cond} because "断崖" | "a cliff"{quote}')
    body = "\n".join("  " + c for c in accs + clauses)
    return f'fund {name} cites S "第{index + 1}条" {{\n{body}\n}}', [a.split()[-1] for a in accs]


@st.composite
def generated_rulebooks(draw) -> str:
    hostile = draw(st.integers(0, 3)) == 0  # one rulebook in four has mistakes in it; the others settle
    _HOSTILE.value = hostile
    mode = pick(draw, ("half_up", "half_even", "down", "up"), ("nearest",))
    quantum = pick(draw, ("0.01", "0.01", "0.1", "1", "10", "0.010", "1.0"), ("0.05", "0.001"))
    start = pick(draw, ("01-01", "01-01", "07-01"), ("02-29", "13-01"))
    head = (f'rulebook "fuzz/generated" {{\n  effective from 2012-01-01\n  year starts {start} by claim.date\n'
            f'  rounding {mode} to {quantum} yuan per payment\n}}\n'
            'source S { number "S-1" }\n'
            'enum kind {\n  outpatient "门诊" | "outpatient"\n  inpatient "住院" | "inpatient"\n}\n'
            'enum category {\n  working "在职" | "working"\n  retired "退休" | "retired"\n}\n'
            'facts member {\n  id: text\n  category: category\n  pension: money = 0 yuan\n  age: count = 40\n}\n'
            'facts claim {\n  id: text\n  date: date\n  kind: kind\n  cost: money\n  extra: money = 0 yuan\n'
            '  urgent: bool = false\n  days: days = 0 days\n}\n')
    params = (f'parameter p_money: money = {pick(draw, ("1_000 yuan", "0 yuan", "999_999 yuan", "3.5 yuan"), ("0.5 yuan",))}'
              ' cites S "附件"\n'
              f'parameter p_rate: rate = {draw(st.sampled_from(("50%", "100%", "0%", "85%")))} cites S "附件"\n')
    funds, accs = [], []
    for i in range(draw(st.integers(1, 4))):
        text, names = draw(_fund(i))
        funds.append(text)
        accs += names
    acc_decl = "".join(f"accumulator {a}: money per year\n" for a in accs)
    total = draw(st.sampled_from(("claim.cost", "claim.cost + claim.extra", "claim.cost - claim.extra")))
    # round 2's constructs: a history of records (facts period), 'recover when' (the fund pays first)
    history = 'facts period {\n  start: date\n  paid: bool = false\n  months: months = 0 months\n}\n'
    tail = ""
    if draw(st.booleans()):
        cond = draw(st.sampled_from(("claim.urgent", "claim.kind == inpatient") + _HISTORY_CONDS))
        quote = pick(draw, (' cites S at "三" "基金先行支付"',), ("", ' cites T at "三" "x"'))
        tail = f'\nrecover when {cond}\n  because "第三人不支付" | "the third party does not pay"{quote}\n'
    return head + history + params + acc_decl + "\n".join(funds) + f"\ntotal cost is {total}\n" + tail


# ---------------------------------------------------------------- facts
def _json_value_for(unit: str, draw, name: str, hostile_ok: bool = True):
    hostile = hostile_ok and draw(st.integers(0, 9)) == 0
    if hostile:
        return json.loads(draw(st.sampled_from(HOSTILE_JSON[:8]))) if draw(st.booleans()) else draw(
            st.sampled_from(HOSTILE_TEXT))
    if unit == "money":
        return str(draw(st.decimals(0, 400_000, places=2, allow_nan=False, allow_infinity=False)))
    if unit == "date":
        return draw(st.dates(min_value=__import__("datetime").date(1930, 1, 1),
                             max_value=__import__("datetime").date(2030, 12, 31))).isoformat()
    if unit in ("days", "months"):
        return draw(st.integers(0, 400))
    if unit == "count":
        return draw(st.integers(0, 120))
    if unit == "bool":
        return draw(st.booleans())
    if unit in ("rate", "relpct"):
        return f"{draw(st.integers(0, 100))}%"
    if unit == "points":
        return f"{draw(st.integers(0, 20))} points"
    if unit == "text":
        return draw(st.text(min_size=1, max_size=12).filter(str.isprintable))
    return None


@st.composite
def facts_for(draw, checked, hostile: bool = True) -> str:
    """A facts file for a rulebook: members, claims and their dates from the rulebook's own declarations
    (enumerations, sets, optional facts), amounts across caps and bands, and sometimes hostile values."""
    import datetime as dt
    effective = checked.rulebook.header.effective_from
    dated_by = checked.rulebook.header.dated_by.text.split(".")[-1] if checked.rulebook.header.dated_by else "date"

    def record(kind: str, index: int = 0) -> dict:
        out = {}
        for name, field in checked.records.get(kind, {}).items():
            t = checked.field_types.get(field)
            if t is None:
                continue
            optional = field in checked.optional or field.default is not None
            if optional and draw(st.booleans()):
                continue
            if name == "id":
                out[name] = f"C{index}" if kind == "claim" else "M1"
            elif kind == "claim" and name == dated_by:
                out[name] = (effective + dt.timedelta(days=draw(st.integers(0, 364)))).isoformat()
            elif t.unit == "enum":
                out[name] = draw(st.sampled_from([m.name for m in checked.enums[t.enum].members]))
            elif t.unit == "set":
                members = [m.name for m in checked.enums[t.enum].members]
                out[name] = draw(st.lists(st.sampled_from(members), max_size=2, unique=True))
            else:
                out[name] = _json_value_for(t.unit, draw, name, hostile)
        return out

    doc = {"member": record("member"), "claims": [record("claim", i + 1) for i in range(draw(st.integers(1, 5)))]}
    from medrules.check.declarations import history_key
    for kind in checked.records:
        if kind not in ("member", "claim", "household"):  # a history: a list of records (round 2)
            doc[history_key(kind)] = [record(kind) for _ in range(draw(st.integers(0, 3)))]
    return json.dumps(doc, ensure_ascii=draw(st.booleans()))


@st.composite
def mutated_facts(draw) -> tuple[Path, str]:
    """A shipped example with 1–3 values replaced by hostile ones (or its text cut or spliced)."""
    path = draw(st.sampled_from(EXAMPLES))
    text = path.read_text("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        values = list(re.finditer(r'(?<=: )("(?:[^"\\]|\\.)*"|-?\d[\d.]*|true|false|null|\[[^\[\]]*\])', text))
        kind = draw(st.sampled_from(("value", "value", "value", "cut", "splice")))
        if kind == "value" and values:
            m = draw(st.sampled_from(values))
            new = draw(st.sampled_from(HOSTILE_JSON + tuple(json.dumps(t) for t in HOSTILE_TEXT)))
            text = text[:m.start()] + new + text[m.end():]
        elif kind == "cut":
            j = draw(st.integers(0, len(text)))
            text = text[:j]
        else:
            j = draw(st.integers(0, len(text)))
            text = text[:j] + draw(st.sampled_from(("\x1b", "\t", "\\", '"', "{", "]", ",", "\x00", "\ud800"))) \
                + text[j:]
    return path, text
