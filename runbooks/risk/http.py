"""curl, wget and HTTPie against APIs: GET reads, a body or POST/PUT/PATCH changes remote state, DELETE
destroys; a few well-known endpoints override the method (a PromQL query or a GraphQL query by POST only
reads; delete_series destroys), and a GET to an admin API that names an action (`?action=DELETE`,
`.../cache/flush`) is judged by that verb."""

from __future__ import annotations

import re

from runbooks.risk.base import G, Handler, R, RiskAssessment, Rule, Y, assess, pick, worst_of
from runbooks.risk.verbs import verb_rule

# Endpoints whose effect does not follow from the method; checked in order against the whole command line.
ENDPOINTS: list[tuple[re.Pattern[str], tuple[str, ...], Rule]] = [
    (re.compile(r"/api/v1/admin/tsdb/(delete_series|clean_tombstones)"), (),
     (R, "deletes time series from Prometheus storage (irreversible)")),
    (re.compile(r"/_delete_by_query\b"), (), (R, "deletes every matching document (irreversible)")),
    (re.compile(r"/api/v1/admin/tsdb/snapshot"), (), (Y, "writes a TSDB snapshot to disk")),
    (re.compile(r"/graphql\b(?![^\n]*\bmutation\b)[^\n]*[\"']query[\"']?\s*[:=]", re.IGNORECASE), ("POST", "GET"),
     (G, "sends a GraphQL query (read-only: no mutation)")),
    (re.compile(r"/api/v[12]/silence/"), ("DELETE",), (Y, "expires an Alertmanager silence (reversible)")),
    (re.compile(r"/api/v1/(query|query_range|query_exemplars|series|labels|label/[^/\s]+/values|format_query"
                r"|parse_query)\b|/loki/api/v1/(query|query_range|series|labels)\b"
                r"|/(_search|_msearch|_count|_validate/query|_field_caps|_explain|_cluster/allocation/explain)\b"),
     ("POST", "GET"),
     (G, "queries a read-only API (even by POST)")),
]


def _endpoint(w: list[str], method: str) -> Rule | None:
    text = " ".join(w[1:])
    return next((rule for rx, methods, rule in ENDPOINTS if rx.search(text) and (not methods or method in methods)),
                None)


def _curl(w: list[str], piped: bool) -> RiskAssessment:
    """GET is read-only; a body or -X POST/PUT/PATCH changes remote state; DELETE is red; -o writes a file."""
    long = {"--request": "X", "--data": "d", "--data-raw": "d", "--data-binary": "d", "--data-urlencode": "d",
            "--data-ascii": "d", "--json": "d", "--form": "F", "--upload-file": "T", "--output": "o",
            "--remote-name": "O", "--get": "G", "--head": "I", "--dump-header": "D", "--cookie-jar": "c"}
    seen: dict[str, str] = {}  # short flag letter -> its value
    args, i = w[1:], 0
    while i < len(args):
        a, i = args[i], i + 1
        if a.startswith("--"):
            name, eq, val = a.partition("=")
            if long.get(name) in ("X", "d", "F", "T", "o", "D", "c") and not eq and i < len(args):
                val, i = args[i], i + 1
            seen.setdefault(long.get(name, ""), val)
        elif a.startswith("-"):
            for j, ch in enumerate(a[1:], 2):
                if ch in "HuAebcwmxrYyzKEXdFToCQD":  # short flags that take a value: the rest, or the next arg
                    val, i = (a[j:], i) if a[j:] else (args[i] if i < len(args) else "", i + 1)
                    seen.setdefault(ch, val)
                    break
                seen.setdefault(ch, "")
    method = seen.get("X", "").upper() or ("POST" if {"d", "F", "T"} & seen.keys() and "G" not in seen else "GET")
    line = " ".join(w[1:])
    action = re.search(r"[?&](?:action|op|cmd|command)=(\w+)", line, re.IGNORECASE) or re.search(
        r"https?://[^/\s'\"]+/(?:[^?\s'\"]*/)?([a-z][a-z-]*)(?:[?'\"\s]|$)", line)  # .../cache/flush
    if rule := _endpoint(w, method):
        parts = [assess(w, *rule)]
    elif method in ("GET", "HEAD") and action and "/_" not in line and (
            verb := verb_rule(action.group(1).lower())) and verb[0] != G:  # `/_cat/thread_pool/write` reads
        parts = [assess(w, verb[0], f"asks an admin API to `{action.group(1)}` (a GET that changes state)")]
    elif method == "DELETE":
        parts = [assess(w, R, "sends an HTTP DELETE (destructive)")]
    else:
        parts = [pick(w, method in ("GET", "HEAD", "OPTIONS"), (G, "makes a read-only HTTP request"),
                      (Y, f"sends an HTTP {method} (changes remote state)"))]
    if seen.get("o", "-") not in ("-", "/dev/null") or "O" in seen:
        parts.append(assess(w, Y, "writes the response to a file"))
    if seen.get("D", "-") not in ("-", "/dev/null", "/dev/stdout", "/dev/stderr") or seen.get("c", "-") != "-":
        parts.append(assess(w, Y, "writes headers or cookies to a file"))
    return worst_of(parts, parts[0])


def _wget(w: list[str], piped: bool) -> RiskAssessment:
    """--spider and -O - only read; anything else downloads to a file."""
    args = w[1:]
    method = next((a.split("=", 1)[1].upper() for a in args if a.startswith("--method=")), "")
    method = method or ("POST" if any(a.startswith(("--post-", "--body-")) for a in args) else "")
    if method not in ("", "GET", "HEAD"):
        return assess(w, R if method == "DELETE" else Y, f"sends an HTTP {method} (changes remote state)")
    if "--spider" in args:
        return assess(w, G, "only checks the URL (read-only)")
    out = None
    for i, a in enumerate(args):
        if a.startswith("--output-document") or re.fullmatch(r"-[a-zA-Z]*O.*", a):
            value = a.partition("=")[2] if a.startswith("--") else a[a.index("O") + 1 :]
            out = value or (args[i + 1] if i + 1 < len(args) else "")
    return pick(w, out in ("-", "/dev/null"), (G, "prints the download (read-only)"), (Y, "downloads to a file"))


_METHODS = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}
_HTTPIE_DATA = re.compile(r"^[\w.\[\]-]+(?::=|=(?!=)|@)")  # field=value, field:=json, field@file; query==x is no body


def _httpie(w: list[str], piped: bool) -> RiskAssessment:
    """`http [flags] [METHOD] URL [items]`: judged as curl would judge the same request."""
    args = [a for a in w[1:] if not a.startswith("-")]
    method = args.pop(0).upper() if args and args[0].upper() in _METHODS else ""
    url, items = (args[0], args[1:]) if args else ("", [])
    body = any(_HTTPIE_DATA.match(i) for i in items)
    method = method or ("POST" if body or "--form" in w or "-f" in w else "GET")
    return _curl([w[0], "-X", method, url, *(["-d", "(fields)"] if body else [])], piped)


HANDLERS: dict[str, Handler] = {"curl": _curl, "wget": _wget, "http": _httpie, "https": _httpie}
