"""Drafting a runbook from an incident's Slack thread: the commands people posted, and the one that fixed it.

The thread is a Postgres replica falling behind, as such threads go: an alert bot opens it, people
post what they ran (with output pasted in), one attempt does not help, the next one does and
someone says so.
"""

from __future__ import annotations

import json

from runbooks.authoring.reader import parse_text
from runbooks.drafts import to_markdown
from runbooks.drafts.slack_thread import decode, draft_from_messages, draft_from_slack_text

REPLICATION_LAG = [
    {"ts": "1712345600.000100", "bot_id": "B0ALERTS", "username": "alertmanager",
     "text": "[FIRING:1] PostgresReplicationLag db-replica-2 (prod): replication lag 1843s"},
    {"ts": "1712345650.000200", "user": "U01ALICE", "user_profile": {"display_name": "alice"},
     "text": "looking. lag on replica-2:\n```$ psql -h db-replica-2 -U postgres -c \"SELECT now() - "
             "pg_last_xact_replay_timestamp() AS lag;\"\n   lag\n-----------\n 00:30:43.1\n(1 row)```"},
    {"ts": "1712345700.000300", "user": "U02BOB",
     "text": "primary side: `psql -h db-primary-1 -U postgres -c \"SELECT client_addr, state, replay_lsn FROM "
             "pg_stat_replication;\"` shows replica-2 stuck in `catchup`"},
    {"ts": "1712345800.000400", "user": "U01ALICE", "text": "WAL receiver looks stuck, trying a reload\n"
                                                            "```sudo systemctl reload postgresql@16-main```"},
    {"ts": "1712345900.000500", "user": "U02BOB", "text": "still lagging, no change :disappointed:"},
    {"ts": "1712345950.000600", "user": "U01ALICE",
     "text": "restarting the wal receiver then:\n```psql -h db-replica-2 -U postgres -c \"SELECT "
             "pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'walreceiver';\"```"},
    {"ts": "1712346000.000700", "user": "U03CAROL", "text": "lag dropping fast, 40s now"},
    {"ts": "1712346100.000800", "user": "U02BOB", "text": "back to normal :white_check_mark: thanks <@U01ALICE>"},
]


def test_the_command_someone_confirmed_is_the_fix_and_cites_who_confirmed_it() -> None:
    draft = draft_from_messages(REPLICATION_LAG, channel="inc-db")

    assert draft.title == "PostgresReplicationLag db-replica-2 (prod): replication lag 1843s"
    fix = draft.steps[-1]
    assert fix.command == ("psql -h {{ labels.instance }} -U postgres -c \"SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE backend_type = 'walreceiver';\"")
    assert fix.section == "fix"
    assert fix.source == "message 1712345950.000600 by U01ALICE (confirmed by U02BOB at 1712346100.000800)"
    assert fix.title == "Run `SELECT pg_terminate_backend(pid)` in psql"


def test_what_people_ran_to_look_is_diagnosis_with_prompts_and_pasted_output_left_out() -> None:
    draft = draft_from_messages(REPLICATION_LAG)

    assert [s.command for s in draft.steps[:2]] == [
        "psql -h {{ labels.instance }} -U postgres -c \"SELECT now() - pg_last_xact_replay_timestamp() AS lag;\"",
        "psql -h db-primary-1 -U postgres -c \"SELECT client_addr, state, replay_lsn FROM pg_stat_replication;\"",
    ]
    assert [s.section for s in draft.steps[:2]] == ["diagnosis", "diagnosis"]
    assert draft.steps[0].source == "message 1712345650.000200 by U01ALICE"
    assert len(draft.steps) == 3  # `catchup` is a word in code, not a command; the bot posts none


def test_an_attempt_people_said_did_not_work_is_left_out_with_the_reason() -> None:
    draft = draft_from_messages(REPLICATION_LAG)

    assert all("systemctl reload" not in (s.command or "") for s in draft.steps)
    assert draft.dropped == [
        "message 1712345800.000400 by U01ALICE: `sudo systemctl reload postgresql@16-main` did not work "
        "(said by U02BOB at 1712345900.000500: \u201cstill lagging, no change :disappointed:\u201d)"]


