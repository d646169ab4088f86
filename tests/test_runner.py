"""The runner: dependency order, skips with reasons, concurrency, errors and the deadline."""

from __future__ import annotations

import threading
import time

import pytest

from syntask_doctor import runner
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, Status, failed, passed
from syntask_doctor.registry import Check
from syntask_doctor.settings import resolve


def _ctx(deadline: float = 10.0, offline: bool = False) -> Context:
    return Context(resolve(), timeout=1.0, deadline=time.monotonic() + deadline, offline=offline)


def _check(
    check_id: str, outcome: Outcome | None = None, depends_on: tuple[str, ...] = ()
) -> Check:
    return Check(check_id, check_id, lambda _ctx: outcome or passed("ok"), depends_on)


def test_dependents_of_a_failed_check_are_skipped_with_the_reason() -> None:
    checks = [
        _check("a.one", failed("broken")),
        _check("b.two", depends_on=("a.one",)),
        _check("c.three", depends_on=("b.two",)),
    ]
    results = {r.check_id: r for r in runner.run(checks, _ctx())}
    assert results["a.one"].status is Status.FAIL
    assert results["b.two"].status is Status.SKIP
    assert "a.one" in results["b.two"].outcome.summary
    assert "failed" in results["b.two"].outcome.summary
    assert results["c.three"].status is Status.SKIP
    assert "b.two" in results["c.three"].outcome.summary


def test_a_warning_does_not_block_dependents() -> None:
    checks = [_check("a.one", Outcome(Status.WARN, "hm")), _check("b.two", depends_on=("a.one",))]
    results = {r.check_id: r for r in runner.run(checks, _ctx())}
    assert results["b.two"].status is Status.PASS


def test_dependents_see_the_results_of_their_dependencies() -> None:
    seen: list[str] = []

    def second(ctx: Context) -> Outcome:
        first = ctx.result("a.one")
        assert first is not None
        seen.append(first.outcome.data["token"])
        return passed("ok")

    checks = [
        Check("a.one", "one", lambda _ctx: passed("ok", token="t-1")),
        Check("b.two", "two", second, ("a.one",)),
    ]
    runner.run(checks, _ctx())
    assert seen == ["t-1"]


def test_independent_checks_run_at_the_same_time() -> None:
    # Each check waits for the other at a barrier: run one after the other, both would
    # break the barrier and fail. No timing is measured.
    barrier = threading.Barrier(2, timeout=5)

    def meet(_ctx: Context) -> Outcome:
        barrier.wait()
        return passed("met")

    checks = [Check("a.one", "one", meet), Check("a.two", "two", meet)]
    results = runner.run(checks, _ctx())
    assert [r.status for r in results] == [Status.PASS, Status.PASS]


def test_a_check_that_raises_becomes_an_error_and_the_others_go_on() -> None:
    def boom(_ctx: Context) -> Outcome:
        raise KeyError("missing piece")

    checks = [Check("a.boom", "boom", boom), _check("b.fine")]
    results = {r.check_id: r for r in runner.run(checks, _ctx())}
    error = results["a.boom"]
    assert error.status is Status.ERROR
    assert "KeyError" in error.outcome.summary
    assert "a.boom" in error.outcome.details[0]
    assert "Traceback" in error.outcome.data["traceback"]
    assert error.outcome.remedy and "bug in syntask-doctor" in error.outcome.remedy
    assert results["b.fine"].status is Status.PASS


def test_a_check_returning_the_wrong_type_is_an_error() -> None:
    checks = [Check("a.bad", "bad", lambda _ctx: "pass")]  # type: ignore[arg-type,return-value]
    (result,) = runner.run(checks, _ctx())
    assert result.status is Status.ERROR


def test_a_check_that_overruns_the_deadline_becomes_an_error() -> None:
    release = threading.Event()

    def hang(_ctx: Context) -> Outcome:
        release.wait(30)
        return passed("late")

    checks = [
        Check("a.hang", "hang", hang),
        _check("b.fine"),
        _check("c.after", depends_on=("a.hang",)),
    ]
    started = time.monotonic()
    results = {r.check_id: r for r in runner.run(checks, _ctx(deadline=0.5))}
    release.set()
    assert time.monotonic() - started < 10  # bounded by the deadline, not by the hang
    assert results["a.hang"].status is Status.ERROR
    assert "deadline" in results["a.hang"].outcome.summary
    assert results["b.fine"].status is Status.PASS
    assert results["c.after"].status is Status.SKIP


def test_offline_skips_network_checks_only() -> None:
    checks = [
        Check("a.net", "net", lambda _ctx: passed("online"), network=True),
        _check("b.local"),
    ]
    results = {r.check_id: r for r in runner.run(checks, _ctx(offline=True))}
    assert results["a.net"].status is Status.SKIP
    assert "--offline" in results["a.net"].outcome.summary
    assert results["b.local"].status is Status.PASS


def test_a_dependency_cycle_is_reported_not_hung() -> None:
    checks = [_check("a.one", depends_on=("b.two",)), _check("b.two", depends_on=("a.one",))]
    results = runner.run(checks, _ctx())
    assert {r.status for r in results} == {Status.ERROR}


@pytest.mark.parametrize(
    ("check_id", "patterns", "expected"),
    [
        ("host.github.com", ["host.*"], True),
        ("host.github.com", ["host"], True),
        ("host.github.com", ["hos"], False),
        ("api.auth", ["api.auth"], True),
        ("api.auth", ["api.reach"], False),
    ],
)
def test_selection_patterns(check_id: str, patterns: list[str], expected: bool) -> None:
    assert runner.matches(check_id, patterns) is expected


def test_only_pulls_in_dependencies_and_skip_removes() -> None:
    checks = [_check("a.one"), _check("b.two", depends_on=("a.one",)), _check("c.three")]
    assert [c.id for c in runner.select(checks, ["b.two"], [])] == ["a.one", "b.two"]
    assert [c.id for c in runner.select(checks, [], ["c.*"])] == ["a.one", "b.two"]
