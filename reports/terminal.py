"""The terminal report: results grouped by family, with remedies and a verdict line."""

from __future__ import annotations

import io
import shutil
from itertools import groupby

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from syntask_doctor.model import Report, Result, Status

STYLES = {
    Status.PASS: ("✔ pass", "green"),
    Status.WARN: ("! warn", "yellow"),
    Status.FAIL: ("✘ fail", "bold red"),
    Status.SKIP: ("- skip", "dim"),
    Status.ERROR: ("‼ error", "bold magenta"),
}
FAMILIES = {"settings": "Settings", "proxy": "Proxy", "tls": "Trust", "host": "Hosts", "api": "API"}
VERDICTS = {
    Status.PASS: "All checks passed",
    Status.WARN: "No failure; read the warnings",
    Status.FAIL: "The Syntask client cannot work as configured",
    Status.ERROR: "syntask-doctor hit an internal error",
}


def render(report: Report, *, color: bool = True, verbose: bool = False) -> str:
    width = max(80, min(shutil.get_terminal_size((100, 24)).columns, 140)) if color else 100
    console = Console(
        width=width,
        record=True,
        force_terminal=color,
        no_color=not color,
        file=io.StringIO(),
        highlight=False,
    )
    console.print(
        Text.assemble(
            (f"syntask-doctor {report.doctor_version}", "bold"), "  ", (report.generated_at, "dim")
        )
    )
    console.print(_settings_table(report))
    for family, results in groupby(report.results, key=lambda r: r.family):
        console.print()
        console.print(Text(FAMILIES.get(family, family.capitalize()), style="bold underline"))
        table = Table.grid(padding=(0, 1))
        table.add_column(width=8, no_wrap=True)
        table.add_column(ratio=1, overflow="fold")
        for result in results:
            label, style = STYLES[result.status]
            table.add_row(Text(label, style=style), _body(result, verbose))
        console.print(table)
    console.print()
    console.print(_verdict(report))
    text = console.export_text(styles=color)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _settings_table(report: Report) -> Table:
    table = Table(
        title=f"Settings (profile {report.profile!r})",
        title_justify="left",
        box=None,
        pad_edge=False,
    )
    table.add_column("setting", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", style="dim")
    for setting in report.settings:
        table.add_row(
            setting.name,
            "(unset)" if setting.value is None else repr(setting.value),
            setting.source,
        )
    return table


def _body(result: Result, verbose: bool) -> RenderableType:
    outcome = result.outcome
    parts: list[RenderableType] = [Text.assemble((result.check_id, "bold"), "  ", outcome.summary)]
    if verbose or result.status in (Status.FAIL, Status.WARN, Status.ERROR):
        parts.extend(Text(line, style="dim") for line in outcome.details)
    if outcome.remedy:
        parts.append(Text.assemble(("fix: ", "bold"), outcome.remedy))
    return Group(*parts)


def _verdict(report: Report) -> Text:
    tally = ", ".join(f"{n} {name}" for name, n in report.counts().items() if n)
    label, style = STYLES[report.verdict]
    return Text.assemble((f"{label.split()[0]} {VERDICTS[report.verdict]}", style), f"  ({tally})")
