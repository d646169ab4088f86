"""Links between namespaces: veth pairs, and point-to-point links that add latency.

The kernels we run on often lack netem, so a delaying link is two TUN devices, one in
each namespace, and this process carries every IPv4 packet from one to the other after
the one-way delay: TCP's handshake, TLS and DNS all pay the round trip, as on a real path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import select
import struct
import threading
import time

from .namespaces import Namespace

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
POLL = 0.2
"""Seconds a pump waits before looking again whether the link was closed."""


def _open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def _address(ns: Namespace, device: str, local: str, peer: str) -> None:
    ns.ip("addr", "add", local, "peer", peer, "dev", device)
    ns.ip("link", "set", device, "up")


class Link:
    """A link from namespace ``a`` to ``b``; in ``a`` its device is ``to-<b's role>``."""

    def __init__(self, a: Namespace, a_address: str, b: Namespace, b_address: str) -> None:
        self.a, self.b = a, b
        self.a_device, self.b_device = f"to-{b.role}", f"to-{a.role}"
        self.a_address, self.b_address = a_address, b_address

    def close(self) -> None:
        """Nothing to do for a veth pair: it goes with its namespaces."""


class VethLink(Link):
    """A veth pair: as fast as the kernel."""

    def __init__(self, a: Namespace, a_address: str, b: Namespace, b_address: str) -> None:
        super().__init__(a, a_address, b, b_address)
        a.ip(
            "link", "add", self.a_device, "type", "veth", "peer", "name", self.b_device,
            "netns", b.name,
        )  # fmt: skip
        _address(a, self.a_device, a_address, b_address)
        _address(b, self.b_device, b_address, a_address)


class DelayLink(Link):
    """Two TUN devices joined by this process, holding each packet ``one_way`` seconds."""

    def __init__(
        self, a: Namespace, a_address: str, b: Namespace, b_address: str, one_way: float
    ) -> None:
        super().__init__(a, a_address, b, b_address)
        self.one_way = one_way
        self._stop = threading.Event()
        self._fds = (
            a.call(lambda: _open_tun(self.a_device)),
            b.call(lambda: _open_tun(self.b_device)),
        )
        _address(a, self.a_device, a_address, b_address)
        _address(b, self.b_device, b_address, a_address)
        self._threads: list[threading.Thread] = []
        for source, target in (self._fds, self._fds[::-1]):
            held: queue.Queue[tuple[float, bytes]] = queue.Queue()
            for work, args in ((self._read, (source, held)), (self._write, (held, target))):
                thread = threading.Thread(target=work, args=args, daemon=True, name="delay link")
                thread.start()
                self._threads.append(thread)

    def _read(self, source: int, held: queue.Queue[tuple[float, bytes]]) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([source], [], [], POLL)
            if not ready:
                continue
            try:
                packet = os.read(source, 65536)
            except OSError:
                return
            if packet and packet[0] >> 4 == 4:  # IPv4 only: the simulated internet has no v6
                held.put((time.monotonic() + self.one_way, packet))

    def _write(self, held: queue.Queue[tuple[float, bytes]], target: int) -> None:
        while not self._stop.is_set():
            try:
                due, packet = held.get(timeout=POLL)
            except queue.Empty:
                continue
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with contextlib.suppress(OSError):
                os.write(target, packet)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(POLL * 5)
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
