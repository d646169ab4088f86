"""The terminal report: results grouped by family, with remedies and a verdict line."""

from __future__ import annotations

import io
import shutil
from itertools import groupby

from rich.console import Console
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
INDENT = " " * 9
FAMILIES = {
    "dns": "DNS",
    "clock": "Clock",
    "settings": "Settings",
    "proxy": "Proxy",
    "tls": "Trust",
    "host": "Hosts",
    "api": "API",
}
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
    console.print(Text(f"Settings (profile {report.profile!r})", style="bold"))
    for setting in report.settings:
        value = "(unset)" if setting.value is None else repr(setting.value)
        # Values and fixes are never wrapped, so that they can be copied whole.
        console.print(
            Text.assemble(
                "  ", (setting.name, "cyan"), f" = {value}  ", (f"(from {setting.source})", "dim")
            ),
            soft_wrap=True,
        )
    for family, results in groupby(report.results, key=lambda r: r.family):
        console.print()
        console.print(Text(FAMILIES.get(family, family.capitalize()), style="bold underline"))
        for result in results:
            _print_result(console, result, verbose)
    console.print()
    console.print(_verdict(report))
    text = console.export_text(styles=color)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _print_result(console: Console, result: Result, verbose: bool) -> None:
    label, style = STYLES[result.status]
    outcome = result.outcome
    row = Table.grid(padding=(0, 1))
    row.add_column(width=len(INDENT) - 1, no_wrap=True)
    row.add_column(ratio=1)
    row.add_row(
        Text(label, style=style), Text.assemble((result.check_id, "bold"), "  ", outcome.summary)
    )
    console.print(row)
    if verbose or result.status in (Status.FAIL, Status.WARN, Status.ERROR):
        for line in outcome.details:
            console.print(Text(INDENT + line, style="dim"), soft_wrap=True)
    if outcome.remedy:
        console.print(Text.assemble(INDENT, ("fix: ", "bold"), outcome.remedy), soft_wrap=True)


def _verdict(report: Report) -> Text:
    tally = ", ".join(f"{n} {name}" for name, n in report.counts().items() if n)
    label, style = STYLES[report.verdict]
    return Text.assemble((f"{label.split()[0]} {VERDICTS[report.verdict]}", style), f"  ({tally})")
