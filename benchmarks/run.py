"""Print syntask-doctor's performance figures, each beside its reference from the same run.

Run as root on Linux, from the repository: ``python benchmarks/run.py``. The network
figures use the end-to-end tier's simulated internet (``tests/e2e/simnet``); start-up
figures run in an empty network namespace, so nothing here can leave the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from e2e import simnet  # noqa: E402 - the e2e tier's simulated internet, once tests/ is on the path

PYTHON = sys.executable
DOCTOR = str(Path(PYTHON).parent / "syntask-doctor")
DEPENDENCIES = "import httpx, certifi, click, dotenv, rich.console, cryptography.x509, dns.resolver"
"""The reference of figure 2: the runtime dependencies, each by the module its users import."""


@dataclass(frozen=True)
class Figure:
    """One line of the table: the doctor's figure, its reference, and the target's verdict."""

    name: str
    doctor: str
    reference: str
    ratio: str
    target: str
    met: bool


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def paired(
    subject: Callable[[], object], reference: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median wall times of ``subject`` and ``reference``, run in turn ``repeat`` times each
    after one warm-up, so that both see the same load on a shared machine."""
    subject()
    reference()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        times[0].append(_timed(subject))
        times[1].append(_timed(reference))
    return statistics.median(times[0]), statistics.median(times[1])


def isolated(argv: list[str], env: dict[str, str]) -> Callable[[], object]:
    """``argv`` in an empty network namespace: only a loopback that is down."""

    def run() -> object:
        return subprocess.run(
            ["unshare", "--net", "--", *argv],
            env=env,
            capture_output=True,
            check=True,
            timeout=60,
        )

    return run


def user_env(home: Path) -> dict[str, str]:
    return {
        "PATH": f"{Path(PYTHON).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "SYNTASK_API_URL": simnet.WORKSPACE_URL,
        "SYNTASK_API_KEY": simnet.KEY,
    }


