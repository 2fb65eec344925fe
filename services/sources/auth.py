"""Who may post alerts: shared token and HMAC checks, all constant-time, none echoing a secret.

Every adapter calls one of these before it looks at the body, so a stranger's delivery costs a
header comparison, never a JSON parse. Reasons name the header that is missing or wrong and the
environment variable that holds the secret, never the secret nor what the caller sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable

from pydantic import SecretStr

from services.sources.base import Delivery, SourceError

TOKEN_HEADER = "x-living-runbooks-token"


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality that also takes non-ASCII text (`hmac.compare_digest` refuses such str)."""
    a_bytes = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8", "surrogatepass") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def hmac_sha256_hex(secret: SecretStr, message: bytes) -> str:
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def any_signature_matches(expected_hex: str, candidates: Iterable[str]) -> bool:
    """True when one candidate equals the expected digest; every candidate is compared (rotation sends several)."""
    matched = False
    for candidate in candidates:
        matched |= same(expected_hex, candidate.strip().lower())
    return matched


def _credentials(delivery: Delivery, allow_basic: bool) -> tuple[str, str] | None:
    """(where it came from, the presented token) from X-Living-Runbooks-Token, Bearer or Basic auth."""
    if TOKEN_HEADER in delivery.headers:
        return "X-Living-Runbooks-Token header", delivery.headers[TOKEN_HEADER].strip()
    authorization = delivery.headers.get("authorization", "").strip()
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return "Authorization Bearer token", value.strip()
    if scheme.lower() == "basic" and allow_basic:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise SourceError(401, "Authorization Basic credentials are not valid base64 of user:password") from None
        return "Authorization Basic password", decoded.partition(":")[2]
    expected = "Bearer or Basic" if allow_basic else "Bearer"
    raise SourceError(401, f"Authorization header has an unsupported scheme (expected {expected})")


def check_token(delivery: Delivery, secret: SecretStr | None, env_name: str, *, allow_basic: bool = False) -> None:
    """Optional shared token: when `env_name` is unset anyone may post; when set, it is required."""
    if secret is None:
        return
    found = _credentials(delivery, allow_basic)
    if found is None:
        how = "Authorization: Bearer <token>" + (" (or basic auth with the token as password)" if allow_basic else "")
        raise SourceError(401, f"missing token: {env_name} is set, send it as {how} or in X-Living-Runbooks-Token")
    where, presented = found
    if not same(secret.get_secret_value(), presented):
        raise SourceError(401, f"wrong token in the {where} (compare with {env_name})")


def require_secret(secret: SecretStr | None, env_name: str) -> SecretStr:
    """Signed sources refuse everything until their secret is configured: an unsigned source is open to anyone."""
    if secret is None:
        raise SourceError(401, f"source not configured: set {env_name}")
    return secret
