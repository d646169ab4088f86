"""The command line: resolve settings, run the checks, print one report."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import logging
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from syntask_doctor import __version__, ca_bundle, registry, runner
from syntask_doctor import settings as names
from syntask_doctor.anonymize import Anonymizer, private_values
from syntask_doctor.context import Context
from syntask_doctor.diff import ReportFormatError, check_document, compare
from syntask_doctor.formats import FORMATS, renderer
from syntask_doctor.model import Report, SettingView, SupportAnswers
from syntask_doctor.progress import Progress
from syntask_doctor.save import report_stem, write_private
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
        source = settings.describe(settings.source_of(name))
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


LOGIN_METHODS = ("sso", "google", "microsoft", "github", "email-link")


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
    "--save",
    is_flag=True,
    help="Also write syntask-doctor-<UTC time>.json and .md here, to attach to a support email.",
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
    "--fail-on",
    type=click.Choice(["fail", "warn"]),
    default="fail",
    show_default=True,
    help="Lowest status that makes the exit code 1; 'warn' for strict pipelines.",
)
@click.option(
    "--anonymize",
    is_flag=True,
    help="Replace internal host names, IP addresses, user and account names with placeholders.",
)
@click.option(
    "--profile", metavar="NAME", help="Use this Syntask profile instead of the active one."
)
@click.option("--email", metavar="ADDRESS", help="Support report: the address you log in with.")
@click.option("--account", metavar="NAME", help="Support report: your Syntask Cloud account name.")
@click.option("--organisation", metavar="NAME", help="Support report: your organisation, if any.")
@click.option(
    "--login-method",
    type=click.Choice(LOGIN_METHODS),
    help="Support report: how you log in.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show details of passing checks too; -vv also logs debug output to stderr.",
)
@click.version_option(__version__, "--version", prog_name="syntask-doctor")
@click.pass_context
def main(click_ctx: click.Context, /, **params: Any) -> None:
    """Find out why the Syntask client cannot reach its API, and how to fix it.

    Checks the settings, API URL and key, proxies, trusted CAs, every host the firewall must
    allow, and the API itself, the way the Syntask client does.

    Exit codes: 0 no failure (warnings allowed), 1 at least one failure, 2 usage or internal
    error.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    started = time.monotonic()
    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.DEBUG if params["verbose"] >= 2 else logging.WARNING)
    options = RunOptions(
        fmt=params["fmt"],
        output=params["output"],
        save=params["save"],
        only=_split(params["only"]),
        skip=_split(params["skip"]),
        list_checks=params["list_checks"],
        offline=params["offline"],
        timeout=params["timeout"],
        deadline=params["deadline"] or params["timeout"] * DEADLINE_FACTOR,
        strict=params["fail_on"] == "warn",
        anonymize=params["anonymize"],
        verbose=params["verbose"],
        support=SupportAnswers(
            params["email"], params["account"], params["organisation"], params["login_method"]
        ),
    )
    settings = resolve(profile_flag=params["profile"])
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


@main.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def diff_command(old: Path, new: Path) -> None:
    """Show what changed between two JSON reports, most significant first.

    OLD is typically a report from a working environment, NEW one from a failing one.
    """
    documents = []
    for path in (old, new):
        try:
            documents.append(
                check_document(json.loads(path.read_text(encoding="utf-8")), str(path))
            )
        except (ValueError, ReportFormatError, OSError) as exc:
            raise click.UsageError(f"cannot read {path}: {exc}") from exc
    changes = compare(documents[0], documents[1])
    if not changes:
        click.echo("No difference in verdict, checks, settings, routes, trust or versions.")
        return
    for change in changes:
        click.echo(f"{change.area:<12} {change.text}")


@main.command("ca-bundle")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--os-roots", is_flag=True, help="Also add the roots of this machine's OS store.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=5.0,
    show_default=True,
    help="Seconds allowed for each network step.",
)
@click.option(
    "--profile", metavar="NAME", help="Use this Syntask profile instead of the active one."
)
def ca_bundle_command(out: Path, os_roots: bool, timeout: float, profile: str | None) -> None:
    """Write certifi's roots plus the CA the API host's live chain needs to OUT.

    Captures the chain along the client's route (proxies included), adds the root a TLS
    inspecting proxy signs with, and prints the settings that make both client paths use it.
    """
    settings = resolve(profile_flag=profile)
    try:
        bundle = ca_bundle.write(out, settings, timeout=timeout, os_roots=os_roots)
    except ca_bundle.BundleError as exc:
        click.echo(f"No bundle written: {scrubber(settings)(str(exc))}", err=True)
        sys.exit(EXIT_FAIL)
    click.echo(scrubber(settings)("\n".join(bundle.lines)))


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
        support=options.support,
        strict=options.strict,
    )
    finish = _finisher(settings, scrub, report, options.anonymize)
    color = options.output is None and sys.stdout.isatty()
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
