"""Run checks concurrently in dependency order, within the run's deadline.

A check's own failure is data: an exception becomes an ``error`` result carrying the
doctor's version, the check id and the trace; a check still running at the deadline
becomes an ``error`` too. Dependents of a check that failed, errored or was skipped are
skipped with the reason.
"""

from __future__ import annotations

import fnmatch
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence

from syntask_doctor import __version__
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, Result, Status
from syntask_doctor.registry import Check

logger = logging.getLogger(__name__)

REPORT_BUGS = "https://github.com/syntask/syntask-doctor/issues"
_BLOCKING = (Status.FAIL, Status.ERROR, Status.SKIP)
GRACE = 0.5
"""Seconds past the deadline a check may take to report the timeout it just hit."""


def matches(check_id: str, patterns: Iterable[str]) -> bool:
    """``--only``/``--skip`` patterns: an exact id, a glob, or a family name."""
    return any(fnmatch.fnmatchcase(check_id, p) or check_id.startswith(f"{p}.") for p in patterns)


def select(checks: Sequence[Check], only: Sequence[str], skip: Sequence[str]) -> list[Check]:
    """Apply ``--only`` (pulling in what the chosen checks depend on) and then ``--skip``."""
    by_id = {c.id: c for c in checks}
    wanted = {c.id for c in checks if not only or matches(c.id, only)}
    stack = list(wanted)
    while stack:
        for dep in by_id[stack.pop()].depends_on:
            if dep in by_id and dep not in wanted:
                wanted.add(dep)
                stack.append(dep)
    return [c for c in checks if c.id in wanted and not matches(c.id, skip)]


def _error(check: Check, summary: str, trace: str | None) -> Outcome:
    details: tuple[str, ...] = (f"syntask-doctor {__version__}, check {check.id}",)
    if trace:
        details += tuple(trace.rstrip().splitlines())
    return Outcome(
        Status.ERROR,
        summary,
        details,
        f"This is a bug in syntask-doctor, not in your setup: please report it at {REPORT_BUGS}",
        {"doctor_version": __version__, "traceback": trace or ""},
    )


def _execute(check: Check, ctx: Context) -> Outcome:
    try:
        outcome = check.run(ctx)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"check returned {type(outcome).__name__}, not an Outcome")
        return outcome
    except Exception as exc:  # noqa: BLE001 - turned into an error result
        return _error(check, f"Internal error: {type(exc).__name__}: {exc}", traceback.format_exc())


def run(
    checks: Sequence[Check],
    ctx: Context,
    on_start: Callable[[Check], None] = lambda _c: None,
    on_finish: Callable[[Result], None] = lambda _r: None,
) -> list[Result]:
    """Run ``checks`` and return their results in the order given."""
    ids = {c.id for c in checks}
    pending = {c.id: c for c in checks}
    running: dict[str, tuple[Check, float]] = {}
    done: queue.Queue[Result] = queue.Queue()

    def finish(check: Check, outcome: Outcome, started: float) -> Result:
        result = Result(check.id, check.title, check.family, outcome, time.monotonic() - started)
        logger.debug(
            "%s: %s in %.3f s: %s", check.id, outcome.status.value, result.seconds, outcome.summary
        )
        ctx.results[check.id] = result
        on_finish(result)
        return result

    def worker(check: Check, started: float) -> None:
        done.put(
            Result(
                check.id,
                check.title,
                check.family,
                _execute(check, ctx),
                time.monotonic() - started,
            )
        )

    while pending or running:
        for check in list(pending.values()):
            deps = [d for d in check.depends_on if d in ids]
            if any(d not in ctx.results for d in deps):
                continue
            del pending[check.id]
            started = time.monotonic()
            blocker = next((d for d in deps if ctx.results[d].status in _BLOCKING), None)
            if blocker is not None:
                status = ctx.results[blocker].status.value
                word = {"fail": "failed", "error": "hit an internal error", "skip": "was skipped"}[
                    status
                ]
                finish(
                    check,
                    Outcome(Status.SKIP, f"Skipped: it depends on {blocker}, which {word}"),
                    started,
                )
            elif ctx.offline and check.network:
                finish(
                    check,
                    Outcome(Status.SKIP, "Skipped: --offline makes no network connection"),
                    started,
                )
            else:
                logger.debug("%s: started", check.id)
                on_start(check)
                running[check.id] = (check, started)
                threading.Thread(
                    target=worker, args=(check, started), daemon=True, name=check.id
                ).start()
        if not running:
            if pending:  # a dependency cycle or a missing id: nothing can ever start
                for check in list(pending.values()):
                    del pending[check.id]
                    finish(
                        check,
                        _error(check, "Internal error: its dependencies can never finish", None),
                        time.monotonic(),
                    )
            continue
        try:
            result = done.get(timeout=ctx.remaining() + GRACE)
        except queue.Empty:
            for check, started in running.values():
                took = time.monotonic() - started
                summary = f"Internal error: still running at the run deadline ({took:.1f} s)"
                finish(check, _error(check, summary, None), started)
            running.clear()
            for check in pending.values():
                finish(
                    check,
                    Outcome(
                        Status.SKIP, "Skipped: the run deadline was reached before it could start"
                    ),
                    time.monotonic(),
                )
            pending.clear()
            break
        check, started = running.pop(result.check_id)
        finish(check, result.outcome, started)
    return [ctx.results[c.id] for c in checks]
