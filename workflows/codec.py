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

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from runbooks.keyring import NONCE_BYTES, KeyRing, KeyRingError, key_ring, new_key

__all__ = ["ENCODING", "KEY_ID", "EncryptionCodec", "KeyRing", "KeyRingError", "PayloadDecryptionError", "key_ring",
           "new_key"]

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class PayloadDecryptionError(ValueError):
    """A payload this key ring cannot decrypt: an unknown key id, a wrong key, or tampering."""



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
