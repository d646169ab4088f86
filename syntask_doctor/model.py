"""The data a run produces: statuses, check results and the finished report."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of one check, in increasing order of severity (``skip`` aside)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True)
class Outcome:
    """What a check function returns; the runner adds identity and timing."""

    status: Status
    summary: str
    """One line a user reads first."""
    details: tuple[str, ...] = ()
    """Further lines: evidence, values looked at, the reasoning."""
    remedy: str | None = None
    """A concrete command or setting that fixes the problem, when one exists."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Machine-readable facts for dependents and for the JSON report (JSON types only)."""


def passed(summary: str, *details: str, **data: Any) -> Outcome:
    return Outcome(Status.PASS, summary, tuple(details), None, data)


def warned(summary: str, *details: str, remedy: str | None = None, **data: Any) -> Outcome:
    return Outcome(Status.WARN, summary, tuple(details), remedy, data)


def failed(summary: str, *details: str, remedy: str | None = None, **data: Any) -> Outcome:
    return Outcome(Status.FAIL, summary, tuple(details), remedy, data)


def skipped(summary: str, *details: str, **data: Any) -> Outcome:
    return Outcome(Status.SKIP, summary, tuple(details), None, data)


@dataclass(frozen=True)
class Finding:
    """One problem a check found; a check with several reports the worst first."""

    failing: bool
    """A failure (the client cannot work) rather than a warning."""
    summary: str
    remedy: str


def worst_of(findings: list[Finding], details: list[str], **data: Any) -> Outcome | None:
    """The outcome for a list of findings (failures first, the rest as details), or ``None``
    when there is none and the check passes with its own words."""
    ordered = [f for f in findings if f.failing] + [f for f in findings if not f.failing]
    if not ordered:
        return None
    first, *rest = ordered
    status = Status.FAIL if first.failing else Status.WARN
    lines = (*(f.summary for f in rest), *details)
    return Outcome(status, first.summary, lines, first.remedy, data)


@dataclass(frozen=True)
class Result:
    """One check's outcome as it appears in the report."""

    check_id: str
    title: str
    family: str
    outcome: Outcome
    seconds: float
    """Wall time the check took."""

    @property
    def status(self) -> Status:
        return self.outcome.status


@dataclass(frozen=True)
class SettingView:
    """One resolved client setting, safe to show: secrets are already masked."""

    name: str
    value: str | None
    """Display form; ``None`` when unset."""
    source: str
    """Where the value came from, in the words of ``syntask config view``."""


@dataclass(frozen=True)
class SupportAnswers:
    """What support asks before anything else; ``None`` where the user did not say."""

    email: str | None = None
    """The address the user logs in with."""
    account: str | None = None
    organisation: str | None = None
    login_method: str | None = None
    """SSO, a social login (Google, Microsoft, GitHub) or an emailed link."""


@dataclass(frozen=True)
class Report:
    """Everything one run found; reporters render it and do nothing else."""

    doctor_version: str
    generated_at: str
    """UTC time in ISO 8601."""
    environment: Mapping[str, str]
    profile: str
    settings: tuple[SettingView, ...]
    results: tuple[Result, ...]
    support: SupportAnswers = field(default_factory=SupportAnswers)
    strict: bool = False
    """``--fail-on warn``: warnings count as failures for the verdict and exit code."""

    @property
    def verdict(self) -> Status:
        statuses = {r.status for r in self.results}
        for worst in (Status.FAIL, Status.ERROR, Status.WARN):
            if worst in statuses:
                return worst
        return Status.PASS

    @property
    def exit_code(self) -> int:
        """0: no failure (warnings allowed unless strict); 1: a failure; 2: an internal error."""
        statuses = {r.status for r in self.results}
        if Status.FAIL in statuses or (self.strict and Status.WARN in statuses):
            return 1
        if Status.ERROR in statuses:
            return 2
        return 0

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for r in self.results if r.status is s) for s in Status}
