"""JUnit XML: one test case per check, for CI systems that read test reports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from syntask_doctor.model import Report, Result, Status

# XML 1.0 cannot carry most control characters, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(report: Report, *, color: bool = False, verbose: bool = False) -> str:
    del color, verbose  # a CI report is always complete and plain
    counts = report.counts()
    failures = counts["fail"] + (counts["warn"] if report.strict else 0)
    totals = {
        "tests": str(len(report.results)),
        "failures": str(failures),
        "errors": str(counts["error"]),
        "skipped": str(counts["skip"]),
        "time": f"{sum(r.seconds for r in report.results):.3f}",
    }
    suites = ET.Element("testsuites", {"name": "syntask-doctor", **totals})
    suite = ET.SubElement(
        suites, "testsuite", {"name": "syntask-doctor", "timestamp": report.generated_at, **totals}
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in report.environment.items():
        ET.SubElement(properties, "property", name=name, value=_clean(value))
    for result in report.results:
        _case(suite, result, report.strict)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _case(suite: ET.Element, result: Result, strict: bool) -> None:
    outcome = result.outcome
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"syntask_doctor.{result.family}",
        name=result.check_id,
        time=f"{result.seconds:.3f}",
    )
    body = "\n".join([*outcome.details, *([f"fix: {outcome.remedy}"] if outcome.remedy else [])])
    summary = _clean(outcome.summary)
    if result.status is Status.FAIL or (strict and result.status is Status.WARN):
        failure = ET.SubElement(case, "failure", message=summary, type=result.status.value)
        failure.text = _clean(body)
    elif result.status is Status.ERROR:
        error = ET.SubElement(case, "error", message=summary, type="internal-error")
        error.text = _clean(body)
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=summary)
    else:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join([f"{result.status.value}: {outcome.summary}", body]).strip())


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
