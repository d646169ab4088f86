"""The route model against httpx itself: for every environment, the same proxy or none.

httpx's decision is read from a real ``httpx.Client(trust_env=True)`` built under the test's
environment, through its private ``_transport_for_url`` (allowed in tests only): the chosen
transport's pool holds the proxy URL, and the default transport means a direct connection.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import random
import ssl
from collections.abc import Iterator, Mapping

import certifi
import httpx
import pytest

from syntask_doctor import routes
from syntask_doctor.routes import mask_proxy, proxy_environment, proxy_problem, with_scheme

# One verifying context for every client: routing does not depend on it, and loading
# certifi once keeps the generated matrix fast.
CONTEXT = ssl.create_default_context(cafile=certifi.where())

TARGETS = (
    "https://api.syntask.cloud/api",
    "https://app.syntask.cloud/",
    "http://ocsp.pki.goog/",
    "https://syntask.internal.example/api",
    "https://internal.example/",
    "https://deep.a.internal.example:8443/x",
    "https://example.com/",
    "https://www.example.com/",
    "https://wwwexample.com/",
    "https://example.com:8443/",
    "https://example.com:443/",
    "http://example.com:8443/",
    "http://127.0.0.1:4200/api",
    "https://127.0.0.1:4200/api",
    "http://localhost:4200/api",
    "https://[::1]:8443/",
    "https://10.1.2.3/",
    "https://10.9.9.9/",
    "http://plain.example/",
    "https://plain.example/",
    "https://EXAMPLE.COM/",
    "https://sub.syntask.cloud/",
)

PROXIES = (
    "http://proxy.corp.example:8080",
    "proxy.corp.example:3128",
    "https://tls-proxy.example:8443",
    "http://user:p%40ss@auth.example:8080",
    "http://127.0.0.1:9",
    "HTTP://Upper.Example:8080",
)

NO_PROXY_ENTRIES = (
    "*",
    ".internal.example",
    "internal.example",
    "*.internal.example",
    "*internal.example",
    "example.com",
    "EXAMPLE.com",
    "127.0.0.1",
    "::1",
    "localhost",
    "LOCALHOST",
    "10.0.0.0/8",
    "10.1.2.3",
    "example.com:8443",
    "example.com:443",
    "http://plain.example",
    "https://syntask.internal.example",
    "https://",
    "all://*.syntask.cloud",
    "  api.syntask.cloud ",
    "syntask.cloud",
    ".syntask.cloud",
    "localhost:4200",
    "192.168.0.0/16",
    "",
)


def _role_settings(role: str, rng: random.Random) -> dict[str, str]:
    """One of the ways a user sets (or half-sets) the variables of one role."""
    upper, lower, odd = f"{role.upper()}_PROXY", f"{role}_proxy", f"{role.title()}_Proxy"
    value, other = rng.sample(PROXIES, 2)
    return rng.choice(
        [
            {},
            {upper: value},
            {lower: value},
            {upper: value, lower: other},
            {upper: value, lower: ""},
            {lower: ""},
            {upper: ""},
            {odd: value},
            {odd: value, lower: ""},
        ]
    )


def _no_proxy_settings(rng: random.Random) -> dict[str, str]:
    entries = rng.sample(NO_PROXY_ENTRIES, rng.randint(0, 4))
    if not entries:
        return {}
    text = rng.choice([",", ", ", " ,"]).join(entries)
    return rng.choice(
        [
            {"NO_PROXY": text},
            {"no_proxy": text},
            {"NO_PROXY": "example.com", "no_proxy": text},
            {"NO_PROXY": text, "no_proxy": ""},
        ]
    )


def generated_environments(count: int = 400, seed: int = 20250601) -> list[dict[str, str]]:
    """A deterministic matrix: every role's variables in many shapes, with NO_PROXY lists."""
    rng = random.Random(seed)
    envs: list[dict[str, str]] = []
    for _ in range(count):
        env: dict[str, str] = {}
        for role in ("http", "https", "all"):
            env.update(_role_settings(role, rng))
        env.update(_no_proxy_settings(rng))
        if rng.random() < 0.05:
            env["REQUEST_METHOD"] = "GET"
        envs.append(env)
    return envs


