"""What ``medrules test`` shows: results as text, JUnit XML for CI, coverage as a table and as HTML."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from rich.table import Table
from rich.text import Text

from medrules.outcomes.coverage import Coverage, coverage
from medrules.outcomes.run import FileResult
from medrules.render import diagnostic_text


def counts(files: list[FileResult]) -> tuple[int, int, int]:
    """(passed, failed, errors): a file that could not be read counts as one error."""
    passed = sum(1 for f in files for c in f.cases if c.passed)
    failed = sum(1 for f in files for c in f.cases if c.mismatches and not c.errors)
    errors = sum(1 for f in files for c in f.cases if c.errors) + sum(1 for f in files if f.errors)
    return passed, failed, errors


def render_results(files: list[FileResult], sources: dict) -> list:
    """Rich renderables: a line per test, and for each failure expected vs got and the steps."""
    out = []
    for f in files:
        for d in f.errors:
            out.append(diagnostic_text(d, sources))
        for c in f.cases:
            if c.passed:
                out.append(Text.assemble(("PASS ", "bold green"), f"{c.case.name}", (f"  {c.case.file}", "dim")))
                continue
            out.append(Text.assemble(("FAIL ", "bold red"), f"{c.case.name}", (f"  {c.case.file}", "dim")))
            if c.case.title:
                out.append(Text(f"     {c.case.title}", style="italic"))
            for d in c.errors:
                out.append(diagnostic_text(d, sources))
            for m in c.mismatches:
                where = f"{m.span}: " if m.span else ""
                t = Text(f"     {where}claim {m.claim}, {m.what}: ")
                t.append(f"expected {m.expected}", style="green")
                t.append(", got ")
                t.append(m.got, style="red")
                out.append(t)
                for line in m.steps:
                    out.append(Text(f"       │ {line}", style="cyan"))
    return out


def junit_xml(files: list[FileResult]) -> str:
    """JUnit XML: a test suite per file, a test case per test; failures carry expected vs got."""
    root = ET.Element("testsuites", name="medrules")
    total = [0, 0, 0]
    for f in files:
        suite = ET.SubElement(root, "testsuite", name=f.file)
        tests = failures = errors = 0
        if f.errors:
            tests, errors = 1, 1
            case = ET.SubElement(suite, "testcase", classname=f.file, name="(file)")
            ET.SubElement(case, "error", message=f.errors[0].message).text = "\n".join(
                f"{d.span}: {d.message}" for d in f.errors)
        for c in f.cases:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=f.file, name=c.case.name)
            if c.errors:
                errors += 1
                ET.SubElement(case, "error", message=c.errors[0].message).text = "\n".join(
                    f"{d.span}: {d.message}" + (f" (hint: {d.hint})" if d.hint else "") for d in c.errors)
            elif c.mismatches:
                failures += 1
                first = c.mismatches[0]
                body = []
                for m in c.mismatches:
                    body.append(f"{m.span}: claim {m.claim}, {m.what}: expected {m.expected}, got {m.got}")
                    body += [f"  | {line}" for line in m.steps]
                ET.SubElement(case, "failure", message=f"claim {first.claim}, {first.what}: expected "
                              f"{first.expected}, got {first.got}").text = "\n".join(body)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        for i, x in enumerate((tests, failures, errors)):
            total[i] += x
    root.set("tests", str(total[0]))
    root.set("failures", str(total[1]))
    root.set("errors", str(total[2]))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def coverages(files: list[FileResult]) -> list[Coverage]:
    """Coverage of every rulebook the tests ran, by the tests that settled under it."""
    from medrules.evaluate import Settlement
    by_rulebook: dict[int, tuple] = {}
    for f in files:
        for c in f.cases:
            if c.settlement is not None:
                entry = by_rulebook.setdefault(id(c.program), (c.program, []))
                entry[1].append(c.settlement)
            if c.settlement is not None and c.used:  # a membership rulebook: each scheme's claims count for it
                for claim in c.settlement.claims:
                    program = c.used[claim.id]
                    entry = by_rulebook.setdefault(id(program), (program, []))
                    entry[1].append(Settlement(c.settlement.rulebook, c.settlement.member_id, (claim,)))
    return [coverage(program.checked.rulebook, settlements) for program, settlements in by_rulebook.values()]


def coverage_table(cov: Coverage) -> Table:
    t = Table(title=f"coverage of {cov.rulebook}: {cov.fired} of {len(cov.items)} provisions fired ({cov.percent}%)",
              title_justify="left")
    for col in ("line", "kind", "fund", "provision", "hits"):
        t.add_column(col, justify="right" if col in ("line", "hits") else "left")
    for item in cov.items:
        style = None if item.hits else "bold red"
        t.add_row(f"{item.span.file.rsplit('/', 1)[-1]}:{item.span.line}", item.kind, item.fund or "",
                  item.label, str(item.hits) if item.hits else "never", style=style)
    return t


def coverage_html(covs: list[Coverage]) -> str:
    from medrules.site.templates import environment
    return environment().get_template("coverage.html").render(coverages=covs)
