"""The key ring: AES-256 keys by id, the first encrypts, any decrypts (rotation without a flag day).

One ring serves two uses: the payload codec that encrypts what Temporal stores (workflows/codec.py)
and `seal`/`unseal` for the few secrets the app database must keep, such as a connection's API
token, which the API stores and a worker reads back. A sealed value names its key and carries its
purpose as associated data, so a value sealed for one purpose cannot be replayed as another.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runbooks.settings import Settings

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SEALED = "sealed:v1"


class KeyRingError(ValueError):
    """The configured key ring is missing or malformed (never says anything about the key bytes)."""


@dataclass(frozen=True)
class KeyRing:
    """Keys by id, in order: the first ("active") encrypts, any of them decrypts."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the encryption key ring is empty")
        ids = [key_id for key_id, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise KeyRingError(f"the encryption key ring names a key id twice: {', '.join(ids)}")
        for key_id, key in self.keys:
            if not _ID.fullmatch(key_id):
                raise KeyRingError(f"encryption key id {key_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"encryption key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")

    @property
    def active(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def __repr__(self) -> str:  # never the key bytes, in a log or a traceback
        return f"KeyRing(ids={self.ids})"

    @classmethod
    def parse(cls, text: str, where: str = "RUNBOOKS_ENCRYPTION_KEYS") -> KeyRing:
        """`id:base64,id:base64` (commas or new lines; `#` starts a comment line); first is active."""
        keys = []
        entries = [e.strip() for line in text.splitlines() if not line.strip().startswith("#")
                   for e in line.split(",")]
        for n, entry in enumerate((e for e in entries if e), start=1):
            key_id, sep, encoded = entry.partition(":")
            if not sep:
                raise KeyRingError(f"{where}: entry {n} is not `id:base64-key`")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise KeyRingError(f"{where}: the key of {key_id.strip()!r} is not valid base64") from None
            keys.append((key_id.strip(), key))
        if not keys:
            raise KeyRingError(f"{where} holds no key")
        return cls(tuple(keys))


def new_key() -> str:
    """A fresh random AES-256 key, base64 (what a key ring entry carries after `id:`)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def key_ring(settings: Settings) -> KeyRing | None:
    """The key ring the settings name, or None when encryption is off.

    Raises `KeyRingError` with what to set when encryption is on and no usable key is configured:
    a process must refuse to start rather than write plaintext or histories it cannot read back.
    """
    if not settings.runbooks_encryption:
        return None
    keys, key_file = settings.runbooks_encryption_keys, settings.runbooks_encryption_key_file
    if keys is not None and key_file is not None:
        raise KeyRingError("set RUNBOOKS_ENCRYPTION_KEYS or RUNBOOKS_ENCRYPTION_KEY_FILE, not both")
    if keys is not None:
        return KeyRing.parse(keys.get_secret_value())
    if key_file is not None:
        try:
            text = Path(key_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyRingError(f"RUNBOOKS_ENCRYPTION_KEY_FILE {key_file}: {exc.strerror or exc}") from None
        return KeyRing.parse(text, where=f"RUNBOOKS_ENCRYPTION_KEY_FILE {key_file}")
    raise KeyRingError(
        "encryption is on but no key is configured: set RUNBOOKS_ENCRYPTION_KEYS=<id>:<base64 of 32 random bytes> "
        "(e.g. `echo k1:$(openssl rand -base64 32)`) or RUNBOOKS_ENCRYPTION_KEY_FILE, or RUNBOOKS_ENCRYPTION=off "
        "to store payloads in Temporal in plaintext")


def seal(ring: KeyRing, plaintext: str, purpose: str) -> str:
    """`sealed:v1:<key id>:<base64 nonce+ciphertext>`, bound to `purpose` (the AEAD's associated data)."""
    nonce = os.urandom(NONCE_BYTES)
    key_id, key = ring.keys[0]
    body = AESGCM(key).encrypt(nonce, plaintext.encode(), f"{key_id}:{purpose}".encode())
    return f"{_SEALED}:{key_id}:{base64.b64encode(nonce + body).decode()}"


def unseal(ring: KeyRing, sealed: str, purpose: str) -> str:
    """The plaintext of `seal`; KeyRingError (never the value) when the key is gone or it was tampered."""
    prefix, _, rest = sealed.partition(f"{_SEALED}:")
    key_id, _, encoded = rest.partition(":")
    key = dict(ring.keys).get(key_id)
    if prefix or key is None:
        raise KeyRingError(f"a sealed secret names key {key_id!r}, which the key ring does not have")
    try:
        raw = base64.b64decode(encoded, validate=True)
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{key_id}:{purpose}".encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise KeyRingError(f"a sealed secret failed authentication with key {key_id!r}") from None
