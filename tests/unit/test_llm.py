"""Grounded LLM assistance: the grounding rules on their own, then the real anthropic SDK against a fake API."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from support.fake_anthropic import FakeAnthropic

from runbooks.authoring import llm
from runbooks.authoring.llm import LlmResult, LlmSettings, ProposedStep, assist, build_steps, ground_steps, propose_steps
from runbooks.model import Risk, Runbook, Step

PROSE = """\
---
title: Prometheus is down
service: monitoring
---
# Prometheus is down

Log in to the cluster. Check the pods with kubectl get pods -n monitoring.
If they crash, restart the deployment with kubectl rollout restart
deployment/prometheus -n monitoring.

Then check that the targets are up again in the Prometheus UI.
"""
# Line numbers of PROSE: 1-4 front matter, 5 heading, 6 blank, 7-9 first paragraph, 10 blank, 11 last line.

GOOD_STEPS = [
    {"title": "Log in to the cluster", "command": None, "source_lines": [7, 7], "section": "other"},
    {"title": "Check the pods", "command": "kubectl get pods -n monitoring", "source_lines": [7, 7],
     "section": "diagnosis", "condition": None, "risk_hint": "green"},
    {"title": "Restart Prometheus", "command": "kubectl rollout restart deployment/prometheus -n monitoring",
     "source_lines": [8, 9], "section": "mitigation", "condition": "if the pods crash", "risk_hint": "yellow"},
    {"title": "Check the targets", "command": None, "source_lines": [11, 11], "section": "verification"},
]


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own key or endpoint must never leak into these tests."""
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_") or name == "LLM_TIMEOUT_SECONDS":
            monkeypatch.delenv(name)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def ask(fake: FakeAnthropic, text: str = PROSE, timeout: float = 1.0, **kw: object) -> LlmResult:
    args = {"api_key": fake.api_key, "model": "claude-test", "base_url": fake.base_url, "timeout": timeout, **kw}
    return propose_steps(text, **args)  # type: ignore[arg-type]


def settings(fake: FakeAnthropic, timeout: float = 1.0) -> LlmSettings:
    return LlmSettings(api_key=fake.api_key, model="claude-test", base_url=fake.base_url, timeout=timeout)


def prose_runbook(steps: list[Step] | None = None) -> Runbook:
    return Runbook(id="prometheus-down", title="Prometheus is down", description="Prometheus is down.",
                   steps=steps or [], format="prose")


def one(text: str, **raw: object) -> tuple[list[ProposedStep], list[tuple[str, str]]]:
    return ground_steps([{"title": "A step", **raw}], text)


# --- grounding: citations --------------------------------------------------------------------------------
def test_grounded_steps_keep_the_source_text_and_first_cited_line() -> None:
    steps, dropped = ground_steps(GOOD_STEPS, PROSE)
    assert dropped == []
    assert [(s.title, s.command, s.line, s.end_line) for s in steps] == [
        ("Log in to the cluster", None, 7, 7),
        ("Check the pods", "kubectl get pods -n monitoring", 7, 7),
        ("Restart Prometheus", "kubectl rollout restart deployment/prometheus -n monitoring", 8, 9),
        ("Check the targets", None, 11, 11),
    ]
    assert steps[2].description == ("If they crash, restart the deployment with kubectl rollout restart\n"
                                    "deployment/prometheus -n monitoring.")
    assert steps[2].condition == "if the pods crash" and steps[2].section == "mitigation"
    assert steps[1].risk_hint is Risk.green


@pytest.mark.parametrize("cited, why", [
    ([12, 12], "out of range"), ([0, 7], "out of range"), ([9, 8], "out of range"), ([-1, 7], "out of range"),
    ([2, 2], "out of range"),  # front matter is not runbook text
    (None, "no source_lines"), ([], "no source_lines"), ([7, 8, 9], "no source_lines"),
    (["7", "8"], "no source_lines"), ([True, 7], "no source_lines"), ([7.0, 8.0], "no source_lines"),
    ("7-8", "no source_lines"),
    ([6, 6], "blank"), ([10, 10], "blank"),
])
def test_bad_citation_drops_the_step(cited: object, why: str) -> None:
    raw = {"title": "Check the pods", "command": "kubectl get pods -n monitoring"}
    if cited is not None:
        raw["source_lines"] = cited
    steps, dropped = ground_steps([raw], PROSE)
    assert steps == []
    assert len(dropped) == 1 and dropped[0][0] == "Check the pods" and why in dropped[0][1]


