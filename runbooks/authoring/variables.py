"""Placeholders as prose runbooks write them, turned into our safe `{{ labels.x }}` templates.

Imported commands mark the values a person fills in from the alert in many ways: `$NAMESPACE`,
`${POD}`, `<pod-name>`, `<NAMESPACE>`, `{NAMESPACE}`. Each becomes `{{ labels.<name> }}`, with the name
normalised (`<pod-name>` -> `pod`, `$NAMESPACE_NAME` -> `namespace`) so it meets the label an alert
really carries; templating then binds it ignoring case. What is shell and not a hole stays shell:
`$(...)`, `$1`, `$?`, `$HOME`, and any variable the command assigns itself (`POD=$(...)` ... `$POD`).

Template syntax that is not ours (`{{range .items}}` for `oc -o go-template`) is escaped as
`{{ '{{' }}`, a constant the templating module reads as literal text, so it runs verbatim.

Nothing here decides whether a converted command is safe to fill: templating does that, and a
command it refuses becomes a manual step (see prose.py).
"""

from __future__ import annotations

import re

# Labels that Prometheus, kube-state-metrics, node-exporter and Alertmanager put on alerts. A name
# outside this list is still a placeholder, but nobody knows which alert label fills it: "unresolved".
WELL_KNOWN_LABELS: frozenset[str] = frozenset({
    "alertname", "severity", "namespace", "pod", "container", "node", "instance", "job", "service", "endpoint",
    "deployment", "statefulset", "daemonset", "replicaset", "cronjob", "job_name", "horizontalpodautoscaler",
    "persistentvolumeclaim", "persistentvolume", "poddisruptionbudget", "storageclass", "cluster", "device",
    "mountpoint", "fstype", "interface", "host", "hostname", "prometheus", "alertmanager", "integration",
    "controller", "name", "uid", "phase", "reason", "condition", "status", "resource", "verb", "code",
    "exported_namespace", "exported_pod", "exported_job", "exported_instance", "region", "zone", "env",
    "environment", "team", "owner", "app", "component", "version", "route", "ingress", "configmap", "secret",
})
# Short spellings runbook authors use for the same labels.
_ALIASES = {
    "ns": "namespace", "pvc": "persistentvolumeclaim", "pv": "persistentvolume", "svc": "service",
    "deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "rs": "replicaset", "hpa":
    "horizontalpodautoscaler", "pdb": "poddisruptionbudget", "cj": "cronjob", "node_ip": "instance",
}
# Variables the environment provides: a command that reads them means the shell's value.
_ENVIRONMENT = frozenset({
    "HOME", "PATH", "USER", "LOGNAME", "KUBECONFIG", "PWD", "OLDPWD", "SHELL", "HOSTNAME", "TMPDIR", "IFS",
    "RANDOM", "UID", "EUID", "PPID", "LANG", "LC_ALL", "TERM", "EDITOR", "SECONDS", "LINENO", "BASHPID",
    "BASH_SOURCE", "FUNCNAME", "PIPESTATUS", "REPLY", "OPTARG", "OPTIND", "XDG_RUNTIME_DIR", "SSH_AUTH_SOCK",
})
# Inside single quotes `$NF` is awk's, not ours: awk's own variables are never placeholders.
_AWK_VARIABLES = frozenset({"NF", "NR", "FNR", "FS", "OFS", "RS", "ORS", "FILENAME", "ENVIRON", "SUBSEP"})
# `<name>` that is markup or a value the text shows, not a hole to fill.
_NOT_ANGLE_PLACEHOLDERS = frozenset({
    "none", "nil", "null", "unknown", "invalid", "eof", "br", "p", "b", "i", "a", "em", "strong", "code", "pre",
    "div", "span", "details", "summary", "hr", "tr", "td", "th", "table", "ul", "ol", "li", "kbd", "sup", "sub",
    "img", "tt", "html", "head", "body", "script", "style",
})

