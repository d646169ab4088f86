"""The command line: resolve settings, run the checks, print one report."""

from __future__ import annotations

import datetime
import importlib.metadata
import logging
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from syntask_doctor import __version__, registry, runner
from syntask_doctor import settings as names
from syntask_doctor.context import Context
from syntask_doctor.formats import FORMATS, renderer
from syntask_doctor.model import Report, SettingView
from syntask_doctor.progress import Progress
from syntask_doctor.secrets import Scrubber, mask_key, secret_values
from syntask_doctor.settings import Settings, resolve

logger = logging.getLogger("syntask_doctor")

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEADLINE_FACTOR = 3
"""Without ``--deadline``, the run may take this many ``--timeout``s."""


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for."""

    fmt: str
    output: Path | None
    only: list[str]
    skip: list[str]
    list_checks: bool
    offline: bool
    timeout: float
    deadline: float
    verbose: int


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def environment() -> dict[str, str]:
    """Versions support asks for first."""
    found = {
        "os": platform.platform(),
        "python": platform.python_version(),
        "syntask-doctor": __version__,
    }
    for package in ("httpx", "httpcore", "certifi", "cryptography", "syntask"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def setting_views(settings: Settings) -> tuple[SettingView, ...]:
    views = []
    for name in names.RELEVANT:
        value = settings.get(name)
        shown = mask_key(value) if name in names.SECRET_SETTINGS else value
        source = settings.source_of(name)
        if source == "profile":
            source = f"profile {settings.profile!r}"
        views.append(SettingView(name, shown, source))
    return tuple(views)


def scrubber(settings: Settings) -> Scrubber:
    """The final scrub: every secret value the environment and the setting sources hold."""
    secrets: list[str | None] = []
    for value in settings.values.values():
        if value.name in names.SECRET_SETTINGS:
            secrets.append(value.value)
            secrets.extend(shadowed for _, shadowed in value.shadowed)
    return Scrubber(secret_values(settings.env, secrets))


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default=next(iter(FORMATS)),
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="ID",
    help="Run only these checks (ids, globs such as 'host.*', or families) and what they need.",
)
@click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks.")
@click.option("--list-checks", is_flag=True, help="List the checks that would run, and exit.")
@click.option(
    "--offline",
    is_flag=True,
    help="Make no network connection: settings, URL, key, proxy and CA checks only.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=5.0,
    show_default=True,
    help="Seconds allowed for each network step.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0.5, max=3600),
    help=f"Seconds allowed for the whole run.  [default: {DEADLINE_FACTOR} x --timeout]",
)
@click.option(
    "--profile", metavar="NAME", help="Use this Syntask profile instead of the active one."
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show details of passing checks too; -vv also logs debug output to stderr.",
)
@click.version_option(__version__, "--version", prog_name="syntask-doctor")
def main(
    *,
    fmt: str,
    output: Path | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    list_checks: bool,
    offline: bool,
    timeout: float,
    deadline: float | None,
    profile: str | None,
    verbose: int,
) -> None:
    """Find out why the Syntask client cannot reach its API, and how to fix it.

    Checks the settings, API URL and key, proxies, trusted CAs, every host the firewall must
    allow, and the API itself, the way the Syntask client does.

    Exit codes: 0 no failure (warnings allowed), 1 at least one failure, 2 usage or internal
    error.
    """
    started = time.monotonic()
    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    options = RunOptions(
        fmt,
        output,
        _split(only),
        _split(skip),
        list_checks,
        offline,
        timeout,
        deadline or timeout * DEADLINE_FACTOR,
        verbose,
    )
    settings = resolve(profile_flag=profile)
    scrub = scrubber(settings)
    try:
        code = _run(settings, scrub, options, started)
    except click.UsageError:
        raise
    except Exception:  # noqa: BLE001 - the last line of defence: our bug, reported plainly
        trace = traceback.format_exc()
        click.echo(
            scrub(
                f"syntask-doctor {__version__} hit an internal error; please report it:\n{trace}"
            ),
            err=True,
        )
        code = EXIT_USAGE
    sys.exit(code)


def _run(settings: Settings, scrub: Scrubber, options: RunOptions, started: float) -> int:
    checks = registry.load().checks(settings)
    ids = [c.id for c in checks]
    for pattern in options.only + options.skip:
        if not any(runner.matches(i, [pattern]) for i in ids):
            raise click.UsageError(f"no check matches {pattern!r}; see --list-checks")
    selected = runner.select(checks, options.only, options.skip)
    if options.list_checks:
        for item in selected:
            after = f"  (after {', '.join(item.depends_on)})" if item.depends_on else ""
            click.echo(f"{item.id:<28} {item.title}{after}")
        return EXIT_OK
    ctx = Context(
        settings,
        timeout=options.timeout,
        deadline=started + options.deadline,
        offline=options.offline,
    )
    with Progress(enabled=sys.stderr.isatty()) as progress:
        results = runner.run(selected, ctx, on_start=progress.started, on_finish=progress.finished)
    report = Report(
        doctor_version=__version__,
        generated_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        environment=environment(),
        profile=settings.profile,
        settings=setting_views(settings),
        results=tuple(results),
    )
    color = options.output is None and sys.stdout.isatty()
    text = scrub(renderer(options.fmt)(report, color=color, verbose=options.verbose > 0))
    if options.output is None:
        click.echo(text, nl=False)
    else:
        options.output.write_text(text, encoding="utf-8")
        Console(stderr=True, highlight=False).print(
            f"Report written to {options.output} (verdict: {report.verdict.value})"
        )
    return report.exit_code
