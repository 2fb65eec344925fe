"""Drafting a runbook from a shell session: the steps an on-call person really took, minus noise and dead ends.

The sessions below are written the way incidents go: a disk filling up on a web host (bash history
with timestamps, a mistyped program, a retried path), a CrashLoopBackOff on Kubernetes (a terminal
transcript with output and a `NotFound` retried), a zsh history, and recordings in asciicast v2.
"""

from __future__ import annotations

import json
import time

from runbooks.authoring.reader import parse_text
from runbooks.drafts import to_markdown
from runbooks.drafts.shell import draft_from_shell
from runbooks.rendering.templating import literal_text

DISK_FULL_HISTORY = """\
#1712345600
df -h
#1712345611
df -h /var
#1712345630
cd /var/log
#1712345634
ls
#1712345650
sudo du -xh --max-depth=1 /var | sort -rh | head -n 15
#1712345702
jornalctl --disk-usage
#1712345706
journalctl --disk-usage
#1712345720
sudo journalctl --vacuum-size=500M
#1712345760
sudo find /var/log -name '*.gz' -mtime +7 -delete
#1712345790
df -h /var
#1712345795
history
"""

CRASHLOOP_TRANSCRIPT = """\
alice@bastion:~$ kubectl get pods -n shop
NAME                        READY   STATUS             RESTARTS        AGE
checkout-6f9c7d8b5d-x2k9p   0/1     CrashLoopBackOff   14 (2m ago)     47m
cart-7d4b9c8f6-q8r5t        1/1     Running            0               3d
alice@bastion:~$ kubectl logs checkout-6f9c7d8b5d-x2k9p -n shop --previous
Error from server (BadRequest): previous terminated container "checkout" in pod "checkout-6f9c7d8b5d-x2k9p" not found
alice@bastion:~$ kubectl logs checkout-6f9c7d8b5d-x2k9p -n shop -c checkout --previous
panic: dial tcp 10.12.4.7:5432: connect: connection refused
alice@bastion:~$ kubectl describe pod checkout-6f9c7d8b5d-x2k9p -n shop
Name:         checkout-6f9c7d8b5d-x2k9p
    Last State:     Terminated
      Reason:       OOMKilled
alice@bastion:~$ kubectl get pods -n shop
NAME                        READY   STATUS             RESTARTS        AGE
checkout-6f9c7d8b5d-x2k9p   0/1     CrashLoopBackOff   15 (1m ago)     49m
alice@bastion:~$ kubectl set resources deploy/checkout -n shop -c checkout --limits=memory=1Gi
deployment.apps/checkout resource requirements updated
alice@bastion:~$ kubectl rollout status deploy/checkout -n shop
deployment "checkout" successfully rolled out
alice@bastion:~$ clear
"""


def commands(draft) -> list[str | None]:  # noqa: ANN001
    return [step.command for step in draft.steps]


def test_a_disk_full_history_keeps_what_was_done_and_leaves_out_navigation_typos_and_repeats() -> None:
    draft = draft_from_shell(DISK_FULL_HISTORY)

    assert commands(draft) == [
        "df -h",
        "df -h /var",
        "sudo du -xh --max-depth=1 /var | sort -rh | head -n 15",
        "journalctl --disk-usage",
        "sudo journalctl --vacuum-size=500M",
        "sudo find /var/log -name '*.gz' -mtime +7 -delete",
    ]
    assert [s.section for s in draft.steps] == ["diagnosis", "diagnosis", "diagnosis", "diagnosis", "fix", "fix"]
    assert draft.steps[4].source == "shell line 16: sudo journalctl --vacuum-size=500M"
    assert draft.steps[4].title == "Run `journalctl --vacuum-size=500M`"
    left_out = "\n".join(draft.dropped)
    assert "line 6 `cd /var/log`" in left_out
    assert "line 8 `ls`" in left_out
    assert "line 12 `jornalctl --disk-usage`" in left_out and "typo" in left_out
    assert "line 20 `df -h /var` repeats line 4" in left_out
    assert "line 22 `history`" in left_out


