"""Configuration management and CI runners that carry a command inside: `ansible -m MODULE -a ARGS`,
`ansible-playbook`, and the Jenkins CLI (`java -jar jenkins-cli.jar ... SUBCOMMAND`).

An ad-hoc ansible command is judged by its module: facts and pings read; `shell`, `command` and `raw`
are classified by the command they run (on every host the pattern names); other modules change state,
and `state=absent` removes what they manage."""

from __future__ import annotations

import re

from runbooks.risk import nested
from runbooks.risk.base import (
    G, Handler, R, RiskAssessment, Rule, Y, assess, flag_values, flags, group, matches, positionals, via,
)

ANSIBLE_VALUE_FLAGS = flags("-i --inventory -m --module-name -a --args -u --user -l --limit -f --forks -e --extra-vars"
                            " -t --tags -T --timeout --become-user -M --module-path -c --connection --vault-id"
                            " --private-key -B --background -P --poll")
READ_MODULES = {"ping", "setup", "gather_facts", "stat", "debug", "slurp", "find", "service_facts", "package_facts",
                "command_info", "wait_for", "uri", "assert", "getent", "listen_ports_facts", "mount_facts"}
RUNS_COMMAND = {"shell", "command", "raw", "ansible.builtin.shell", "ansible.builtin.command", "ansible.builtin.raw"}
PLAYBOOK_READS = ("--syntax-check", "--list-hosts", "--list-tasks", "--list-tags", "--check", "-C", "--version")

JENKINS: dict[str, Rule] = {
    **group(G, "reads Jenkins (read-only)", "get-job, list-jobs, get-view, list-plugins, who-am-i, version, help,"
            "console, get-node, get-credentials-as-xml, list-changes, session-id"),
    **group(Y, "changes Jenkins state (reversible state change)", "build, stop-builds, enable-job, disable-job,"
            "create-job, update-job, copy-job, reload-job, set-build-description, offline-node, online-node,"
            "quiet-down, cancel-quiet-down, install-plugin, reload-configuration, create-node, update-node"),
    **group(R, "deletes jobs, builds or nodes, or restarts Jenkins (irreversible or wide blast radius)",
            "delete-job, delete-builds, delete-node, delete-view, restart, safe-restart, shutdown, safe-shutdown,"
            "groovy, groovysh"),
}


def _module_args(args: list[str]) -> tuple[str, str]:
    module = next(iter(flag_values(args, ("-m", "--module-name"))), "command")
    return module, next(iter(flag_values(args, ("-a", "--args"))), "")


def _ansible(w: list[str], piped: bool) -> RiskAssessment:
    module, text = _module_args(w[1:])
    short = module.rsplit(".", 1)[-1]
    if module in RUNS_COMMAND or short in ("shell", "command", "raw"):
        if not text:
            return assess(w, Y, f"runs the `{module}` module with no command (not inspected)")
        return via(nested.run_shell(text), f"`ansible -m {short}`")
    if short in READ_MODULES:
        return assess(w, G, f"runs the read-only `{short}` module")
    holds_data = short in ("file", "user", "group", "lvol", "filesystem", "mount") or re.search(
        r"_(?:db|database|user|volume|bucket|instance|cluster|topic|queue|keyspace|snapshot)$", short)
    if holds_data and re.search(r"\bstate=absent\b", text):
        return assess(w, R, f"removes what the `{short}` module manages (`state=absent`)")
    if short in ("reboot",):
        return assess(w, R, "reboots the hosts (wide blast radius)")
    return assess(w, Y, f"changes the hosts with the `{short}` module (reversible state change)")


def _playbook(w: list[str], piped: bool) -> RiskAssessment:
    """Checks and listings read; a playbook named for tearing down (decommission.yml) is red; others change."""
    if matches(w[1:], PLAYBOOK_READS):
        return assess(w, G, "only checks or lists what the playbook would do (read-only)")
    books = [a for a in positionals(w[1:], ANSIBLE_VALUE_FLAGS) if a.endswith((".yml", ".yaml"))]
    if any(re.search(r"decommission|destroy|tear-?down|wipe|purge|delete|drop|remove|uninstall", b) for b in books):
        return assess(w, R, "runs a playbook named for tearing something down")
    return assess(w, Y, "runs a playbook (changes the hosts it names)")


