"""Where a step runs: one parser for target specs, the same rules when a runbook loads and when a
step runs, and an executor per kind found through a registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.commands import CommandActivities
from activities.targets import EXECUTORS
from runbooks.authoring.reader import parse_markdown
from runbooks.contract import CommandRequest, CommandResult, RenderedCommand
from runbooks.errors import RunbookParseError
from runbooks.settings import Settings
from runbooks.targets import KINDS, AgentTarget, LocalTarget, ManualTarget, SshTarget, TargetError, parse_target


def runbook(target: str) -> str:
    return f"# Somewhere\n\n## Steps\n\n1. **Look**\n   Target: {target}\n   ```sh\n   uptime\n   ```\n"


def request(target: str, script: str = "echo hi") -> CommandRequest:
    return CommandRequest(execution_id="ex", step_id="s", target=target, command=RenderedCommand(script=script,
                          argv=script.split()), timeout_seconds=5)


@pytest.mark.parametrize("spec, expected", [
    ("local", LocalTarget()),
    ("manual", ManualTarget()),
    ("ssh://ops@db1.example.com:2222", SshTarget("db1.example.com", 2222, "ops")),
    ("ssh://[::1]", SshTarget("::1")),
    ("agent:dmz", AgentTarget("dmz")),
    ("agent:eu-west-1", AgentTarget("eu-west-1")),
])
def test_each_kind_is_read_from_its_spec(spec: str, expected: object) -> None:
    assert parse_target(spec) == expected


@pytest.mark.parametrize("spec", ["localhost", "remote", "http://db1", "agent:", "agent:DMZ", "agent:dmz;reboot", "agent:-x",
                                  "agent:a/b", "ssh://db1;reboot", ""])
def test_anything_else_is_refused_with_what_is_allowed(spec: str) -> None:
    with pytest.raises(TargetError):
        parse_target(spec)


@pytest.mark.parametrize("target", [
    "ssh://ops@{{ labels.host }}:2222",
    "ssh://127.0.0.1:{{ params.port }}",
    "ssh://{{ labels.instance | replace(':9100', '') }}",
    "agent:{{ labels.zone }}",
])
def test_a_target_that_alert_values_can_complete_loads(target: str) -> None:
    assert parse_markdown(runbook(target)).steps[0].target == target


@pytest.mark.parametrize("target, says", [
    ("ssh://db 1", "bad host name"),
    ("ssh://{{ labels.host }}/var", "whatever values fill its placeholders"),
    ("ssh://{{ labels.host }}:99999", "port must be 1-65535"),
    ("local-ish", "is not `local`, `manual`, `ssh://"),
    ("agent:Bad_Name", "invalid agent target"),
    ("ssh://{{ host }}", "unknown name 'host'"),
])
def test_a_target_no_value_could_make_valid_is_refused_with_its_line(target: str, says: str) -> None:
    with pytest.raises(RunbookParseError, match=".*") as caught:
        parse_markdown(runbook(target))
    assert caught.value.line == 6 and says in caught.value.message, caught.value


@pytest.mark.parametrize("rendered", ["ssh://-oProxyCommand=touch_x", "ssh://db1;reboot", "local; reboot"])
def test_a_rendered_target_is_held_to_the_same_rules_before_anything_runs(rendered: str) -> None:
    activities = CommandActivities(Settings())
    with pytest.raises(ApplicationError) as caught:
        ActivityEnvironment().run(activities.run_command, request(rendered))
    assert caught.value.type == "CommandError" and caught.value.non_retryable


def test_every_kind_a_runbook_can_name_runs_somewhere_but_manual() -> None:
    """`agent` runs on the agent only (`runbooks agent`), never in the main worker."""
    assert set(EXECUTORS) == set(KINDS) - {"manual", "agent"}
    with pytest.raises(ApplicationError, match="no executor"):
        ActivityEnvironment().run(CommandActivities(Settings()).run_command, request("manual"))


def test_a_new_kind_is_a_spec_and_an_executor_each_in_its_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the README's "Adding a target kind" describes, done here with a toy kind."""

    @dataclass(frozen=True)
    class EchoTarget:
        kind: ClassVar[str] = "echo"

    class EchoExecutor:
        def __init__(self, settings: Settings) -> None:
            self.prefix = settings.task_queue

        def run(self, target, command, timeout, heartbeat, progress=None) -> CommandResult:  # noqa: ANN001
            heartbeat()
            return CommandResult(exit_code=0, output=f"{self.prefix}: {command.script}")

    def parse(spec: str) -> EchoTarget:
        return EchoTarget()

    monkeypatch.setitem(KINDS, "echo", ("echo", parse))
    monkeypatch.setitem(EXECUTORS, "echo", EchoExecutor)
    assert parse_markdown(runbook("echo")).steps[0].target == "echo"
    result = ActivityEnvironment().run(CommandActivities(Settings(task_queue="q")).run_command, request("echo"))
    assert result.ok and result.output == "q: echo hi"


def test_the_local_executor_runs_on_the_worker() -> None:
    result = ActivityEnvironment().run(CommandActivities(Settings()).run_command, request("local", "echo here"))
    assert result.exit_code == 0 and result.output == "here\n"


def test_the_main_worker_never_runs_an_agent_step_itself() -> None:
    with pytest.raises(ApplicationError, match="no executor for target 'agent:dmz'"):
        ActivityEnvironment().run(CommandActivities(Settings()).run_command, request("agent:dmz"))


def test_an_agent_runs_its_own_steps_and_only_those() -> None:
    dmz = CommandActivities(Settings(), agent="dmz")
    result = ActivityEnvironment().run(dmz.run_command, request("agent:dmz", "echo inside"))
    assert result.exit_code == 0 and result.output == "inside\n"
    other = ActivityEnvironment().run(dmz.run_command, request("agent:lab", "echo inside"))
    assert other.exit_code is None and other.error == "agent dmz refused a step for agent lab"
    for elsewhere in ("local", "ssh://db1"):  # nothing but agent steps runs inside the network
        with pytest.raises(ApplicationError, match="no executor"):
            ActivityEnvironment().run(dmz.run_command, request(elsewhere))
