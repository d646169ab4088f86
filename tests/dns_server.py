"""A real DNS server on loopback (UDP) for tests: a small zone, and a fault mode per name."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from syntask_doctor import registry, runner
from syntask_doctor.context import Context
from syntask_doctor.dns import is_address, parse_server, resolve_all
from syntask_doctor.model import Result
from syntask_doctor.probe import Resolver, ResolveTimeoutError
from syntask_doctor.settings import resolve as resolve_settings

FAULTS = ("nxdomain", "servfail", "refused", "empty", "drop")
"""``empty`` answers NOERROR with no record; ``drop`` never answers (a resolver timeout)."""


@dataclass
class Entry:
    """What the server knows of one name: addresses, a CNAME, or a fault."""

    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    cname: str | None = None
    fault: str | None = None
    ttl: int = 300


@dataclass
class LocalDns:
    """Answers from ``zone``; names it does not know get ``default`` (NXDOMAIN)."""

    zone: dict[str, Entry] = field(default_factory=dict)
    default: str = "nxdomain"
    queries: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self.server = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> LocalDns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(dns.message.from_wire(wire))
            if reply is not None:
                self._sock.sendto(reply.to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message | None:
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        response = dns.message.make_response(query)
        entry = self.zone.get(name)
        fault = entry.fault if entry else self.default
        if fault == "drop":
            return None
        if fault in ("nxdomain", "servfail", "refused"):
            response.set_rcode(dns.rcode.from_text(fault.upper()))
            return response
        current = name
        while entry is not None and entry.cname:
            response.answer.append(
                dns.rrset.from_text(current + ".", entry.ttl, "IN", "CNAME", entry.cname + ".")
            )
            current = entry.cname
            entry = self.zone.get(current)
        addresses = () if entry is None else (entry.a if rdtype == "A" else entry.aaaa)
        if addresses and rdtype in ("A", "AAAA") and entry is not None:
            response.answer.append(
                dns.rrset.from_text(current + ".", entry.ttl, "IN", rdtype, *addresses)
            )
        return response


def system_resolver(
    dns_server: LocalDns, hosts: dict[str, tuple[str, ...]] | None = None
) -> Resolver:
    """The system resolver of a machine whose /etc/hosts holds ``hosts`` and whose
    resolv.conf names ``dns_server``: files first, then DNS, as glibc does.

    A stand-in for ``getaddrinfo``, which cannot be pointed at a loopback DNS server without
    editing /etc/resolv.conf; the DNS part is a real query to the real local server, and its
    failures become the ``socket.gaierror`` codes glibc gives for them.
    """
    table = hosts or {}

    def resolve(host: str, port: int, timeout: float) -> tuple[str, ...]:
        if is_address(host):
            return (host.strip("[]"),)
        if host.lower() in table:
            return table[host.lower()]
        report = resolve_all([host], [parse_server(dns_server.server)], timeout)[host]
        if report.ok:
            return report.addresses
        outcome = report.failure.outcome if report.failure else "error"
        if outcome == "timeout":
            raise ResolveTimeoutError(host)
        if outcome in ("nxdomain", "empty"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    return resolve


def run_with_dns(
    *only: str,
    dns_server: LocalDns,
    hosts: dict[str, tuple[str, ...]] | None = None,
    nameservers: tuple[str, ...] | None = None,
    timeout: float = 2.0,
) -> dict[str, Result]:
    """``conftest.run_checks`` with the DNS seams pointed at ``dns_server``: no real resolver."""
    settings = resolve_settings()
    checks = runner.select(registry.load().checks(settings), list(only), [])
    ctx = Context(
        settings,
        timeout=timeout,
        deadline=time.monotonic() + 20,
        nameservers=nameservers or (dns_server.server,),
        system_resolver=system_resolver(dns_server, hosts),
    )
    return {r.check_id: r for r in runner.run(checks, ctx)}
