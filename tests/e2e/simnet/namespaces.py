"""Linux network namespaces that a test run creates, enters thread by thread, and removes.

Every namespace is named ``sdsim-<pid>-<n>-<role>``: the pid of the run that made it keeps
parallel runs apart, and lets a later run remove what a killed run left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

PREFIX = "sdsim"
CLONE_NEWNET = 0x40000000
COMMAND_TIMEOUT = 10.0
"""Seconds any ``ip`` command may take."""

T = TypeVar("T")

_counter = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    """An ``ip`` command or a namespace switch failed."""


def ip(*args: str) -> str:
    """Run ``ip`` with ``args``; its output, or ``NetnsError`` with its complaint."""
    try:
        done = subprocess.run(
            ["ip", *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"ip {' '.join(args)}: {exc}") from exc
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def unavailable() -> str | None:
    """Why this machine cannot host a simulated network, or ``None`` when it can."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    for tool in ("ip", "mount", "sh"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    try:
        probe = Namespace("probe")
    except NetnsError as exc:
        return f"cannot create a network namespace: {exc}"
    try:
        probe.call(lambda: None)
    except NetnsError as exc:
        return f"cannot enter a network namespace: {exc}"
    finally:
        probe.remove()
    return None


def tun_unavailable() -> str | None:
    """Why links with added latency cannot be built here, or ``None``."""
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing, so no delaying link can be built"
    return None


def remove_stale() -> None:
    """Remove namespaces left by runs whose process is gone (a run killed mid-test)."""
    with contextlib.suppress(NetnsError):
        for line in ip("netns", "list").splitlines():
            name = line.split()[0] if line.strip() else ""
            parts = name.split("-")
            if len(parts) < 3 or parts[0] != PREFIX or not parts[1].isdigit():
                continue
            if not Path(f"/proc/{parts[1]}").exists():
                with contextlib.suppress(NetnsError):
                    ip("netns", "del", name)


class Namespace:
    """One network namespace of this run: its threads, sockets and processes live inside."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.name = f"{PREFIX}-{os.getpid()}-{next(_counter)}-{role}"
        self.path = f"/run/netns/{self.name}"
        ip("netns", "add", self.name)
        self.removed = False

    def ip(self, *args: str) -> str:
        return ip("-n", self.name, *args)

    def _enter(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                error = ctypes.get_errno()
                raise NetnsError(f"setns {self.name}: {os.strerror(error)}")
        finally:
            os.close(fd)

    def call(self, function: Callable[[], T]) -> T:
        """``function()`` in a short-lived thread inside the namespace.

        A namespace switch is per thread, so the caller stays where it is; a socket made
        inside keeps its namespace for life, whichever thread uses it later.
        """
        box: list[T] = []
        errors: list[BaseException] = []

        def inside() -> None:
            try:
                self._enter()
                box.append(function())
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                errors.append(exc)

        worker = threading.Thread(target=inside, name=f"enter {self.name}")
        worker.start()
        worker.join(COMMAND_TIMEOUT)
        if errors:
            raise errors[0]
        if not box:
            raise NetnsError(f"{self.name}: no result within {COMMAND_TIMEOUT:g} s")
        return box[0]

    def thread(self, target: Callable[[], object], name: str) -> threading.Thread:
        """Start a daemon thread that lives inside the namespace, and the threads it starts."""

        def inside() -> None:
            self._enter()
            target()

        worker = threading.Thread(target=inside, name=name, daemon=True)
        worker.start()
        return worker

    def sysctl(self, key: str, value: str) -> None:
        path = Path("/proc/sys") / key.replace(".", "/")
        self.call(lambda: path.write_text(value))

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the namespace (``ip netns exec`` also gives it a mount namespace)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def pids(self) -> list[int]:
        with contextlib.suppress(NetnsError):
            return [int(pid) for pid in ip("netns", "pids", self.name).split()]
        return []

    def remove(self) -> None:
        """End the processes this run started inside, then remove the namespace."""
        if self.removed:
            return
        self.removed = True
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(NetnsError):
            ip("netns", "del", self.name)