def test_missing_citation_key_and_malformed_steps_are_dropped() -> None:
    steps, dropped = ground_steps([
        {"title": "No citation", "command": None},
        "not an object",
        {"command": "kubectl get pods -n monitoring", "source_lines": [7, 7]},
        {"title": "   ", "source_lines": [7, 7]},
        {"title": "Kept", "command": None, "source_lines": [11]},  # a single line is accepted as [n, n]
    ], PROSE)
    assert [s.title for s in steps] == ["Kept"] and steps[0].line == steps[0].end_line == 11
    assert [reason.split(":")[0] for _, reason in dropped] == ["step dropped"] * 4
    assert dropped[1] == ("(step 2)", "step dropped: not an object")
    assert dropped[2][0] == "(step 3)" and "no title" in dropped[2][1]


def test_citing_the_whole_document_is_refused() -> None:
    text = "\n".join(f"line {n}" for n in range(1, 40)) + "\nrun uptime now\n"
    steps, dropped = one(text, command="uptime", source_lines=[1, 40])
    assert steps == [] and "at most" in dropped[0][1]
    steps, dropped = one(text, command="uptime", source_lines=[40, 40])
    assert steps[0].command == "uptime" and dropped == []


def test_not_a_list_and_too_many_steps() -> None:
    assert ground_steps({"steps": []}, PROSE) == ([], [("(all)", "the model's answer has no list of steps")])
    many = [{"title": f"Step {n}", "command": None, "source_lines": [11, 11]} for n in range(llm.MAX_STEPS + 5)]
    steps, dropped = ground_steps(many, PROSE)
    assert len(steps) == llm.MAX_STEPS
    assert dropped == [("(rest)", f"more than {llm.MAX_STEPS} steps; the rest were ignored")]


def test_unknown_section_and_risk_hint_are_ignored_and_text_is_tidied() -> None:
    steps, _ = one(PROSE, command=None, source_lines=[7, 7], section="panic", risk_hint="purple",
                   condition="  if\n the pods   crash ", title="  Check\n the   pods ")
    assert steps[0].section is None and steps[0].risk_hint is None
    assert steps[0].condition == "if the pods crash" and steps[0].title == "Check the pods"


# --- grounding: commands ---------------------------------------------------------------------------------
def test_invented_command_is_dropped_and_the_step_kept_as_manual_with_the_cited_text() -> None:
    steps, dropped = one(PROSE, title="Delete the namespace", command="kubectl delete namespace monitoring",
                         source_lines=[8, 9])
    assert steps[0].command is None and steps[0].title == "Delete the namespace"
    assert steps[0].description.startswith("If they crash, restart the deployment")
    assert dropped == [("Delete the namespace", ("command `kubectl delete namespace monitoring` dropped: "
                                                 "not found in lines 8-9; kept as a manual step"))]


def test_command_elsewhere_in_the_document_but_not_in_the_cited_lines_is_dropped() -> None:
    steps, dropped = one(PROSE, command="kubectl get pods -n monitoring", source_lines=[11, 11])
    assert steps[0].command is None and "not found in lines 11-11" in dropped[0][1]


def test_command_must_lie_entirely_inside_the_citation() -> None:
    # The command wraps from line 8 to 9; citing only line 8 does not support it.
    cmd = "kubectl rollout restart deployment/prometheus -n monitoring"
    assert one(PROSE, command=cmd, source_lines=[8, 8])[0][0].command is None
    assert one(PROSE, command=cmd, source_lines=[7, 9])[0][0].command == cmd


@pytest.mark.parametrize("proposed", [
    "kubectl get pods -n monitoring",
    "`kubectl get pods -n monitoring`",
    "$ kubectl get pods -n monitoring",
    "  kubectl   get pods\n -n monitoring ",
])
def test_backticks_prompts_and_whitespace_are_normalised(proposed: str) -> None:
    steps, dropped = one(PROSE, command=proposed, source_lines=[7, 7])
    assert steps[0].command == "kubectl get pods -n monitoring" and dropped == []


def test_the_kept_command_is_the_sources_text_not_the_models() -> None:
    # Whitespace-equal is enough to match, but a model's newline must never reach the shell.
    text = "Flush with redis-cli -n 2 FLUSHDB now and then check.\n"
    steps, _ = one(text, command="redis-cli -n 2\nFLUSHDB", source_lines=[1, 1])
    assert steps[0].command == "redis-cli -n 2 FLUSHDB"


