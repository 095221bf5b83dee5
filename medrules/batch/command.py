"""``medrules settle``: the command's body (cli.py holds only a thin wrapper)."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medrules.batch.run import Rulebooks, Summary, load_rulebooks, rejects_path, settle_files
from medrules.diagnostics import MedrulesError, error


def column_options(pairs: list[str], mapping_file: Path | None) -> dict[str, str]:
    """``--column claim.compliant_cost=cost`` options and a ``--columns FILE`` (JSON: fact → column)."""
    out: dict[str, str] = {}
    if mapping_file is not None:
        try:
            data = json.loads(mapping_file.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError) as exc:
            raise MedrulesError(error("columns", f"cannot read the column mapping {mapping_file}: {exc}", None,
                                      'write a JSON object: {"claim.compliant_cost": "cost", …}')) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise MedrulesError(error("columns", f"{mapping_file} must map facts to column names", None,
                                      'e.g. {"claim.compliant_cost": "cost", "member.id": "insured_no"}'))
        out |= data
    for pair in pairs:
        fact, sep, column = pair.partition("=")
        if not sep or "." not in fact or not column.strip():
            raise MedrulesError(error("columns", f"'{pair}' is not FACT=COLUMN", None,
                                      "write e.g. --column claim.compliant_cost=cost"))
        out[fact.strip()] = column.strip()
    return out


def settle_command(rulebook: Path, claims: list[Path], out: Path, members: Path | None, columns: dict[str, str],
                   scheduler: str | None, progress: bool, console: Console, read,
                   readings: dict[str, str] | None = None, ledger: str | None = None,
                   explain_plan: bool = False, histories: list[str] = ()) -> Summary:
    if readings and scheduler is not None:
        raise MedrulesError(error("reading", "'--reading' is not available with '--scheduler': the workers load "
                                  "the rulebook by its path, under its own readings", None,
                                  "settle on this machine (without --scheduler) to choose another reading"))
    from medrules.batch.premiums import load_file, settle_premiums_command
    program = load_file(rulebook, read=read, readings=readings)  # None: a folder of policy years
    if program is not None and program.plan.top.contributions:  # premiums: the files are member tables
        return settle_premiums_command(program, claims, out, members, columns, scheduler, console, ledger)
    from medrules.batch.run import _compiled
    rb = load_rulebooks(rulebook, read=read, readings=readings) if program is None else Rulebooks(
        str(rulebook), (_compiled(program, {"read": read, "readings": readings}),))
    from medrules.batch.vhistory import declared, history_options
    history_files = history_options(list(histories), next((v.program.checked for v in rb.versions
                                                           if declared(v.program.checked)), rb.top.checked))
    if explain_plan:  # how the vector backend settles each fund: running sums or waves, and why
        for vp in rb.versions:
            console.print(vp.describe(), markup=False, highlight=False)
    if scheduler is not None:
        from medrules.batch.distributed import settle_on_dask
        summary = settle_on_dask(rb, claims, out, scheduler=scheduler, members=members, columns=columns,
                                 histories=history_files)
    else:
        bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=Console(stderr=True), transient=True,
                       disable=not progress)
        with bar:
            summary = settle_files(rb, claims, out, members=members, columns=columns, progress=bar,
                                   histories=history_files)
    print_summary(summary, out, console)
    return summary


def print_summary(s: Summary, out: Path, console: Console) -> None:
    rate = s.claims / s.seconds if s.seconds else 0
    console.print(f"[green]✓[/green] settled {s.claims:,} claims of {s.members:,} members in {s.seconds:.1f} s "
                  f"({rate:,.0f} claims/s) → {out}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("fund")
    table.add_column("paid (yuan)", justify="right")
    for fund, paid in s.funds.items():
        table.add_row(fund, f"{paid:,.2f}")
    table.add_row("[bold]member pays[/bold]", f"{s.member_pays:,.2f}")
    table.add_row("total cost", f"{s.total:,.2f}")
    console.print(table)
    if s.rejected:
        console.print(f"[yellow]{s.rejected:,} rows rejected[/yellow] → {rejects_path(out)}")
        for reason, count in s.reasons.most_common():
            console.print(f"  {count:>8,}  {reason}", markup=False)
