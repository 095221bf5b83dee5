"""The rulebooks a service settles with: every ``*.mr`` under a folder, loaded once.

A rulebook is named by its path under the folder without the suffix
(``quzhou/employee-2012``), the name the CLI accepts too. Each is loaded by the ledger's
loader (:func:`medrules.ledger.load_rulebooks`), so it carries the same content hash the
ledger records with every decision (its text and every rulebook it amends or layers on).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import attrs

from medrules.diagnostics import MedrulesError, error
from medrules.evaluate import Program
from medrules.ledger import Rulebooks as LedgerRulebooks
from medrules.ledger.sources import load_rulebooks
from medrules.source import SourceFile


@attrs.frozen
class Rulebook:
    key: str
    loaded: LedgerRulebooks  # what the ledger settles with
    sources: dict[str, SourceFile]  # every file read to load it, for quoting diagnostics

    @property
    def program(self) -> Program:
        return self.loaded.versions[-1].program

    @property
    def digest(self) -> str:
        return self.loaded.versions[-1].hash

    @property
    def years(self) -> bool:
        """A folder of policy years, rather than one rulebook."""
        return self.loaded.rulebook_set is not None

    def version(self, digest: str):
        """The program of one of its versions, by content hash."""
        return next((v.program for v in self.loaded.versions if v.hash == digest), None)

    @property
    def header(self):
        return self.program.checked.rulebook.header

    def title(self, lang: str) -> str:
        h = self.header
        return h.title.best(lang) if h.title else h.id


def load_one(path: Path, key: str, root: Path | None = None) -> Rulebook:
    """Files are named relative to ``root`` (the rulebook folder's parent), as the CLI names them when
    run from the repository: ``rulebooks/quzhou/employee-2012.mr``, wherever the service runs.

    Loaded with the ledger's loader (:func:`medrules.ledger.load_rulebooks`) and this naming ``read``,
    so a decision carries the content hash the ledger records; ``sources`` keeps every file read."""
    sources: dict[str, SourceFile] = {}

    def read(p):
        source = SourceFile.read(p)
        if root is not None:
            try:
                source = SourceFile(Path(os.path.relpath(Path(p).resolve(), root)).as_posix(), source.text)
            except ValueError:  # another drive
                pass
        sources[source.name] = source
        return source

    return Rulebook(key, load_rulebooks(path, read=read), sources)


@functools.lru_cache(maxsize=8)
def _load_folder(folder: Path, signature: tuple) -> dict[str, Rulebook]:
    """Loaded rulebooks are immutable: one load per folder and content (by file sizes and times)."""
    out = {}
    for path, _, _ in signature:
        key = Path(path).relative_to(folder).with_suffix("").as_posix()
        out[key] = load_one(Path(path), key, folder.resolve().parent)
    # a folder of policy years (versions that follow each other): settled claim by claim under the
    # version in force on its date; folders whose rulebooks overlap are not sets and are left out
    parents = sorted({Path(p).parent for p, _, _ in signature})
    for parent in parents:
        if parent == folder or len(list(parent.glob("*.mr"))) < 2:
            continue
        try:
            out[parent.relative_to(folder).as_posix()] = load_one(parent, parent.relative_to(folder).as_posix(),
                                                                 folder.resolve().parent)
        except MedrulesError:
            continue
    return out


class Rulebooks:
    """The shipped (or configured) rulebooks, by key and by content hash."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise MedrulesError(error("io", f"no rulebook folder {self.folder}",
                                      hint="run from the repository, or pass --rulebooks FOLDER"))
        paths = sorted(self.folder.rglob("*.mr"))
        signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
        self.by_key: dict[str, Rulebook] = _load_folder(self.folder, signature)
        self.by_digest: dict[str, Rulebook] = {}
        for rb in self.by_key.values():  # a version's own file first, then a folder of years that holds it
            for v in rb.loaded.versions:
                if rb.loaded.membership is not None and v is not rb.loaded.versions[-1]:
                    continue  # a membership rulebook is found by its own hash, its schemes' by their own files
                if not rb.years or v.hash not in self.by_digest:
                    self.by_digest.setdefault(v.hash, rb)

    def get(self, key: str) -> Rulebook:
        try:
            return self.by_key[key]
        except KeyError:
            raise MedrulesError(error("rulebook", f"there is no rulebook '{key}'",
                                      hint="rulebooks: " + ", ".join(self.by_key))) from None

    def __iter__(self):
        return iter(self.by_key.values())