def test_a_command_that_failed_and_was_retried_is_a_dead_end_with_its_reason() -> None:
    draft = draft_from_shell(CRASHLOOP_TRANSCRIPT)

    assert commands(draft) == [
        "kubectl get pods -n {{ labels.namespace }}",
        "kubectl logs {{ labels.pod }} -n {{ labels.namespace }} -c checkout --previous",
        "kubectl describe pod {{ labels.pod }} -n {{ labels.namespace }}",
        "kubectl set resources deploy/checkout -n {{ labels.namespace }} -c checkout --limits=memory=1Gi",
        "kubectl rollout status deploy/checkout -n {{ labels.namespace }}",
    ]
    assert ("line 5 `kubectl logs checkout-6f9c7d8b5d-x2k9p -n shop --previous` failed (an error) "
            "and was retried at line 7") in draft.dropped
    assert any("line 13 `kubectl get pods -n shop` repeats line 1" in d for d in draft.dropped)
    assert draft.placeholders == {"shop": "{{ labels.namespace }}", "checkout-6f9c7d8b5d-x2k9p": "{{ labels.pod }}"}
    assert [s.section for s in draft.steps] == ["diagnosis", "diagnosis", "diagnosis", "fix", "diagnosis"]
    assert draft.steps[3].source == ("shell line 16: kubectl set resources deploy/checkout -n shop -c checkout "
                                     "--limits=memory=1Gi")


def test_the_alerts_labels_become_placeholders_wherever_their_values_appear() -> None:
    labels = {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-6f9c7d8b5d-x2k9p",
              "container": "checkout"}
    draft = draft_from_shell(CRASHLOOP_TRANSCRIPT, labels=labels)

    assert draft.title == "KubePodCrashLooping"
    assert draft.steps[1].command == ("kubectl logs {{ labels.pod }} -n {{ labels.namespace }} "
                                      "-c {{ labels.container }} --previous")
    assert draft.steps[3].command == ("kubectl set resources deploy/{{ labels.container }} -n {{ labels.namespace }} "
                                      "-c {{ labels.container }} --limits=memory=1Gi")
    assert draft.placeholders["shop"] == "{{ labels.namespace }}"
    assert "KubePodCrashLooping" not in draft.placeholders  # the alert's name is not a value in commands


def test_the_markdown_draft_parses_into_the_same_commands_in_the_same_order_with_sources() -> None:
    for draft in (draft_from_shell(DISK_FULL_HISTORY), draft_from_shell(CRASHLOOP_TRANSCRIPT)):
        text = to_markdown(draft, "drafts/from-shell")
        runbook = parse_text(text)

        assert runbook.id == "drafts/from-shell" and runbook.mode.value == "copilot"
        assert [s.command for s in runbook.steps] == commands(draft)
        assert [s.title for s in runbook.steps] == [s.title for s in draft.steps]
        for step, drafted in zip(runbook.steps, draft.steps, strict=True):
            assert f"Source: {drafted.source}" in text
            if getattr(step, "source", None) is not None:  # the reader's `Source:` key
                assert step.source == drafted.source
        assert [s.risk.value == "green" for s in runbook.steps] == [s.section == "diagnosis" for s in draft.steps]


def test_no_secret_from_the_session_reaches_the_draft_not_even_when_it_is_echoed_back() -> None:
    session = """\
ops@db-1:~$ export PGPASSWORD=Xk29vLq7NmPw
ops@db-1:~$ echo $PGPASSWORD
Xk29vLq7NmPw
ops@db-1:~$ psql -h 10.0.3.12 -U app -c 'select pid, state from pg_stat_activity'
 pid | state
ops@db-1:~$ curl -H "Authorization: Bearer ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" https://api.github.com/user
"""
    draft = draft_from_shell(session)
    text = to_markdown(draft, "drafts/db") + json.dumps([s.__dict__ for s in draft.steps]) + "\n".join(draft.dropped)

    assert "Xk29vLq7NmPw" not in text and "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" not in text
    assert draft.steps[0].command == "export PGPASSWORD=[masked]"
    assert "secret was masked" in draft.steps[0].note


def test_zsh_extended_history_and_plain_command_lists_are_read_too() -> None:
    zsh = (": 1712345600:0;systemctl status nginx\n"
           ": 1712345630:0;sudo nginx -t\n"
           ": 1712345650:2;sudo systemctl reload nginx\n"
           ": 1712345700:0;curl -sI https://shop.example.com \\\n"
           "  | head -n 1\n")
    draft = draft_from_shell(zsh)
    assert commands(draft) == ["systemctl status nginx", "sudo nginx -t", "sudo systemctl reload nginx",
                               "curl -sI https://shop.example.com | head -n 1"]
    assert draft.steps[2].source == "shell line 3: sudo systemctl reload nginx"
    assert draft.steps[2].section == "fix"

    plain = "redis-cli -h 10.0.5.20 -p 6379 info memory\nredis-cli -h 10.0.5.20 -p 6379 config set maxmemory 4gb\n"
    draft = draft_from_shell(plain)
    assert commands(draft) == ["redis-cli -h {{ labels.instance }} -p 6379 info memory",
                               "redis-cli -h {{ labels.instance }} -p 6379 config set maxmemory 4gb"]
    assert draft.placeholders == {"10.0.5.20": "{{ labels.instance }}"}


