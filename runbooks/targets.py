"""Where a step runs: the one parser and validator of target specs.

A target is written in a runbook (`Target: ssh://ops@{{ labels.host }}:22`) and may take values
from the alert, so it is checked twice with the same rules: when the runbook loads (its
placeholders filled with sample values, so a spec no value could make valid is refused with its
line) and when the step runs (the rendered spec, before anything connects). Pure: no I/O.

    local                       the worker's host
    manual                      a person does the step and confirms it
    ssh://[user@]host[:port]    a host over SSH (key auth, known_hosts checked)
    agent:<name>                the host of agent <name> (`runbooks agent --name <name>`), inside the
                                network it acts on: the step goes to task queue `agent-<name>`
    http                        the worker sends the step's ```http request block (the URL is in it)

A new kind is a spec class and its parser here, listed in `KINDS`, plus an executor in
activities/targets/ (see the README, "Adding a target kind").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from runbooks.rendering.templating import fill_with_samples


class TargetError(ValueError):
    """A target spec that is not one of the kinds below, or not a valid one of them."""


@dataclass(frozen=True)
class LocalTarget:
    kind: ClassVar[str] = "local"


@dataclass(frozen=True)
class ManualTarget:
    kind: ClassVar[str] = "manual"


@dataclass(frozen=True)
class HttpTarget:
    kind: ClassVar[str] = "http"


@dataclass(frozen=True)
class PrometheusTarget:
    """Set by the planner for a verify step's ```promql block (PROMETHEUS_URL), not written by authors."""

    kind: ClassVar[str] = "prometheus"


@dataclass(frozen=True)
class SshTarget:
    kind: ClassVar[str] = "ssh"
    host: str  # a hostname, IPv4 address or IPv6 address (without brackets)
    port: int = 22
    user: str | None = None

    @property
    def address(self) -> str:
        """host:port as known_hosts and people write it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class AgentTarget:
    kind: ClassVar[str] = "agent"
    name: str

    @property
    def task_queue(self) -> str:
        return agent_queue(self.name)


Target = LocalTarget | ManualTarget | SshTarget | AgentTarget | HttpTarget | PrometheusTarget

AGENT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def agent_queue(name: str) -> str:
    """The task queue agent `name` polls: the one place that names it."""
    return f"agent-{name}"


def parse_agent_target(spec: str) -> AgentTarget:
    """`agent:<name>`: lower-case letters, digits and inner dashes, as a DNS label."""
    name = spec.removeprefix("agent:")
    if not AGENT_NAME.fullmatch(name):
        raise TargetError(f"invalid agent target {spec!r}: expected agent:<name>, the name in lower-case letters, "
                          "digits and dashes (at most 63)")
    return AgentTarget(name=name)

_SSH = re.compile(r"ssh://(?:(?P<user>[^@]*)@)?(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]{1,5}))?")
_HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


def parse_ssh_target(spec: str) -> SshTarget:
    """`ssh://[user@]host[:port]`, strictly: a value from an alert can never become an option or a command."""
    m = _SSH.fullmatch(spec)
    if not m:
        raise TargetError(f"invalid SSH target {spec!r}: expected ssh://[user@]host[:port]")
    user, host, port = m.group("user"), m.group("host"), m.group("port")
    if user is not None and not _USER.fullmatch(user):
        raise TargetError(f"invalid SSH target {spec!r}: bad user name {user!r}")
    if host.startswith("["):
        try:
            host = str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            raise TargetError(f"invalid SSH target {spec!r}: bad IPv6 address {host!r}") from None
        if "%" in host:
            raise TargetError(f"invalid SSH target {spec!r}: scoped IPv6 addresses are not supported")
    elif not _HOSTNAME.fullmatch(host):
        raise TargetError(f"invalid SSH target {spec!r}: bad host name {host!r}")
    elif re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise TargetError(f"invalid SSH target {spec!r}: bad IPv4 address {host!r}") from None
    port_num = int(port) if port is not None else 22
    if not 1 <= port_num <= 65535:
        raise TargetError(f"invalid SSH target {spec!r}: port must be 1-65535")
    return SshTarget(host=host, port=port_num, user=user)


WRITTEN = "`local`, `manual`, `ssh://[user@]host[:port]`, `agent:<name>` or `http`"


def _word(target: Target) -> Callable[[str], Target]:
    """A kind written as one bare word (`local`, `manual`, `http`)."""
    def parse(spec: str) -> Target:
        if spec != target.kind:
            raise TargetError(f"target {spec!r} is not {WRITTEN}")
        return target
    return parse


# kind -> (how a spec of that kind starts, its parser)
KINDS: dict[str, tuple[str, Callable[[str], Target]]] = {
    "local": ("local", _word(LocalTarget())),
    "manual": ("manual", _word(ManualTarget())),
    "ssh": ("ssh://", parse_ssh_target),
    "agent": ("agent:", parse_agent_target),
    "http": ("http", _word(HttpTarget())),
    "prometheus": ("prometheus", _word(PrometheusTarget())),
}


def parse_target(spec: str) -> Target:
    """The target a rendered spec names; TargetError (saying what is wrong) for anything else."""
    for prefix, parse in KINDS.values():
        if spec.startswith(prefix):
            return parse(spec)
    raise TargetError(f"target {spec!r} is not {WRITTEN}")


# Values a placeholder may stand for at load time: a host name and a port number cover every
# place a value may fill (rendered values are restricted to such characters, see planning).
_SAMPLES = ("placeholder-host", "2222")


def check_target_spec(spec: str) -> None:
    """Load time: a spec, with its `{{ }}` placeholders, that some alert values would make valid.

    TemplateError for a broken placeholder, TargetError when no values could make the spec valid.
    """
    first: TargetError | None = None
    for filled in fill_with_samples(spec, _SAMPLES):
        try:
            parse_target(filled)
            return
        except TargetError as exc:
            first = first or exc
    assert first is not None
    if "{{" not in spec:
        raise first
    raise TargetError(f"target {spec!r} is not valid whatever values fill its placeholders; with sample values: {first}")