HAND_PICKED: tuple[dict[str, str], ...] = (
    {},
    {"HTTPS_PROXY": "http://proxy.corp.example:8080", "NO_PROXY": "*.internal.example"},
    {"HTTPS_PROXY": "http://proxy.corp.example:8080", "https_proxy": ""},
    {"HTTPS_PROXY": "http://a:1", "https_proxy": "", "ALL_PROXY": "http://b:2"},
    {"HTTP_PROXY": "http://a:1", "REQUEST_METHOD": "GET"},
    {"http_proxy": "http://a:1", "REQUEST_METHOD": "GET"},
    {"ALL_PROXY": "http://a:1", "NO_PROXY": "*"},
    {"ALL_PROXY": "http://a:1", "NO_PROXY": "example.com,*,bad"},
    {"ALL_PROXY": "http://a:1", "HTTPS_PROXY": "http://b:2", "NO_PROXY": "https://"},
    {"ALL_PROXY": "http://a:1", "NO_PROXY": "example.com:8443,::1,LocalHost"},
    {"HTTPS_PROXY": "http://a:1", "NO_PROXY": " example.com , , .internal.example "},
    {"FTP_PROXY": "http://a:1", "SYNTASK_PROXY": "http://b:2"},
)


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Environ]:
    yield _Environ(monkeypatch)


