"""The `ssh` target kind: run a rendered command on a remote host over SSH (paramiko).

Targets can come from alert labels, so they are parsed strictly (runbooks/targets.py), and host
keys are only ever checked against an explicit known_hosts file: an unknown or changed key refuses the connection
before anything runs. Authentication is by key only (no passwords, no agent forwarding).
"""

from __future__ import annotations

import os
import shlex
import socket
import time
from typing import Callable

import paramiko

from activities.targets.output import DEFAULT_MAX_OUTPUT, HEARTBEAT_INTERVAL, OutputCollector, Pacer
from runbooks.contract import CommandResult, RenderedCommand
from runbooks.settings import Settings
from runbooks.targets import SshTarget


# sshd does not kill a command when its channel closes, and refuses "signal" requests for root
# sessions, so the script runs under a watchdog: it reads the channel's stdin, to which we never
# write, and EOF therefore means the channel closed (our timeout, a cancelled activity, a dead
# worker). It then kills the session's process group (sshd gives each session its own): TERM,
# KILL 2 s later. The script gets stdin from /dev/null and stderr merged into stdout on the remote
# side (sshd reads two pipes, so set_combine_stderr alone loses the order). $1 is the script.
_WATCHDOG = (
    'exec 3<&0; sh -c "$1" </dev/null 2>&1 3<&- & cmd=$!; '
    "{ while read -r _; do :; done; trap '' TERM; kill -s TERM 0; sleep 2; kill -s KILL 0; } "
    '<&3 >/dev/null 2>&1 & wd=$!; '
    'exec 3<&-; wait "$cmd"; rc=$?; kill "$wd" 2>/dev/null; exit "$rc"'
)

class _UnknownHostKey(paramiko.SSHException):
    pass


class _RejectUnknown(paramiko.RejectPolicy):
    """RejectPolicy with a distinguishable exception (never adds keys)."""

    def missing_host_key(self, client, hostname, key):  # noqa: ANN001
        raise _UnknownHostKey(hostname)


def run_ssh(
    target: SshTarget,
    command: RenderedCommand,
    timeout: float,
    known_hosts: str,
    key_file: str | None,
    default_user: str,
    max_output: int = DEFAULT_MAX_OUTPUT,
    heartbeat: Callable[[], None] | None = None,
    connect_timeout: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> CommandResult:
    """Run `command.script` on `target` with `sh -c` (under the watchdog) and report its result.

    Connection problems (host key, auth, network) come back as `error`, never as exceptions.
    On timeout the channel is closed, which makes the watchdog kill the remote command.
    `progress` gets the output so far while it changes (OutputProgress); the result has the rest.
    """
    started = time.monotonic()
    user = target.user or default_user
    where = f"{user}@{target.address}"
    if heartbeat is not None:
        heartbeat()
    client = paramiko.SSHClient()
    try:
        try:
            client.load_host_keys(known_hosts)
        except OSError as exc:
            return _failed(f"cannot read known_hosts {known_hosts}: {exc.strerror or exc}", started)
        client.set_missing_host_key_policy(_RejectUnknown())
        error = _connect(client, target, user, key_file, known_hosts, connect_timeout, where)
        if error:
            return _failed(error, started)
        transport = client.get_transport()
        assert transport is not None
        try:
            chan = transport.open_session(timeout=connect_timeout)
            chan.set_combine_stderr(True)
            chan.exec_command(remote_command(command.script))
        except (paramiko.SSHException, OSError) as exc:
            return _failed(f"cannot start command on {where}: {exc}", started)
        return _collect(chan, started, timeout, max_output, heartbeat, progress)
    finally:
        client.close()


def _connect(client, target, user, key_file, known_hosts, connect_timeout, where) -> str | None:  # noqa: ANN001
    try:
        client.connect(
            target.host,
            port=target.port,
            username=user,
            key_filename=key_file,
            look_for_keys=key_file is None,
            allow_agent=False,
            timeout=connect_timeout,
            banner_timeout=connect_timeout,
            auth_timeout=connect_timeout,
        )
    except _UnknownHostKey:
        return f"host key for {target.address} not in known_hosts {known_hosts}"
    except paramiko.BadHostKeyException:
        return f"host key for {target.address} does not match known_hosts {known_hosts} (refusing to connect)"
    except paramiko.AuthenticationException as exc:
        return f"authentication failed for {where}: {exc}"
    except paramiko.ssh_exception.NoValidConnectionsError as exc:
        return f"cannot connect to {target.address}: {exc.strerror or exc}"
    except (socket.timeout, TimeoutError):
        return f"cannot connect to {target.address}: timed out after {connect_timeout:g}s"
    except socket.gaierror as exc:
        return f"cannot resolve {target.host}: {exc.strerror or exc}"
    except paramiko.SSHException as exc:
        return f"ssh to {where} failed: {exc}"
    except OSError as exc:  # unreadable key file, unreachable network, ...
        return f"ssh to {where} failed: {exc.strerror or exc}"
    return None


def _collect(chan: paramiko.Channel, started: float, timeout: float, max_output: int,
             heartbeat, progress) -> CommandResult:  # noqa: ANN001
    collector = OutputCollector(max_output)
    # recv and the exit wait time out every 0.2 s: often enough for the pacer (the first beat came before connecting)
    pacer = Pacer(collector, heartbeat, progress, deadline=started + timeout,
                  first_beat=time.monotonic() + HEARTBEAT_INTERVAL)
    chan.settimeout(0.2)
    eof = False
    while not (eof and chan.exit_status_ready()):
        if pacer.tick():
            chan.close()  # the remote watchdog sees EOF and kills the command
            return CommandResult(
                exit_code=None,
                output=collector.text(),
                truncated=collector.truncated,
                duration_seconds=time.monotonic() - started,
                timed_out=True,
            )
        if eof:
            chan.status_event.wait(0.2)
            continue
        try:
            data = chan.recv(65536)
        except socket.timeout:
            continue
        if data:
            collector.feed(data)
        else:
            eof = True
    return CommandResult(
        exit_code=chan.recv_exit_status(),
        output=collector.text(),
        truncated=collector.truncated,
        duration_seconds=time.monotonic() - started,
    )


def remote_command(script: str) -> str:
    """The string given to the remote login shell: the watchdog, with the script as $1."""
    return f"sh -c {shlex.quote(_WATCHDOG)} runbook-step {shlex.quote(script)}"


def _failed(error: str, started: float) -> CommandResult:
    return CommandResult(exit_code=None, error=error, duration_seconds=time.monotonic() - started)


class SshExecutor:
    """`ssh://[user@]host[:port]`: key auth (SSH_KEY_FILE), host keys from SSH_KNOWN_HOSTS, never added."""

    def __init__(self, settings: Settings):
        self.known_hosts = os.path.expanduser(settings.ssh_known_hosts)
        self.key_file, self.user = settings.ssh_key_file, settings.ssh_user
        self.max_output = settings.max_output_bytes

    def run(self, target: SshTarget, command: RenderedCommand, timeout: float,
            heartbeat: Callable[[], None], progress: Callable[[str], None] | None = None) -> CommandResult:
        return run_ssh(target, command, timeout, known_hosts=self.known_hosts, key_file=self.key_file,
                       default_user=self.user, max_output=self.max_output, heartbeat=heartbeat,
                       progress=progress)
