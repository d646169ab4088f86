"""The JSON report: a versioned document for support engineers and CI."""

from __future__ import annotations

import json

from syntask_doctor.document import report_data
from syntask_doctor.model import Report


def render(report: Report, *, color: bool = False, verbose: bool = False) -> str:
    del color, verbose  # a document is always complete and plain
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"
