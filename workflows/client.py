"""How every process connects to Temporal: one place for the address, namespace and converter.

The worker takes its data converter from the client it is built on, so the API, the workers and
the tests that connect here all encrypt and decrypt with the same key ring.
"""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.service import TLSConfig
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


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to Temporal as the settings ask: False (plain), True (system CAs) or a TLSConfig (own CA, mTLS).

    A client certificate without its key (or the reverse) is refused here, not as a handshake error.
    """
    files = (settings.temporal_tls_ca_file, settings.temporal_tls_cert_file, settings.temporal_tls_key_file)
    if not settings.temporal_tls and not any(files) and not settings.temporal_tls_server_name:
        return False
    if bool(settings.temporal_tls_cert_file) != bool(settings.temporal_tls_key_file):
        raise ValueError("TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together (mTLS needs both)")
    if not any(files) and not settings.temporal_tls_server_name:
        return True
    ca, cert, key = (path.expanduser().read_bytes() if path else None for path in files)
    return TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key,
                     domain=settings.temporal_tls_server_name)


async def connect(settings: Settings) -> Client:
    """Raises `workflows.codec.KeyRingError` when encryption is on and no usable key is configured."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=data_converter(key_ring(settings)), tls=tls_config(settings))
