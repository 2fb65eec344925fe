"""Drafting a runbook from a postmortem: the commands that found and fixed it, then the promised follow-ups.

The document is a certificate expiry written up the way teams write them (and Confluence exports
them): a summary, a detection section with a pasted terminal, numbered investigation notes, a
timeline table, a resolution block, an action-item table and lessons learned.
"""

from __future__ import annotations

from runbooks.authoring.reader import parse_text
from runbooks.drafts import to_markdown
from runbooks.drafts.postmortem import draft_from_postmortem

CERT_EXPIRY = """\
# Postmortem: api.example.com TLS certificate expired

**Date:** 2024-04-05 · **Severity:** SEV-2 · **Authors:** Dana Ortiz, Sam Lee

## Summary

At 09:02 UTC the public certificate for api.example.com expired. Mobile clients failed TLS
handshakes for 47 minutes. cert-manager had stopped renewing after the ACME account key was
rotated (`kubectl -n cert-manager rollout restart deploy/cert-manager` was never run).

## Impact

~38% of API requests failed between 09:02 and 09:49 UTC.

## Detection

The `ProbeSSLCertExpiringSoon` alert never fired (its rule had been silenced). Support escalated.
Sam confirmed the expiry from a laptop:

```console
$ echo | openssl s_client -connect api.example.com:443 2>/dev/null | openssl x509 -noout -dates
notBefore=Jan  6 09:02:11 2024 GMT
notAfter=Apr  5 09:02:10 2024 GMT
```

## Investigation

1. The Certificate was not ready: `kubectl -n ingress get certificate api-example-com -o wide`
2. The order was stuck: `kubectl -n ingress describe order api-example-com-3771623381`
3. cert-manager logs showed `acme: account key mismatch`.

## Timeline

| Time (UTC) | Event |
| --- | --- |
| 09:02 | Certificate expires |
| 09:21 | Sam runs `kubectl -n ingress get certificate api-example-com -o wide`: READY False |
| 09:38 | Dana deletes the stuck order: `kubectl -n ingress delete order api-example-com-3771623381` |
| 09:49 | New certificate served |

## Resolution

We restarted cert-manager so it reloaded the rotated account key, then forced a renewal:

```sh
kubectl -n cert-manager rollout restart deploy/cert-manager
cmctl renew -n ingress api-example-com
```

Then we checked the served certificate: `kubectl -n ingress get certificate api-example-com -o wide` again.

## Action items

| Action | Owner | Ticket |
| --- | --- | --- |
| Alert when any Certificate is not Ready for 1h | Sam | OPS-4411 |
| Remove the permanent silence on ProbeSSLCertExpiringSoon | Dana | OPS-4412 |

## Lessons learned

- Rotating the ACME account key needs a cert-manager restart. Add it to the key rotation runbook.
"""


def test_the_title_is_the_incident_named_by_the_first_heading() -> None:
    assert draft_from_postmortem(CERT_EXPIRY).title == "api.example.com TLS certificate expired"
    assert draft_from_postmortem("# Incident review - Kafka consumer lag\n\nNothing ran.\n").title == \
        "Kafka consumer lag"


def test_diagnosis_and_resolution_commands_become_steps_in_the_order_they_were_taken() -> None:
    draft = draft_from_postmortem(CERT_EXPIRY)
    ran = [(s.command, s.section) for s in draft.steps if s.command]

    assert ran == [
        ("echo | openssl s_client -connect api.example.com:443 2>/dev/null | openssl x509 -noout -dates",
         "diagnosis"),
        ("kubectl -n {{ labels.namespace }} get certificate api-example-com -o wide", "diagnosis"),
        ("kubectl -n {{ labels.namespace }} describe order api-example-com-3771623381", "diagnosis"),
        ("kubectl -n {{ labels.namespace }} delete order api-example-com-3771623381", "fix"),
        ("kubectl -n cert-manager rollout restart deploy/cert-manager", "fix"),
        ("cmctl renew -n {{ labels.namespace }} api-example-com", "fix"),
    ]
    assert draft.placeholders == {"ingress": "{{ labels.namespace }}"}


