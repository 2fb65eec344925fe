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
    r"""^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\{\{.*\}\}|\$\{[^}\n]*\}|<[^>]*>|.*\*{3,}.*|x{3,}|x-oauth-basic|yes|no|\[?(?:masked|redacted|hidden|removed|filtered)\]?
        |none|null|nil|true|false|changeme_not_set|-+|\.{3})$""", re.I | re.X)

_KEY_WORDS = r"""(?:[A-Za-z0-9_.-]{0,40}?(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key
    |private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?|session[_-]?key|signing[_-]?key|license[_-]?key
    |masterauth|requirepass|encryption[_-]?key|master[_-]?key|application[_-]?key|app[_-]?key|accountkey
    |sharedaccesskey|key[_-]data|client[_-]key|bindpw|routing[_-]key|_auth)[A-Za-z0-9_-]{0,40})"""

_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    # PEM private keys (RSA, EC, OpenSSH, PKCS#8, encrypted): the body between the armour lines.
    ("private_key", re.compile(
        r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)(.*?)(-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"|\Z)", re.S), 2),
    # HTTP auth headers: Bearer / Basic / Token / Digest credentials, also as curl -H and in -v output.
    ("auth_header", re.compile(
        r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?\s*(?:[A-Za-z][A-Za-z0-9-]{1,40}[ \t]+)?)"
        r"([A-Za-z0-9._~+/:-]{6,}=*)(?=[\s\"',;\\]|$)"), 2),
    ("bearer", re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/-]{16,}=*)"), 2),
    # URLs and connection strings with a password: scheme://user:PASSWORD@host
    ("url_password", re.compile(r"((?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/@\"'<>]{0,256}:)([^\s@/\"'<>]{1,512})(@)"), 2),
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
    ("other_prefixed", re.compile(r"()\b(?:dckr_pat_[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|shpat_[a-f0-9]{32}"
                                  r"|xapp-[0-9A-Za-z-]{20,}|pypi-[A-Za-z0-9_-]{50,}|sq0atp-[A-Za-z0-9_-]{22,})"), 0),
    # Docker's config.json: "auth": base64(user:password)
    ("docker_auth", re.compile(r"(\"auth\"\s*:\s*\")([A-Za-z0-9+/=]{12,})(\")"), 2),
    # A JSON object that says its value is secret: terraform output (`"sensitive": true`), keycloak secrets.
    ("sensitive_value", re.compile(r"(?s)((?:\"sensitive\"\s*:\s*true|\"type\"\s*:\s*\"secret\"|\"keyName\"\s*:\s*\"[^\"]*\")"
                                   r"[^{}]{0,200}?"
                                   r"\"value\"\s*:\s*\")([^\"]+)"), 2),
    # UPPER_CASE_KEY=value in an env dump: a key of 16+ base64/hex characters (ENCRYPTION_KEY, STRIPE_KEY)
    ("env_key", re.compile(r"(?m)((?:^|\s)[A-Z][A-Z0-9_]*_KEY=)([A-Za-z0-9+/=_-]{16,})(?=\s|$)"), 2),
    # Cookies: every value of Cookie / Set-Cookie (sessions, CSRF tokens) but the attributes of Set-Cookie.
    ("cookie", re.compile(r"(?im)((?:^|[\s\"'<])(?:set-)?cookie:[ \t]*)([^\r\n\"']+)"), 2),
    # SQL that sets a password: ALTER ROLE x WITH PASSWORD '...', CREATE USER ... IDENTIFIED BY '...'
    ("sql_password", re.compile(r"(?i)(\b(?:password|identified by)\s+')([^'\n]+)(')"), 2),
    # Redis MONITOR / AOF: "AUTH" "password" (or "AUTH" "user" "password")
    ("redis_auth", re.compile(r'(?i)("auth"(?:\s+"[^"\n]*")?\s+")([^"\n]+)(")'), 2),
    # A URL's signature or token parameter (Azure SAS `sig=`, `?token=`, `access_token=`)
    ("query_token", re.compile(r"(?i)([?&](?:sig|signature|token|access_token|api_key|apikey|key|code)=)([^&\s\"'#]+)"), 2),
    # Kubernetes env: `- name: SOMETHING_TOKEN` then `value: ...`
    ("env_value", re.compile(r"(?i)(name:[ \t]*[\"']?[A-Z0-9_]*(?:TOKEN|PASSWORD|SECRET|API_KEY|PASSWD)[A-Z0-9_]*[\"']?"
                             r"[ \t]*\r?\n[ \t]*value:[ \t]*[\"']?)([^\s\"']+)"), 2),
    ("ldap_w", re.compile(r"(\bldap\w+\b[^\n]*?\s-w\s+[\"']?)([^\s\"']+)"), 2),
    # .netrc on one line: machine HOST login USER password SECRET
    ("netrc", re.compile(r"(?m)(^[ \t]*machine\s+\S+.*?\bpassword\s+)(\S+)"), 2),
    # key=value / key: value / "key": "value" / KEY=value in env dumps, where the key names a secret. Not
    # inside an ARN or a path (`:secret:prod/db`), and `key:` needs a space or a quote after it
    # (`rails credentials:show` is a command).
    ("key_value", re.compile(
        rf"""(?ix)((?<![A-Za-z0-9:/.$-])(["']?){_KEY_WORDS}(["']?)\s*(?:=>|=|:(?=[\s"']))[ \t]*(["']?))
        (\$\{{[^}}\n]*\}}|\{{\{{[^}}]*\}}\}}|[^\s"',;&<>()\[\]{{}}\\]+)"""), 5),
    # Config files and tables that separate key and value by spaces: `requirepass X` (redis), `password X`
    # (.netrc), `token   hvs.X` (vault login): the key first on its line and one value after it.
    ("spaced_key", re.compile(
        r"(?im)(^[ \t]*(?:password|passwd|requirepass|masterauth|token|secret|client_secret|api_key)[ \t]+)"
        r"([^\s]+)[ \t]*$"), 2),
    # ~/.pgpass: host:port:database:user:password
    ("pgpass", re.compile(r"(?m)(^[A-Za-z0-9.*_-]+:(?:\d+|\*):[^\s:]+:[^\s:]+:)(\S+)$"), 2),
    # Go MySQL DSN: user:password@tcp(host:port)/db
    ("mysql_dsn", re.compile(r"((?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{1,64}:)([^\s@:/\"']{1,256})(@(?:tcp|unix)\()"), 2),
    ("vault_token", re.compile(r"()\bhv[sbr]\.[A-Za-z0-9_-]{20,}"), 0),
    ("curl_user", re.compile(r"((?:^|\s)(?:-u|--user)[ =]?[\"']?[^\s:\"']+:)([^\s\"']+)"), 2),
    # Command-line flags: --password X, -p'X' (mysql), --token=X
    ("flag", re.compile(
        r"(?i)((?:^|\s)--?(?:password|passwd|token|secret|api-key|access-key|secret-key|client-secret)(?:=|\s+)[\"']?)"
        r"([^\s\"']+)"), 2),
    ("mysql_p", re.compile(r"((?:^|\s)(?:mysql|mysqldump|mysqladmin)\b[^\n]*?\s-p)([^\s\"']+)"), 2),
    ("login_p", re.compile(r"(\b(?:docker|podman|helm registry|oras) login\b[^\n]*?\s-p\s+[\"']?)([^\s\"']+)"), 2),
    ("redis_a", re.compile(r"(\bredis-cli\b[^\n]*?\s-a\s+[\"']?)([^\s\"']+)"), 2),
    ("sshpass", re.compile(r"(\bsshpass\s+-p\s*[\"']?)([^\s\"']+)"), 2),
    # The AWS secret access key shape next to its name in aws/boto output (40 chars base64-ish).
    ("aws_secret", re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*[\"']?)([A-Za-z0-9/+=]{40})"), 2),
]

