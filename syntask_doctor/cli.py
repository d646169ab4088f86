"""The command line. It imports the doctor's machinery only once a command runs, so that
``--help`` and ``--version`` start as fast as click itself."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from syntask_doctor import __version__
from syntask_doctor.formats import FORMATS
from syntask_doctor.model import SupportAnswers

logger = logging.getLogger("syntask_doctor")

DEADLINE_FACTOR = 3
"""Without ``--deadline``, the run may take this many ``--timeout``s."""


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


# Options the run and the subcommands share, defined once.
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=5.0,
    show_default=True,
    help="Seconds allowed for each network step.",
)
profile_option = click.option(
    "--profile", metavar="NAME", help="Use this Syntask profile instead of the active one."
)
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
@timeout_option
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
@profile_option
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
    from syntask_doctor import app

    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.DEBUG if params["verbose"] >= 2 else logging.WARNING)
    options = app.RunOptions(
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
        profile=params["profile"],
    )
    sys.exit(app.main(options))


@main.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def diff_command(old: Path, new: Path) -> None:
    """Show what changed between two JSON reports, most significant first.

    OLD is typically a report from a working environment, NEW one from a failing one.
    """
    from syntask_doctor.diff import ReportFormatError, check_document, compare
    from syntask_doctor.secrets import Scrubber, secret_values

    documents = []
    for path in (old, new):
        if not path.is_file() or path.stat().st_size > 64 * 1024 * 1024:
            raise click.UsageError(f"cannot read {path}: not a report file")
        try:
            documents.append(
                check_document(json.loads(path.read_text(encoding="utf-8")), str(path))
            )
        except (ValueError, RecursionError, ReportFormatError, OSError) as exc:
            raise click.UsageError(f"cannot read {path}: {exc}") from exc
    try:
        changes = compare(documents[0], documents[1])
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise click.UsageError(
            f"cannot compare: a file is not a syntask-doctor JSON report ({type(exc).__name__})"
        ) from exc
    scrub = Scrubber(secret_values(os.environ))
    if not changes:
        click.echo("No difference in verdict, checks, settings, routes, trust or versions.")
        return
    for change in changes:
        click.echo(scrub(f"{change.area:<12} {change.text}"))


@main.command("ca-bundle")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--os-roots", is_flag=True, help="Also add the roots of this machine's OS store.")
@timeout_option
@profile_option
def ca_bundle_command(out: Path, os_roots: bool, timeout: float, profile: str | None) -> None:
    """Write certifi's roots plus the CA the API host's live chain needs to OUT.

    Captures the chain along the client's route (proxies included), adds the root a TLS
    inspecting proxy signs with, and prints the settings that make both client paths use it.
    """
    from syntask_doctor import ca_bundle
    from syntask_doctor.app import EXIT_FAIL, scrubber
    from syntask_doctor.settings import resolve

    settings = resolve(profile_flag=profile)
    try:
        bundle = ca_bundle.write(out, settings, timeout=timeout, os_roots=os_roots)
    except ca_bundle.BundleError as exc:
        click.echo(f"No bundle written: {scrubber(settings)(str(exc))}", err=True)
        sys.exit(EXIT_FAIL)
    click.echo(scrubber(settings)("\n".join(bundle.lines)))