def _cast(events: list[list], title: str | None = None) -> str:
    header = {"version": 2, "width": 120, "height": 30, "timestamp": 1712345600, "env": {"SHELL": "/bin/bash"}}
    if title:
        header["title"] = title
    return "\n".join(json.dumps(item) for item in [header, *events]) + "\n"


def test_an_asciinema_recording_is_read_from_its_coloured_prompts_and_cited_by_time() -> None:
    prompt = "\x1b]0;sre@web-3: ~\x07\x1b[01;32msre@web-3\x1b[00m:\x1b[01;34m~\x1b[00m$ "
    cast = _cast([
        [0.5, "o", prompt],
        [2.1, "o", "d"], [2.2, "o", "f -hx\b \b"], [2.4, "o", "\r\n"],
        [2.5, "o", "Filesystem  Size Used Avail Use% Mounted on\r\n/dev/sda1 50G 49G 1G 98% /\r\n" + prompt],
        [70.0, "o", "sudo apt-get clean\r\n"],
        [71.0, "o", prompt],
        [192.4, "o", "exit\r\n"],
    ], title="disk full on web-3")
    draft = draft_from_shell(cast)

    assert draft.title == "disk full on web-3"
    assert commands(draft) == ["df -h", "sudo apt-get clean"]
    assert [s.source for s in draft.steps] == ["asciicast 00:00:02: df -h", "asciicast 00:01:10: sudo apt-get clean"]
    assert [s.section for s in draft.steps] == ["diagnosis", "fix"]


def test_our_recorders_markers_are_preferred_and_their_exit_codes_decide_what_failed() -> None:
    def marker(command: str, code: int) -> str:
        return json.dumps({"command": command, "exit": code})

    cast = _cast([
        [1.0, "o", "$ systemctl restart nginx.servce\r\nFailed to restart nginx.servce.service: Unit not found.\r\n"],
        [1.1, "m", marker("systemctl restart nginx.servce", 5)],
        [4.0, "o", "$ systemctl restart nginx.service\r\n"],
        [4.3, "m", marker("systemctl restart nginx.service", 0)],
        [9.0, "o", "$ systemctl is-active nginx\r\nactive\r\n"],
        [9.1, "m", marker("systemctl is-active nginx", 0)],
        [12.0, "o", "$ grep -c 'upstream timed out' /var/log/nginx/error.log\r\n0\r\n"],
        [12.1, "m", marker("grep -c 'upstream timed out' /var/log/nginx/error.log", 1)],
    ])
    draft = draft_from_shell(cast)

    assert commands(draft) == ["systemctl restart nginx.service", "systemctl is-active nginx",
                               "grep -c 'upstream timed out' /var/log/nginx/error.log"]
    assert draft.dropped == ["00:00:01 `systemctl restart nginx.servce` failed (exit 5) and was retried at 00:00:04"]
    assert draft.steps[0].source == "asciicast 00:00:04: systemctl restart nginx.service"


def test_commands_with_their_own_braces_and_quoted_values_still_make_a_runbook_that_loads() -> None:
    session = ("docker inspect -f '{{.State.Status}} {{.RestartCount}}' checkout\n"
               "kubectl -n shop exec deploy/checkout -- sh -c 'curl -s localhost:8080/healthz'\n"
               "echo ${#PATH}\n")
    draft = draft_from_shell(session, labels={"namespace": "shop", "instance": "localhost:8080"})
    runbook = parse_text(to_markdown(draft, "drafts/braces"))

    assert [literal_text(s.command) for s in runbook.steps] == [
        "docker inspect -f '{{.State.Status}} {{.RestartCount}}' checkout",
        "kubectl -n {{ labels.namespace }} exec deploy/checkout -- sh -c 'curl -s localhost:8080/healthz'",
        "echo ${#PATH}",
    ]  # the namespace stands where a value can; inside single quotes the instance stays as it was typed
    assert draft.placeholders == {"shop": "{{ labels.namespace }}"}


def test_a_three_hundred_command_session_drafts_in_well_under_two_seconds() -> None:
    lines = []
    for i in range(100):
        pod = f"api-7d4b9c8f6-{i:05d}"[:20] + "abcde"[: 5 - len(str(i)) % 5]
        lines += [f"kubectl get pods -n payments -l app=api-{i}",
                  f"kubectl logs {pod} -n payments --since=10m | grep -c ERROR",
                  f"kubectl rollout restart deploy/api-{i} -n payments"]
    started = time.perf_counter()
    draft = draft_from_shell("\n".join(lines))
    elapsed = time.perf_counter() - started

    assert len(draft.steps) == 300
    assert elapsed < 2.0
