"""The `agent` target kind, as an agent runs it: the command on the agent's own host.

Only `runbooks agent --name NAME` registers this executor, for its own name: a step for another
agent that reached it by mistake is refused, and the main worker has no `agent` executor at all,
so an agent step never runs outside the network it was written for.
"""

from __future__ import annotations

from collections.abc import Callable

from activities.targets.local import run_local
from runbooks.contract import CommandResult, RenderedCommand
from runbooks.settings import Settings
from runbooks.targets import AgentTarget


class AgentExecutor:
    def __init__(self, settings: Settings, name: str) -> None:
        self.name, self.max_output = name, settings.max_output_bytes

    def run(self, target: AgentTarget, command: RenderedCommand, timeout: float,
            heartbeat: Callable[[], None], progress: Callable[[str], None] | None = None) -> CommandResult:
        if target.name != self.name:
            return CommandResult(exit_code=None, error=f"agent {self.name} refused a step for agent {target.name}")
        return run_local(command, timeout, self.max_output, heartbeat, progress)
