"""The report as plain JSON-ready data: the one shape every machine format is built from."""

from __future__ import annotations

from typing import Any

from syntask_doctor.model import Report, Result

SCHEMA_VERSION = "1.1"
"""Bumped on every change to the JSON shape; each bump has a CHANGELOG entry."""


def result_data(result: Result) -> dict[str, Any]:
    outcome = result.outcome
    return {
        "id": result.check_id,
        "title": result.title,
        "family": result.family,
        "status": outcome.status.value,
        "summary": outcome.summary,
        "details": list(outcome.details),
        "remedy": outcome.remedy,
        "seconds": round(result.seconds, 4),
        "data": dict(outcome.data),
    }


def report_data(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "doctor_version": report.doctor_version,
        "generated_at": report.generated_at,
        "verdict": report.verdict.value,
        "exit_code": report.exit_code,
        "counts": report.counts(),
        "environment": dict(report.environment),
        "profile": report.profile,
        "settings": [
            {"name": s.name, "value": s.value, "source": s.source} for s in report.settings
        ],
        "results": [result_data(r) for r in report.results],
        "support": {
            "email": report.support.email,
            "account": report.support.account,
            "organisation": report.support.organisation,
            "login_method": report.support.login_method,
        },
    }
