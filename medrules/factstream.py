"""One member's facts file read a claim at a time, for ``medrules run`` on files of any number of claims.

:func:`medrules.facts.facts_from_source` holds the whole file and every claim (about 6.6 KB a claim in ``run``,
issue 13). Here the file is read twice, in blocks, and never held:

1. :func:`scan` reads it once, as :mod:`medrules.jsonfile` would (the same tokens, positions and messages), and
   checks every claim as :func:`medrules.facts.validate` does, keeping of each claim only a few numbers in
   arrays (:class:`Claims`: its date, where it is written, a hash of its id): 32 bytes a claim. The member,
   its opening values and histories are kept whole (they are bounded). Duplicate ids and claims outside the
   rulebook's effective period are found from the arrays, and every problem is reported, in the order
   ``validate`` and ``check_effective`` report them, before anything is settled.
2. :meth:`Claims.each` then reads the claims again one by one in date order (ties in file order), each from
   where it is written, to be settled and printed before the next is read.

The claims need not be in date order: they are sorted by their keys. Memory is that of the arrays (32 bytes a
claim) and one claim; a file is at most :data:`MAX_STREAM_BYTES` and :data:`MAX_STREAM_CLAIMS` claims.
"""
from __future__ import annotations

import bisect
import hashlib
import os
from array import array

import attrs

from medrules.diagnostics import Diagnostic, MedrulesError, error
from medrules.facts import MAX_DEPTH, Claim, Facts, claim_of, claims_of, head_of, opening_of
from medrules.jsonfile import _TOKEN, Located, _read, _string, _Syntax
from medrules.source import Span

MAX_STREAM_BYTES = 2 * 1024**3  # a facts file read a claim at a time: 2 GiB (some 12 million claims)
MAX_STREAM_CLAIMS = 10_000_000  # claims of one member: 320 MB of keys (32 bytes a claim)
MAX_VALUE_CHARS = 64 * 1024 * 1024  # one value (a claim, the member, a history) read whole: the facts bound
MAX_KEPT = 1000  # problems kept (a file of a million bad claims is not a million messages)
BLOCK = 1 << 20  # bytes read at a time
AHEAD = 1 << 20  # characters kept read ahead of the reader (a claim is a few hundred)


class _Text:
    """A piece of a file's text and where it stands in the file (the line and column of its first character;
    the byte offset of the character at ``mark``), so that spans are the file's."""

    def __init__(self, name: str, text: str, line: int = 1, col: int = 1, offset: int = 0):
        self.name, self.text, self.line0, self.col0 = name, text, line, col
        self.nl = [i for i, ch in enumerate(text) if ch == "\n"] if "\n" in text else []
        self.mark, self.mark_bytes = 0, offset

    def place(self, offset: int) -> tuple[int, int]:
        k = bisect.bisect_left(self.nl, offset)  # newlines before the offset
        return (self.line0, self.col0 + offset) if k == 0 else (self.line0 + k, offset - self.nl[k - 1])

    def span(self, start: int, end: int) -> Span:
        return Span(self.name, *self.place(start), *self.place(end))

    def byte(self, offset: int) -> int:
        """The byte offset in the file of the character at ``offset`` (at or after the last one asked for)."""
        piece = self.text[self.mark:offset]
        self.mark_bytes += len(piece) if piece.isascii() else len(piece.encode("utf-8"))
        self.mark = offset
        return self.mark_bytes


class _Stream(_Text):
    """A file's text read in blocks of bytes, decoded as UTF-8 (a byte-order mark dropped): only the part
    from the reader's position on is kept."""

    def __init__(self, f, name: str):
        super().__init__(name, "")
        self.f, self.eof, self.pending, self.first = f, False, b"", True

    def fill(self, pos: int, need: int = AHEAD) -> int:
        """Read on until ``need`` characters stand from ``pos`` (or the file ends); returns ``pos`` in the text
        as it then is (what stands before it is dropped)."""
        if self.eof or len(self.text) - pos >= need:
            return pos
        if pos > 0:
            self._drop(pos)
            pos = 0
        while not self.eof and len(self.text) - pos < need:
            data = self.pending + self.f.read(BLOCK)
            if len(data) == len(self.pending):
                self.eof = True
            cut = len(data) if self.eof else _whole(data)
            data, self.pending = data[:cut], data[cut:]
            try:
                piece = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._append(data[:exc.start].decode("utf-8"))
                line, col = self.place(len(self.text))
                raise MedrulesError(error("io", f"this is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                                          Span(self.name, line, col, line, col + 1),
                                          "save the file as UTF-8")) from None
            if self.first:  # utf-8-sig: a byte-order mark is not part of the text
                self.first = False
                if piece.startswith("\ufeff"):
                    piece, self.mark_bytes = piece[1:], 3
            self._append(piece)
        return pos

    def _append(self, piece: str) -> None:
        if "\n" in piece:
            base = len(self.text)
            self.nl += [base + i for i, ch in enumerate(piece) if ch == "\n"]
        self.text += piece

    def _drop(self, pos: int) -> None:
        self.byte(pos)
        self.line0, self.col0 = self.place(pos)
        k = bisect.bisect_left(self.nl, pos)
        self.nl = [i - pos for i in self.nl[k:]]
        self.text, self.mark = self.text[pos:], 0