_KEY_NAMES = {"password", "passwd", "token", "secret", "username", "user", "api-key", "api_key", "apikey",
              "client-secret", "client_secret", "private-key", "tls.key", "key"}
_SCHEMES = {"bearer", "basic", "token", "digest", "apikey", "sso-key"}  # a scheme, its credential masked after it

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
    text = _secret_manifests(text)
    for kind, pattern, group in _PATTERNS:
        text = pattern.sub(lambda m: _replace(m, kind, group), text)
    return text


_SECRET_CONTEXT = re.compile(r"(?im)^[ \t]*kind:[ \t]*Secret\b|\bget[ \t]+secrets?\b|\bvault (?:kv get|read)\b")
_DATA_BLOCK = re.compile(r"^(\s*)(data|stringData):\s*$")
# In `stringData` (plain text) these keys hold what is not secret; base64 `data` is masked whole.
_PLAIN_KEY = re.compile(r"(?i)(host|hostname|port|user|username|name|database|db|namespace|region|url)$")
_DATA_ITEM = re.compile(r"^(\s*)([\w.-]+):[ \t]+(\S.*)$")
_DECODE = re.compile(r"^\s*[$#] (?:.*\bsecrets?\b.*\bbase64 (?:-d|--decode|-D)\b|.*\bvault (?:kv get|read)\b.*-field[= ])")
_JSON_DATA = re.compile(r'^(\s*"[\w.-]+"\s*:\s*")([A-Za-z0-9+/]{8,}={0,2})(",?\s*)$')
_PROMPT = re.compile(r"^\s*[$#] ")


