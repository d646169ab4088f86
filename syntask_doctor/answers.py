"""Judge an answer that is not the Syntask API: a redirect, a web page, a gateway's sign-in.

An access gateway (a zero-trust proxy) or a captive portal answers API calls with its own
HTML sign-in page, with any status code (200, 302, 401, 403 ...). Such a page is named with
its title, before its status is read as the API's: a 401 from a gateway says nothing about
the key.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx

from syntask_doctor.model import Outcome, failed, warned
from syntask_doctor.probe import Answer
from syntask_doctor.secrets import mask_urls_in

HTML_TYPES = ("text/html", "application/xhtml+xml")
API_SHAPE = (
    "Check SYNTASK_API_URL (see settings.api_url): it ends in /api (self-hosted)"
    " or in /api/accounts/<A>/workspaces/<W> (Cloud)"
)
_SIGN_IN = re.compile(
    r"sign[ -]?in|log[ -]?in|log[ -]?on|single sign-on|\bsso\b|authenticat|captive|portal"
    r"|access gateway|verify (?:you|your)|zero[ -]?trust",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Page:
    """An HTML answer: its title, and whether it reads like a sign-in or portal page."""

    title: str | None
    sign_in: bool


def html_title(body: bytes) -> str | None:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    title = " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())
    return title[:120] or None


def html_page(answer: Answer) -> Page | None:
    start = answer.body.lstrip()[:15].lower()
    if answer.content_type not in HTML_TYPES and not start.startswith(
        (b"<!doctype html", b"<html")
    ):
        return None
    title = html_title(answer.body)
    text = answer.body[:8192].decode("utf-8", "replace")
    form = re.search(r"<input[^>]+type=[\"']?password", text, re.IGNORECASE) is not None
    return Page(title, form or _SIGN_IN.search(title or text) is not None)


def location(url: str, answer: Answer) -> str:
    """Where a redirect points, as an absolute URL with any password hidden."""
    raw = answer.headers.get("location")
    if not raw:
        return "(no Location header)"
    try:
        return mask_urls_in(str(httpx.URL(url).join(raw)))
    except (httpx.InvalidURL, ValueError):
        return mask_urls_in(raw)


def gateway_remedy(url: str) -> str:
    return (
        f"Open {url} in a browser on this machine: a captive portal lets traffic through"
        " once you sign in or accept its terms; an access gateway needs the API host"
        " exempted for programs (or its own client running), as the Syntask client cannot"
        " sign in through a web page"
    )


def not_api(url: str, answer: Answer, data: dict[str, Any], details: list[str]) -> Outcome | None:
    """Answers that show something other than the Syntask API sits at ``url``."""
    page = html_page(answer)
    redirect = 300 <= answer.status < 400
    if redirect:
        data["location"] = location(url, answer)
    if page is not None:
        data.update(html_title=page.title, sign_in_page=page.sign_in)
        named = f", page title {page.title!r}" if page.title else ""
        where = f" (redirecting to {data['location']})" if redirect else ""
        if page.sign_in:
            return failed(
                f"HTML came back where the API answers JSON (HTTP {answer.status}{named}){where}:"
                " a sign-in page of an access gateway or captive portal answers instead of the"
                " Syntask API",
                *details,
                remedy=gateway_remedy(url),
                **data,
            )
        if not redirect:
            return failed(
                f"HTML came back where the API answers JSON (HTTP {answer.status}{named}):"
                " this URL is not the Syntask API",
                *details,
                remedy=f"{API_SHAPE}; a sign-in page means an access gateway sits in the way",
                **data,
            )
    if redirect and not data["location"].endswith("/health"):
        return failed(
            f"The API answers with a redirect (HTTP {answer.status}) to {data['location']},"
            " which is not the API: a sign-in page or a gateway sits in the way",
            *details,
            remedy=f"{API_SHAPE}; if it is right, ask for API calls to this address to be let"
            " through without a browser sign-in",
            **data,
        )
    if redirect:
        base = data["location"].removesuffix("/health")
        return warned(
            f"The API answers with a redirect (HTTP {answer.status}) to {data['location']}: the"
            " client does not follow redirects for every call, and request bodies get lost",
            *details,
            remedy=f"Set SYNTASK_API_URL to {base!r}, or stop the reverse proxy redirecting",
            **data,
        )
    return None
