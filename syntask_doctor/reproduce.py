"""A curl command that repeats one request the way the Syntask client makes it, minus secrets.

The line carries the same route (the proxy httpx picked, or none, whatever the shell's own
proxy variables say), the same trust (the CA file the client path loads, ``-k`` when it
verifies nothing), HTTP/1.1 unless HTTP/2 is on, and the doctor's timeouts. A proxy password
is shown as ``****``: replace it to run the line. Pasted into a terminal on the same
machine, it fails the way the doctor saw the request fail.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import certifi

from syntask_doctor.routes import Route
from syntask_doctor.secrets import mask_url


@dataclass(frozen=True)
class CurlTrust:
    """What the client path trusts, as curl options."""

    cafile: str | None = None
    capath: str | None = None
    insecure: bool = False

    def options(self) -> list[str]:
        if self.insecure:
            return ["-k"]
        if self.capath:
            return ["--capath", self.capath]
        return ["--cacert", self.cafile or certifi.where()]


def trust_for(kind: str, location: str, verify: bool = True) -> CurlTrust:
    """curl's options for a CA source (``file``, ``dir`` or ``certifi``) of a client path."""
    if not verify:
        return CurlTrust(insecure=True)
    if kind == "dir":
        return CurlTrust(capath=location)
    return CurlTrust(cafile=location if kind == "file" else certifi.where())


def proxy_cafile(env: Mapping[str, str] | None = None) -> str:
    """What an ``https://`` proxy is checked against: OpenSSL's default file (which
    ``SSL_CERT_FILE`` replaces) plus certifi. curl takes one file, so the closest one."""
    env = os.environ if env is None else env
    return env.get("SSL_CERT_FILE") or certifi.where()


def curl_line(
    url: str,
    route: Route,
    trust: CurlTrust,
    timeout: float,
    *,
    http2: bool = False,
    env: Mapping[str, str] | None = None,
) -> str:
    """The command, ready to paste; the proxy password (if any) appears as ``****``."""
    words = ["curl", "-sS", "-o", "/dev/null", "-w", "HTTP %{http_code}\\n"]
    words += ["--connect-timeout", f"{timeout:.4g}", "--max-time", f"{3 * timeout:.4g}"]
    words.append("--http2" if http2 else "--http1.1")
    if route.proxy is None:
        # The shell's own proxy variables must not send curl elsewhere than httpx goes.
        words += ["--noproxy", "*"]
    else:
        words += ["--proxy", mask_url(route.proxy), "--noproxy", ""]
        if route.proxy.lower().startswith("https://"):
            words += ["--proxy-cacert", proxy_cafile(env)]
    if url.lower().startswith("https://"):
        words += trust.options()
    words.append(url)
    return " ".join(shlex.quote(word) for word in words)
