"""One run of the doctor: settings, checks, report, output. The command line calls it."""

from __future__ import annotations

import datetime
import importlib.metadata
import logging
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.utils import CryptographyDeprecationWarning
from rich.console import Console

from syntask_doctor import __version__, registry, runner
from syntask_doctor import settings as names
from syntask_doctor.anonymize import Anonymizer, private_values
from syntask_doctor.context import Context
from syntask_doctor.formats import renderer
from syntask_doctor.model import Report, SettingView, SupportAnswers
from syntask_doctor.progress import Progress
from syntask_doctor.save import SaveError, report_stem, write_private
from syntask_doctor.secrets import Scrubber, mask_key, secret_values
from syntask_doctor.settings import Settings, resolve

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class RunOptions:
    """What the command line asked for."""

    fmt: str
    output: Path | None
    save: bool
    only: list[str]
    skip: list[str]
    list_checks: bool
    offline: bool
    timeout: float
    deadline: float
    strict: bool
    anonymize: bool
    verbose: int
    support: SupportAnswers
    profile: str | None = None


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
        source = settings.describe(settings.source_of(name))
        if name == names.SSL_CERT_FILE and source == "defaults" and value:
            source = "defaults: SSL_CERT_FILE"
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


class _ScrubLog(logging.Filter):
    """Log lines (-vv) pass through the same final scrub as every other output."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self._scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._scrub(record.getMessage()), None
        return True


def main(options: RunOptions) -> int:
    """Run the doctor as the options say; returns the exit code."""
    started = time.monotonic()
    # Public roots with non-positive serials make cryptography warn on first use, from any
    # check's thread; stdout and stderr carry the doctor's words only.
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    settings = resolve(profile_flag=options.profile)
    scrub = scrubber(settings)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_ScrubLog(scrub))
    try:
        return _run(settings, scrub, options, started)
    except click.UsageError:
        raise
    except SaveError as exc:
        click.echo(f"syntask-doctor: {scrub(str(exc))}", err=True)
        return EXIT_USAGE
    except Exception:  # noqa: BLE001 - the last line of defence: our bug, reported plainly
        trace = traceback.format_exc()
        click.echo(
            scrub(
                f"syntask-doctor {__version__} hit an internal error; please report it:\n{trace}"
            ),
            err=True,
        )
        return EXIT_USAGE


def _run(settings: Settings, scrub: Scrubber, options: RunOptions, started: float) -> int:
    checks = registry.load().checks(settings)
    ids = [c.id for c in checks]
    for pattern in options.only + options.skip:
        if not any(runner.matches(i, [pattern]) for i in ids):
            raise click.UsageError(f"no check matches {pattern!r}; see --list-checks")
    selected = runner.select(checks, options.only, options.skip)
    if not selected:
        raise click.UsageError("--only and --skip leave no check to run")
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
        skipped=frozenset(c.id for c in checks if runner.matches(c.id, options.skip)),
    )
    # Debug lines (-vv) go to stderr too: the live display would tear them.
    live = sys.stderr is not None and sys.stderr.isatty() and options.verbose < 2
    with Progress(enabled=live) as progress:
        results = runner.run(selected, ctx, on_start=progress.started, on_finish=progress.finished)
    report = Report(
        doctor_version=__version__,
        generated_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        environment=environment(),
        profile=settings.profile,
        settings=setting_views(settings),
        results=tuple(results),
        support=options.support,
        strict=options.strict,
    )
    finish = _finisher(settings, scrub, report, options.anonymize)
    color = options.output is None and sys.stdout is not None and sys.stdout.isatty()
    text = finish(renderer(options.fmt)(report, color=color, verbose=options.verbose > 0))
    if options.output is None:
        click.echo(text, nl=False)
    else:
        write_private(options.output, text)
        _tell(f"Report written to {options.output} (verdict: {report.verdict.value})")
    if options.save:
        _save(report, finish)
    return report.exit_code


def _finisher(
    settings: Settings, scrub: Scrubber, report: Report, anonymize: bool
) -> Callable[[str], str]:
    """The last pass over every rendered text: the secret scrub, then anonymization if asked."""
    hide = Anonymizer(private_values(settings, report)) if anonymize else None

    def finish(text: str) -> str:
        text = scrub(text)
        return hide(text) if hide else text

    return finish


def _save(report: Report, finish: Callable[[str], str]) -> None:
    stem = report_stem()
    data, body = Path(f"{stem}.json"), Path(f"{stem}.md")
    write_private(data, finish(renderer("json")(report, color=False, verbose=False)))
    write_private(body, finish(renderer("markdown")(report, color=False, verbose=False)))
    _tell(
        f"Saved {data} and {body} (readable by you only). Send an email to help@syntask.io with "
        f"{body}'s text as its body and {data} attached. Nothing was uploaded."
    )


def _tell(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(message)
