"""Ask DNS servers directly (dnspython) so that each kind of name-resolution failure has a name.

``getaddrinfo`` folds everything into "Name or service not known" or "Temporary failure".
Asked directly, a DNS server says NXDOMAIN, SERVFAIL or REFUSED, answers with no record,
or does not answer at all; each answer carries its TTLs and the CNAME chain. The servers
are those of ``/etc/resolv.conf`` unless the caller names others.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

RDTYPES = ("A", "AAAA")

_WORDS = {
    "nxdomain": "NXDOMAIN: the name does not exist in DNS",
    "servfail": "SERVFAIL: the DNS server could not get an answer (its upstream is broken"
    " or blocked)",
    "refused": "REFUSED: this DNS server will not answer for this machine",
    "empty": "no {rdtype} record (NOERROR, empty answer): the name exists without this address",
    "timeout": "no answer within {timeout:.4g} s",
}


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int = 53

    def __str__(self) -> str:
        if self.port == 53:
            return self.address
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Record:
    address: str
    ttl: int


@dataclass(frozen=True)
class Lookup:
    """One question (name and type) put to one server, and its answer."""

    name: str
    rdtype: str
    server: Nameserver | None
    outcome: str
    """``ok``, ``nxdomain``, ``servfail``, ``refused``, ``empty``, ``timeout`` or ``error``."""
    records: tuple[Record, ...] = ()
    cnames: tuple[tuple[str, int], ...] = ()
    """The CNAME chain from the name asked, each target with its TTL."""
    seconds: float = 0.0
    detail: str = ""

    @property
    def definitive(self) -> bool:
        """Whether the server settled the question (a resolver does not try another then)."""
        return self.outcome in ("ok", "nxdomain", "empty")

    def words(self, timeout: float = 0.0) -> str:
        if self.outcome == "ok":
            shown = ", ".join(f"{r.address} (TTL {r.ttl} s)" for r in self.records)
            return f"{self.rdtype} {shown}"
        text = _WORDS.get(self.outcome, self.detail).format(rdtype=self.rdtype, timeout=timeout)
        return f"{self.rdtype}: {text}, from DNS server {self.server}"


@dataclass(frozen=True)
class NameReport:
    """Everything DNS said about one name: the deciding lookup per type, every attempt."""

    name: str
    lookups: tuple[Lookup, ...]
    """One per type of ``RDTYPES``: the first definitive answer, else the last failure."""
    attempts: tuple[Lookup, ...]

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.address for lookup in self.lookups for r in lookup.records)

    @property
    def ok(self) -> bool:
        return bool(self.addresses)

    @property
    def failure(self) -> Lookup | None:
        """The lookup that best explains why the name has no address, if it has none."""
        if self.ok:
            return None
        return next((x for x in self.lookups if x.outcome != "empty"), self.lookups[0])

    @property
    def cnames(self) -> tuple[tuple[str, int], ...]:
        return next((x.cnames for x in self.lookups if x.cnames), ())


def parse_server(text: str) -> Nameserver:
    """``10.0.0.53``, ``10.0.0.53:5353``, ``::1`` or ``[::1]:5353``."""
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        return Nameserver(host, int(port.lstrip(":") or 53))
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return Nameserver(host, int(port))
    return Nameserver(text)


def system_servers() -> tuple[tuple[Nameserver, ...], str]:
    """The DNS servers of ``/etc/resolv.conf``, and a note when there are none."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        return (), f"no DNS server is configured ({exc or 'empty /etc/resolv.conf'})"
    servers = tuple(parse_server(str(s)) for s in resolver.nameservers)
    return servers, "" if servers else "no DNS server is configured in /etc/resolv.conf"


def servers_for(override: Sequence[str] | None) -> tuple[tuple[Nameserver, ...], str]:
    """The servers to ask and where they come from: those given, else the system's."""
    if override:
        return tuple(parse_server(text) for text in override), "given to the doctor"
    servers, note = system_servers()
    return servers, note or "from /etc/resolv.conf"


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def query(name: str, rdtype: str, server: Nameserver, timeout: float) -> Lookup:
    """One question to one server over UDP (TCP when the answer is truncated)."""
    started = time.monotonic()
    message = dns.message.make_query(name, rdtype)
    try:
        response = dns.query.udp(message, server.address, timeout=timeout, port=server.port)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(message, server.address, timeout=timeout, port=server.port)
    except dns.exception.Timeout:
        return Lookup(name, rdtype, server, "timeout", seconds=time.monotonic() - started)
    except (OSError, dns.exception.DNSException) as exc:
        detail = f"the query failed: {exc or type(exc).__name__}"
        return Lookup(
            name, rdtype, server, "error", seconds=time.monotonic() - started, detail=detail
        )
    return _read(name, rdtype, server, response, time.monotonic() - started)


def _read(
    name: str, rdtype: str, server: Nameserver, response: dns.message.Message, seconds: float
) -> Lookup:
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        outcome = {dns.rcode.NXDOMAIN: "nxdomain", dns.rcode.SERVFAIL: "servfail"}.get(
            rcode, "refused" if rcode == dns.rcode.REFUSED else "error"
        )
        detail = f"the server answered {dns.rcode.to_text(rcode)}"
        return Lookup(name, rdtype, server, outcome, seconds=seconds, detail=detail)
    current = dns.name.from_text(name)
    chain: list[tuple[str, int]] = []
    wanted = dns.rdatatype.from_text(rdtype)
    for _ in range(16):  # a CNAME loop ends here
        cname = next(
            (r for r in response.answer if r.name == current and r.rdtype == dns.rdatatype.CNAME),
            None,
        )
        if cname is None:
            break
        current = next(iter(cname)).target
        chain.append((current.to_text(omit_final_dot=True), cname.ttl))
    records = tuple(
        Record(item.to_text(), rrset.ttl)
        for rrset in response.answer
        if rrset.name == current and rrset.rdtype == wanted
        for item in rrset
    )
    outcome = "ok" if records else "empty"
    return Lookup(name, rdtype, server, outcome, records, tuple(chain), seconds)


def ask(name: str, rdtype: str, servers: Sequence[Nameserver], timeout: float) -> list[Lookup]:
    """Ask the servers in turn, as a stub resolver does, until one settles the question."""
    attempts: list[Lookup] = []
    for server in servers:
        attempts.append(query(name, rdtype, server, timeout))
        if attempts[-1].definitive:
            break
    return attempts or [Lookup(name, rdtype, None, "error", detail="no DNS server to ask")]


def resolve_all(
    names: Sequence[str], servers: Sequence[Nameserver], timeout: float
) -> dict[str, NameReport]:
    """Every name and type at once: a dead server must not cost its timeout once per name."""
    questions = [(name, rdtype) for name in dict.fromkeys(names) for rdtype in RDTYPES]
    if not questions:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(questions))) as pool:
        answers = list(pool.map(lambda q: ask(q[0], q[1], servers, timeout), questions))
    reports: dict[str, NameReport] = {}
    for (name, _), attempts in zip(questions, answers, strict=True):
        earlier = reports.get(name, NameReport(name, (), ()))
        reports[name] = NameReport(
            name, (*earlier.lookups, attempts[-1]), (*earlier.attempts, *attempts)
        )
    return reports
