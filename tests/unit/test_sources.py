"""Alert source adapters, specified by what each tool really sends.

The payloads in tests/data/sources/ follow the examples in each tool's documentation (Alertmanager's
v4 sample, Grafana's webhook notifier sample, PagerDuty's v3 incident event, Opsgenie's webhook
action, Datadog rendering the template in docs/sources.md). The adapters are pure functions: no
server, no database. Each test sets env vars, read by a new Settings per delivery; the last test
feeds every adapter garbage and checks that it only ever raises SourceError.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import random
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from runbooks.alert import Alert, label_fingerprint
from runbooks.settings import Settings
from services.sources import REGISTRY, Delivery, SourceError
from services.sources.datadog import monitor_name
from services.sources.generic import parse_mapping
from support.paths import DATA

SAMPLES = {p.stem: json.loads(p.read_text()) for p in (DATA / "sources").glob("*.json")}
AM, GRAFANA, PD = SAMPLES["alertmanager"], SAMPLES["grafana"], SAMPLES["pagerduty"]
OPSGENIE, DATADOG, GENERIC = SAMPLES["opsgenie"], SAMPLES["datadog"], SAMPLES["generic"]
SECRETS = {"ALERTMANAGER_TOKEN": "am-t0ken", "GRAFANA_TOKEN": "gr-t0ken", "PAGERDUTY_WEBHOOK_SECRET": "pd-s3cret",
           "OPSGENIE_TOKEN": "og-t0ken", "DATADOG_TOKEN": "dd-t0ken", "GENERIC_WEBHOOK_SECRET": "gen-s3cret"}


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch):
    """No source configured unless a test says so; `env(NAME=value)` configures (each delivery reads
    a new Settings, as a process starting with that environment would)."""
    for name in [*SECRETS, "GENERIC_WEBHOOK_MAPPING", "GENERIC_WEBHOOK_TOLERANCE_SECONDS"]:
        monkeypatch.delenv(name, raising=False)

    def configure(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    yield configure


def encode(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def deliver(source: str, body: Any, headers: dict[str, str] | None = None) -> list[Alert]:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return REGISTRY[source](Delivery(source, encode(body), lowered), Settings())


def refused(source: str, body: Any, headers: dict[str, str] | None = None) -> SourceError:
    with pytest.raises(SourceError) as caught:
        deliver(source, body, headers)
    return caught.value


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def pd_headers(body: Any, secret: str = SECRETS["PAGERDUTY_WEBHOOK_SECRET"]) -> dict[str, str]:
    return {"X-PagerDuty-Signature": "v1=" + sign(secret, encode(body))}


def gen_headers(body: Any) -> dict[str, str]:
    return {"X-Signature-256": "sha256=" + sign(SECRETS["GENERIC_WEBHOOK_SECRET"], encode(body))}


def passing_headers(source: str, body: Any) -> dict[str, str]:
    """Headers that satisfy `source` when every secret in SECRETS is configured."""
    if source == "pagerduty":
        return pd_headers(body)
    if source == "generic":
        return gen_headers(body)
    token = SECRETS[f"{source.upper()}_TOKEN"]
    return {"Authorization": f"Bearer {token}"} if source in ("alertmanager", "grafana") else \
        {"X-Living-Runbooks-Token": token}


def summary(alert: Alert) -> tuple[str, str, str, str | None]:
    return alert.source, alert.fingerprint, alert.status, alert.alertname


# --- Alertmanager ------------------------------------------------------------------------------------------------

def test_alertmanager_v4_sample_normalizes() -> None:
    [alert] = deliver("alertmanager", AM)
    assert summary(alert) == ("alertmanager", "1a30ba71cca2921f", "firing", "ProbeFailure")
    assert alert.severity == "critical" and alert.annotations["summary"].startswith("BlackBox")
    assert alert.starts_at == datetime(2023, 2, 6, 13, 8, 45, 828000, tzinfo=UTC)
    assert alert.raw == AM["alerts"][0]


def test_alertmanager_without_fingerprint_uses_label_fingerprint_and_coerces_values() -> None:
    body = copy.deepcopy(AM)
    del body["alerts"][0]["fingerprint"]
    body["alerts"][0]["labels"].update(port=9100, canary=True, gone=None)
    [alert] = deliver("alertmanager", body)
    assert alert.labels["port"] == "9100" and alert.labels["canary"] == "true" and "gone" not in alert.labels
    assert alert.fingerprint == label_fingerprint(alert.labels)


def test_alertmanager_token_optional_then_required(env) -> None:
    assert deliver("alertmanager", AM)  # unset: open
    env(ALERTMANAGER_TOKEN=SECRETS["ALERTMANAGER_TOKEN"])
    assert refused("alertmanager", AM).reason.startswith("missing token: ALERTMANAGER_TOKEN is set")
    wrong = refused("alertmanager", AM, {"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert wrong.reason == "wrong token in the Authorization Bearer token (compare with ALERTMANAGER_TOKEN)"
    unsupported = refused("alertmanager", AM, {"Authorization": "Token x"})
    assert unsupported.reason == "Authorization header has an unsupported scheme (expected Bearer)"
    assert deliver("alertmanager", AM, {"Authorization": f"Bearer {SECRETS['ALERTMANAGER_TOKEN']}"})


def test_token_is_checked_before_the_body_is_read(env) -> None:
    env(ALERTMANAGER_TOKEN="t")
    assert refused("alertmanager", b"\xff not json").status == 401


@pytest.mark.parametrize(("mutate", "status", "reason"), [
    (lambda b: b.update(alerts="x"), 422, "alerts: Input should be a valid list"),
    (lambda b: b.update(alerts=[]), 422, "alerts: List should have at least 1 item"),
    (lambda b: b["alerts"][0].update(status="pending"), 422, "alerts[0].status: Input should be 'firing' or"),
    (lambda b: b["alerts"][0].update(labels=["a"]), 422, "alerts[0].labels: Input should be a valid dictionary"),
    (lambda b: b["alerts"][0].update(startsAt="yesterday"), 422, "alerts[0].startsAt: Input should be a valid"),
    (lambda b: b["alerts"][0]["labels"].pop("alertname"), 422, "alerts[0].labels.alertname: missing"),
    (lambda b: b.update(alerts=b["alerts"] * 10_001), 413, "alerts: 10001 alerts in one delivery, at most 10000"),
])
def test_alertmanager_wrong_shapes_say_where(mutate, status: int, reason: str) -> None:
    body = copy.deepcopy(AM)
    mutate(body)
    error = refused("alertmanager", body)
    assert error.status == status and error.reason.startswith(reason), error.reason


@pytest.mark.parametrize("source", sorted(REGISTRY))
def test_every_source_refuses_non_json_with_400(env, source: str) -> None:
    env(**SECRETS)
    deep = b"[" * 65 + b"]" * 65  # valid JSON, but deeper than anything an alert needs
    for body in (b"{not json", b"\xff\xfe", b"", b"[" * 100_000, b"1" * 5000, deep, b'{"a": "\\ud800"}'):
        error = refused(source, body, passing_headers(source, body))
        assert error.status == 400 and error.reason.startswith("body is not JSON: "), error.reason


# --- Grafana -----------------------------------------------------------------------------------------------------

def test_grafana_sample_keeps_extras_in_raw() -> None:
    [alert] = deliver("grafana", GRAFANA)
    assert summary(alert) == ("grafana", "c6eadffa33fcdf37", "firing", "High memory usage")
    assert alert.labels == {"alertname": "High memory usage", "team": "blue", "zone": "us-1"}
    assert alert.raw["values"] == {"B": 44.23943737541908, "C": 1} and alert.raw["silenceURL"]
    assert alert.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)


def test_grafana_accepts_bearer_or_basic_password(env) -> None:
    env(GRAFANA_TOKEN=SECRETS["GRAFANA_TOKEN"])
    basic = base64.b64encode(f"grafana:{SECRETS['GRAFANA_TOKEN']}".encode()).decode()
    assert deliver("grafana", GRAFANA, {"Authorization": f"Basic {basic}"})
    assert deliver("grafana", GRAFANA, {"Authorization": f"Bearer {SECRETS['GRAFANA_TOKEN']}"})
    guess = base64.b64encode(b"grafana:guess").decode()
    assert "Basic password" in refused("grafana", GRAFANA, {"Authorization": f"Basic {guess}"}).reason
    assert "not valid base64" in refused("grafana", GRAFANA, {"Authorization": "Basic %%%"}).reason


# --- PagerDuty ---------------------------------------------------------------------------------------------------

def test_pagerduty_refuses_everything_until_configured() -> None:
    error = refused("pagerduty", PD, pd_headers(PD))
    assert (error.status, error.reason) == (401, "source not configured: set PAGERDUTY_WEBHOOK_SECRET")


def test_pagerduty_triggered_incident(env) -> None:
    env(PAGERDUTY_WEBHOOK_SECRET=SECRETS["PAGERDUTY_WEBHOOK_SECRET"])
    [alert] = deliver("pagerduty", PD, pd_headers(PD))
    assert summary(alert) == ("pagerduty", "PGR0VU2", "firing", "A little bump in the road")
    assert alert.labels == {"alertname": "A little bump in the road", "incident_id": "PGR0VU2",
                            "service": "API Service", "service_id": "PF9KMXH", "severity": "high", "urgency": "high",
                            "priority": "P1", "incident_key": "d3640fbd41094207a1c11e58e46b1662"}
    assert alert.annotations["url"].endswith("/PGR0VU2") and alert.annotations["agent"] == "Tenex Engineer"
    assert alert.starts_at == datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC) and alert.raw == PD


@pytest.mark.parametrize(("event_type", "expected"), [
    ("incident.resolved", ["resolved"]), ("incident.reopened", ["firing"]), ("incident.acknowledged", []),
    ("incident.annotated", []), ("incident.priority_updated", []), ("pagey.ping", []), ("service.created", [])])
def test_pagerduty_event_types(env, event_type: str, expected: list[str]) -> None:
    env(PAGERDUTY_WEBHOOK_SECRET=SECRETS["PAGERDUTY_WEBHOOK_SECRET"])
    body = copy.deepcopy(PD)
    body["event"]["event_type"] = event_type
    if not expected:
        body["event"]["data"] = {"id": "whatever"}  # ignored events are not read further
    alerts = deliver("pagerduty", body, pd_headers(body))
    assert [a.status for a in alerts] == expected and all(a.fingerprint == "PGR0VU2" for a in alerts)


def test_pagerduty_signatures_missing_wrong_malformed_rotated(env) -> None:
    env(PAGERDUTY_WEBHOOK_SECRET=SECRETS["PAGERDUTY_WEBHOOK_SECRET"])
    assert refused("pagerduty", PD).reason == "missing X-PagerDuty-Signature header"
    assert refused("pagerduty", PD, {"X-PagerDuty-Signature": "sha256=ab"}).reason.endswith("no v1=<hex> signature")
    wrong = refused("pagerduty", PD, pd_headers(PD, secret="old-secret"))
    assert wrong.status == 401 and "does not match" in wrong.reason
    rotated = pd_headers(PD, "old-secret")["X-PagerDuty-Signature"] + ", " + pd_headers(PD)["X-PagerDuty-Signature"]
    assert deliver("pagerduty", PD, {"X-PagerDuty-Signature": rotated})
    tampered = json.dumps(PD).replace("P1", "P5").encode()
    assert refused("pagerduty", tampered, pd_headers(PD)).status == 401
    assert refused("pagerduty", b"not json", pd_headers(PD)).status == 401  # signature before parsing


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda b: b.pop("event"), "event: expected an object, got null"),
    (lambda b: b["event"].pop("event_type"), "event.event_type: missing"),
    (lambda b: b["event"]["data"].pop("id"), "event.data.id: missing"),
    (lambda b: b["event"]["data"].update(title=""), "event.data.title: missing"),
    (lambda b: b["event"]["data"].update(service="API"), "event.data.service: expected an object, got a string"),
    (lambda b: b["event"]["data"].update(created_at="soon"), "event.data.created_at: not a timestamp")])
def test_pagerduty_wrong_shapes(env, mutate, reason: str) -> None:
    env(PAGERDUTY_WEBHOOK_SECRET=SECRETS["PAGERDUTY_WEBHOOK_SECRET"])
    body = copy.deepcopy(PD)
    mutate(body)
    error = refused("pagerduty", body, pd_headers(body))
    assert error.status == 422 and error.reason.startswith(reason), error.reason


# --- Opsgenie ----------------------------------------------------------------------------------------------------

def test_opsgenie_create_maps_tags_details_and_alias() -> None:
    [alert] = deliver("opsgenie", OPSGENIE)
    assert summary(alert) == ("opsgenie", "disk-web-1", "firing", "HostDiskFull")
    assert alert.labels == {"alertname": "HostDiskFull", "priority": "P2", "severity": "P2", "entity": "web-1",
                            "env": "prod", "team": "ops", "tag_paging": "true", "instance": "web-1:9100",
                            "mountpoint": "/"}
    assert alert.annotations["description"] == "/ is 97% full"
    assert alert.annotations["tags"] == "env:prod,team:ops,paging"
    assert alert.starts_at == datetime(2016, 7, 20, 11, 16, 24, 578000, tzinfo=UTC)


def test_opsgenie_close_resolves_same_fingerprint_and_other_actions_are_ignored() -> None:
    closed = {"action": "Close", "alert": {k: OPSGENIE["alert"][k] for k in ("alertId", "alias", "message", "tags")}}
    [alert] = deliver("opsgenie", closed)
    assert (alert.status, alert.fingerprint) == ("resolved", "disk-web-1")
    for action in ("Acknowledge", "AddNote", "Delete", "UnAcknowledge", "Escalate", "MyCustomAction"):
        assert deliver("opsgenie", {**OPSGENIE, "action": action}) == []


def test_opsgenie_name_and_fingerprint_fallbacks_and_shapes() -> None:
    body = copy.deepcopy(OPSGENIE)
    del body["alert"]["alias"]
    body["alert"]["details"]["alertname"] = "host-disk-full"
    [alert] = deliver("opsgenie", body)
    assert (alert.fingerprint, alert.alertname) == (body["alert"]["alertId"], "host-disk-full")
    assert alert.annotations["summary"] == "HostDiskFull"
    del body["alert"]["alertId"]
    assert refused("opsgenie", body).reason.startswith("alert.alias and alert.alertId: both missing")
    error = refused("opsgenie", {"action": "Create", "alert": {"alias": "x", "tags": "prod"}})
    assert (error.status, error.reason) == (422, "alert.tags: expected an array of strings, got a string")
    nameless = {"action": "Create", "alert": {"alias": "x"}}
    assert refused("opsgenie", nameless).reason.startswith("alert.message: missing")
    assert refused("opsgenie", {"alert": {}}).reason == "action: missing"


def test_opsgenie_and_datadog_tokens(env) -> None:
    env(OPSGENIE_TOKEN=SECRETS["OPSGENIE_TOKEN"], DATADOG_TOKEN=SECRETS["DATADOG_TOKEN"])
    for source, body in (("opsgenie", OPSGENIE), ("datadog", DATADOG)):
        token = SECRETS[f"{source.upper()}_TOKEN"]
        assert refused(source, body).reason.startswith(f"missing token: {source.upper()}_TOKEN is set")
        wrong = refused(source, body, {"X-Living-Runbooks-Token": token + "x"})
        assert wrong.reason.startswith("wrong token in the X-Living-Runbooks-Token header")
        assert deliver(source, body, {"X-Living-Runbooks-Token": token})
        assert deliver(source, body, {"Authorization": f"Bearer {token}"})


# --- Datadog -----------------------------------------------------------------------------------------------------

def test_datadog_recommended_template() -> None:
    [alert] = deliver("datadog", DATADOG)
    assert summary(alert) == ("datadog", DATADOG["aggreg_key"], "firing", "Disk almost full")
    assert alert.labels == {"alertname": "Disk almost full", "monitor_id": "1234", "host": "web-1", "priority": "P2",
                            "severity": "P2", "env": "prod", "role": "web", "tag_monitor": "true"}
    assert alert.annotations["transition"] == "Triggered"
    assert alert.annotations["url"].startswith("https://app.datadoghq.com")
    assert alert.starts_at == datetime.fromtimestamp(1591216985, tz=UTC)


@pytest.mark.parametrize(("transition", "expected"), [
    ("Triggered", ["firing"]), ("Re-Triggered", ["firing"]), ("Recovered", ["resolved"]), ("Warn", []),
    ("Re-Warn", []), ("No Data", []), ("Renotify", [])])
def test_datadog_transitions(transition: str, expected: list[str]) -> None:
    title = f"[{transition} on {{host:web-1}}] Disk almost full"
    alerts = deliver("datadog", {**DATADOG, "transition": transition, "title": title})
    assert [a.status for a in alerts] == expected
    assert all(a.alertname == "Disk almost full" and a.fingerprint == DATADOG["aggreg_key"] for a in alerts)


def test_datadog_names_fingerprints_and_shapes() -> None:
    assert monitor_name("[Triggered] [P1] [TEST] CPU high") == "CPU high"
    assert monitor_name("[Re-No Data on {host:a}] [db] lag") == "[db] lag"
    tags = ["alertname:ignored", "team:ops"]
    explicit = deliver("datadog", {**DATADOG, "alertname": "host-disk-full", "tags": tags})[0]
    assert explicit.alertname == "host-disk-full" and explicit.labels["team"] == "ops"
    unset = deliver("datadog", {**DATADOG, "hostname": "$HOSTNAME", "tags": "$TAGS", "message": "$5 over budget"})[0]
    assert "host" not in unset.labels and "tag_$TAGS" not in unset.labels
    assert unset.annotations["message"] == "$5 over budget"
    no_key = {k: v for k, v in DATADOG.items() if k != "aggreg_key"}
    assert deliver("datadog", no_key)[0].fingerprint == "1234:host:web-1"
    assert refused("datadog", {"title": "x"}).reason.startswith("transition: missing")
    assert refused("datadog", {"transition": "Triggered", "alert_id": "1"}).reason.startswith("alertname: missing")
    assert refused("datadog", {"transition": "Triggered", "title": "x"}).reason.startswith("aggreg_key and alert_id")
    assert refused("datadog", {**DATADOG, "tags": {"a": 1}}).reason.startswith("tags: expected comma-separated text")
    assert refused("datadog", [DATADOG]).reason == "body: expected an object, got an array"


# --- Generic -----------------------------------------------------------------------------------------------------

def test_generic_refuses_unconfigured_unsigned_and_wrongly_signed(env) -> None:
    error = refused("generic", GENERIC, gen_headers(GENERIC))
    assert (error.status, error.reason) == (401, "source not configured: set GENERIC_WEBHOOK_SECRET")
    env(GENERIC_WEBHOOK_SECRET=SECRETS["GENERIC_WEBHOOK_SECRET"])
    assert refused("generic", GENERIC).reason.startswith("missing X-Signature-256 header")
    assert refused("generic", GENERIC, {"X-Signature-256": "abc"}).reason == "X-Signature-256 must be sha256=<hex>"
    wrong = refused("generic", GENERIC, {"X-Signature-256": "sha256=" + sign("guess", encode(GENERIC))})
    assert wrong.status == 401
    assert wrong.reason == "X-Signature-256 does not match the body signed with GENERIC_WEBHOOK_SECRET"
    assert refused("generic", b"garbage", {"X-Signature-256": "sha256=00"}).status == 401  # signature before parsing


def test_generic_default_mapping_one_alert_or_a_list(env) -> None:
    env(GENERIC_WEBHOOK_SECRET=SECRETS["GENERIC_WEBHOOK_SECRET"])
    [alert] = deliver("generic", GENERIC, gen_headers(GENERIC))
    assert summary(alert) == ("generic", "disk-web-1", "firing", "HostDiskFull") and alert.severity == "critical"
    assert alert.labels["instance"] == "web-1" and alert.annotations == {"summary": "/ is full"}
    assert alert.starts_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC) and alert.raw == GENERIC
    minimal = [{"labels": {"alertname": "A"}}, {"alertname": "B", "status": "OK"}]
    first, second = deliver("generic", minimal, gen_headers(minimal))
    assert (first.status, first.fingerprint) == ("firing", label_fingerprint({"alertname": "A"}))
    assert second.status == "resolved"
    nameless = [GENERIC, {"status": "firing"}]
    error = refused("generic", nameless, gen_headers(nameless))
    assert error.status == 422 and error.reason.startswith("[1].alertname: missing, and no alertname label")
    unknown = {**GENERIC, "status": "meh"}
    assert refused("generic", unknown, gen_headers(unknown)).reason.startswith("status: 'meh' is not a known status")


def test_generic_timestamped_signature(env) -> None:
    env(GENERIC_WEBHOOK_SECRET=SECRETS["GENERIC_WEBHOOK_SECRET"])
    raw = encode(GENERIC)

    def stamped(at: int) -> dict[str, str]:
        signed = sign(SECRETS["GENERIC_WEBHOOK_SECRET"], str(at).encode() + b"." + raw)
        return {"X-Signature-Timestamp": str(at), "X-Signature-256": f"sha256={signed}"}

    assert deliver("generic", raw, stamped(int(time.time())))
    assert "more than 300 s from now" in refused("generic", raw, stamped(int(time.time()) - 3600)).reason
    body_only = {**gen_headers(raw), "X-Signature-Timestamp": str(int(time.time()))}
    assert "does not match" in refused("generic", raw, body_only).reason
    for stamp in ("yesterday", "9" * 5000, "\u0661\u0662\u0663", "-5"):
        bad_stamp = {**stamped(int(time.time())), "X-Signature-Timestamp": stamp}
        assert refused("generic", raw, bad_stamp).reason == "X-Signature-Timestamp must be Unix seconds"


def test_generic_custom_mapping(env) -> None:
    mapping = {"alerts": "payload.events", "fingerprint": "id", "status": "state",
               "status_values": {"firing": ["PROBLEM"], "resolved": ["OK"]}, "labels": "tags", "annotations": None,
               "alertname": "trigger.name", "severity": "trigger.severity", "starts_at": "clock"}
    env(GENERIC_WEBHOOK_SECRET=SECRETS["GENERIC_WEBHOOK_SECRET"], GENERIC_WEBHOOK_MAPPING=json.dumps(mapping))
    body = {"payload": {"events": [
        {"id": 901, "state": "problem", "clock": 1714557600, "tags": {"host": "db-1", "port": 5432},
         "trigger": {"name": "Replica lag", "severity": "High"}, "annotations": {"not": "read"}},
        {"id": 902, "state": "OK", "trigger": {"name": "Replica lag"}, "tags": {"host": "db-2"}}]}}
    firing, resolved = deliver("generic", body, gen_headers(body))
    assert summary(firing) == ("generic", "901", "firing", "Replica lag") and firing.severity == "High"
    assert firing.labels["port"] == "5432" and firing.annotations == {}
    assert firing.starts_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert (resolved.status, resolved.labels["host"]) == ("resolved", "db-2")
    moved = {"payload": {"events": {}}}
    assert refused("generic", moved, gen_headers(moved)).reason == \
        "payload.events: expected an array of alerts, got an object"
    nested = {"payload": {"events": [{"id": 1, "state": "OK", "tags": [], "trigger": {"name": "x"}}]}}
    assert refused("generic", nested, gen_headers(nested)).reason == \
        "payload.events[0].tags: expected an object, got an array"


@pytest.mark.parametrize("mapping", ['{"alertz": "x"}', "not json", '{"labels": "a..b"}',
                                     '{"status_values": {"firing": "x"}}', '{"default_status": "pending"}'])
def test_generic_broken_mapping_is_a_server_error(env, mapping: str) -> None:
    env(GENERIC_WEBHOOK_SECRET=SECRETS["GENERIC_WEBHOOK_SECRET"], GENERIC_WEBHOOK_MAPPING=mapping)
    parse_mapping.cache_clear()
    error = refused("generic", GENERIC, gen_headers(GENERIC))
    assert error.status == 500 and error.reason.startswith("GENERIC_WEBHOOK_MAPPING is invalid: ")


def test_generic_limit_is_413(env) -> None:
    env(GENERIC_WEBHOOK_SECRET=SECRETS["GENERIC_WEBHOOK_SECRET"])
    body = [GENERIC] * 10_001
    assert refused("generic", body, gen_headers(body)).status == 413


# --- Secrets stay secret; garbage in, SourceError out ------------------------------------------------------------

@pytest.mark.parametrize("source", sorted(REGISTRY))
def test_no_reason_echoes_a_secret_or_the_presented_credential(env, source: str) -> None:
    env(**SECRETS)
    presented = "presented-" + SECRETS[next(k for k in SECRETS if k.startswith(source.upper()))]
    for headers in ({}, {"Authorization": f"Bearer {presented}"}, {"X-Living-Runbooks-Token": presented},
                    {"X-PagerDuty-Signature": f"v1={presented}"}, {"X-Signature-256": f"sha256={presented}"}):
        reason = refused(source, SAMPLES[source], headers).reason
        assert not any(secret in reason for secret in SECRETS.values()) and presented not in reason


def random_json(rng: random.Random, depth: int = 0) -> Any:
    leaves = [None, True, False, rng.randint(-2**70, 2**70), rng.random() * 1e30, "", "firing", "resolved", "Create",
              "incident.triggered", "Triggered", "0001-01-01T00:00:00Z", "1591216985000", "\u00e9\x00", "\ud800"]
    if depth < 4 and rng.random() < 0.5:
        if rng.random() < 0.5:
            return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        keys = ["alerts", "labels", "status", "event", "data", "alert", "tags", "title", "x"]
        return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return rng.choice(leaves)


def mutate(rng: random.Random, value: Any) -> Any:
    """Replace one random node of a valid payload with random JSON."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key])}
    if isinstance(value, list) and value and rng.random() < 0.8:
        i = rng.randrange(len(value))
        return value[:i] + [mutate(rng, value[i])] + value[i + 1:]
    return random_json(rng)


