"""A live list of running checks on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.status import Status as Spinner

from syntask_doctor.model import Result
from syntask_doctor.registry import Check


class Progress:
    """Context manager the runner reports to; it never writes to stdout."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._running: dict[str, None] = {}
        self._done = 0
        self._lock = threading.Lock()
        self._spinner: Spinner | None = None

    def __enter__(self) -> Progress:
        if self._enabled:
            self._spinner = Spinner("Starting checks", console=Console(stderr=True))
            self._spinner.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._spinner is not None:
            self._spinner.stop()

    def started(self, check: Check) -> None:
        with self._lock:
            self._running[check.id] = None
            self._update()

    def finished(self, result: Result) -> None:
        with self._lock:
            self._running.pop(result.check_id, None)
            self._done += 1
            self._update()

    def _update(self) -> None:
        if self._spinner is not None:
            names = ", ".join(list(self._running)[:4]) + (" ..." if len(self._running) > 4 else "")
            self._spinner.update(
                f"{self._done} done; running {names}" if names else f"{self._done} done"
            )