_OURS = re.compile(r"\{\{\s*(?:labels|annotations|params)\s*[.\[][^{}]*?\}\}")
_OUR_NAMES = re.compile(r"(labels|annotations|params)(?:\.([A-Za-z_][\w-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_FOREIGN_OPENERS = ("{{", "{%", "{#")  # what Jinja would read as its own syntax
_ESCAPED = re.compile(r"\{\{ '(\{[{%#])' \}\}")
# `$OVNKUBE-MASTER-POD-NAME`: upper-case words joined by '-' are one name, never `$OVNKUBE` then text.
_DOLLAR_NAME = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Z][A-Z0-9_]*(?:-[A-Z][A-Z0-9_]*)+(?![\w-])|[A-Za-z_]\w*))")
# `NAMESPACE='<value of namespace label from alert>'`: the author names the hole and says what fills it.
_HOLE_ASSIGNMENT = re.compile(r"""^[ \t]*(?:export[ \t]+)?([A-Za-z_]\w*)=(['"]?)<([^<>\n]+)>\2[ \t]*(?:\n|$)""",
                              re.MULTILINE)
_ANGLE = re.compile(r"<(?:value of (?:the )?([A-Za-z_][\w-]*) label[^<>]{0,40}|([A-Za-z][A-Za-z0-9_.-]{0,62}))>")
_BRACED = re.compile(r"\{([A-Z][A-Z0-9_]{1,62})\}(?!\})")
_ASSIGNED = (
    re.compile(r"(?:^|[\s;&|(`])([A-Za-z_]\w*)\+?="),  # NAME=value, export NAME=..., local NAME=...
    re.compile(r"\b(?:for|select)\s+([A-Za-z_]\w*)\s+in\b"),
    re.compile(r"\bexport\s+([A-Za-z_]\w*)\s*(?:$|[;&|\n])", re.MULTILINE),
)
_READ = re.compile(r"\bread\s+((?:-[A-Za-z]+\s+(?:[^\s-]\S*\s+)?)*)([A-Za-z_][\w \t]*)")


def normalize_label(name: str) -> str:
    """`POD_NAME`, `pod-name`, `podname`, `Pod` -> `pod`: lower case, `-` as `_`, a `_name` suffix dropped
    when the rest is a well-known label, and short spellings (`ns`, `pvc`) mapped to the label they mean."""
    key = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", name.strip().lower())).strip("_") or "value"
    if key in WELL_KNOWN_LABELS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    for suffix in ("_name", "name"):  # POD_NAME, podname
        base = key[: -len(suffix)] if key.endswith(suffix) else ""
        if base in WELL_KNOWN_LABELS:
            return base
        if base in _ALIASES:
            return _ALIASES[base]
    return key


def unresolved(names: list[str]) -> list[str]:
    """The `labels.x` names no alert is known to carry: someone will have to supply them."""
    return [n for n in names if n.startswith("labels.") and n.split(".", 1)[1] not in WELL_KNOWN_LABELS]


def assigned_names(command: str) -> frozenset[str]:
    """Variables the command sets itself (`X=...`, `for x in`, `read x`): its own, never placeholders."""
    names = {m.group(1) for pattern in _ASSIGNED for m in pattern.finditer(command)}
    for m in _READ.finditer(command):
        names.update(m.group(2).split())
    return frozenset(names)


def _is_hole(name: str, assigned: frozenset[str], single_quoted: bool) -> bool:
    """Is `$name` a value to fill from the alert, or the shell's (or awk's) own variable?"""
    if name in assigned or name in _ENVIRONMENT:
        return False
    if single_quoted:  # the shell never expands it there: only an obvious hole counts (`$NAMESPACE`, `$NS`)
        return name.isupper() and name not in _AWK_VARIABLES \
            and (len(name) >= 3 or normalize_label(name) in WELL_KNOWN_LABELS)
    return len(name) > 1 or name.isupper()  # a lone `$i` is a loop variable from an earlier line


class _Converter:
    """One left-to-right pass that knows whether it stands in single quotes, double quotes or a comment."""

    def __init__(self, command: str) -> None:
        self.bound: dict[str, str] = {}  # variables the command sets to a hole: NAMESPACE -> namespace
        for m in _HOLE_ASSIGNMENT.finditer(command):
            said = _ANGLE.fullmatch(f"<{m.group(3)}>")
            self.bound[m.group(1)] = normalize_label(said.group(1) or said.group(2) if said else m.group(1))
        self.src = _HOLE_ASSIGNMENT.sub("", command) if self.bound else command
        self.assigned = assigned_names(self.src)
        self.out: list[str] = []
        self.names: list[str] = []

    def hole(self, raw_name: str) -> None:
        name = f"labels.{self.bound.get(raw_name) or normalize_label(raw_name)}"
        self.names.append(name)
        self.out.append("{{ " + name + " }}")

    def run(self) -> str:
        s, i, quote = self.src, 0, ""
        while i < len(s):
            c = s[i]
            if s.startswith(_FOREIGN_OPENERS, i):
                i = self.braces(i)
            elif quote == "'":
                quote = "" if c == "'" else quote
                i = self.token(i, single_quoted=True) if c != "'" else self.copy(i, 1)
            elif c == "\\":
                i = self.copy(i, 2)
            elif c == "'" and not quote:
                quote = "'"
                i = self.copy(i, 1)
            elif c == '"':
                quote = "" if quote == '"' else '"'
                i = self.copy(i, 1)
            elif c == "#" and not quote and (i == 0 or s[i - 1] in " \t\n;&|("):
                end = s.find("\n", i)
                i = self.comment(i, len(s) if end == -1 else end)
            else:
                i = self.token(i, single_quoted=False)
        return "".join(self.out)

    def copy(self, i: int, n: int) -> int:
        self.out.append(self.src[i : i + n])
        return i + n

    def braces(self, i: int) -> int:
        """Our own placeholder stays; any other `{{`, `{%` or `{#` becomes literal text."""
        m = _OURS.match(self.src, i)
        if m and self.src[i : i + 2] == "{{":
            self.names += [f"{g[0]}.{g[1] or g[2]}" for g in _OUR_NAMES.findall(m.group(0))[:1]]
            self.out.append(m.group(0))
            return m.end()
        self.out.append("{{ '" + self.src[i : i + 2] + "' }}")
        return i + 2

    def comment(self, i: int, end: int) -> int:
        """A shell comment is copied as it is (only foreign braces escaped): nothing in it runs."""
        while i < end:
            i = self.braces(i) if self.src.startswith(_FOREIGN_OPENERS, i) else self.copy(i, 1)
        return i

    def token(self, i: int, single_quoted: bool) -> int:
        """A `$NAME`, `${NAME}`, `<name>` or `{NAME}` hole at `i`, or one plain character."""
        s = self.src
        if s[i] == "$":
            m = _DOLLAR_NAME.match(s, i)
            if m and ((m.group(1) or m.group(2)) in self.bound
                      or _is_hole(m.group(1) or m.group(2), self.assigned, single_quoted)):
                self.hole(m.group(1) or m.group(2))
                return m.end()
            return self.copy(i, m.end() - i if m else 1)
        if s[i] == "<" and s[i - 1 : i] not in ("<", ">") and s[i + 1 : i + 2] != "<":
            m = _ANGLE.match(s, i)
            if m and (m.group(1) or m.group(2).lower() not in _NOT_ANGLE_PLACEHOLDERS):
                self.hole(m.group(1) or m.group(2))
                return m.end()
        if s[i] == "{" and s[i - 1 : i] not in ("$", "{"):
            m = _BRACED.match(s, i)
            if m and m.group(1) not in self.assigned:
                self.hole(m.group(1))
                return m.end()
        return self.copy(i, 1)


def convert_placeholders(command: str) -> tuple[str, list[str]]:
    """A prose command as our template, and the dotted names it uses (`labels.namespace`), in order.

    `kubectl -n $NAMESPACE get pod $POD` -> `kubectl -n {{ labels.namespace }} get pod {{ labels.pod }}`.
    The result is not yet known to be safe to fill: validate it with `referenced_variables`.
    """
    converter = _Converter(command)
    template = converter.run()
    return template, list(dict.fromkeys(converter.names))


def readable(template: str) -> str:
    """A converted command as a person reads it: escaped Go templates shown as they will run."""
    return _ESCAPED.sub(lambda m: m.group(1), template)