def peak_rss_mb(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """The largest resident set of the process ``argv`` starts (``wait4``'s ``ru_maxrss``)."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=out)
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
    return usage.ru_maxrss / 1024


def startup_figures(home: Path, repeat: int) -> list[Figure]:
    env = user_env(home)
    click = isolated([PYTHON, "-c", "import click"], env)
    figures = []
    for flag in ("--version", "--help"):
        took, reference = paired(isolated([DOCTOR, flag], env), click, repeat)
        figures.append(
            Figure(
                f"1. start-up: `syntask-doctor {flag}` vs `python -c 'import click'`",
                f"{took * 1000:.0f} ms",
                f"{reference * 1000:.0f} ms",
                f"{took / reference:.2f}x",
                "≤ 1.5x",
                took / reference <= 1.5,
            )
        )
    offline, imports = paired(
        isolated([DOCTOR, "--offline", "--format", "json"], env),
        isolated([PYTHON, "-c", DEPENDENCIES], env),
        repeat,
    )
    figures.append(
        Figure(
            "2. `--offline` run vs importing the runtime dependencies",
            f"{offline * 1000:.0f} ms",
            f"{imports * 1000:.0f} ms",
            f"{offline / imports:.2f}x",
            "≤ 1.3x",
            offline / imports <= 1.3,
        )
    )
    return figures


def curl(bundle: Path, url: str) -> list[str]:
    """One request as a user would make it by hand, timed by curl itself."""
    argv = ["curl", "-s", "-o", "/dev/null", "--max-time", "20", "--cacert", str(bundle)]
    if url.startswith(simnet.CLOUD_API):
        argv += ["-H", f"Authorization: Bearer {simnet.KEY}"]
    timing = "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer}"
    return [*argv, "-w", timing + " %{time_total}\\n", url]


def urls() -> list[str]:
    """What the doctor requests: each host's root, the workspace's health, the key check."""
    roots = [f"{'http' if h in simnet.PLAIN_HTTP else 'https'}://{h}/" for h in simnet.HOSTS]
    return [*roots, f"{simnet.WORKSPACE_URL}/health", f"{simnet.CLOUD_API}/me/workspaces"]


def dependencies(internet: simnet.Internet) -> dict[str, list[str]]:
    """The checks a full run makes, each with the checks it waits for (``--list-checks``)."""
    listing = internet.doctor("--list-checks").stdout
    return {
        match[1]: [d.strip() for d in (match[2] or "").split(",") if d.strip()]
        for match in re.finditer(r"^(\S+) .*?(?:\(after (.*)\))?$", listing, re.MULTILINE)
    }


def timed_curl(internet: simnet.Internet, argv: list[str]) -> list[float]:
    """curl's own times: DNS done, TCP done, TLS done, first byte, total."""
    done = internet.run(argv, internet.user_env(), 60)
    return [float(x) for x in done.stdout.split()]


def critical_path(internet: simnet.Internet, checks: dict[str, list[str]]) -> tuple[float, str]:
    """One connection to the slowest host, DNS to first byte, as curl times it (its own
    start-up excluded); when the doctor checks OCSP, the OCSP request, which needs that
    host's certificate, follows the handshake (its DNS lookup can run meanwhile)."""
    bundle = internet.pki.public_bundle
    slowest = max(
        (timed_curl(internet, curl(bundle, url)), url) for url in urls()[: len(simnet.HOSTS)]
    )
    (dns, connect, tls, first_byte, total), url = slowest[0][:5], slowest[1]
    words = (
        f"slowest host {url}: DNS {dns * 1000:.0f} ms, TCP {(connect - dns) * 1000:.0f} ms,"
        f" TLS {(tls - connect) * 1000 if tls else 0:.0f} ms,"
        f" HTTP {(first_byte - max(tls, connect)) * 1000:.0f} ms"
    )
    host = urlsplit(url).hostname or ""
    if "tls.ocsp" not in checks or host in simnet.PLAIN_HTTP:
        return total, words
    request = internet.workdir / "ocsp-request.der"
    leaf = internet.pki.leaves[host, "valid"].certificate
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        leaf, internet.pki.issuer.certificate, hashes.SHA1()
    )
    request.write_bytes(builder.build().public_bytes(Encoding.DER))
    post = ["--data-binary", f"@{request}", "-H", "Content-Type: application/ocsp-request"]
    asked = timed_curl(internet, [*curl(bundle, simnet.OCSP_URL)[:-1], *post, simnet.OCSP_URL])
    leg = asked[4] - asked[0]
    words += f"; then OCSP (TCP and HTTP) {leg * 1000:.0f} ms after the TLS handshake"
    return max(total, tls + leg), words


def network_figures(
    internet: simnet.Internet, checks: dict[str, list[str]], repeat: int
) -> tuple[list[Figure], str]:
    env = internet.user_env()
    full, floor = paired(internet.doctor, lambda: internet.doctor("--offline"), repeat)
    critical, path = critical_path(internet, checks)
    loop = " && ".join(shlex.join(curl(internet.pki.public_bundle, u)) for u in urls())
    by_hand = statistics.median(
        _timed(lambda: internet.run(["sh", "-c", loop], env, 120)) for _ in range(repeat)
    )
    budget = 1.25 * critical + floor
    rtt = f"{internet.rtt * 1000:.0f} ms RTT"
    return [
        Figure(
            f"3a. full run, {rtt}, vs critical path + start-up floor (`--offline` run)",
            f"{full:.2f} s",
            f"{critical:.2f} s + {floor:.2f} s",
            f"{(full - floor) / critical:.2f}x",
            f"≤ 1.25x (≤ {budget:.2f} s)",
            full <= budget,
        ),
        Figure(
            f"3b. full run, {rtt}, vs `curl` over the same {len(urls())} URLs one by one",
            f"{full:.2f} s",
            f"{by_hand:.2f} s",
            f"{by_hand / full:.2f}x faster",
            "≥ 3x faster",
            by_hand / full >= 3,
        ),
    ], path


