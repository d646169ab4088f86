"""Every format against golden output for the canonical samples, plus format-specific rules.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from samples import CLEAN, SAMPLES, TROUBLED

from syntask_doctor.formats import FORMATS, renderer
from syntask_doctor.model import Report

GOLDEN = Path(__file__).parent / "golden"
SUFFIX = {"rich": "txt", "json": "json", "markdown": "md", "junit": "xml"}
SCHEMA = json.loads(files("syntask_doctor").joinpath("schema/report.schema.json").read_text())


@pytest.fixture(params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest) -> tuple[str, Report]:
    return request.param, SAMPLES[request.param]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_golden(fmt: str, sample: tuple[str, Report]) -> None:
    name, report = sample
    text = renderer(fmt)(report, color=False, verbose=False)
    path = GOLDEN / f"{name}.{SUFFIX[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_every_format_has_a_golden_suffix() -> None:
    assert set(FORMATS) == set(SUFFIX)


def test_json_samples_validate_against_the_schema(sample: tuple[str, Report]) -> None:
    document = json.loads(renderer("json")(sample[1], color=False, verbose=False))
    jsonschema.validate(document, SCHEMA)


def test_junit_has_one_case_per_check_with_statuses_mapped() -> None:
    root = ET.fromstring(renderer("junit")(TROUBLED, color=False, verbose=False))
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [r.check_id for r in TROUBLED.results]
    kinds = {c.get("name"): [child.tag for child in c] for c in cases}
    assert kinds["proxy.env"] == ["failure"]
    assert kinds["api.reach"] == ["error"]
    assert kinds["host.github.com"] == ["skipped"]
    assert kinds["settings.api_key"] == ["system-out"]
    suite = root.find("testsuite")
    assert suite is not None
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "5",
        "1",
        "1",
        "1",
    )


def test_junit_strict_turns_warnings_into_failures() -> None:
    strict = Report(**{**TROUBLED.__dict__, "strict": True})
    root = ET.fromstring(renderer("junit")(strict, color=False, verbose=False))
    case = root.find("./testsuite/testcase[@name='settings.api_key']")
    assert case is not None and case.find("failure") is not None
    assert strict.exit_code == 1


def test_markdown_answers_the_support_checklist() -> None:
    text = renderer("markdown")(TROUBLED, color=False, verbose=False)
    assert "ada@example.com" in text
    assert "acme" in text
    assert "_(please fill in)_" in text  # the organisation was not given
    assert "help@syntask.io" in text
    assert "attach the JSON report" in text
    assert text.index("proxy.env") < text.index("settings.api_key")  # failures before warnings
    for variable in ("SYNTASK_API_URL", "SYNTASK_API_KEY", "HTTPS_PROXY"):
        assert variable in text
    assert "\\|" in text  # table cells escape pipes


def test_clean_markdown_says_nothing_is_wrong() -> None:
    text = renderer("markdown")(CLEAN, color=False, verbose=False)
    assert "None: every check passed" in text


def test_junit_loads_in_a_standard_junit_parser(tmp_path: Path) -> None:
    import junitparser  # noqa: PLC0415 - the third-party parser is what is under test

    path = tmp_path / "report.xml"
    path.write_text(renderer("junit")(TROUBLED, color=False, verbose=False))
    xml = junitparser.JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite]
    assert [case.name for case in cases] == [r.check_id for r in TROUBLED.results]
    results = {case.name: [type(r).__name__ for r in case.result] for case in cases}
    assert results["proxy.env"] == ["Failure"]
    assert results["api.reach"] == ["Error"]
    assert results["host.github.com"] == ["Skipped"]
    assert results["api.workspace"] == []