def _inventory(w: list[str], piped: bool) -> RiskAssessment:
    return assess(w, G, "shows the inventory (read-only)")


def _java(w: list[str], piped: bool) -> RiskAssessment:
    """`java -jar jenkins-cli.jar -s URL -auth X SUBCOMMAND`: the subcommand decides; other programs are unknown."""
    args = w[1:]
    jar = next(iter(flag_values(args, ("-jar",))), "")
    if not re.search(r"jenkins-cli[\w.-]*\.jar$", jar):
        return assess(w, Y, "runs a Java program (not inspected)")
    rest = args[args.index("-jar") + 2:]
    words = positionals(rest, flags("-s -auth -i -http -webSocket -user -logger"))
    rule = JENKINS.get(words[0] if words else "", (Y, "runs a Jenkins CLI command not known to be read-only"))
    return assess(w, *rule)


FAN_OUT_FLAGS = {  # flags taking a value, for tools that run one command on many hosts
    "pdsh": flags("-w -x -g -X -l -R -f -t -u -N"), "pssh": flags("-h -H -l -p -t -o -e -x -X -O -P"),
    "parallel-ssh": flags("-h -H -l -p -t -o -e -x -X -O"), "clush": flags("-w -x -g -X -l -f -t -u -o -R"),
    "parallel": flags("-j --jobs -S --sshlogin --joblog -a --arg-file --delay --timeout --results -N -n"),
}
SALT_READS = re.compile(r"(test\.\w+|grains\.\w+|pillar\.(?:keys|ls)|pkg\.(?:list_pkgs|version|list_upgrades)"
                        r"|service\.(?:status|available|get_all|enabled)|disk\.usage|status\.\w+|network\.\w+|sys\.doc"
                        r"|cmd\.which|file\.(?:file_exists|stats|find)|saltutil\.running|jobs\.\w+|state\.show_\w+)$")


def _fan_out(w: list[str], piped: bool) -> RiskAssessment:
    """pdsh / pssh / clush / GNU parallel run one shell command on many hosts: classify that command."""
    words = positionals(w[1:], FAN_OUT_FLAGS[w[0]])
    words = words[:words.index(":::")] if ":::" in words else words[:words.index("::::")] if "::::" in words else words
    if not words:
        return assess(w, Y, "opens an interactive session on many hosts (not inspected)")
    return _on_many(nested.run_shell(" ".join(words)), f"`{w[0]}` on many hosts")


def _on_many(inner: RiskAssessment, how: str) -> RiskAssessment:
    """What one command does, on many hosts at once: stopping a service everywhere is an outage."""
    if inner.risk == Y and "stops a service" in inner.reason:
        return RiskAssessment(risk=R, reason=f"{inner.reason}, on every host at once (via {how})")
    return via(inner, how)


def _salt(w: list[str], piped: bool) -> RiskAssessment:
    """salt TARGET FUNCTION [ARGS]: cmd.run is classified by the command it runs; read-only functions are green."""
    words = positionals(w[1:], flags("-L -G -E -C -N -I -t --timeout --out -b --batch-size --return"))
    targeted = matches(w[1:], ("-L", "-G", "-E", "-C", "-N", "-I"))  # the target is that flag's value
    words = ["(targeted)", *words] if targeted else words
    func, args = (words[1], words[2:]) if len(words) > 1 else ("", [])
    if func in ("cmd.run", "cmd.run_all", "cmd.shell", "cmd.run_stdout") and args:
        inner = nested.run_shell(" ".join(args))
        many = targeted or "*" in words[0]
        return _on_many(inner, f"`salt {func}`") if many else via(inner, f"`salt {func}`")
    if SALT_READS.match(func) or func.startswith("state.") and "test=True" in args:
        return assess(w, G, f"runs the read-only `{func}`")
    if re.search(r"\.(?:remove|purge|delete|absent|destroy)\b", func):
        return assess(w, R, f"removes what `{func}` manages")
    return assess(w, Y, f"changes the minions with `{func or '(nothing)'}` (reversible state change)")


HANDLERS: dict[str, Handler] = {"ansible": _ansible, "ansible-playbook": _playbook, "ansible-inventory": _inventory,
                                "java": _java, "salt": _salt, **{name: _fan_out for name in FAN_OUT_FLAGS}}
