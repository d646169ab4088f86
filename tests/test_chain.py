"""Capturing the presented chain: the whole chain on this Python, the leaf alone where the
chain cannot be read, and shared captures made once per run."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from pytest_httpserver import HTTPServer
from test_probe import black_hole

from syntask_doctor import chain
from syntask_doctor.routes import proxy_environment


@pytest.fixture
def chained() -> Iterator[tuple[trustme.CA, HTTPServer]]:
    root = trustme.CA()
    leaf = root.create_child_ca().issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/").respond_with_data("ok")
    server.start()
    yield root, server
    server.stop()


def test_the_whole_presented_chain_is_read_without_verifying(
    chained: tuple[trustme.CA, HTTPServer],
) -> None:
    _, server = chained
    url = f"https://127.0.0.1:{server.port}/"
    seen = chain.capture(url, proxy_environment({}).route(url), 2.0, 6.0)
    assert seen.whole_chain
    subjects = [c.subject.rfc4514_string() for c in seen.certificates]
    assert len(subjects) == 2
    assert subjects[0].startswith("OU=Testing cert #")
    assert subjects[1].startswith("OU=Testing CA #")
    assert seen.date is not None
    assert seen.probe.error is None
    assert [request.headers.get("Authorization") for request, _ in server.log] == [None]


def test_without_the_chain_method_only_the_leaf_is_read() -> None:
    """Stand-in for a Python whose SSL object cannot list the chain (before 3.10)."""

    class LeafOnly:
        def getpeercert(self, binary: bool) -> bytes:
            return b"leaf-der" if binary else b""

    assert chain.presented(LeafOnly()) == ([b"leaf-der"], False)


def test_verification_reports_openssl_code_and_accepts_with_the_right_root(
    chained: tuple[trustme.CA, HTTPServer],
) -> None:
    root, server = chained
    url = f"https://127.0.0.1:{server.port}/"
    refused = chain.verify(url, ssl.create_default_context(), 2.0)
    assert (refused.accepted, refused.code) == (False, 20)
    trusting = ssl.create_default_context()
    root.configure_trust(trusting)
    assert chain.verify(url, trusting, 2.0).accepted is True


def test_a_host_that_never_answers_gives_no_verdict_within_the_timeout() -> None:
    with black_hole() as port:
        started = time.monotonic()
        found = chain.verify(f"https://127.0.0.1:{port}/", ssl.create_default_context(), 0.5)
    assert found.accepted is None
    assert "no answer to the TCP connection attempt" in found.message
    assert time.monotonic() - started < 2


class Run:
    """Stands for a run's context: any object that can be weakly referenced."""


def test_one_capture_per_url_and_run_however_many_checks_ask() -> None:
    run = Run()
    made: list[str] = []
    gate = threading.Event()

    def make() -> Any:
        made.append("x")
        gate.wait(1)
        return "capture"

    results: list[Any] = []
    workers = [
        threading.Thread(target=lambda: results.append(chain.for_run(run).get("u", make, 2)))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.1)
    gate.set()
    for worker in workers:
        worker.join()
    assert made == ["x"]
    assert results == ["capture"] * 3
    assert chain.for_run(run) is chain.for_run(run)
    assert chain.for_run(Run()) is not chain.for_run(run)