@pytest.mark.parametrize("source, proposed", [
    ("Clear it with rm -rf /tmp/cache/old when full.", "rm -rf /tmp/cache"),  # truncated path: widens the delete
    ("Clear it with rm -rf /tmp/cache.old when full.", "rm -rf /tmp/cache"),
    ("Check with kubectl get pods -n monitoring.", "kubectl get pods -n monitoring --all-namespaces"),
    ("Run systemctl restart nginx-old now.", "systemctl restart nginx"),
    ("Run xsystemctl restart nginx now.", "systemctl restart nginx"),
    ("Check with `kubectl get pods -n monitoring` first.", "kubectl get pods"),  # part of a code span
    ("Check with `kubectl get pods` first.", "kubectl get pods -A"),  # more than the code span
    ("Run `kubectl get pods` then `kubectl logs web`.", "kubectl get pods then kubectl logs web"),
])
def test_near_misses_are_not_grounded(source: str, proposed: str) -> None:
    steps, dropped = one(source, command=proposed, source_lines=[1, 1])
    assert steps[0].command is None and "not found" in dropped[0][1]


@pytest.mark.parametrize("source, proposed, kept", [
    ("Check with `kubectl get pods -n monitoring`.", "kubectl get pods -n monitoring",
     "kubectl get pods -n monitoring"),
    ("Check with `$ kubectl get pods`.", "kubectl get pods", "kubectl get pods"),
    ("Check with ``echo `date` `` please.", "echo `date`", "echo `date`"),
    ("Run 'systemctl restart nginx' and wait.", "systemctl restart nginx", "systemctl restart nginx"),
    ("Restart it (systemctl restart nginx), then wait.", "systemctl restart nginx", "systemctl restart nginx"),
    ("Restart with systemctl restart nginx.service.", "systemctl restart nginx.service.",
     "systemctl restart nginx.service"),  # the sentence's full stop is not part of the command
    ("Go up with cd .. and list.", "cd ..", "cd .."),
    ("Run df -h", "df -h", "df -h"),
])
def test_commands_found_in_prose_and_code_spans(source: str, proposed: str, kept: str) -> None:
    steps, dropped = one(source, command=proposed, source_lines=[1, 1])
    assert steps[0].command == kept and dropped == []


def test_code_span_across_wrapped_lines() -> None:
    text = "Restart it with `kubectl rollout restart\ndeployment/web -n prod` if needed.\n"
    steps, _ = one(text, command="kubectl rollout restart deployment/web -n prod", source_lines=[1, 2])
    assert steps[0].command == "kubectl rollout restart deployment/web -n prod"


def test_prose_matches_do_not_cross_paragraphs_or_list_items() -> None:
    text = "- First run kubectl get\n- pods in the namespace\n\nkubectl get\n\npods\n"
    for cited in ([1, 2], [4, 6]):
        steps, _ = one(text, command="kubectl get pods", source_lines=cited)
        assert steps[0].command is None, cited
    assert one(text, command="kubectl get", source_lines=[1, 2])[0][0].command == "kubectl get"


def test_fenced_blocks_match_whole_lines_and_keep_their_newlines() -> None:
    text = "Run this:\n\n```console\n$ kubectl get pods -n monitoring\n$ kubectl logs deploy/prometheus\n```\n"
    steps, _ = one(text, command="kubectl get pods -n monitoring\nkubectl logs deploy/prometheus",
                   source_lines=[3, 6])
    assert steps[0].command == "kubectl get pods -n monitoring\nkubectl logs deploy/prometheus"
    assert one(text, command="kubectl logs deploy/prometheus", source_lines=[5, 5])[0][0].command \
        == "kubectl logs deploy/prometheus"
    assert one(text, command="kubectl get pods", source_lines=[3, 6])[0][0].command is None  # part of a line
    assert one(text, command="```console", source_lines=[3, 3])[0][0].command is None  # not a command


def test_output_lines_in_a_session_transcript_are_not_commands() -> None:
    text = "Check:\n\n```\n$ systemctl is-active nginx\nfailed\n```\n\n```sh\nsystemctl restart nginx\n```\n"
    assert one(text, command="failed", source_lines=[3, 6])[0][0].command is None
    assert one(text, command="systemctl is-active nginx failed", source_lines=[3, 6])[0][0].command is None
    assert one(text, command="systemctl is-active nginx", source_lines=[3, 6])[0][0].command \
        == "systemctl is-active nginx"
    assert one(text, command="systemctl restart nginx", source_lines=[8, 10])[0][0].command \
        == "systemctl restart nginx"


