"""Payload encryption for everything the product stores in Temporal (AES-256-GCM, a key ring).

Temporal keeps every workflow input, activity input and result, signal, query answer, heartbeat and
failure in its database and shows them in its Web UI. They carry alert labels, rendered commands
and step output, so the client and the workers encrypt them with this codec before they leave the
process; only holders of the key ring read them (the API's /codec endpoint decodes for the Web UI).

Each encrypted payload names its key (`encryption-key-id` in its metadata), so keys rotate: the
first key of the ring encrypts, every key of the ring decrypts. The key id is also the AEAD's
associated data, so a payload relabelled with another key id fails authentication. Payloads without
the encrypted encoding pass through on decode: histories written before encryption was turned on
still replay. Imported by the clients (workflows/client.py), never by workflow code (the sandbox).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from runbooks.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyRingError(ValueError):
    """The configured key ring is missing or malformed (never says anything about the key bytes)."""


class PayloadDecryptionError(ValueError):
    """A payload this key ring cannot decrypt: an unknown key id, a wrong key, or tampering."""


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


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole serialized payload (its metadata too): nonce || ciphertext+tag."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self.ring.active
        cipher = self._ciphers[key_id]
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, p.SerializeToString(), key_id.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(p) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _open(self, p: Payload) -> Payload:
        key_id = p.metadata.get(KEY_ID, b"").decode("utf-8", errors="replace")[:64]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r}, which this key ring does not have "
                f"(it has {', '.join(repr(i) for i in self.ring.ids)})")
        try:
            plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], key_id.encode())
        except (InvalidTag, ValueError):  # ValueError: data too short to hold a nonce and a tag
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r} failed authentication: wrong key or tampered payload") from None
        return Payload.FromString(plain)
