"""Configuration management and CI runners that carry a command inside: `ansible -m MODULE -a ARGS`,
`ansible-playbook`, and the Jenkins CLI (`java -jar jenkins-cli.jar ... SUBCOMMAND`).

An ad-hoc ansible command is judged by its module: facts and pings read; `shell`, `command` and `raw`
are classified by the command they run (on every host the pattern names); other modules change state,
and `state=absent` removes what they manage."""

from __future__ import annotations

import re

from runbooks.risk import nested
from runbooks.risk.base import G, Handler, R, RiskAssessment, Rule, Y, assess, flags, group, matches, positionals, via

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
    module = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-m", "--module-name")), "command")
    module = next((a.split("=", 1)[1] for a in args if a.startswith("--module-name=")), module)
    text = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-a", "--args")), "")
    return module, text


def _ansible(w: list[str], piped: bool) -> RiskAssessment:
    module, text = _module_args(w[1:])
    short = module.rsplit(".", 1)[-1]
    if module in RUNS_COMMAND or short in ("shell", "command", "raw"):
        if not text:
            return assess(w, Y, f"runs the `{module}` module with no command (not inspected)")
        return via(nested.run_shell(text), f"`ansible -m {short}`")
    if short in READ_MODULES:
        return assess(w, G, f"runs the read-only `{short}` module")
    if re.search(r"\bstate=absent\b", text) and short in ("file", "user", "group", "lvol", "filesystem", "mount"):
        return assess(w, R, f"removes what the `{short}` module manages (`state=absent`)")
    if short in ("reboot",):
        return assess(w, R, "reboots the hosts (wide blast radius)")
    return assess(w, Y, f"changes the hosts with the `{short}` module (reversible state change)")


def _playbook(w: list[str], piped: bool) -> RiskAssessment:
    return assess(w, *((G, "only checks or lists what the playbook would do (read-only)") if matches(w[1:], PLAYBOOK_READS)
                       else (Y, "runs a playbook (changes the hosts it names)")))


def _inventory(w: list[str], piped: bool) -> RiskAssessment:
    return assess(w, G, "shows the inventory (read-only)")


def _java(w: list[str], piped: bool) -> RiskAssessment:
    """`java -jar jenkins-cli.jar -s URL -auth X SUBCOMMAND`: the subcommand decides; other programs are unknown."""
    args = w[1:]
    jar = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-jar"), "")
    if not re.search(r"jenkins-cli[\w.-]*\.jar$", jar):
        return assess(w, Y, "runs a Java program (not inspected)")
    rest = args[args.index("-jar") + 2:]
    words = positionals(rest, flags("-s -auth -i -http -webSocket -user -logger"))
    rule = JENKINS.get(words[0] if words else "", (Y, "runs a Jenkins CLI command not known to be read-only"))
    return assess(w, *rule)


HANDLERS: dict[str, Handler] = {"ansible": _ansible, "ansible-playbook": _playbook, "ansible-inventory": _inventory,
                                "java": _java}