def _whole(data: bytes) -> int:
    """The length of ``data`` without a UTF-8 sequence cut short at its end (read with the next block)."""
    for back in range(1, min(4, len(data)) + 1):
        b = data[-back]
        if b & 0xC0 == 0x80:  # a continuation byte: look further back for the sequence's first
            continue
        if b >= 0xC0:
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            return len(data) - back if back < need else len(data)
        return len(data)
    return len(data)


@attrs.define
class Claims:
    """What the scan keeps of each claim, in file order: its date (an ordinal), the byte offset and length where
    it is written, the line and column it starts at, and a hash of its id (32 bytes a claim)."""

    path: str
    ordinal: array = attrs.field(factory=lambda: array("i"))
    offset: array = attrs.field(factory=lambda: array("q"))
    length: array = attrs.field(factory=lambda: array("I"))
    line: array = attrs.field(factory=lambda: array("I"))
    col: array = attrs.field(factory=lambda: array("I"))
    ids: array = attrs.field(factory=lambda: array("q"))

    def __len__(self) -> int:
        return len(self.offset)

    def order(self):
        """The claims' indexes in date order, ties in file order (as ``settle`` sorts them)."""
        import numpy as np
        return np.argsort(np.frombuffer(self.ordinal, dtype=np.int32), kind="stable")

    def read(self, f, i: int, checked, problems: list[Diagnostic]) -> tuple[Claim, Located]:
        """Claim ``i`` read again from where it is written in ``f`` (the file, open in binary)."""
        f.seek(self.offset[i])
        text = f.read(self.length[i]).decode("utf-8")
        where = _Text(self.path, text, self.line[i], self.col[i])
        item, _ = _read(text, where.span, problems, MAX_DEPTH, self.path, where.place, None, None,
                        one_value=True, outer=2)
        return claim_of(item, i, checked, problems), item

    def each(self, f, checked):
        """The claims, checked, in date order, each read from ``f`` when it is asked for."""
        problems: list[Diagnostic] = []
        for i in self.order():
            try:
                claim, _ = self.read(f, int(i), checked, problems)
            except (_Syntax, UnicodeDecodeError):
                problems.append(None)
            if problems:  # it was scanned without a problem: the file changed since
                raise MedrulesError(error("io", f"{self.path} changed while it was read", None,
                                          "settle a file that nothing else is writing"))
            yield claim


