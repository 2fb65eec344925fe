"""POST /codec/encode and /codec/decode: Temporal's remote codec protocol, for its Web UI and CLI.

Temporal holds our payloads encrypted (workflows/codec.py). The Web UI decodes them in the
browser by calling `<endpoint>/decode` (`--ui-codec-endpoint` on the dev server,
TEMPORAL_CODEC_ENDPOINT for the UI container); `temporal ... --codec-endpoint` uses both. The body
is `{"payloads": [{"metadata": {name: base64}, "data": base64}]}` both ways. The key ring never
leaves the API: the codec is the one the API's own Temporal client encrypts with, so whoever may
call this endpoint may read every payload. So it sits behind the same authentication as the REST
API (`read`): a Web UI behind single sign-on sends the person's token along (`PassAccessToken`);
a call without an identity is refused with 401.

The browser calls cross-origin (the UI is on its own port), with an `X-Namespace` header, so a
preflight comes first: answered here for the origins in `Settings.codec_origins`, since the app's
middleware is not ours to change for one resource.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from google.protobuf.message import DecodeError
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from api.auth import needs, public
from api.deps import services
from api.problems import refusal, responses
from runbooks.access import Permission
from services.context import Services

router = APIRouter(prefix="/codec", tags=["codec"], responses=responses(400, 401, 403))

ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
BAD_INPUT = {400: refusal(400, "a value is not base64, or a payload cannot be decoded with this key ring "
                              "(unknown key id, wrong key, tampered): the reason is in the body")}


class CodecPayload(BaseModel):
    """One Temporal payload in proto JSON form: bytes as base64."""

    metadata: dict[str, str] = Field(default_factory=dict, description="metadata values, base64 (e.g. `encoding`)")
    data: str = Field(default="", description="the payload's bytes, base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload]


def _cors(request: Request, svc: Services) -> dict[str, str]:
    origin = (request.headers.get("origin") or "").rstrip("/")
    if origin and origin in svc.settings.codec_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def _bytes(value: str, where: str, cors: dict[str, str]) -> bytes:
    """Standard or URL-safe base64, padding optional (proto JSON readers accept both)."""
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(400, f"{where} is not base64", headers=cors) from None


def _payloads(body: CodecPayloads, cors: dict[str, str]) -> list[Payload]:
    out = []
    for n, p in enumerate(body.payloads):
        metadata = {k: _bytes(v, f"payloads[{n}].metadata.{k}", cors) for k, v in p.metadata.items()}
        try:
            out.append(Payload(metadata=metadata, data=_bytes(p.data, f"payloads[{n}].data", cors)))
        except ValueError:  # a metadata name protobuf cannot hold (a lone surrogate is not UTF-8)
            raise HTTPException(400, f"payloads[{n}].metadata: every name must be valid UTF-8", headers=cors) from None
    return out


def _json(payloads: list[Payload]) -> CodecPayloads:
    return CodecPayloads(payloads=[
        CodecPayload(metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                     data=base64.b64encode(p.data).decode())
        for p in payloads])


async def _apply(direction: str, body: CodecPayloads, request: Request, response: Response,
                 svc: Services) -> CodecPayloads:
    cors = _cors(request, svc)
    payloads = _payloads(body, cors)
    codec = svc.client.data_converter.payload_codec  # None with RUNBOOKS_ENCRYPTION=off: nothing to undo
    if codec is not None:
        try:
            payloads = await (codec.encode(payloads) if direction == "encode" else codec.decode(payloads))
        except (ValueError, DecodeError) as exc:
            raise HTTPException(400, str(exc) or f"the payloads cannot be {direction}d", headers=cors) from None
    response.headers.update(cors)
    return _json(payloads)


@router.post("/decode", response_model=CodecPayloads, responses=BAD_INPUT, dependencies=[Depends(needs(Permission.read))])
async def decode(body: CodecPayloads, request: Request, response: Response,
                 x_namespace: str | None = Header(default=None, description="sent by the Web UI; one key ring "
                                                  "serves every namespace"),
                 svc: Services = Depends(services)) -> CodecPayloads:
    """Encrypted payloads in, the payloads they hold out; payloads that are not encrypted come back as sent."""
    return await _apply("decode", body, request, response, svc)


@router.post("/encode", response_model=CodecPayloads, responses=BAD_INPUT, dependencies=[Depends(needs(Permission.read))])
async def encode(body: CodecPayloads, request: Request, response: Response,
                 x_namespace: str | None = Header(default=None, description="sent by Temporal's tools; one key "
                                                  "ring serves every namespace"),
                 svc: Services = Depends(services)) -> CodecPayloads:
    """Payloads in, encrypted with the active key out (as the product's own client would store them)."""
    return await _apply("encode", body, request, response, svc)


@router.options("/decode", include_in_schema=False,
                dependencies=[Depends(public("CORS preflight: browsers send it without credentials"))])
@router.options("/encode", include_in_schema=False,
                dependencies=[Depends(public("CORS preflight: browsers send it without credentials"))])
async def preflight(request: Request, svc: Services = Depends(services)) -> Response:
    """The browser's CORS preflight: allowed origins may POST JSON with the UI's `X-Namespace` header."""
    cors = _cors(request, svc)
    if "Access-Control-Allow-Origin" not in cors:
        raise HTTPException(403, f"origin {request.headers.get('origin')!r} may not call the codec: "
                                 "add it to CODEC_CORS_ORIGINS", headers=cors)
    return Response(status_code=204, headers={**cors, "Access-Control-Allow-Methods": "POST, OPTIONS",
                                              "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                              "Access-Control-Max-Age": "600"})
