"""The rulebooks a service settles with: every ``*.mr`` under a folder, loaded once.

A rulebook is named by its path under the folder without the suffix
(``quzhou/employee-2012``), the name the CLI accepts too. Each carries a content hash
of its text and of every rulebook it amends or layers on, so a stored decision says
exactly which version settled it.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import attrs

import medrules
from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import Program
from medrules.source import SourceFile


@attrs.frozen
class Rulebook:
    key: str
    program: Program
    digest: str  # sha256 over the texts of this rulebook and its bases
    sources: dict[str, SourceFile]  # every file read to load it, for quoting diagnostics

    @property
    def header(self):
        return self.program.checked.rulebook.header

    def title(self, lang: str) -> str:
        h = self.header
        return h.title.best(lang) if h.title else h.id


def load_one(path: Path, key: str) -> Rulebook:
    sources: dict[str, SourceFile] = {}

    def read(p):
        source = SourceFile.read(p)
        sources[source.name] = source
        return source
    program = medrules.load(path, read=read)
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].text.encode() + b"\0")
    return Rulebook(key, program, h.hexdigest(), sources)


@functools.lru_cache(maxsize=8)
def _load_folder(folder: Path, signature: tuple) -> dict[str, Rulebook]:
    """Loaded rulebooks are immutable: one load per folder and content (by file sizes and times)."""
    out = {}
    for path, _, _ in signature:
        key = Path(path).relative_to(folder).with_suffix("").as_posix()
        out[key] = load_one(Path(path), key)
    return out


class Rulebooks:
    """The shipped (or configured) rulebooks, by key."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise MedrulesError(error("io", f"no rulebook folder {self.folder}",
                                      hint="run from the repository, or pass --rulebooks FOLDER"))
        paths = sorted(self.folder.rglob("*.mr"))
        signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
        self.by_key: dict[str, Rulebook] = _load_folder(self.folder, signature)

    def get(self, key: str) -> Rulebook:
        try:
            return self.by_key[key]
        except KeyError:
            raise MedrulesError(error("rulebook", f"there is no rulebook '{key}'",
                                      hint="rulebooks: " + ", ".join(self.by_key))) from None

    def __iter__(self):
        return iter(self.by_key.values())