def scan(f, name: str, program) -> tuple[Facts, Claims]:
    """Pass 1 over the open file ``f`` (binary): the member's facts without its claims, and the claims' keys.
    Raises MedrulesError with the problems :func:`medrules.facts.facts_from_source` and then ``check_effective``
    would report, in their order."""
    checked = program.checked
    s = _Stream(f, name)
    syntax: list[Diagnostic] = []  # strings that are not valid JSON or not safe to print (jsonfile's problems)
    problems: list[tuple] = []  # (claim index, 0, seq, diagnostic)
    late: list[tuple] = []  # (date, claim index, diagnostic): outside the effective period
    claims = Claims(name)
    last = (1, 1)  # where the last token started: a file that ends too soon is reported there

    def token(pos):
        """The next token from ``pos``: (kind, text, start, end), positions in the text as it then is."""
        nonlocal last
        pos = s.fill(pos, 4096)
        m = _TOKEN.match(s.text, pos)
        while not s.eof and len(s.text) - pos < MAX_VALUE_CHARS:  # it may go on in the next block
            if m is not None and m.end() < len(s.text):
                break
            if m is None:  # no token here, unless the text stops short of one (a long key, or whitespace)
                at = len(s.text) - len(s.text[pos:].lstrip(" \t\f\r\n"))
                if at < len(s.text) - 64 and not s.text.startswith('"', at):
                    break
            pos = s.fill(pos, len(s.text) - pos + BLOCK)
            m = _TOKEN.match(s.text, pos)
        if m is None:  # no token starts here: the first character that is not whitespace
            raise _Syntax(len(s.text) - len(s.text[pos:].lstrip(" \t\f\r\n")))
        kind = m.lastgroup
        if kind != "end":
            last = s.place(m.start(kind))
        return kind, m.group(kind), m.start(kind), m.end()

    def value(pos, outer):
        """One whole value from ``pos``: (the value, its end, its start), read ahead until it fits."""
        nonlocal last
        need = AHEAD
        while True:
            pos = s.fill(pos, need)
            kept = len(syntax)
            try:
                done, end = _read(s.text, s.span, syntax, MAX_DEPTH, name, s.place, None, None, pos=pos,
                                  one_value=True, outer=outer)
                if end - pos > MAX_VALUE_CHARS:
                    need = MAX_VALUE_CHARS
                elif end < len(s.text) or s.eof:
                    # its last token (a closing bracket, else the value itself) is where a file that ends
                    # right after it is reported, as when the file is read whole
                    close = len(s.text[:end].rstrip(" \t\f\r\n")) - 1
                    last = s.place(close if close >= pos and s.text[close] in "}]" else pos)
                    return done, end, pos
            except _Syntax as exc:
                if s.eof or not exc.at_end:
                    raise
            del syntax[kept:]
            if need >= MAX_VALUE_CHARS:
                raise MedrulesError(error("facts-size", f"this value is longer than {MAX_VALUE_CHARS:,} characters",
                                          Span(name, *s.place(pos)), "a claim is a few hundred characters"))
            need = min(need * 4, MAX_VALUE_CHARS)

    def early_end():
        return MedrulesError(error("facts-syntax", "this is not valid JSON", Span(name, *last),
                                   "check for a missing comma, quote or bracket just before here"))

    try:
        kind, tok, start, pos = token(0)
        if kind == "end":
            raise early_end()
        if tok != "{":  # not an object: read whole, then refused as validate refuses it
            doc, pos, _ = value(start, 0)
        else:
            first = s.place(start)
            top: dict[str, Located] = {}
            keys: dict[str, Span] = {}
            expect = "key_or_close"
            while True:
                kind, tok, start, pos = token(pos)
                if kind == "end":
                    raise early_end()
                if expect == "comma_or_close":
                    if tok == ",":
                        expect = "key"
                        continue
                    if tok != "}":
                        raise _Syntax(start)
                    break
                if kind != "string":
                    if tok == "}" and expect == "key_or_close":
                        break
                    raise _Syntax(start)
                at = s.span(start, pos)
                key = _string(tok, at, name, syntax)
                kind, tok, start, pos = token(pos)
                if kind == "end":
                    raise early_end()
                if tok != ":":
                    raise _Syntax(start)
                kind, tok, start, after = token(pos)
                if kind == "end":
                    raise early_end()
                if key == "claims" and tok == "[":
                    if "claims" in top:
                        raise MedrulesError(error("facts", "'claims' is given twice", at, "one list of claims"))
                    done, pos = _claims(s, token, value, early_end, s.place(start), after, program, claims, syntax,
                                        problems, late)
                else:
                    done, pos, _ = value(start, 1)
                top[key], keys[key] = done, at
                expect = "comma_or_close"
            doc = Located(top, Span(name, *first, *s.place(pos)), keys)
        kind, tok, start, pos = token(pos)
        if kind != "end":
            raise _Syntax(start)
    except _Syntax as exc:
        raise MedrulesError(error("facts-syntax", "this is not valid JSON", Span(name, *s.place(exc.offset)),
                                  "check for a missing comma, quote or bracket just before here")) from None
    if syntax:
        raise MedrulesError(syntax[:50])
    found: list[Diagnostic] = []
    member, member_id, histories = head_of(doc, checked, found)
    if claims_of(doc, checked, found) is not None:
        problems += _duplicates(f, claims, checked)
        problems.sort(key=lambda p: p[:3])
        found += [p[3] for p in problems[:MAX_KEPT]]
    opening, opening_spans = opening_of(doc.value, checked, found)
    if found:
        raise MedrulesError(found)
    if late:
        late.sort(key=lambda p: p[:2])
        raise MedrulesError([p[2] for p in late[:MAX_KEPT]])
    return Facts(name, member, member_id, (), opening, opening_spans, histories), claims