# --- engine steps ----------------------------------------------------------------------------------------
def test_build_steps_classifies_risk_and_makes_unique_ids() -> None:
    proposed, _ = ground_steps(GOOD_STEPS + [{"title": "Check the pods", "command": None, "source_lines": [7, 7]}],
                               PROSE)
    steps = build_steps(proposed, [])
    assert [s.id for s in steps] == ["log-in-to-the-cluster", "check-the-pods", "restart-prometheus",
                                     "check-the-targets", "check-the-pods-2"]
    assert [s.position for s in steps] == [1, 2, 3, 4, 5]
    by_id = {s.id: s for s in steps}
    assert by_id["check-the-pods"].risk is Risk.green and by_id["check-the-pods"].target == "local"
    assert by_id["restart-prometheus"].risk is Risk.yellow and "restart" in by_id["restart-prometheus"].risk_reason
    assert by_id["log-in-to-the-cluster"].manual and by_id["log-in-to-the-cluster"].target == "manual"
    assert by_id["log-in-to-the-cluster"].risk is Risk.yellow
    assert by_id["restart-prometheus"].line == 8 and by_id["restart-prometheus"].condition == "if the pods crash"


def test_risk_hint_can_raise_but_never_lower_the_classifier() -> None:
    text = "Check with kubectl get pods and wipe with rm -rf /var/lib/prometheus/data now.\n"
    proposed, _ = ground_steps([
        {"title": "Look", "command": "kubectl get pods", "source_lines": [1, 1], "risk_hint": "red"},
        {"title": "Wipe", "command": "rm -rf /var/lib/prometheus/data", "source_lines": [1, 1], "risk_hint": "green"},
        {"title": "Think", "command": None, "source_lines": [1, 1], "risk_hint": "green"},
    ], text)
    look, wipe, think = build_steps(proposed, [])
    assert look.risk is Risk.red and "raised to red by the LLM" in look.risk_reason
    assert wipe.risk is Risk.red and "LLM" not in wipe.risk_reason
    assert think.risk is Risk.yellow


def test_commands_the_template_checker_refuses_become_manual() -> None:
    text = ("Search with grep 'foo bar' /var/log/app.log and restart {{ labels.pod }} with "
            "kubectl delete pod {{ labels.pod }} now.\n")
    proposed, dropped = ground_steps([
        {"title": "Search", "command": "grep 'foo", "source_lines": [1, 1]},  # grounded, but half a quote
        {"title": "Restart", "command": "kubectl delete pod {{ labels.pod }}", "source_lines": [1, 1]},
    ], text)
    assert proposed[0].command == "grep 'foo" and dropped == []
    search, restart = build_steps(proposed, dropped)
    assert search.manual and "unterminated single quotes" in dropped[0][1] and "kept as a manual step" in dropped[0][1]
    assert restart.command == "kubectl delete pod {{ labels.pod }}" and restart.variables == ["labels.pod"]
    assert restart.risk is Risk.yellow  # one pod deleted: its controller recreates it (issue 14)


# --- settings --------------------------------------------------------------------------------------------
def test_settings_from_env() -> None:
    s = LlmSettings.from_env({})
    assert (s.api_key, s.model, s.base_url, s.timeout, s.enabled) == (None, llm.DEFAULT_MODEL, None, 20.0, False)
    s = LlmSettings.from_env({"ANTHROPIC_API_KEY": "k", "ANTHROPIC_MODEL": "claude-x",
                              "ANTHROPIC_BASE_URL": "http://127.0.0.1:1", "LLM_TIMEOUT_SECONDS": "2.5"})
    assert (s.api_key, s.model, s.base_url, s.timeout, s.enabled) == ("k", "claude-x", "http://127.0.0.1:1", 2.5, True)
    for bad in ("soon", "0", "-3", "nan", "1e9"):
        assert LlmSettings.from_env({"LLM_TIMEOUT_SECONDS": bad}).timeout == 20.0
    assert not LlmSettings.from_env({"ANTHROPIC_API_KEY": "  "}).enabled


