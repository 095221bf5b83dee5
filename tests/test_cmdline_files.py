"""Files named on the command line (medrules/cmdline.py, issue 13): a file that is not a rulebook or facts
file is refused in one located line, and none of its content is printed; devices, FIFOs and /dev/stdin
never block; standard input is read only when asked for with '-', and only up to the bound."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from medrules.cli import app
from medrules.source import MAX_RULEBOOK_BYTES

QZ = ROOT / "rulebooks" / "quzhou" / "employee-2012.mr"
FACTS = ROOT / "examples" / "quzhou-employee-2012-inpatient-year.json"


def invoke(*args, input=None):
    r = CliRunner().invoke(app, [str(a) for a in args], input=input)
    assert r.exit_code != 3 and "Traceback" not in r.output, r.output  # never an internal error
    return r


def cli(*args, stdin=subprocess.DEVNULL, env=None) -> subprocess.CompletedProcess:
    """The real command line in a child process, with a timeout guard: a read that blocks fails the test."""
    return subprocess.run([sys.executable, "-m", "medrules", *map(str, args)], stdin=stdin, capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)


def test_etc_passwd_as_a_rulebook_is_refused_unquoted():
    r = invoke("check", "/etc/passwd")
    assert r.exit_code == 1
    assert "/etc/passwd:1:1: error[io]" in r.output and "does not look like a rulebook" in r.output
    first = Path("/etc/passwd").read_text().splitlines()[0]
    assert first not in r.output and "root:" not in r.output


def test_etc_passwd_as_facts_is_refused_unquoted():
    r = invoke("run", QZ, "/etc/passwd")
    assert r.exit_code == 1 and "does not look like a facts file" in r.output
    assert "root:" not in r.output


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/dev/stdin", "/dev/urandom"])
def test_devices_are_refused_at_once(path):
    for args in (("check", path), ("run", QZ, path), ("explain", QZ, path)):
        r = invoke(*args)
        assert r.exit_code == 1 and "device or special file" in r.output, r.output


def test_proc_files_are_refused_and_the_environment_never_printed():
    os.environ["MEDRULES_TEST_SECRET"] = "xyzzy-4711"
    try:
        for args in (("check", "/proc/self/environ"), ("run", QZ, "/proc/self/environ"),
                     ("check", "/proc/self/cmdline"), ("check", "/proc/version")):
            r = invoke(*args)
            assert r.exit_code == 1 and "a system file" in r.output, r.output
            assert "xyzzy" not in r.output
    finally:
        del os.environ["MEDRULES_TEST_SECRET"]


def test_a_folder_where_a_facts_file_is_expected(tmp_path):
    r = invoke("run", QZ, tmp_path)
    assert r.exit_code == 1 and "is a folder" in r.output


def test_a_file_over_the_rulebook_bound_is_refused_unquoted(tmp_path):
    big = tmp_path / "big.mr"
    big.write_text('rulebook "secret-line" {\n' + "#" * (MAX_RULEBOOK_BYTES + 10) + "\n")
    r = invoke("check", big)
    assert r.exit_code == 1 and f"larger than {MAX_RULEBOOK_BYTES:,} bytes" in r.output
    assert "secret-line" not in r.output


def test_invalid_utf8_is_located_and_unquoted(tmp_path):
    bad = tmp_path / "bad.mr"
    bad.write_bytes(b'rulebook "x" {\n  title "secret \xff here"\n}\n')
    r = invoke("check", bad)
    # line 2, column 17: '  title "secret ' is 16 characters, the bad byte is the 17th
    assert r.exit_code == 1 and f"{bad}:2:17: error[io]" in r.output and "not UTF-8" in r.output
    assert "secret" not in r.output


def test_a_rulebook_without_the_suffix_that_starts_with_a_header_is_read(tmp_path):
    """The rule: '.mr' OR a rulebook header first (after comments). A copy named .rules still checks."""
    copy = tmp_path / "employee.rules"
    shutil.copy(QZ, copy)
    shutil.copytree(QZ.parent / "sources", tmp_path / "sources")
    r = invoke("check", copy)
    assert r.exit_code == 0 and "is consistent" in r.output, r.output


def test_a_rulebook_file_with_the_suffix_may_be_quoted(tmp_path):
    """A .mr file is the user's rulebook: its syntax errors are quoted with a caret."""
    bad = tmp_path / "mine.mr"
    bad.write_text("rulebook oops\n")
    r = invoke("check", bad)
    assert r.exit_code == 1 and "rulebook oops" in r.output


def test_a_facts_file_with_a_syntax_error_is_quoted(tmp_path):
    facts = tmp_path / "mine.json"
    facts.write_text('{"member": {"id": "M1" "category": "retired"}, "claims": []}\n')
    r = invoke("run", QZ, facts)
    # the missing comma: the string "category" at line 1, column 24 is where the reader stopped
    assert r.exit_code == 1 and f"{facts}:1:24: error[facts-syntax]" in r.output
    assert '"category": "retired"' in r.output  # quoted: it is the user's own facts file


def test_facts_from_standard_input_when_asked_with_a_dash():
    """'-' reads the facts from standard input: the same table as the file itself."""
    text = FACTS.read_text(encoding="utf-8")
    by_file, by_stdin = invoke("run", QZ, FACTS, "--json"), invoke("run", QZ, "-", "--json", input=text)
    assert by_file.exit_code == 0 and by_stdin.exit_code == 0
    assert by_stdin.output == by_file.output


def test_standard_input_is_bounded():
    r = invoke("check", "-", input='rulebook "x" {\n' + "#" * (MAX_RULEBOOK_BYTES + 1))
    assert r.exit_code == 1 and f"standard input is larger than {MAX_RULEBOOK_BYTES:,}" in r.output


def test_dev_stdin_and_a_fifo_never_block(tmp_path):
    """In a real process: /dev/stdin on a pipe nobody writes to, and a FIFO without a writer, are refused at
    once (the subprocess timeout fails the test if a read blocks)."""
    pipe_r, pipe_w = os.pipe()
    try:
        done = cli("check", "/dev/stdin", stdin=pipe_r)
        assert done.returncode == 1 and "device or special file" in done.stderr + done.stdout
        done = cli("run", QZ, "/dev/stdin", stdin=pipe_r)
        assert done.returncode == 1 and "device or special file" in done.stderr + done.stdout
    finally:
        os.close(pipe_r)
        os.close(pipe_w)
    fifo = tmp_path / "facts.json"
    os.mkfifo(fifo)
    done = cli("run", QZ, fifo)
    assert done.returncode == 1 and "device or special file" in done.stderr + done.stdout
