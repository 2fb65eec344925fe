"""The payload codec: what Temporal stores is ciphertext, keys rotate, a wrong key says so.

workflows/codec.py encrypts every payload (and, through the failure converter, every failure's
message and stack trace) with the first key of the ring and decrypts with any key of it; payloads
that were never encrypted pass through, so histories recorded before encryption still replay.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from runbooks.settings import Settings
from support.paths import HISTORIES
from workflows.client import data_converter
from workflows.codec import (ENCODING, KEY_ID, EncryptionCodec, KeyRing, KeyRingError, PayloadDecryptionError, key_ring,
                            new_key)
from workers.main import WORKFLOWS

K1 = base64.b64encode(b"k1" * 16).decode()
K2 = base64.b64encode(b"k2" * 16).decode()
OTHER = base64.b64encode(b"xx" * 16).decode()
MARKER = b"label-value-3f9a1c"


def ring(text: str) -> KeyRing:
    return KeyRing.parse(text)


def plain(data: bytes = b'{"labels": {"token": "' + MARKER + b'"}}') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_round_trip_leaves_no_plaintext_and_names_the_key() -> None:
    codec = EncryptionCodec(ring(f"k1:{K1}"))
    original = plain()
    [sealed] = await codec.encode([original])
    assert sealed.metadata["encoding"] == ENCODING == b"binary/encrypted"
    assert sealed.metadata[KEY_ID] == b"k1"
    assert MARKER not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString(), "the inner metadata is encrypted too"
    assert await codec.decode([sealed]) == [original]
    [again] = await codec.encode([original])
    assert again.data != sealed.data, "a fresh nonce per payload"


async def test_rotation_the_first_key_encrypts_every_key_decrypts() -> None:
    [old] = await EncryptionCodec(ring(f"k1:{K1}")).encode([plain()])
    rotated = EncryptionCodec(ring(f"k2:{K2},k1:{K1}"))
    assert await rotated.decode([old]) == [plain()]
    [new] = await rotated.encode([plain()])
    assert new.metadata[KEY_ID] == b"k2"
    with pytest.raises(PayloadDecryptionError, match="which this key ring does not have"):
        await EncryptionCodec(ring(f"k1:{K1}")).decode([new])  # a process left on the old ring


async def test_an_unknown_key_id_is_a_clear_error_naming_it() -> None:
    [sealed] = await EncryptionCodec(ring(f"k1:{K1}")).encode([plain()])
    with pytest.raises(PayloadDecryptionError) as err:
        await EncryptionCodec(ring(f"k2:{K2}")).decode([sealed])
    assert str(err.value).startswith("payload encrypted with key 'k1', which this key ring does not have")
    assert K2 not in str(err.value)


async def test_a_wrong_key_or_a_tampered_payload_fails_authentication_never_garbage() -> None:
    [sealed] = await EncryptionCodec(ring(f"k1:{K1}")).encode([plain()])
    expected = "payload encrypted with key 'k1' failed authentication: wrong key or tampered payload"
    with pytest.raises(PayloadDecryptionError, match=expected):
        await EncryptionCodec(ring(f"k1:{OTHER}")).decode([sealed])

    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(PayloadDecryptionError, match=expected):
        await EncryptionCodec(ring(f"k1:{K1}")).decode([tampered])

    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:5])
    with pytest.raises(PayloadDecryptionError, match=expected):
        await EncryptionCodec(ring(f"k1:{K1}")).decode([truncated])


async def test_the_key_id_is_bound_to_the_ciphertext() -> None:
    """Relabelling a payload with another key id of the ring fails: the id is the associated data."""
    both = EncryptionCodec(ring(f"k1:{K1},k2:{K1}"))  # same bytes under two ids
    [sealed] = await both.encode([plain()])
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k2"}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError, match="key 'k2' failed authentication"):
        await both.decode([relabelled])


async def test_payloads_that_were_never_encrypted_pass_through() -> None:
    codec = EncryptionCodec(ring(f"k1:{K1}"))
    unencrypted = [plain(), Payload(metadata={"encoding": b"binary/null"}), Payload(data=b"no metadata")]
    assert await codec.decode(unencrypted) == unencrypted


async def test_the_converter_round_trips_values_through_the_codec() -> None:
    converter = data_converter(ring(f"k1:{K1}"))
    [payload] = await converter.encode([{"labels": {"token": MARKER.decode()}}])
    assert payload.metadata["encoding"] == ENCODING and MARKER not in payload.data
    assert await converter.decode([payload]) == [{"labels": {"token": MARKER.decode()}}]
    assert data_converter(None).payload_codec is None, "encryption off: plaintext, the plain converter"


async def test_failure_messages_and_stack_traces_are_encoded_too() -> None:
    converter = data_converter(ring(f"k1:{K1}"))
    try:
        raise ApplicationError(f"step failed: {MARKER.decode()}", type="RunbookFailed")
    except ApplicationError as exc:
        failure = Failure()
        await converter.encode_failure(exc, failure)
    stored = failure.SerializeToString()
    assert MARKER not in stored
    assert failure.message == "Encoded failure" and not failure.stack_trace
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING

    decoded = await converter.decode_failure(Failure.FromString(stored))
    assert MARKER.decode() in str(decoded)
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await data_converter(ring(f"k1:{OTHER}")).decode_failure(Failure.FromString(stored))


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_histories_recorded_before_encryption_replay_with_it_on(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(ring(f"k1:{K1}")))
    await replayer.replay_workflow(history)


# --- the key ring as configured ------------------------------------------------------------------------
def test_a_key_ring_reads_commas_lines_and_comments_and_never_shows_a_key() -> None:
    parsed = KeyRing.parse(f"# rotated 2026-12\nk2:{K2}\n\nk1:{K1}, old:{OTHER}\n")
    assert parsed.ids == ["k2", "k1", "old"] and parsed.active == "k2"
    assert K1 not in repr(parsed) and K2 not in repr(parsed)


@pytest.mark.parametrize(("text", "reason"), [
    ("", "holds no key"),
    ("k1", "entry 1 is not `id:base64-key`"),
    ("k1:not base64!", "the key of 'k1' is not valid base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "'k1' is 5 bytes; AES-256 needs 32"),
    (f"k1:{K1},k1:{K2}", "names a key id twice"),
    (f"bad id:{K1}", "use 1-64 letters"),
])
def test_a_malformed_key_ring_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(KeyRingError, match=reason) as err:
        KeyRing.parse(text)
    assert K1 not in str(err.value) and K2 not in str(err.value)


def test_the_settings_name_the_key_ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert key_ring(Settings(runbooks_encryption=False)) is None
    assert key_ring(Settings(runbooks_encryption_keys=SecretStr(f"k2:{K2},k1:{K1}"))).ids == ["k2", "k1"]
    keys = tmp_path / "keys"
    keys.write_text(f"k1:{K1}\n")
    assert key_ring(Settings(runbooks_encryption_key_file=keys)).ids == ["k1"]
    with pytest.raises(KeyRingError, match="not both"):
        key_ring(Settings(runbooks_encryption_keys=SecretStr(f"k1:{K1}"), runbooks_encryption_key_file=keys))
    with pytest.raises(KeyRingError, match="RUNBOOKS_ENCRYPTION_KEY_FILE .*missing"):
        key_ring(Settings(runbooks_encryption_key_file=tmp_path / "missing"))

    for name in ("RUNBOOKS_ENCRYPTION", "RUNBOOKS_ENCRYPTION_KEYS", "RUNBOOKS_ENCRYPTION_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(KeyRingError, match="encryption is on but no key is configured") as err:
        key_ring(Settings())
    assert "RUNBOOKS_ENCRYPTION_KEYS" in str(err.value) and "RUNBOOKS_ENCRYPTION=off" in str(err.value)

    monkeypatch.setenv("RUNBOOKS_ENCRYPTION", "off")
    assert Settings().runbooks_encryption is False
    monkeypatch.setenv("RUNBOOKS_ENCRYPTION", "on")
    monkeypatch.setenv("RUNBOOKS_ENCRYPTION_KEYS", f"k1:{K1}")
    monkeypatch.setenv("RUNBOOKS_ENCRYPTION_KEY_FILE", "")  # empty is unset
    settings = Settings()
    assert key_ring(settings).ids == ["k1"] and K1 not in repr(settings)


def test_codec_origins_default_to_the_dev_web_ui() -> None:
    assert Settings(temporal_ui_port=8233).codec_origins == ["http://127.0.0.1:8233", "http://localhost:8233"]
    assert Settings(codec_cors_origins="https://ui.example.com/, http://x:1").codec_origins == [
        "https://ui.example.com", "http://x:1"]


def test_random_keys_are_aes_256() -> None:
    assert len(base64.b64decode(new_key())) == 32 and new_key() != new_key()