# --- the real SDK against the fake API -------------------------------------------------------------------
def test_prose_runbook_becomes_grounded_steps(fake: FakeAnthropic) -> None:
    fake.reply_tool_use({"steps": GOOD_STEPS + [
        {"title": "Scale down", "command": "kubectl scale deployment/prometheus --replicas=0 -n monitoring",
         "source_lines": [8, 9]},
        {"title": "Elsewhere", "command": None, "source_lines": [40, 41]},
    ]})
    result = ask(fake)
    assert result.used_llm and result.error is None
    assert [(s.title, s.command) for s in result.steps] == [
        ("Log in to the cluster", None),
        ("Check the pods", "kubectl get pods -n monitoring"),
        ("Restart Prometheus", "kubectl rollout restart deployment/prometheus -n monitoring"),
        ("Check the targets", None),
        ("Scale down", None),
    ]
    assert result.dropped == [
        ("Scale down", ("command `kubectl scale deployment/prometheus --replicas=0 -n monitoring` dropped: "
                        "not found in lines 8-9; kept as a manual step")),
        ("Elsewhere", "step dropped: source_lines [40, 41] are out of range (the runbook body is lines 5-11)"),
    ]


def test_request_carries_numbered_source_tool_schema_and_headers(fake: FakeAnthropic) -> None:
    fake.reply_tool_use({"steps": GOOD_STEPS})
    ask(fake)
    assert len(fake.requests) == 1
    req = fake.requests[0]
    assert req.method == "POST" and req.path == "/v1/messages"
    assert req.headers.get("x-api-key") == fake.api_key or req.headers.get("authorization") == f"Bearer {fake.api_key}"
    assert req.headers["anthropic-version"]
    body = req.body
    assert body["model"] == "claude-test" and body["max_tokens"] == llm.MAX_TOKENS
    assert "record_steps" in body["system"] and "copied exactly" in body["system"]
    content = body["messages"][0]["content"]
    assert body["messages"][0]["role"] == "user"
    assert "7| Log in to the cluster. Check the pods with kubectl get pods -n monitoring.\n" in content
    assert "9| deployment/prometheus -n monitoring.\n10|\n11| Then check" in content
    assert "title: Prometheus" not in content  # front matter is not sent
    assert body["tool_choice"] == {"type": "tool", "name": "record_steps"}
    (tool,) = body["tools"]
    assert tool["name"] == "record_steps"
    item = tool["input_schema"]["properties"]["steps"]["items"]
    assert set(item["properties"]) == {"title", "command", "source_lines", "section", "condition", "risk_hint"}
    assert item["required"] == ["title", "command", "source_lines"]


@pytest.mark.parametrize("status, kind", [(529, "overloaded_error"), (500, "api_error"), (429, "rate_limit_error")])
def test_api_errors_fall_back_without_retrying(fake: FakeAnthropic, status: int, kind: str) -> None:
    fake.reply_error(status, kind, "try later")
    result = ask(fake)
    assert not result.used_llm and result.steps == []
    assert result.error == f"HTTP {status} {kind}: try later"
    assert len(fake.requests) == 1  # max_retries=0: the time box is not spent on retries


def test_wrong_key_falls_back(fake: FakeAnthropic) -> None:
    result = ask(fake, api_key="sk-ant-wrong")
    assert not result.used_llm and result.error.startswith("HTTP 401 authentication_error")


def test_slow_server_is_time_boxed(fake: FakeAnthropic) -> None:
    fake.reply_tool_use({"steps": GOOD_STEPS}, delay=5)
    started = time.monotonic()
    result = ask(fake, timeout=0.5)
    elapsed = time.monotonic() - started
    assert not result.used_llm and "timeout" in result.error
    assert 0.4 < elapsed < 1.5


def test_a_trickling_answer_is_cut_off_at_the_deadline(fake: FakeAnthropic) -> None:
    # Every byte arrives well within the SDK's per-read timeout; only the overall deadline stops it.
    fake.reply_tool_use({"steps": GOOD_STEPS}, trickle=0.05)
    started = time.monotonic()
    result = ask(fake, timeout=0.5)
    elapsed = time.monotonic() - started
    assert not result.used_llm and "timeout" in result.error
    assert 0.4 < elapsed < 1.5


def test_unreachable_server_falls_back() -> None:
    with FakeAnthropic() as server:
        url, key = server.base_url, server.api_key
    result = propose_steps(PROSE, api_key=key, model="m", base_url=url, timeout=1)
    assert not result.used_llm and result.error.startswith("connection error")


