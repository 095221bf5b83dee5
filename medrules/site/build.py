"""``medrules docs``: a static site with each rulebook beside its policy text.

For each rulebook: its header and sources; every provision, highlighted (the Pygments lexer),
next to the paragraph of the policy text it quotes, the quote marked; the policy texts in full
with every quoted clause marked and linked back to its provision; its parameters' values
across the policy years of its folder; links between an amendment and the rulebook it amends
(and back), and to the scheme a supplement layers on.

Policy texts are plain ``.txt`` files: a rulebook's ``sources/`` folder beside it, and any
folder given with ``--sources``. A quote is found in them after normalising width (NFKC: full-width
punctuation as ASCII) and dropping white space; '…' in a quote separates pieces found in order.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import attrs

from medrules import nodes as n
from medrules.check.reachability import expr_text
from medrules.site.templates import environment


# ---------------------------------------------------------------- locating quotes
@attrs.frozen
class PolicyText:
    name: str  # file name, shown
    path: str
    text: str
    folded: str = attrs.field(repr=False)  # normalised, no white space
    index: tuple[int, ...] = attrs.field(repr=False)  # folded position -> position in text

    @classmethod
    def of(cls, path: Path) -> PolicyText:
        text = path.read_text(encoding="utf-8-sig")
        folded, index = [], []
        for i, ch in enumerate(text):
            for c in unicodedata.normalize("NFKC", ch):
                if not c.isspace():
                    folded.append(c)
                    index.append(i)
        return cls(path.name, str(path), text, "".join(folded), tuple(index))

    def find(self, quote: str) -> tuple[int, int] | None:
        """Where the quote stands in the text (start, end), its '…'-separated pieces in order."""
        pieces = [p for p in (_fold(x) for x in re.split(r"…|\.\.\.", quote)) if p]
        if not pieces:
            return None
        start = self.folded.find(pieces[0])
        while start >= 0:
            pos, ok = start + len(pieces[0]), True
            for p in pieces[1:]:
                at = self.folded.find(p, pos)
                if at < 0 or at - pos > 2000:  # pieces of one clause stay close together
                    ok = False
                    break
                pos = at + len(p)
            if ok:
                return self.index[start], self.index[pos - 1] + 1
            start = self.folded.find(pieces[0], start + 1)
        return None

    def paragraph(self, start: int, end: int) -> tuple[int, int]:
        """The paragraph (between blank lines, or lines) around a span, at most a few hundred characters more."""
        lo = self.text.rfind("\n", 0, start) + 1
        hi = self.text.find("\n", end)
        hi = len(self.text) if hi < 0 else hi
        return max(lo, start - 300), min(hi, end + 300)


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", s) if not c.isspace())


def policy_texts(folders: list[Path]) -> list[PolicyText]:
    seen, out = set(), []
    for folder in folders:
        for p in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            if p.resolve() not in seen:
                seen.add(p.resolve())
                out.append(PolicyText.of(p))
    return out


# ---------------------------------------------------------------- provisions
@attrs.frozen
class Provision:
    kind: str
    title: str
    node: object
    citation: n.Citation
    fund: str | None = None


def provisions(rb: n.Rulebook) -> list[Provision]:
    """Every statement that cites, in the order of the rulebook."""
    out = []
    h = rb.header
    if h is not None and h.effective_citation is not None:
        out.append(Provision("effective", "effective", h, h.effective_citation))
    if h is not None and h.day_count_citation is not None:
        out.append(Provision("day_count", f"days counted {h.day_count}", h, h.day_count_citation))
    for p in rb.parameters:
        if p.citation is not None:
            out.append(Provision("parameter", p.name, p, p.citation))
    for t in rb.treatments:
        if t.citation is not None:
            out.append(Provision("treat", f"treat {t.target.text} as {expr_text(t.value)}", t, t.citation))
    for x in rb.exclusions:
        if x.citation is not None:
            out.append(Provision("exclude", f"exclude: {x.reason.best('zh')}", x, x.citation))
    for f in rb.funds:
        if f.citation is not None:
            out.append(Provision("fund", f.name, f, f.citation, f.name))
        for c in f.clauses:
            cit = getattr(c, "citation", None)
            if cit is not None:
                kind = type(c).__name__.lower()
                out.append(Provision(kind, kind, c, cit, f.name))
    return out


# ---------------------------------------------------------------- pages
def slug(rulebook_id: str) -> str:
    return re.sub(r"[^\w.-]+", "-", rulebook_id).strip("-") + ".html"


def _code(node, files: dict[str, str]) -> str:
    """The rulebook lines a node was written on (its own file: an amended base's lines are the base's)."""
    span = node.span
    text = files.get(span.file)
    if text is None:
        try:
            text = files[span.file] = Path(span.file).read_text(encoding="utf-8-sig")
        except OSError:
            return ""
    lines = text.split("\n")
    last = span.end_line if span.end_line >= span.line else span.line
    if isinstance(node, (n.Fund, n.Header)):  # the opening lines only, not the whole body
        last = span.line + next((i for i, line in enumerate(lines[span.line - 1: last]) if "{" in line), 0)
    return "\n".join(lines[span.line - 1: last])


def _highlight(code: str) -> str:
    from markupsafe import Markup
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from medrules.highlight.lexer import MedrulesLexer
    return Markup(highlight(code, MedrulesLexer(), HtmlFormatter(nowrap=False, cssclass="highlight")))


def _segments(text: str, marks: list[tuple[int, int, str]]) -> list[tuple[str, str | None]]:
    """The text cut into plain and marked pieces (the template escapes them)."""
    out, pos = [], 0
    for start, end, anchor in sorted(marks):
        if start < pos:
            continue  # overlapping quotes: the first one marks it
        out.append((text[pos:start], None))
        out.append((text[start:end], anchor))
        pos = end
    out.append((text[pos:], None))
    return out


def _value_text(p: n.Parameter) -> str:
    return expr_text(p.value)


def build_site(programs: list, out: Path, source_folders: list[Path]) -> list[Path]:
    """Write the site; returns the pages written. ``programs`` are loaded rulebooks (medrules.Program)."""
    env = environment()
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    by_id = {p.checked.id: p for p in programs}
    texts_for: dict[str, list[PolicyText]] = {}
    written = []
    amended_by: dict[str, list[str]] = {}
    for p in programs:
        h = p.checked.rulebook.header
        if h.amends is not None:
            base = _amended_id(p, programs)
            if base:
                amended_by.setdefault(base, []).append(p.checked.id)
    years_of = policy_years(programs)

    from pygments.formatters import HtmlFormatter
    from markupsafe import Markup
    css = Markup(HtmlFormatter(cssclass="highlight").get_style_defs(".highlight"))  # our own CSS, not user text
    pages = []
    for p in programs:
        ck = p.checked
        rb, h = ck.rulebook, ck.rulebook.header
        folder = Path(ck.file).parent
        texts = texts_for.setdefault(str(folder), policy_texts([folder / "sources", *source_folders]))
        marks: dict[str, list] = {t.path: [] for t in texts}
        rows = []
        for i, prov in enumerate(provisions(rb)):
            cit = prov.citation
            found = None
            if cit.quote:
                for t in texts:
                    where = t.find(cit.quote)
                    if where is not None:
                        found = (t, where)
                        break
            anchor = f"q{i}"
            clause = None
            if found is not None:
                t, (start, end) = found
                marks[t.path].append((start, end, anchor))
                lo, hi = t.paragraph(start, end)
                clause = {"text": t.name, "before": t.text[lo:start], "quote": t.text[start:end],
                          "after": t.text[end:hi], "anchor": anchor}
            source = ck.sources.get(cit.source) if cit.source else None
            rows.append({"provision": prov, "anchor": anchor, "code": _highlight(_code(prov.node, files)),
                         "where": f"{prov.node.span.file}:{prov.node.span.line}",
                         "source": source.number if source and source.number else cit.source,
                         "citation": cit, "clause": clause})
        years = years_of[ck.id]
        parameters = [{"name": prm.name, "label": prm.label, "type": prm.type_name,
                       "by_year": [_param_in(v, prm.name) for v in years]} for prm in rb.parameters]
        texts_shown = [{"name": t.name, "segments": _segments(t.text, marks[t.path])} for t in texts if marks[t.path]]
        page = slug(ck.id)
        pages.append({"id": ck.id, "page": page, "title": h.title, "file": ck.file})
        html = env.get_template("rulebook.html").render(
            lang="zh", pygments_css=css, ck=ck, h=h, rows=rows, parameters=parameters,
            years=[{"id": v.checked.id, "page": slug(v.checked.id), "from": v.checked.rulebook.header.effective_from}
                   for v in years],
            amends=_link(_amended_id(p, programs), by_id), amended_by=[_link(x, by_id) for x in amended_by.get(ck.id, [])],
            layers_on=_link(ck.base.id if ck.base is not None else None, by_id), texts=texts_shown,
            unlocated=sum(1 for r in rows if r["citation"].quote and r["clause"] is None),
            quoted=sum(1 for r in rows if r["citation"].quote))
        (out / page).write_text(html, encoding="utf-8")
        written.append(out / page)
    index = env.get_template("index.html").render(lang="zh", pygments_css="", pages=pages)
    (out / "index.html").write_text(index, encoding="utf-8")
    written.append(out / "index.html")
    return written


def policy_years(programs: list) -> dict[str, list]:
    """Each rulebook's policy years: the rulebooks of its folder for the same scheme, by effective date,
    when their periods follow one another (overlapping ones, such as a students' period beside the
    residents' year, are separate schemes: each stands alone). A rulebook that states contributions only
    (it settles no claims) is not a policy year of the benefits beside it, as in ``medrules.versions``."""
    import datetime as dt
    groups: dict[tuple, list] = {}
    for p in programs:
        h = p.checked.rulebook.header
        settles = p.plan.top.total is not None
        groups.setdefault((str(Path(p.checked.file).parent), h.scheme or p.checked.id, settles), []).append(p)
    out = {}
    for group in groups.values():
        group.sort(key=lambda p: p.checked.rulebook.header.effective_from or dt.date.min)
        headers = [p.checked.rulebook.header for p in group]
        follows = all(a.effective_to is not None and b.effective_from is not None and a.effective_to < b.effective_from
                      for a, b in zip(headers, headers[1:]))
        for p in group:
            out[p.checked.id] = group if follows else [p]
    return out


def _param_in(program, name: str) -> str | None:
    try:
        return _value_text(program.checked.parameter(name))
    except KeyError:
        return None


def _amended_id(program, programs) -> str | None:
    h = program.checked.rulebook.header
    if h.amends is None:
        return None
    import medrules
    target = medrules.resolve_rulebook_path(Path(program.checked.file).parent / h.amends.path).resolve()
    for other in programs:
        if Path(other.checked.file).resolve() == target:
            return other.checked.id
    return h.amends.path


def _link(rulebook_id: str | None, by_id: dict) -> dict | None:
    if rulebook_id is None:
        return None
    return {"id": rulebook_id, "page": slug(rulebook_id) if rulebook_id in by_id else None}