@pytest.mark.parametrize("source", sorted(REGISTRY))
def test_garbage_only_ever_raises_source_error(env, source: str) -> None:
    env(**SECRETS)
    rng = random.Random(f"sources-{source}")
    bodies = [rng.randbytes(rng.randint(0, 64)) for _ in range(100)]
    bodies += [encode(random_json(rng)) for _ in range(300)]
    bodies += [encode(mutate(rng, SAMPLES[source])) for _ in range(600)]
    outcomes = {"accepted": 0, "refused": 0}
    for raw in bodies:
        try:
            alerts = deliver(source, raw, passing_headers(source, raw))
        except SourceError as exc:
            assert exc.status in (400, 413, 422) and exc.reason, (raw, exc)
            outcomes["refused"] += 1
        else:
            assert all(a.status in ("firing", "resolved") and a.fingerprint and a.alertname for a in alerts), raw
            outcomes["accepted"] += 1
    assert outcomes["accepted"] and outcomes["refused"]


@pytest.mark.parametrize("source", sorted(REGISTRY))
def test_garbage_headers_only_ever_raise_source_error(env, source: str) -> None:
    env(**SECRETS)
    rng = random.Random(f"headers-{source}")
    names = ["authorization", "x-living-runbooks-token", "x-pagerduty-signature", "x-signature-256",
             "x-signature-timestamp"]
    values = ["", " ", "Bearer", "Basic", "Basic \u00e9\u00e9", "v1=", "v1=,v1=zz", "sha256=", "sha256=\u00ff",
              "9" * 5000, "\u0661\u0662", "Bearer " + "x" * 10_000, "v1=" + "a" * 64, str(int(time.time()))]
    for _ in range(300):
        headers = {name: rng.choice(values) for name in rng.sample(names, rng.randint(1, len(names)))}
        try:
            deliver(source, SAMPLES[source], headers)
        except SourceError as exc:
            assert exc.status == 401 and exc.reason
