"""Secrets never shown: mask secret shapes in text before it is stored, sent or logged.

Applied to step output, rendered commands (as shown), alert labels and annotations, timeline
messages and log lines. What is masked is the secret material only: the key name, the user, the
host and everything around it stay readable (`password=[masked]`, `postgres://app:[masked]@db`),
so a person still sees what the command did. Besides the shapes below, the literal values of
settings marked secret (tokens, signing secrets, keys) are masked wherever they appear: a process
registers them once at start (`register_secrets`).

The command that runs is never changed: only what people and stores see.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[masked]"

# A value after `key=` / `key: ` that names a reference or a placeholder, not a secret.
_REFERENCE = re.compile(
    r"""^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{.*\}\}|<[^>]*>|\*+|x{3,}|\[?(?:masked|redacted|hidden|removed|filtered)\]?
        |none|null|nil|true|false|changeme_not_set|-+|\.{3})$""", re.I | re.X)

_KEY_WORDS = r"""(?:[A-Za-z0-9_.-]*?(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key
    |private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?|session[_-]?key|signing[_-]?key))"""

_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    # PEM private keys (RSA, EC, OpenSSH, PKCS#8, encrypted): the body between the armour lines.
    ("private_key", re.compile(
        r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)(.*?)(-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"|\Z)", re.S), 2),
    # HTTP auth headers: Bearer / Basic / Token / Digest credentials, also as curl -H and in -v output.
    ("auth_header", re.compile(
        r"(?i)((?:proxy-)?authorization\s*[:=]\s*[\"']?\s*(?:bearer|basic|token|digest|apikey|sso-key)?\s*)"
        r"([A-Za-z0-9._~+/=:-]{6,})"), 2),
    ("bearer", re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/-]{16,}=*)"), 2),
    # URLs and connection strings with a password: scheme://user:PASSWORD@host
    ("url_password", re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"'<>]*:)([^\s@/\"'<>]+)(@)"), 2),
    # JWTs (three base64url parts, header and payload are JSON objects).
    ("jwt", re.compile(r"()\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), 0),
    # Vendor tokens with a fixed prefix.
    ("aws_access_key_id", re.compile(r"()\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), 0),
    ("github_token", re.compile(r"()\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"), 0),
    ("gitlab_token", re.compile(r"()\bglpat-[A-Za-z0-9_-]{20,}"), 0),
    ("slack_token", re.compile(r"()\bxox[abposre]-[A-Za-z0-9-]{10,}"), 0),
    ("slack_webhook", re.compile(r"(https://hooks\.slack\.com/services/)([A-Za-z0-9/]+)"), 2),
    ("stripe_key", re.compile(r"()\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b"), 0),
    ("google_api_key", re.compile(r"()\bAIza[0-9A-Za-z_-]{35}\b"), 0),
    ("sendgrid_key", re.compile(r"()\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b"), 0),
    ("anthropic_openai_key", re.compile(r"()\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b"), 0),
    ("npm_token", re.compile(r"()\bnpm_[A-Za-z0-9]{36}\b"), 0),
    # key=value / key: value / "key": "value" / KEY=value in env dumps, where the key names a secret.
    ("key_value", re.compile(
        rf"""(?ix)((?<![A-Za-z0-9]){_KEY_WORDS}["']?\s*(?:=|:|=>)\s*["']?)
        ([^\s"',;&<>()\[\]{{}}\\]+)"""), 2),
    # Command-line flags: --password X, -p'X' (mysql), --token=X
    ("flag", re.compile(
        r"(?i)((?:^|\s)--?(?:password|passwd|token|secret|api-key|access-key|secret-key|client-secret)(?:=|\s+)[\"']?)"
        r"([^\s\"']+)"), 2),
    ("mysql_p", re.compile(r"((?:^|\s)(?:mysql|mysqldump|mysqladmin)\b[^\n]*?\s-p)([^\s\"']+)"), 2),
    # The AWS secret access key shape next to its name in aws/boto output (40 chars base64-ish).
    ("aws_secret", re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*[\"']?)([A-Za-z0-9/+=]{40})"), 2),
]

_SCHEMES = {"bearer", "basic", "token", "digest", "apikey", "sso-key"}  # a scheme already masked after it

_lock = threading.Lock()
_literals: tuple[str, ...] = ()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember the values of settings marked secret; every later `mask` hides them verbatim."""
    global _literals
    with _lock:
        found = set(_literals) | {v for v in values if v and len(v) >= 6}
        _literals = tuple(sorted(found, key=len, reverse=True))


def _is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value.strip("\"'")))


def mask(text: str | None) -> str | None:
    """`text` with every secret it contains replaced by [masked]; None stays None."""
    if not text:
        return text
    for literal in _literals:
        if literal in text:
            text = text.replace(literal, MASK)
    for kind, pattern, group in _PATTERNS:
        text = pattern.sub(lambda m: _replace(m, kind, group), text)
    return text


def _replace(m: re.Match[str], kind: str, group: int) -> str:
    if group == 0:
        return m.group(1) + MASK
    value = m.group(group)
    if MASK in value or (kind in ("key_value", "flag", "auth_header") and _is_reference(value)) \
            or (kind == "auth_header" and value.lower() in _SCHEMES):
        return m.group(0)
    if kind == "key_value" and _looks_harmless(m.group(1), value):
        return m.group(0)
    if kind == "private_key":
        return m.group(1) + "\n" + MASK + "\n" + m.group(3)
    return m.group(0)[: m.start(group) - m.start(0)] + MASK + m.group(0)[m.end(group) - m.start(0):]


def _looks_harmless(key: str, value: str) -> bool:
    """Numbers next to a secret-ish key (token_expiry=3600, max_tokens=4096) and file paths are not secrets."""
    name = key.lower()
    if value.isdigit() and not re.search(r"(passw|pwd|pin)", name):
        return True
    if value.startswith(("/", "./", "~/")) or re.search(r"(file|path|dir|name|ref|id|type|length|ttl|expir|count"
                                                       r"|max|min|limit|url|endpoint|header)\W*$", name.strip(" \"':=")):
        return True
    return False


def mask_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """Labels, annotations, params: values masked, and a value whose key names a secret masked whole."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            if re.search(r"(?i)(passw|secret|token|api[_-]?key|private[_-]?key|credential)", key) \
                    and not _is_reference(value) and not _looks_harmless(key, value) and value:
                out[key] = MASK
            else:
                out[key] = mask(value)
        elif isinstance(value, Mapping):
            out[key] = mask_mapping(value)
        elif isinstance(value, list):
            out[key] = [mask_mapping(v) if isinstance(v, Mapping) else mask(v) if isinstance(v, str) else v
                        for v in value]
        else:
            out[key] = value
    return out
