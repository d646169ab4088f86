"""The support email: the verdict, each problem with its fix, and what support asks first."""

from __future__ import annotations

from syntask_doctor.model import Report, Result, Status

SUPPORT_ADDRESS = "help@syntask.io"
PLACEHOLDER = "_(please fill in)_"
MARKS = {
    Status.PASS: "✔ pass",
    Status.WARN: "! warn",
    Status.FAIL: "✘ fail",
    Status.SKIP: "- skip",
    Status.ERROR: "‼ error",
}
VERDICTS = {
    Status.PASS: "all checks passed",
    Status.WARN: "no failure, with warnings",
    Status.FAIL: "the Syntask client cannot work as configured",
    Status.ERROR: "syntask-doctor hit an internal error",
}


def render(report: Report, *, color: bool = False, verbose: bool = False) -> str:
    del color  # Markdown is plain text
    tally = ", ".join(f"{n} {name}" for name, n in report.counts().items() if n)
    lines = [
        f"# syntask-doctor report: {VERDICTS[report.verdict]}",
        "",
        f"Verdict **{report.verdict.value}** ({tally}), generated {report.generated_at} by "
        f"syntask-doctor {report.doctor_version}.",
        "",
        *_questions(report),
        *_problems(report, verbose),
        "## Environment",
        "",
        "| component | version |",
        "|---|---|",
        *(f"| {_cell(name)} | {_cell(value)} |" for name, value in report.environment.items()),
        "",
        f"## Settings (profile `{report.profile}`)",
        "",
        "| setting | value | from |",
        "|---|---|---|",
        *(
            f"| `{s.name}` | {_cell('(unset)' if s.value is None else repr(s.value))} "
            f"| {_cell(s.source)} |"
            for s in report.settings
        ),
        "",
        "## All checks",
        "",
        "| check | status | summary |",
        "|---|---|---|",
        *(
            f"| `{r.check_id}` | {MARKS[r.status]} | {_cell(r.outcome.summary)} |"
            for r in report.results
        ),
        "",
        "---",
        "",
        "Please attach the JSON report to this email (`syntask-doctor --save` writes it next to",
        f"this text) and send both to {SUPPORT_ADDRESS}. Secrets are masked in both.",
    ]
    return "\n".join(lines) + "\n"


def _questions(report: Report) -> list[str]:
    answers = report.support
    asked = (
        ("Email address you log in with", answers.email),
        ("Syntask Cloud account name", answers.account),
        ("Organisation the account belongs to, if any", answers.organisation),
        (
            "How you log in: single sign-on (SSO), Google, Microsoft, GitHub, or an emailed link",
            answers.login_method,
        ),
    )
    return [
        "## What support asks first",
        "",
        *(
            f"- {question}: {_inline(answer) if answer else PLACEHOLDER}"
            for question, answer in asked
        ),
        "",
    ]


def _problems(report: Report, verbose: bool) -> list[str]:
    shown = (Status.FAIL, Status.ERROR, Status.WARN)
    problems = sorted(
        (r for r in report.results if r.status in shown), key=lambda r: shown.index(r.status)
    )
    lines = ["## Problems found", ""]
    if not problems:
        lines += ["None: every check passed or did not apply.", ""]
    for result in problems:
        lines += _problem(result)
    if verbose:
        for result in report.results:
            if result.status not in shown and result.outcome.details:
                lines += _problem(result)
    return lines


def _problem(result: Result) -> list[str]:
    outcome = result.outcome
    lines = [f"### {MARKS[result.status]}: `{result.check_id}`", "", _inline(outcome.summary), ""]
    if outcome.remedy:
        lines += [f"**Fix:** {_inline(outcome.remedy)}", ""]
    if outcome.details:
        lines += ["```text", *outcome.details, "```", ""]
    return lines


def _inline(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")