def test_each_step_cites_the_line_or_paragraph_it_came_from() -> None:
    draft = draft_from_postmortem(CERT_EXPIRY)
    sources = {s.command: s.source for s in draft.steps if s.command}

    assert sources["echo | openssl s_client -connect api.example.com:443 2>/dev/null | openssl x509 -noout -dates"] \
        == "line 21"
    assert sources["kubectl -n {{ labels.namespace }} describe order api-example-com-3771623381"] == "line 29"
    assert sources["kubectl -n {{ labels.namespace }} delete order api-example-com-3771623381"] == "line 38"
    assert sources["cmctl renew -n {{ labels.namespace }} api-example-com"] == "line 47"
    paragraph = draft_from_postmortem("# Postmortem: Redis OOM\n\n## What we did\n\nWe raised the limit. Then we "
                                      "ran `redis-cli -h 10.0.5.20 config set maxmemory 6gb` on the primary.\n")
    assert paragraph.steps[0].source == "paragraph 1 under \u201cWhat we did\u201d"
    assert paragraph.steps[0].section == "fix"


def test_action_items_and_lessons_become_manual_follow_up_steps() -> None:
    draft = draft_from_postmortem(CERT_EXPIRY)
    follow_ups = [s for s in draft.steps if s.section == "follow-up"]

    assert [(s.title, s.command, s.source) for s in follow_ups] == [
        ("Alert when any Certificate is not Ready for 1h", None, "line 56"),
        ("Remove the permanent silence on ProbeSSLCertExpiringSoon", None, "line 57"),
        ("Rotating the ACME account key needs a cert-manager restart", None, "line 61"),
    ]
    assert follow_ups[2].note.endswith("Add it to the key rotation runbook.")
    assert draft.steps[-3:] == follow_ups  # after what was run


def test_commands_outside_what_was_done_and_repeats_are_left_out_with_the_reason() -> None:
    draft = draft_from_postmortem(CERT_EXPIRY)

    assert draft.dropped == [
        "paragraph 1 under \u201cSummary\u201d: `kubectl -n cert-manager rollout restart deploy/cert-manager` is "
        "under \u201cSummary\u201d, not in a section that says what was done",
        "line 37: `kubectl -n ingress get certificate api-example-com -o wide` repeats line 28 (one step)",
        "paragraph 2 under \u201cResolution\u201d: `kubectl -n ingress get certificate api-example-com -o wide` "
        "repeats line 28 (one step)",
    ]


def test_a_confluence_export_with_bold_lines_for_headings_and_checkbox_items_is_read() -> None:
    page = """\
# Post-mortem: Payments API 502s

**Mitigation:**

```
kubectl -n payments scale deploy/payments-api --replicas=12
```

**Follow-up**

- [ ] Add an HPA to payments-api (owner: @lee)
- [x] Raise the upstream keepalive in nginx
"""
    draft = draft_from_postmortem(page)

    assert [(s.title, s.command, s.section) for s in draft.steps] == [
        ("Run `kubectl scale`", "kubectl -n {{ labels.namespace }} scale deploy/payments-api --replicas=12", "fix"),
        ("Add an HPA to payments-api", None, "follow-up"),
        ("Raise the upstream keepalive in nginx", None, "follow-up"),
    ]


def test_the_markdown_draft_parses_with_its_manual_follow_ups() -> None:
    draft = draft_from_postmortem(CERT_EXPIRY)
    runbook = parse_text(to_markdown(draft, "drafts/cert-expiry"))

    assert [s.command for s in runbook.steps] == [s.command for s in draft.steps]
    assert [s.manual for s in runbook.steps] == [s.command is None for s in draft.steps]
    assert runbook.title == "api.example.com TLS certificate expired"
