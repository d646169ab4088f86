"""Output formats by name; each lives in its own module under ``reports/``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from syntask_doctor.model import Report

FORMATS = {
    "rich": "syntask_doctor.reports.terminal",
    "json": "syntask_doctor.reports.json",
    "markdown": "syntask_doctor.reports.markdown",
    "junit": "syntask_doctor.reports.junit",
}
"""Format name -> module; the first is the default."""


class Renderer(Protocol):
    def __call__(self, report: Report, *, color: bool, verbose: bool) -> str: ...


def renderer(name: str) -> Renderer:
    module = importlib.import_module(FORMATS[name])
    render: Renderer = module.render
    return render
