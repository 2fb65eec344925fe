"""The request of an HTTP step, in the .http form people already write: `METHOD URL`, header lines,
a blank line, an optional body.

One strict parser for a concrete request: the load-time check runs it on the template filled with
samples, the renderer on what it produced and the executor on what it received, so a request means
the same thing at every stage. Secrets stay `{{ secrets.NAME }}` in the rendered request (it is
stored in the workflow history and the database) until the executor fills them (`fill_secrets`).
Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote_plus, urlsplit

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
VERSIONS = ("HTTP/1.1", "HTTP/1.0", "HTTP/2")  # accepted as written; the request goes out as HTTP/1.1
SECRET = re.compile(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
# Headers the client derives from the URL and the body: written by hand they could disagree with them.
SET_BY_CLIENT = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")  # RFC 3986, nothing else
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a header value may hold a tab, nothing below a space
_HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


class HttpRequestError(ValueError):
    """A request that is not one; `line` is the 0-based line of the request text that is wrong."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    @property
    def body_kind(self) -> str:
        """json, form or text, by the Content-Type: how a value (or a secret) is written into the body."""
        return body_kind(self.header("content-type"))


def body_kind(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return "json"
    return "form" if media == "application/x-www-form-urlencoded" else "text"


def check_url(url: str, line: int = 0) -> None:
    """http(s), a host name or an address, an optional port: no credentials (URLs are logged)."""
    if not _URL_CHARS.fullmatch(url) or _BAD_PERCENT.search(url):
        raise HttpRequestError(f"URL {url!r} has characters that must be percent-encoded", line)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise HttpRequestError(f"URL {url!r}: only http:// and https:// URLs (written in lower case)", line)
    if "@" in parts.netloc:
        raise HttpRequestError(f"URL {url!r} holds credentials, which end up in logs: send them in a header "
                               "(Authorization: Bearer {{ secrets.NAME }})", line)
    host = parts.netloc.rpartition(":")[0] if re.search(r":[0-9]*\Z", parts.netloc) else parts.netloc
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise HttpRequestError(f"URL {url!r}: bad IPv6 address {host!r}", line) from None
    elif not _HOSTNAME.fullmatch(host):
        raise HttpRequestError(f"URL {url!r}: bad host name {host!r}", line)
    elif re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise HttpRequestError(f"URL {url!r}: bad IPv4 address {host!r}", line) from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        raise HttpRequestError(f"URL {url!r}: port must be 1-65535", line)


def parse_request(text: str) -> HttpRequest:
    """The request `text` writes, or HttpRequestError naming the line that is wrong."""
    lines = text.split("\n")
    first = lines[0].strip()
    words = first.split()
    if not 2 <= len(words) <= 3:
        raise HttpRequestError(f"the first line is `METHOD URL` (optionally followed by HTTP/1.1), not {first!r}")
    method, url = words[0], words[1]
    if method not in METHODS:
        raise HttpRequestError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if len(words) == 3 and words[2] not in VERSIONS:
        raise HttpRequestError(f"{words[2]!r} after the URL: only {', '.join(VERSIONS)} may stand there")
    check_url(url)
    headers: list[tuple[str, str]] = []
    n = 1
    while n < len(lines) and lines[n].strip():
        headers.append(_header(lines[n], n))
        n += 1
    body = "\n".join(lines[n + 1:])
    request = HttpRequest(method=method, url=url, headers=tuple(headers), body=body)
    if request.body_kind == "json" and body.strip():
        try:
            json.loads(body)
        except ValueError as exc:
            raise HttpRequestError(f"the body is not valid JSON: {exc}", n + 1) from None
    return request


def _header(line: str, n: int) -> tuple[str, str]:
    name, colon, value = line.partition(":")
    if not colon or not HEADER_NAME.fullmatch(name):
        raise HttpRequestError(f"{line.strip()!r} is not a header line `Name: value` (a blank line starts the body)",
                               n)
    if name.lower() in SET_BY_CLIENT:
        raise HttpRequestError(f"the {name} header is set from the URL and the body; leave it out", n)
    value = value.strip(" \t")
    if _CONTROL.search(value):
        raise HttpRequestError(f"the {name} header holds a control character", n)
    return name, value


def secret_names(text: str) -> list[str]:
    return list(dict.fromkeys(SECRET.findall(text)))


def fill_secrets(request: HttpRequest, secrets: Mapping[str, str]) -> HttpRequest:
    """The request with every `{{ secrets.NAME }}` replaced by its value from HTTP_SECRETS, written as
    data where it stands (JSON-escaped in a JSON body, percent-encoded in a form). The executor calls
    it just before sending: the filled request is never stored."""
    if SECRET.search(request.url):
        raise HttpRequestError("a secret may not stand in the URL (URLs are logged): send it in a header")
    unknown = [name for name in secret_names("\n".join([*(v for _, v in request.headers), request.body]))
               if name not in secrets]
    if unknown:
        known = ", ".join(sorted(secrets)) or "none"
        raise HttpRequestError(f"unknown secret {', '.join(unknown)}: not in HTTP_SECRETS (it has {known})")
    headers = []
    for name, value in request.headers:
        filled = SECRET.sub(lambda m: secrets[m[1]], value)
        if _CONTROL.search(filled):
            raise HttpRequestError(f"a secret in the {name} header holds a line break or a control character")
        headers.append((name, filled))
    kind = request.body_kind
    place = {"json": lambda v: json.dumps(v)[1:-1], "form": lambda v: quote_plus(v, safe="")}.get(kind, str)
    body = SECRET.sub(lambda m: place(secrets[m[1]]), request.body)
    return replace(request, headers=tuple(headers), body=body)