class _Environ:
    """Sets an environment (on top of the scrubbed one) for exactly one decision."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def httpx_routes(self, env: Mapping[str, str], urls: tuple[str, ...]) -> list[object]:
        with self.monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            with httpx.Client(trust_env=True, verify=CONTEXT) as client:
                return [_httpx_route(client, url) for url in urls]

    def model(self, env: Mapping[str, str]) -> routes.ProxyEnvironment:
        with self.monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            return proxy_environment(dict(os.environ))

    def httpx_error(self, env: Mapping[str, str]) -> Exception | None:
        with self.monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            try:
                httpx.Client(trust_env=True, verify=CONTEXT).close()
            except (ValueError, ImportError, httpx.InvalidURL) as exc:
                return exc
        return None


def _httpx_route(client: httpx.Client, url: str) -> object:
    transport = client._transport_for_url(httpx.URL(url))
    if transport is client._transport:
        return None
    assert isinstance(transport, httpx.HTTPTransport)
    proxy_url = transport._pool._proxy_url  # type: ignore[attr-defined]
    return (proxy_url.scheme.decode(), proxy_url.host.decode(), proxy_url.port)


def _model_route(model: routes.ProxyEnvironment, url: str) -> object:
    route = model.route(url)
    if route.proxy is None:
        return None
    proxy = httpx.Proxy(route.proxy).url
    return (proxy.raw_scheme.decode(), proxy.raw_host.decode(), proxy.port)


def _describe(env: Mapping[str, str]) -> str:
    return ";".join(f"{k}={v!r}" for k, v in sorted(env.items())) or "empty"


@pytest.mark.parametrize(
    "env",
    [*HAND_PICKED, *generated_environments()],
    ids=lambda env: _describe(env)[:80],
)
def test_route_equals_httpx_decision(environ: _Environ, env: dict[str, str]) -> None:
    """For every target, the model picks the proxy httpx picks, or none when httpx goes direct."""
    model = environ.model(env)
    assert not model.setup_errors(), "the matrix only holds environments httpx accepts"
    expected = environ.httpx_routes(env, TARGETS)
    actual = [_model_route(model, url) for url in TARGETS]
    mismatches = [(u, a, e) for u, a, e in zip(TARGETS, actual, expected, strict=True) if a != e]
    assert not mismatches, mismatches


BROKEN: tuple[dict[str, str], ...] = (
    {"ALL_PROXY": "socks5://127.0.0.1:7890"},
    {"ALL_PROXY": "socks5h://127.0.0.1:7890", "NO_PROXY": "api.syntask.cloud"},
    {"ALL_PROXY": "socks://127.0.0.1:7890"},
    {"all_proxy": "socks4://127.0.0.1:1080"},
    {"HTTPS_PROXY": "ftp://u:secretpw@h:21"},
    {"HTTPS_PROXY": " http://proxy:8080"},
    {"HTTPS_PROXY": "http://user:pa#Qz9xw@proxy:8080"},
    {"HTTPS_PROXY": "http://user:pa/Qz9xw@proxy:8080"},
    {"HTTP_PROXY": "http://user:pa?Qz9xw@proxy:8080", "HTTPS_PROXY": "socks://h:1"},
    {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "[::1]"},
    {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "fd00::/8"},
    {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "bücher.ch"},
    {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "foo:bar"},
    {"NO_PROXY": "foo:bar"},
    {"ALL_PROXY": "socks://127.0.0.1:7890", "NO_PROXY": "*"},
    {"ALL_PROXY": "socks://127.0.0.1:7890", "NO_PROXY": "[::1],*"},
    {"ALL_PROXY": "socks://127.0.0.1:7890", "all_proxy": ""},
    {"ALL_PROXY": "socks://127.0.0.1:7890", "HTTPS_PROXY": "http://a:1", "NO_PROXY": "https://"},
    {"HTTPS_PROXY": "http://user:p@ss@proxy:8080"},
    {"HTTPS_PROXY": "http://proxy:8080 "},
)


@pytest.mark.parametrize("env", BROKEN, ids=lambda env: _describe(env)[:80])
def test_setup_errors_equal_what_httpx_raises(environ: _Environ, env: dict[str, str]) -> None:
    """C13 and kin: the model predicts client-creation failures, the first one exactly."""
    model = environ.model(env)
    raised = environ.httpx_error(env)
    errors = model.setup_errors()
    if raised is None:
        assert errors == ()
        return
    assert errors, f"httpx raised {raised!r}"
    assert errors[0].exception == type(raised).__name__
    for password in ("secretpw", "Qz9xw", "pa#", "p@ss", "'pa'"):
        assert all(password not in e.message for e in errors)


def test_socks5_setup_error_depends_on_socksio(environ: _Environ) -> None:
    """C13: socks5 fails with ImportError exactly when socksio is missing, even for NO_PROXY."""
    env = {"ALL_PROXY": "socks5://127.0.0.1:7890", "NO_PROXY": "api.syntask.cloud"}
    errors = environ.model(env).setup_errors()
    if importlib.util.find_spec("socksio") is None:
        assert [e.exception for e in errors] == ["ImportError"]
        assert errors[0].source == "ALL_PROXY"
    else:
        assert errors == ()


def test_c10_star_dot_glob_routes_through_proxy_and_names_the_miss(environ: _Environ) -> None:
    """C10: '*.internal.example' matches nothing in httpx; the host goes through the proxy."""
    env = {"HTTPS_PROXY": "http://proxy.corp.example:8080", "NO_PROXY": "*.internal.example"}
    model = environ.model(env)
    url = "https://syntask.internal.example/api"
    route = model.route(url)
    assert route.proxy == "http://proxy.corp.example:8080"
    assert route.variable == "HTTPS_PROXY"
    assert [e.text for e in route.missed] == ["*.internal.example"]
    assert "'*.'" in route.reason
    (entry,) = model.no_proxy
    assert entry.suggestion == ".internal.example"
    assert _model_route(model, url) == environ.httpx_routes(env, (url,))[0]
    fixed = {**env, "NO_PROXY": entry.suggestion}
    assert environ.model(fixed).route(url).proxy is None
    assert environ.httpx_routes(fixed, (url,)) == [None]


def test_c16_empty_lowercase_cancels_uppercase(environ: _Environ) -> None:
    """C16: https_proxy='' cancels HTTPS_PROXY; the variables say so and the route is direct."""
    env = {"HTTPS_PROXY": "http://proxy.corp.example:8080", "https_proxy": ""}
    model = environ.model(env)
    notes = {v.name: v for v in model.variables}
    assert not notes["HTTPS_PROXY"].used
    assert "cancelled by the empty https_proxy" in notes["HTTPS_PROXY"].note
    assert "cancels HTTPS_PROXY" in notes["https_proxy"].note
    route = model.route("https://api.syntask.cloud/api")
    assert route.proxy is None
    assert "HTTPS_PROXY is set but not used" in route.reason
    assert environ.httpx_routes(env, ("https://api.syntask.cloud/api",)) == [None]


def test_lowercase_wins_and_is_named(environ: _Environ) -> None:
    model = environ.model({"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"})
    notes = {v.name: v.note for v in model.variables}
    assert notes["https_proxy"] == "used"
    assert notes["HTTPS_PROXY"] == "overridden by https_proxy (a lowercase name wins)"


def test_ignored_roles_and_cgi_protection(environ: _Environ) -> None:
    model = environ.model(
        {"FTP_PROXY": "http://a:1", "HTTP_PROXY": "http://b:2", "REQUEST_METHOD": "GET"}
    )
    notes = {v.name: v for v in model.variables}
    assert "ignores" in notes["FTP_PROXY"].note
    assert "REQUEST_METHOD" in notes["HTTP_PROXY"].note
    assert model.route("http://ocsp.pki.goog/").proxy is None


def test_bypass_all_mounts_nothing_even_broken_values(environ: _Environ) -> None:
    env = {"ALL_PROXY": "socks://127.0.0.1:7890", "NO_PROXY": "localhost,*"}
    model = environ.model(env)
    assert model.bypass_all
    assert model.setup_errors() == ()
    assert "turns every proxy off" in model.route("https://api.syntask.cloud/").reason
    assert environ.httpx_error(env) is None


def test_loopback_target_through_remote_proxy_is_explained(environ: _Environ) -> None:
    model = environ.model({"HTTP_PROXY": "http://proxy.corp.example:8080"})
    route = model.route("http://127.0.0.1:4200/api")
    assert route.proxy is not None
    assert "never bypasses loopback" in route.reason
    local = environ.model({"HTTP_PROXY": "http://127.0.0.1:3128"})
    assert "loopback" not in local.route("http://127.0.0.1:4200/api").reason


@pytest.mark.parametrize(
    ("entry", "problem", "suggestion"),
    [
        ("*.internal.example", "'*.'", ".internal.example"),
        ("*internal.example", "leading '*'", "internal.example"),
        ("foo*.example", "inside a name", None),
        ("10.0.0.0/8", "CIDR", None),
        ("example.com:443", "default port", "example.com"),
        ("localhost 127.0.0.1", "separated by commas", "localhost,127.0.0.1"),
        ("a.example;b.example", "separated by commas", "a.example,b.example"),
        ("[::1]", "every client fails", "::1"),
        ("bücher.ch", "every client fails", "xn--bcher-kva.ch"),
        ("fd00::/8", "every client fails", None),
    ],
)
def test_no_proxy_entries_httpx_misreads(
    environ: _Environ, entry: str, problem: str, suggestion: str | None
) -> None:
    (judged,) = environ.model({"NO_PROXY": entry}).no_proxy
    assert judged.problem is not None
    assert problem in judged.problem
    assert judged.suggestion == suggestion


@pytest.mark.parametrize(
    ("entry", "note"),
    [
        (".internal.example", "subdomains of internal.example only"),
        ("example.com:8443", "port 8443 explicitly"),
        ("http://plain.example", "only http:// URLs to exactly plain.example"),
    ],
)
def test_no_proxy_entries_narrower_than_expected(environ: _Environ, entry: str, note: str) -> None:
    (judged,) = environ.model({"NO_PROXY": entry}).no_proxy
    assert judged.problem is None
    assert judged.note is not None
    assert note in judged.note


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        ("10.0.0.0/8", "https://10.9.9.9/"),
        ("*.internal.example", "https://a.internal.example/"),
        ("example.com:443", "https://example.com/"),
        (".example.com", "https://example.com/"),
    ],
)
def test_missed_entries_are_attached_to_the_route(environ: _Environ, entry: str, url: str) -> None:
    route = environ.model({"ALL_PROXY": "http://a:1", "NO_PROXY": entry}).route(url)
    assert route.proxy == "http://a:1"
    assert [e.text for e in route.missed] == [entry]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("http://user:secret@proxy:8080", "http://user:****@proxy:8080"),
        ("user:secret@proxy:8080", "user:****@proxy:8080"),
        ("http://user:pa#ss@proxy:8080", "http://user:****@proxy:8080"),
        ("http://user:p@ss@proxy:8080", "http://user:****@proxy:8080"),
        ("socks5://:secret@h:1", "socks5://:****@h:1"),
        ("http://proxy:8080", "http://proxy:8080"),
    ],
)
def test_mask_proxy_never_shows_the_password(value: str, shown: str) -> None:
    assert mask_proxy(value) == shown
    route = routes.Route("https://x/", with_scheme(value), "HTTPS_PROXY", "")
    assert "secret" not in route.shown
    assert "ss@" not in route.shown


@pytest.mark.parametrize(
    "value",
    [
        "socks://u:secretpw@h:1",
        "ftp://u:secretpw@h:1",
        "http://u:secret#pw@h:1",
        "http://u:secr?etpw@h:1",
        "http://u:se/cretpw@h:1",
    ],
)
def test_proxy_problem_masks_the_password(value: str) -> None:
    problem = proxy_problem(value)
    assert problem is not None
    for piece in ("secretpw", "secret", "etpw", "cretpw", "se", "secr"):
        assert f"{piece}@" not in problem
        assert f"'{piece}'" not in problem
    assert "secret" not in problem


def test_with_scheme_matches_httpx_completion() -> None:
    assert with_scheme("proxy.corp.example:8080") == "http://proxy.corp.example:8080"
    assert with_scheme("https://p:1") == "https://p:1"


def test_matrix_covers_every_shape() -> None:
    """The generated matrix is not degenerate: each kind of variable and entry appears."""
    envs = generated_environments()
    names = {name for env in envs for name in env}
    for name in ("HTTPS_PROXY", "https_proxy", "Https_Proxy", "ALL_PROXY", "all_proxy"):
        assert name in names
    assert any(v == "" for env in envs for v in env.values())
    texts = [env.get("NO_PROXY", "") + env.get("no_proxy", "") for env in envs]
    for entry in ("*", "*.internal.example", "::1", "10.0.0.0/8", "example.com:8443"):
        assert any(entry in text for text in texts), entry
    assert sum(1 for _ in itertools.islice(envs, None)) == 400
