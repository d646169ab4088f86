"""A DNS server for the simulated internet: A records for the names it knows, over UDP and TCP."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from .namespaces import Namespace

IDLE = 5.0
"""Seconds a TCP client may stay silent before the server hangs up."""


class DnsServer:
    """Answers ``records`` (name to IPv4 address); other names get NXDOMAIN.

    ``delay`` holds every answer back, as a slow recursive resolver would.
    """

    def __init__(
        self, ns: Namespace, address: str, records: dict[str, str], port: int = 53
    ) -> None:
        self.records = dict(records)
        self.delay = 0.0
        self.queries: list[str] = []
        self._stopped = threading.Event()
        self._udp = ns.call(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        self._udp.bind((address, port))
        self._udp.settimeout(0.2)
        self._tcp = ns.call(lambda: socket.create_server((address, port)))
        self._tcp.settimeout(0.2)
        ns.thread(self._serve_udp, "dns udp")
        ns.thread(self._serve_tcp, "dns tcp")

    def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        for question in query.question:
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            address = self.records.get(name)
            if address is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", address))
        return response.to_wire()

    def _serve_udp(self) -> None:
        while not self._stopped.is_set():
            try:
                wire, client = self._udp.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            reply = self.answer(wire)
            if reply is not None:
                timer = threading.Timer(self.delay, self._send_udp, (reply, client))
                timer.daemon = True
                timer.start()

    def _send_udp(self, reply: bytes, client: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):
            self._udp.sendto(reply, client)

    def _serve_tcp(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._tcp.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle_tcp, args=(conn,), daemon=True).start()

    def _handle_tcp(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE)
        with conn, contextlib.suppress(OSError):
            while True:
                head = conn.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return
                wire = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                reply = self.answer(wire)
                if reply is None:
                    return
                self._stopped.wait(self.delay)
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def stop(self) -> None:
        self._stopped.set()
        self._udp.close()
        self._tcp.close()
