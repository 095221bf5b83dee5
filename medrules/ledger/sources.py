"""What the ledger settles: rulebooks with content hashes, and facts as given (canonical JSON).

A rulebook version has two hashes. ``hash``: the SHA-256 of the source texts read to build it (the
file itself, the rulebooks it amends and the scheme it layers on, in the order they were read) — the
provenance. ``plan_hash``: the SHA-256 of what settles a claim — the lowered plan (operations, folded
parameters, rounding, dates) and the facts it reads (types, defaults, optional facts, enumerations),
without positions, wording or citations — so that a reformatted or re-commented file, or a corrected
citation, settles as the same version, and a decision is re-settled only when the rules changed.

Facts are kept as given: parsed with the facts reader (numbers stay the exact decimals written),
written back as canonical JSON (sorted keys, numbers unquoted as written).
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import attrs

import medrules
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import Program
from medrules.facts import Located, read_json
from medrules.source import SourceFile


@attrs.frozen
class Version:
    program: Program
    hash: str  # the source texts
    files: tuple[str, ...]  # every file read to build it, in order
    plan_hash: str = ""  # what settles a claim (see the module's docstring)

    def __attrs_post_init__(self):
        if not self.plan_hash:
            object.__setattr__(self, "plan_hash", plan_fingerprint(self.program))


@attrs.frozen
class Rulebooks:
    """One rulebook, or a folder of policy years (each claim settled under the version in force), or a
    membership rulebook (each claim settled under the scheme of its date): its schemes' rulebooks first,
    the membership rulebook last."""

    name: str
    versions: tuple[Version, ...]
    rulebook_set: object = None  # medrules.versions.RulebookSet for a folder
    membership: object = None  # medrules.membership.MembershipSet for a membership rulebook

    def version(self, program: Program) -> Version:
        return next(v for v in self.versions if v.program is program)


class _Recorder:
    def __init__(self, read):
        self.base_read, self.files = read, []

    def __call__(self, path) -> SourceFile:
        source = self.base_read(path)
        self.files.append(source)
        return source


def digest(parts: list[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def load_rulebook(path: str | Path, read=SourceFile.read) -> Version:
    rec = _Recorder(read)
    program = medrules.load(path, read=rec)
    return Version(program, digest([s.text for s in rec.files]), tuple(s.name for s in rec.files))


_LOADED: dict[str, tuple[tuple, Rulebooks]] = {}


def load_rulebooks(path: str | Path, read=SourceFile.read) -> Rulebooks:
    """A rulebook file or a folder of policy years, with each version's content hash.

    With the default ``read`` (files read as they are), loaded once per process, and again when any file
    it was built from (or the folder's list of files) changes. A caller's own ``read`` (one that records
    the files for quoting, or names them relative to a folder) is called every time: what it returns may
    differ from what the files hold or are named, so it is never answered from, nor stored in, the cache."""
    if read != SourceFile.read:  # (a bound classmethod: equal, not identical, on each access)
        return _load_rulebooks(path, read)
    key = str(Path(path).resolve())
    if key in _LOADED:
        stamp, rb = _LOADED[key]
        if stamp == _stamp(path, rb):
            return rb
    rb = _load_rulebooks(path, read)
    _LOADED[key] = (_stamp(path, rb), rb)
    return rb


def _stamp(path, rb: Rulebooks) -> tuple:
    """The files a loaded rulebook rests on and their contents' hashes (small files: read, not trusted by date)."""
    files = [f for v in rb.versions for f in v.files]
    p = medrules.resolve_rulebook_path(path)
    if p.is_dir():
        files += sorted(str(q) for q in p.glob("*.mr"))
    out = []
    for f in files:
        try:
            out.append((f, hashlib.sha256(Path(f).read_bytes()).hexdigest()))
        except OSError:
            out.append((f, None))
    return tuple(out)


def _load_rulebooks(path: str | Path, read) -> Rulebooks:
    p = medrules.resolve_rulebook_path(path)
    if not p.is_dir():
        version = load_rulebook(p, read)
        if version.program.plan.top.memberships:
            return _load_membership(path, p, version, read)
        return Rulebooks(str(path), (version,))
    from medrules.versions import load_set
    cache: dict[str, SourceFile] = {}
    paths: dict[str, Path] = {}  # a source's name (as ``read`` named it) -> the path it was read from

    def cached(q):
        if str(q) not in cache:
            cache[str(q)] = read(q)
            paths.setdefault(cache[str(q)].name, Path(q))
        return cache[str(q)]

    rs = load_set(p, read=cached)  # checks the versions fit together (no overlaps, one dating rule)
    versions = []
    for program in rs.versions:
        rec = _Recorder(cached)
        # the same files again, from the cache: which ones (by path: ``read`` may have renamed them)
        medrules.load(paths.get(program.checked.file, program.checked.file), read=rec)
        versions.append(Version(program, digest([s.text for s in rec.files]), tuple(s.name for s in rec.files)))
    return Rulebooks(str(path), tuple(versions), rs)


def _load_membership(name, p: Path, router: Version, read) -> Rulebooks:
    """A membership rulebook and the schemes' rulebooks it routes claims to, each with its hashes."""
    from medrules.membership import load_membership
    root = medrules.rulebook_root(p)
    recorded: list[tuple[Path, SourceFile]] = []

    def remember(q):
        source = read(q)
        recorded.append((Path(q), source))
        return source

    ms = load_membership(router.program, read=remember, root=root, path=p)
    by_name = {source.name: (q, source) for q, source in recorded}
    cache = {str(q): source for q, source in recorded}
    versions = []
    for program in ms.programs:  # the same files again, from what was read: which ones each scheme rests on
        rec = _Recorder(lambda q: cache[str(q)] if str(q) in cache else read(q))
        medrules.load(by_name.get(program.checked.file, (program.checked.file,))[0], read=rec, root=root)
        versions.append(Version(program, digest([s.text for s in rec.files]), tuple(s.name for s in rec.files)))
    return Rulebooks(str(name), (*versions, router), None, ms)


def plan_fingerprint(program: Program) -> str:
    """SHA-256 of the rules that settle a claim: the plan and the facts it reads, no positions or wording."""
    out: list[str] = []
    _fingerprint(program.plan, out)
    for layer in program.plan.layers:
        ck = layer.checked
        out.append(f"|facts of {layer.prefix}:")
        for kind in sorted(ck.records):
            for name in sorted(ck.records[kind]):
                field = ck.records[kind][name]
                default = None if field.default is None else _expr_text(field.default)
                out.append(f"{kind}.{name}:{ck.field_types[field]}:{field in ck.optional}:{default};")
        for name in sorted(ck.enums):
            out.append(f"enum {name}:" + ",".join(m.name for m in ck.enums[name].members) + ";")
    return hashlib.sha256("".join(out).encode("utf-8")).hexdigest()


def _expr_text(expr) -> str:
    from medrules.explain.formula import source_text
    return source_text(expr)


def _fingerprint(x, out: list[str]) -> None:  # noqa: C901 - one case per kind of value
    if attrs.has(type(x)):
        if type(x).__module__ == "medrules.nodes":
            return  # positions, wording, citations: provenance, not rules
        out.append(type(x).__name__ + "(")
        for f in attrs.fields(type(x)):
            if f.name in ("node", "checked"):
                continue
            out.append(f.name + "=")
            _fingerprint(getattr(x, f.name), out)
            out.append(",")
        out.append(")")
    elif isinstance(x, dict):
        out.append("{")
        for k in sorted(x, key=str):
            out.append(f"{k}:")
            _fingerprint(x[k], out)
            out.append(",")
        out.append("}")
    elif isinstance(x, (list, tuple)):
        out.append("[")
        for item in x:
            _fingerprint(item, out)
            out.append(",")
        out.append("]")
    elif isinstance(x, (set, frozenset)):
        out.append("{" + ",".join(sorted(map(str, x))) + "}")
    elif isinstance(x, Decimal):
        out.append(f"D{x}")
    else:
        out.append(f"{type(x).__name__}:{x!r}")


# ---------------------------------------------------------------- facts as given
def as_given(doc: Located):
    """A facts document as plain values: objects, lists, strings, exact Decimals, booleans, None."""
    v = doc.value
    if isinstance(v, dict):
        return {k: as_given(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_given(x) for x in v]
    return v


def canonical(value, indent: int | None = None, _depth: int = 0) -> str:
    """JSON with sorted keys; decimals written as given (``50000.00`` stays ``50000.00``), never floats."""
    pad = "" if indent is None else "\n" + " " * (indent * (_depth + 1))
    end = "" if indent is None else "\n" + " " * (indent * _depth)
    sep = "," if indent is None else ","
    colon = ":" if indent is None else ": "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}{colon}{canonical(value[k], indent, _depth + 1)}"
                 for k in sorted(value)]
        return "{" + sep.join(items) + end + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[" + sep.join(f"{pad}{canonical(x, indent, _depth + 1)}" for x in value) + end + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def read_facts(source: SourceFile) -> dict:
    """The facts document as given; only its shape is checked here (the rulebook checks the rest)."""
    doc = read_json(source)
    value = as_given(doc)
    member = value.get("member") if isinstance(value, dict) else None
    if not isinstance(member, dict) or not isinstance(member.get("id"), str) or not member["id"]:
        span = doc.span if not isinstance(doc.value, dict) or "member" not in doc.value else doc.value["member"].span
        raise MedrulesError(error("facts", "the ledger needs the member's id: {\"member\": {\"id\": \"…\"}}", span))
    claims = value.get("claims")
    if not isinstance(claims, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str) for c in claims):
        raise MedrulesError(error("facts", "the ledger needs a list of claims, each with an \"id\"",
                                  doc.value["claims"].span if "claims" in doc.value else doc.span))
    return value


def merge(stored: dict | None, incoming: dict) -> dict:
    """The member's facts after this file: its member record and opening values (if it gives them)
    replace the stored ones; its claims replace stored claims of the same id, and new claims are added."""
    if stored is None or stored["member"]["id"] != incoming["member"]["id"]:
        return incoming
    merged = dict(stored) | {k: v for k, v in incoming.items() if k != "claims"}
    claims = {c["id"]: c for c in stored.get("claims", [])}
    claims.update({c["id"]: c for c in incoming["claims"]})
    merged["claims"] = list(claims.values())
    return merged
