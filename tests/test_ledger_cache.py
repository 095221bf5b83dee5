"""medrules.ledger.load_rulebooks: the per-process cache serves only the plain file reader.

A caller's own ``read`` (the CLI records every file for quoting; the service names files relative to
its folder) must be called on every load and its names kept, whoever loaded the rulebook first."""
from __future__ import annotations

from pathlib import Path

from medrules.ledger.sources import _LOADED, load_rulebooks
from medrules.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
QUZHOU = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
ANJI = ROOT / "rulebooks" / "anji"  # a folder of two policy years


def renaming(prefix: str, seen: list[str]):
    """A read that records what it was asked for and names each file 'PREFIX/<file name>'."""
    def read(path):
        seen.append(str(path))
        source = SourceFile.read(path)
        return SourceFile(f"{prefix}/{Path(path).name}", source.text)
    return read


def test_the_plain_reader_is_cached():
    first = load_rulebooks(QUZHOU)
    assert load_rulebooks(QUZHOU) is first
    assert str(QUZHOU.resolve()) in _LOADED


def test_a_callers_read_is_called_and_its_names_kept_after_a_cached_load():
    plain = load_rulebooks(QUZHOU)  # fills the cache
    seen: list[str] = []
    mine = load_rulebooks(QUZHOU, read=renaming("mine", seen))
    assert mine is not plain
    assert seen, "the caller's read was not called: the cache answered"
    assert mine.versions[0].files == ("mine/employee-2012.mr",)
    assert mine.versions[0].program.checked.file == "mine/employee-2012.mr"
    # the same texts: the same content hash as the plain load
    assert mine.versions[0].hash == plain.versions[0].hash
    # and the cache still holds the plain load, not the renamed one
    assert load_rulebooks(QUZHOU) is plain


def test_a_callers_read_is_called_again_on_every_load():
    seen: list[str] = []
    read = renaming("again", seen)
    load_rulebooks(QUZHOU, read=read)
    once = len(seen)
    load_rulebooks(QUZHOU, read=read)
    assert once >= 1 and len(seen) == 2 * once


def test_a_folder_of_policy_years_with_a_renaming_read():
    """Each version is re-read by the path it came from, not by the name the read gave it."""
    plain = load_rulebooks(ANJI)
    seen: list[str] = []
    mine = load_rulebooks(ANJI, read=renaming("years", seen))
    assert [v.files for v in mine.versions] == [("years/residents-2014.mr",), ("years/residents-2015.mr",)]
    assert [v.hash for v in mine.versions] == [v.hash for v in plain.versions]
    assert [v.plan_hash for v in mine.versions] == [v.plan_hash for v in plain.versions]
