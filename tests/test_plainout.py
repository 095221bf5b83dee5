"""medrules.plainout: the line 'medrules check' prints on a consistent rulebook, without rich, is rich's line."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from medrules import plainout

COUNTS = "3 funds, 22 clauses, 1 parameter, 6 accumulators, 2 sources cited"


def utf8_stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n", write_through=True)


def written(stream: io.TextIOWrapper) -> bytes:
    return stream.buffer.getvalue()


def by_rich(file: str, rulebook: str) -> bytes:
    """What medrules.cli printed before: its console (width 160, not a terminal), the markup with escapes."""
    from rich.markup import escape
    stream = utf8_stream()
    Console(file=stream, width=plainout.WIDTH).print(
        f"[green]✓[/green] {escape(file)}: rulebook '{escape(rulebook)}' is consistent — {COUNTS}")
    return written(stream)


def by_plainout(file: str, rulebook: str, monkeypatch) -> tuple[bytes, bool]:
    stream = utf8_stream()
    monkeypatch.setattr(sys, "stdout", stream)
    used_rich = []
    plainout.print_consistent(_Recording(stream, used_rich), file, rulebook, COUNTS)
    return written(stream), bool(used_rich)


class _Recording:
    """The cli's console: rich's, noting that it was used."""

    def __init__(self, stream, used: list):
        self.console, self.used = Console(file=stream, width=plainout.WIDTH), used

    def print(self, *args, **kwargs):
        self.used.append(args)
        self.console.print(*args, **kwargs)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for name in plainout.RICH_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def test_a_plain_line_is_written_directly_and_is_riches(monkeypatch):
    out, used_rich = by_plainout("rulebooks/quzhou/employee-2012.mr", "quzhou/employee-2012", monkeypatch)
    assert not used_rich
    assert out == by_rich("rulebooks/quzhou/employee-2012.mr", "quzhou/employee-2012")
    assert out == ("✓ rulebooks/quzhou/employee-2012.mr: rulebook 'quzhou/employee-2012' is consistent — "
                   f"{COUNTS}\n").encode()


@pytest.mark.parametrize("file, rulebook", [
    ("a[red]b.mr", "x"),  # markup in a file name: rich's escapes
    ("a.mr", "id:smile:"),  # an emoji code
    ("衢州/职工.mr", "quzhou"),  # two cells a character
    ("a" * 120 + ".mr", "quzhou/employee-2012"),  # wraps at 160
    ("back\\slash.mr", "x"),
    ("tab\there.mr", "x"),
])
def test_a_line_rich_would_change_goes_through_rich(file, rulebook, monkeypatch):
    out, used_rich = by_plainout(file, rulebook, monkeypatch)
    assert used_rich and out == by_rich(file, rulebook)


def test_a_terminal_or_a_forced_colour_goes_through_rich(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not plainout.prints_as_is("✓ a.mr: rulebook 'a' is consistent", utf8_stream())
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("COLUMNS", "40")
    assert not plainout.prints_as_is("✓ a.mr: rulebook 'a' is consistent", utf8_stream())
    monkeypatch.delenv("COLUMNS")

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self):
            return True
    assert not plainout.prints_as_is("✓ a.mr: rulebook 'a' is consistent", Terminal())
    latin = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    assert not plainout.prints_as_is("✓ a.mr: rulebook 'a' is consistent", latin)
    assert plainout.prints_as_is("✓ a.mr: rulebook 'a' is consistent", utf8_stream())


NAMES = st.one_of(st.text(st.sampled_from("abcxyz019_-./ '"), max_size=90),  # mostly written directly
                  st.text(st.sampled_from("abcxyz019_-./ []\\:@#*`'\"!é衢—✓\x1b\t😀"), max_size=90))


@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(NAMES, NAMES)
def test_any_names_print_as_rich_prints_them(file, rulebook):
    with pytest.MonkeyPatch.context() as monkeypatch:
        out, _ = by_plainout(file, rulebook, monkeypatch)
    assert out == by_rich(file, rulebook)


def test_check_of_a_consistent_rulebook_does_not_import_rich():
    code = ("import sys\nfrom medrules.cli import main\nsys.argv = ['medrules', 'check', "
            "'rulebooks/quzhou/employee-2012.mr']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert not [m for m in sys.modules if m == 'rich' or m.startswith('rich.')], 'rich imported'\n")
    env = {k: v for k, v in os.environ.items() if k not in plainout.RICH_ENVIRONMENT}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("✓ rulebooks/quzhou/employee-2012.mr: rulebook 'quzhou/employee-2012' is consistent")