def _secret_manifests(text: str) -> str:
    """A Kubernetes Secret shown as YAML (every value of `data:`/`stringData:`), and what a
    `kubectl get secret ... | base64 -d` printed on the lines after it."""
    if not _SECRET_CONTEXT.search(text):
        return text
    lines = text.split("\n")
    data_indent: int | None = None
    decoding, plain = False, False
    for i, line in enumerate(lines):
        if _PROMPT.match(line):
            decoding, data_indent = bool(_DECODE.match(line)), None
            continue
        if decoding and line.strip() and MASK not in line and not line.startswith("-----"):
            lines[i] = MASK
            continue
        as_json = _JSON_DATA.match(line)
        if as_json:  # `-o json` (and `| jq .data`): base64 values
            lines[i] = as_json.group(1) + MASK + as_json.group(3)
            continue
        block = _DATA_BLOCK.match(line)
        if block:
            data_indent, plain = len(block.group(1)), block.group(2) == "stringData"
            continue
        if data_indent is not None:
            item = _DATA_ITEM.match(line)
            if item and len(item.group(1)) > data_indent:
                if not _is_reference(item.group(3)) and not (plain and _PLAIN_KEY.search(item.group(2))):
                    lines[i] = f"{item.group(1)}{item.group(2)}: {MASK}"
                continue
            if line.strip():
                data_indent = None
    return "\n".join(lines)


def _replace(m: re.Match[str], kind: str, group: int) -> str:
    if group == 0:
        return m.group(1) + MASK
    value = m.group(group)
    if MASK in value or _is_reference(value) or (kind == "auth_header" and (
            value.lower() in _SCHEMES or m.string[m.end():m.end() + 20].lstrip(" \t").startswith(MASK)
            or re.match(r"[ \t]+\S", m.string[m.end():m.end() + 2]))):  # a scheme with its credential after it
        return m.group(0)
    if kind == "cookie":
        return m.group(1) + _cookie_values(value)
    if kind == "flag" and _prose(value, m.string[m.end(): m.end() + 3]):
        return m.group(0)
    if kind == "key_value" and (value.startswith("-----BEGIN") or _kept_pair(m, value)):
        return m.group(0)
    if kind == "env_key" and re.search(r"PUBLIC|PUBLISHABLE", m.group(1)):  # meant to be seen by browsers
        return m.group(0)
    if kind == "private_key":
        return m.group(1) + "\n" + MASK + "\n" + m.group(3)
    return m.group(0)[: m.start(group) - m.start(0)] + MASK + m.group(0)[m.end(group) - m.start(0):]


def _kept_pair(m: re.Match[str], value: str) -> bool:
    """A `key: value` whose key sounds secret but whose value is not one."""
    key_quoted, value_quoted = bool(m.group(3)), bool(m.group(4))
    if key_quoted and not value_quoted and not value.isdigit():  # `volume "api-token" : secret` is prose
        return True
    after = m.string[m.end(): m.end() + 7]
    if _prose(value, after):
        return True
    if value.isdigit() and after.startswith(" bytes"):  # kubectl describe secret: sizes only
        return True
    return _looks_harmless(m.group(1), value)


_COOKIE_ATTRIBUTES = {"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority",
                      "partitioned", "version", "comment"}


def _cookie_values(header: str) -> str:
    """`a=SECRET; Path=/; HttpOnly`: each cookie's value masked, its name and the attributes kept."""
    parts = []
    for part in header.split(";"):
        name, eq, value = part.partition("=")
        plain = not eq or name.strip().lower() in _COOKIE_ATTRIBUTES or value.strip().isdigit() or not value.strip()
        parts.append(part if plain or MASK in value else f"{name}={MASK}")
    return ";".join(parts)


def _prose(value: str, after: str) -> bool:
    """`token: Session has expired`, `--password via the CLI`: a word that a sentence goes on after."""
    return value.isalpha() and bool(re.match(r" [a-z]", after))


def _looks_harmless(key: str, value: str) -> bool:
    """Numbers next to a secret-ish key (token_expiry=3600, max_tokens=4096), file paths, names of secrets."""
    name = key.strip(" \t\"':=>").lower()
    if re.fullmatch(r"\d+(?:ms|s|m|h|d|w)?", value) and not re.search(r"(passw(?:or)?d|pwd|pin|pass)$", name):
        return True  # a duration or a count (TOKEN_TTL=300s, pwdMaxAge: 7776000)
    if value.startswith(("/", "./", "~/", "file:", "arn:")) or ":/" in value:
        return True
    if re.search(r"(file|path|dir|name|ref|arn|id|type|length|ttl|expir|count|max|min|limit|url|endpoint|header"
                 r"|space|uri|role|policy|policies|mode|provider|store|key_?id|version|renewable|duration|accessor|existing\w*)$",
                 name) or name.startswith("existing"):
        return True
    if value.lower().strip("\"'") in _KEY_NAMES:  # `secretKey: password` names a key, it is not one
        return True
    # `secret="api-example-com-tls"`: a bare `secret` key naming a Kubernetes Secret, not holding one
    return name in ("secret", "secrets") and bool(re.fullmatch(r"[a-z0-9]+(?:[.-][a-z0-9]+)+", value)) \
        and not re.search(r"\d{3,}", value)


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