def _claims(s: _Stream, token, value, early_end, first: tuple[int, int], pos: int, program, claims: Claims,
            syntax: list, problems: list, late: list) -> tuple[Located, int]:
    """The 'claims' list after its '[': each claim checked and its keys kept. Returns the list, empty (its claims
    are read again when they are settled), and where it ends."""
    from medrules.evaluate import check_effective
    checked, dated_by = program.checked, program.dated_by
    i = 0
    kind, tok, start, after = token(pos)
    if kind == "end":
        raise early_end()
    if tok == "]":
        return Located([], Span(s.name, *first, *s.place(after))), after
    while True:
        if i >= MAX_STREAM_CLAIMS:
            raise MedrulesError(error("facts-size", f"this facts file holds more than {MAX_STREAM_CLAIMS:,} claims "
                                      "(here, the first one too many)", Span(s.name, *s.place(start)),
                                      "settle claim files in bulk with 'medrules settle RULEBOOK FILE --out "
                                      "results.parquet' (docs/batch.md)"))
        item, end, start = value(start, 2)
        begin = s.byte(start)
        mine: list[Diagnostic] = []
        claim = claim_of(item, i, checked, mine)
        if not syntax and len(problems) < MAX_KEPT:
            problems += [(i, 0, k, d) for k, d in enumerate(mine)]
        day = claim.values.get(dated_by)
        claims.ordinal.append(day.toordinal() if day is not None else 0)
        claims.offset.append(begin)
        claims.length.append(s.byte(end) - begin)
        line, col = s.place(start)
        claims.line.append(line)
        claims.col.append(col)
        claims.ids.append(_hash(claim.id))
        if day is not None and not mine and len(late) < MAX_KEPT:
            try:
                check_effective(program, [claim])
            except MedrulesError as exc:
                late.append((day.toordinal(), i, exc.diagnostics[0]))
        i += 1
        kind, tok, start, pos = token(end)
        if kind == "end":
            raise early_end()
        if tok == "]":
            return Located([], Span(s.name, *first, *s.place(pos))), pos
        if tok != ",":
            raise _Syntax(start)
        kind, tok, start, after = token(pos)
        if kind == "end":
            raise early_end()


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little",
                          signed=True)


def _duplicates(f, claims: Claims, checked) -> list[tuple]:
    """'claim id … is used twice' for every claim whose id an earlier claim has, at the claim, related to the
    latest earlier one (as validate reports them): found from the ids' hashes, confirmed on the claims read again."""
    import numpy as np
    if len(claims) < 2:
        return []
    ids = np.frombuffer(claims.ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    same = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if not len(same):
        return []
    suspects = sorted(set(order[same].tolist()) | set(order[same + 1].tolist()))
    out, seen = [], {}
    ignored: list[Diagnostic] = []
    for i in suspects:
        claim, item = claims.read(f, i, checked, ignored)
        if claim.id in seen:
            out.append((i, 1, 0, error("facts", f"claim id '{claim.id}' is used twice", item.span,
                                       related=(("first used here", seen[claim.id]),))))
        seen[claim.id] = item.span
        if len(out) >= MAX_KEPT:
            break
    return out


def open_facts(path) -> tuple[object, int]:
    """The facts file, opened for reading in binary (a regular file, not a system file: as
    :func:`medrules.cmdline.open_named` opens it), and its size. A file larger than :data:`MAX_STREAM_BYTES`
    is refused before it is read, pointing to ``medrules settle``."""
    from medrules.cmdline import open_named
    f = open_named(path, "facts")
    size = os.fstat(f.fileno()).st_size
    if size > MAX_STREAM_BYTES:
        f.close()
        raise MedrulesError(error("facts-size", f"{path} is {size:,} bytes; 'medrules run' reads a facts file of at "
                                  f"most {MAX_STREAM_BYTES:,} bytes", Span(str(path), 1, 1),
                                  "settle claim files in bulk with 'medrules settle RULEBOOK FILE --out "
                                  "results.parquet' (docs/batch.md)"))
    return f, size
