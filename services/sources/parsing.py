"""Shared reading of posted JSON: one way to say what is wrong, with the path of the field.

Adapters turn untrusted JSON into `Alert`s; every failure here is a `SourceError` (400 for a body
that is not JSON, 413 for too many alerts, 422 for JSON of the wrong shape, naming the field as
`alerts[3].labels`), so a sender's log line tells its operator what to fix.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from services.sources.base import SourceError

MAX_ALERTS = 10_000
MAX_DEPTH = 64
M = TypeVar("M", bound=BaseModel)
_GO_ZERO_YEAR = 1  # Go's zero time "0001-01-01T00:00:00Z" means "not set" in Alertmanager and Grafana


def load_json(body: bytes) -> Any:
    """The parsed body. Also refused, as not JSON we can keep: nesting deeper than MAX_DEPTH (no alert
    needs it, and storing or logging it later would recurse), and lone UTF-16 surrogates ("\\ud800"),
    which `json` accepts but no database column or log line can hold."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = str(exc) if isinstance(exc, ValueError) else f"nested deeper than {MAX_DEPTH} levels"
        raise SourceError(400, f"body is not JSON: {detail[:200]}") from None
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str) and not _encodable(value):
            raise SourceError(400, "body is not JSON: a string holds a lone UTF-16 surrogate escape")
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise SourceError(400, f"body is not JSON: nested deeper than {MAX_DEPTH} levels")
            children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return data


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def wrong(path: str, expected: str, value: Any) -> SourceError:
    return SourceError(422, f"{path}: expected {expected}, got {kind(value)}")


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong(path, "an object", value)
    return value


def join(path: str, key: str) -> str:
    """`alert` + `tags` -> `alert.tags`; top-level fields ("" or "body") are named alone."""
    return key if path in ("", "body") else f"{path}.{key}"


def check_count(alerts: list[Any], path: str) -> None:
    if len(alerts) > MAX_ALERTS:
        raise SourceError(413, f"{path}: {len(alerts)} alerts in one delivery, at most {MAX_ALERTS} are accepted")


def as_text(value: Any) -> str:
    """A label value as text: strings as they are, JSON scalars as JSON writes them, structures as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value) if math.isfinite(value) else json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def opt_text(container: Mapping[str, Any], key: str, path: str) -> str | None:
    """An optional scalar field as stripped text; "" and null are absent, objects and arrays are refused."""
    return scalar(container.get(key), join(path, key))


def scalar(value: Any, path: str) -> str | None:
    """A JSON scalar as stripped text; "" and null are absent, objects and arrays are refused."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise wrong(path, "a string", value)
    text = as_text(value).strip()
    return text or None


def str_map(value: Any, path: str) -> dict[str, str]:
    """Labels or annotations: an object whose values become strings (null values are dropped: absent)."""
    if value is None:
        return {}
    return {str(k): as_text(v) for k, v in obj(value, path).items() if v is not None}


def labels_from_tags(tags: Iterable[str]) -> dict[str, str]:
    """`key:value` tags become labels (repeated keys joined by ","); a bare tag becomes `tag_<tag>=true`."""
    labels: dict[str, list[str]] = {}
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        key, sep, value = tag.partition(":")
        key, value = (key.strip(), value.strip()) if sep else (f"tag_{tag}", "true")
        if key and value not in labels.setdefault(key, []):
            labels[key].append(value)
    return {key: ",".join(values) for key, values in labels.items()}


_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
_EPOCH_SCALES = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))  # ns, us, ms: Opsgenie mixes ms and ns


def timestamp(value: Any, path: str) -> datetime | None:
    """ISO 8601 text, or epoch seconds / ms / us / ns (number or numeric text); Go's zero time is absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise wrong(path, "a timestamp (ISO 8601 or epoch)", value)
    try:
        if isinstance(value, str) and not _NUMERIC.match(value.strip()):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        else:
            number = float(value)
            scale = next((s for limit, s in _EPOCH_SCALES if abs(number) >= limit), 1)
            parsed = datetime.fromtimestamp(number / scale, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise SourceError(422, f"{path}: not a timestamp (ISO 8601 or epoch seconds/milliseconds)") from None
    if parsed.year == _GO_ZERO_YEAR:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    """Pydantic validation with the reason a sender can act on: field paths and messages, never input values."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_path(prefix, err['loc'])}: {err['msg']}" for err in exc.errors()[:5]]
        more = exc.error_count() - len(problems)
        raise SourceError(422, "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")) from None


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"