def test_slack_formatting_is_decoded_before_commands_are_read() -> None:
    assert decode("curl -s &lt;<http://10.0.4.2:9187/metrics|http://10.0.4.2:9187/metrics>&gt; &amp;&amp; "
                  "echo ok <@U02BOB> <#C024BE91L|inc-db> <!here>") == \
        "curl -s <http://10.0.4.2:9187/metrics> && echo ok @U02BOB #inc-db @here"
    messages = [
        {"ts": "1.000100", "user": "U1", "text": "```curl -s <http://10.0.4.2:9187/metrics> | grep pg_replication_lag "
                                                  "&amp;&amp; echo done```"},
        {"ts": "2.000100", "user": "U2", "text": "+1"},
    ]
    draft = draft_from_messages(messages)
    assert draft.steps[0].command == ("curl -s http://{{ labels.instance }}/metrics | grep pg_replication_lag "
                                      "&& echo done")
    assert draft.steps[0].source == "message 1.000100 by U1 (confirmed by U2 at 2.000100)"


def test_a_block_of_commands_is_one_step_per_command_with_continuations_joined() -> None:
    messages = [{"ts": "1712340000.000100", "user": "U1", "text": (
        "ran these on the replica:\n```$ sudo -u postgres psql -c 'SELECT pg_is_in_recovery();'\n"
        " pg_is_in_recovery\n-------------------\n t\n$ sudo journalctl -u postgresql@16-main \\\n"
        "    --since '30 min ago' | tail -n 50\n-- No entries --```")}]
    draft = draft_from_messages(messages)

    assert [s.command for s in draft.steps] == [
        "sudo -u postgres psql -c 'SELECT pg_is_in_recovery();'",
        "sudo journalctl -u postgresql@16-main --since '30 min ago' | tail -n 50",
    ]


def test_a_pasted_thread_reads_as_json_or_as_name_colon_message_lines() -> None:
    as_array = draft_from_slack_text(json.dumps(REPLICATION_LAG))
    as_object = draft_from_slack_text(json.dumps({"ok": True, "messages": REPLICATION_LAG}))
    assert [s.command for s in as_array.steps] == [s.command for s in as_object.steps]
    assert len(as_array.steps) == 3

    pasted = """\
[10:31] alice: disk on web-3 at 97%, checking `du -xh --max-depth=1 /var | sort -rh | head`
[10:33] alice: journal is 19G, vacuuming:
```sudo journalctl --vacuum-size=500M```
[10:34] bob: still at 96%, didn't help much
[10:36] alice: docker images then
```
docker image prune -af --filter "until=168h"
```
[10:38] bob: 41% now, that fixed it :tada:
"""
    draft = draft_from_slack_text(pasted)
    assert [s.command for s in draft.steps] == [
        "du -xh --max-depth=1 /var | sort -rh | head",
        "docker image prune -af --filter \"until=168h\"",
    ]
    assert draft.steps[1].source == "message 10:36 by alice (confirmed by bob at 10:38)"
    assert draft.dropped[0].startswith("message 10:33 by alice: `sudo journalctl --vacuum-size=500M` did not work")


def test_secrets_posted_in_the_thread_never_reach_the_draft() -> None:
    messages = [
        {"ts": "1.1", "user": "U1", "text": "```redis-cli -h 10.0.5.20 -a Hj8sPq2LmZx9 info replication```"},
        {"ts": "1.2", "user": "U2", "text": "```export VAULT_TOKEN=hvs.CAESIJ2x8Zq0bqLzY6aT9kP1mN3vR5```"},
    ]
    draft = draft_from_messages(messages)
    text = to_markdown(draft, "drafts/redis")

    assert "Hj8sPq2LmZx9" not in text and "hvs.CAESIJ2x8Zq0bqLzY6aT9kP1mN3vR5" not in text
    assert draft.steps[0].command == "redis-cli -h {{ labels.instance }} -a [masked] info replication"


def test_the_markdown_draft_parses_into_the_same_commands_in_the_same_order() -> None:
    draft = draft_from_messages(REPLICATION_LAG, channel="inc-db")
    text = to_markdown(draft, "drafts/replication-lag")
    runbook = parse_text(text)

    assert [s.command for s in runbook.steps] == [s.command for s in draft.steps]
    assert "Drafted from a Slack thread in #inc-db" in text
    assert runbook.steps[-1].risk.value == "red"  # terminating a backend: the reviewer sees it for what it is
    for step, drafted in zip(runbook.steps, draft.steps, strict=True):
        if getattr(step, "source", None) is not None:
            assert step.source == drafted.source