def slowest_chain(internet: simnet.Internet, checks: dict[str, list[str]]) -> str:
    """The doctor's own critical path: the chain of dependent checks that took longest."""
    seconds = {r["id"]: float(r["seconds"]) for r in internet.doctor().json()["results"]}
    finish: dict[str, tuple[float, list[str]]] = {}

    def chain(check: str) -> tuple[float, list[str]]:
        if check not in finish:
            start: tuple[float, list[str]] = (0.0, [])
            waits = [d for d in checks.get(check, []) if d in seconds]
            before = max((chain(d) for d in waits), default=start)
            finish[check] = (before[0] + seconds[check], [*before[1], check])
        return finish[check]

    total, path = max(chain(check) for check in seconds)
    steps = " → ".join(f"{check} {seconds[check]:.2f} s" for check in path)
    return f"{steps} = {total:.2f} s"


def blackhole_figure(internet: simnet.Internet, timeout: float) -> Figure:
    internet.blackhole(*simnet.HOSTS)
    run = internet.doctor("--timeout", f"{timeout:g}", timeout=timeout * 5 + 30)
    return Figure(
        f"4. every host black-holed, `--timeout {timeout:g}`",
        f"{run.seconds:.2f} s",
        f"{timeout:g} s",
        f"{run.seconds / timeout:.2f}x",
        f"≤ {timeout + 1:g} s",
        run.seconds <= timeout + 1,
    )


def memory_figure(internet: simnet.Internet, home: Path) -> Figure:
    argv = [PYTHON, "-m", "syntask_doctor", "--format", "json"]
    peak = peak_rss_mb(internet.command(argv), internet.user_env(), internet.cwd)
    imports = peak_rss_mb(
        ["unshare", "--net", "--", PYTHON, "-c", DEPENDENCIES], user_env(home), home
    )
    return Figure(
        "5. peak memory of a full run vs importing the runtime dependencies",
        f"{peak:.0f} MB",
        f"{imports:.0f} MB",
        f"{peak / imports:.2f}x",
        "< 80 MB",
        peak < 80,
    )


def table(figures: list[Figure]) -> str:
    lines = [
        "| Figure | syntask-doctor | Reference | Ratio | Target | Met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = "yes" if f.met else "**no**"
        lines.append(f"| {f.name} | {f.doctor} | {f.reference} | {f.ratio} | {f.target} | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per start-up figure")
    parser.add_argument("--network-repeat", type=int, default=3, help="runs per network figure")
    parser.add_argument("--rtt", type=float, default=0.2, help="round-trip time, seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="--timeout of figure 4")
    args = parser.parse_args()
    reason = simnet.unavailable() or simnet.tun_unavailable()
    if reason:
        print(f"benchmarks need network namespaces and TUN devices: {reason}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="syntask-doctor-bench-") as scratch:
        base = Path(scratch)
        home = base / "home"
        home.mkdir()
        pki = simnet.Pki(base)
        figures = startup_figures(home, args.repeat)
        (base / "slow").mkdir()
        with simnet.Internet(pki, base / "slow", rtt=args.rtt) as internet:
            checks = dependencies(internet)
            network, path = network_figures(internet, checks, args.network_repeat)
            chain = slowest_chain(internet, checks)
            figures += network
            memory = memory_figure(internet, home)
        (base / "dark").mkdir()
        with simnet.Internet(pki, base / "dark") as internet:
            figures.append(blackhole_figure(internet, args.timeout))
        figures.append(memory)

    print(f"syntask-doctor benchmarks: Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"critical path: {path}")
    print(f"the doctor's slowest chain of checks: {chain}\n")
    print(table(figures))
    missed = [f.name.split(" ")[0] for f in figures if not f.met]
    print(f"\ntargets missed: {', '.join(missed)}" if missed else "\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
