"""How every process connects to Temporal: one place for the address, namespace and converter.

The worker takes its data converter from the client it is built on, so the API, the workers and
the tests that connect here all encrypt and decrypt with the same key ring.
"""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from runbooks.settings import Settings
from workflows.codec import EncryptionCodec, KeyRing, key_ring


def data_converter(ring: KeyRing | None) -> DataConverter:
    """Pydantic payloads, encrypted with `ring`; failures' messages and stack traces encrypted too.

    Without `encode_common_attributes` a failure's message (a step's error, a rejection's reason)
    and stack trace would stay in clear beside the encrypted payloads. None: plaintext.
    """
    if ring is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(ring),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


async def connect(settings: Settings) -> Client:
    """Raises `workflows.codec.KeyRingError` when encryption is on and no usable key is configured."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=data_converter(key_ring(settings)))