@pytest.mark.parametrize("configure", [
    lambda f: f.reply_message([{"type": "text", "text": "Here are the steps: ..."}]),
    lambda f: f.reply_tool_use({"steps": GOOD_STEPS}, name="other_tool"),
    lambda f: f.reply_tool_use({"items": GOOD_STEPS}),
    lambda f: f.reply_tool_use({"steps": "kubectl get pods"}),
    lambda f: f.reply_tool_use({"steps": GOOD_STEPS}, stop_reason="max_tokens"),
    lambda f: f.reply_raw(200, b"{not json"),
    lambda f: f.reply_raw(200, b"<html>proxy says hi</html>", "text/html"),
    lambda f: f.reply_json(200, {"type": "message"}),
])
def test_malformed_answers_fall_back(fake: FakeAnthropic, configure) -> None:
    configure(fake)
    result = ask(fake)
    assert not result.used_llm and result.steps == [] and result.error


def test_all_steps_dropped_is_still_an_llm_answer(fake: FakeAnthropic) -> None:
    fake.reply_tool_use({"steps": [{"title": "Made up", "command": "reboot", "source_lines": [99, 99]}]})
    result = ask(fake)
    assert result.used_llm and result.steps == [] and result.dropped[0][0] == "Made up"


def test_without_a_key_nothing_is_sent(fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)  # even with the endpoint configured
    result = propose_steps(PROSE, api_key=None, model="m", base_url=fake.base_url, timeout=1)
    assert not result.used_llm and result.error == "no API key configured"
    runbook = prose_runbook()
    assert assist(PROSE, runbook, None) is runbook  # not configured
    assert assist(PROSE, runbook, LlmSettings(api_key="", base_url=fake.base_url)) is runbook
    assert fake.requests == []


# --- assist ----------------------------------------------------------------------------------------------
def test_assist_replaces_prose_steps_with_grounded_steps(fake: FakeAnthropic) -> None:
    fake.reply_tool_use({"steps": GOOD_STEPS + [
        {"title": "Drop the data", "command": "rm -rf /prometheus", "source_lines": [11, 11]}]})
    manual = Step(id="log-in", title="Log in to the cluster", position=1, risk=Risk.yellow, risk_reason="manual",
                  target="manual", timeout_seconds=120, line=7)
    runbook = prose_runbook([manual])
    before = runbook.model_dump()
    out = assist(PROSE, runbook, settings(fake))
    assert runbook.model_dump() == before  # the input is not modified
    assert [(s.id, s.command, s.risk, s.line) for s in out.steps] == [
        ("log-in-to-the-cluster", None, Risk.yellow, 7),
        ("check-the-pods", "kubectl get pods -n monitoring", Risk.green, 7),
        ("restart-prometheus", "kubectl rollout restart deployment/prometheus -n monitoring", Risk.yellow, 8),
        ("check-the-targets", None, Risk.yellow, 11),
        ("drop-the-data", None, Risk.yellow, 11),
    ]
    assert {s.timeout_seconds for s in out.steps} == {120}  # the deterministic steps' shared timeout
    assert out.description.startswith("Prometheus is down.\n\nSteps proposed by claude-test from the prose: "
                                      "5 steps, 2 with commands")
    assert "1 proposals dropped or made manual" in out.description
    assert (out.id, out.title, out.format) == (runbook.id, runbook.title, "prose")


def test_assist_leaves_runbooks_with_commands_alone(fake: FakeAnthropic) -> None:
    step = Step(id="df", title="Disk", position=1, command="df -h", risk=Risk.green, risk_reason="reads")
    runbook = prose_runbook([step])
    assert assist(PROSE, runbook, settings(fake)) is runbook
    assert fake.requests == []


@pytest.mark.parametrize("configure", [
    lambda f: f.reply_error(529, "overloaded_error", "Overloaded"),
    lambda f: f.reply_tool_use({"steps": [GOOD_STEPS[0], GOOD_STEPS[3]]}),  # manual steps only: nothing gained
    lambda f: f.reply_tool_use({"steps": [{"title": "Made up", "command": "reboot", "source_lines": [7, 7]}]}),
    lambda f: f.reply_tool_use({"steps": GOOD_STEPS}, delay=3),
])
def test_assist_falls_back_to_the_deterministic_runbook(fake: FakeAnthropic, configure) -> None:
    configure(fake)
    runbook = prose_runbook()
    started = time.monotonic()
    assert assist(PROSE, runbook, settings(fake, timeout=0.5)) is runbook
    assert time.monotonic() - started < 1.5
    assert len(fake.requests) == 1
