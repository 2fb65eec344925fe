"""A draft runbook: the steps people actually took during an incident, each citing where it came from.

A draft is written from evidence (a shell session, a Slack thread, a postmortem), never invented:
every step keeps its `source` so the reviewer can check it against what happened, and what was left
out is listed with the reason. `to_markdown` writes it in the structured format the reader parses,
so a reviewed draft goes through the same door as any other runbook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import yaml

from runbooks.authoring.prose_commands import read_block
from runbooks.errors import TemplateError
from runbooks.rendering.templating import referenced_variables
from runbooks.risk import classify

Section = Literal["diagnosis", "fix", "follow-up"]
SECTIONS: tuple[Section, ...] = ("diagnosis", "fix", "follow-up")


@dataclass(frozen=True)
class DraftStep:
    """One step as it was taken; `command` None is a manual step (a person does it and confirms)."""

    title: str
    command: str | None
    source: str  # where it came from: `shell line 12: ...`, `message 1712345678.000200 by U123`, `line 40`
    section: Section
    note: str = ""
    language: str = "shell"  # the fence it is written in: shell, sql, promql...


@dataclass
class Draft:
    """The steps in the order they were taken, what was left out (and why), and the values generalised."""

    title: str
    steps: list[DraftStep]
    dropped: list[str] = field(default_factory=list)  # "line 14 `kubectl get pod web-1` failed and was retried ..."
    placeholders: dict[str, str] = field(default_factory=dict)  # value -> "{{ labels.x }}"
    origin: str = ""  # "a shell session", "a Slack thread in #inc-db": said in the draft's description


# --- titles and sections -------------------------------------------------------------------------------------

_WRAPPERS = frozenset("sudo time nohup env command exec doas".split())
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_VERB = re.compile(r"^[a-z][a-z0-9-]*$")
_FLAG = re.compile(r"^--?[A-Za-z0-9][A-Za-z0-9-]*(?:=[A-Za-z0-9.:/%-]+)?$")
# Options of cluster tools whose value is the next word: not part of a title (`kubectl -n prod get pods`).
_VALUE_FLAGS = frozenset("-n --namespace --context -c --container -l --selector --kubeconfig --cluster --region "
                         "--project --zone --profile".split())
SUBCOMMAND_TOOLS = frozenset("kubectl oc docker podman crictl helm aws gcloud az systemctl git apt apt-get dnf yum "
                             "snap virsh velero argocd istioctl terraform ceph rados etcdctl vault consul nomad "
                             "gsutil openssl ip".split())


_QUERY_CLIENTS = frozenset("psql mysql mariadb clickhouse-client cqlsh redis-cli mongosh".split())
_QUERY_FLAG = re.compile(r"""(?:^|\s)(?:-c|--command|-e|--execute|--eval|--query|-q)(?:\s+|=)"""
                         r"""(?:"([^"]+)"|'([^']+)'|(\S+))""")


def _query_of(command: str) -> str:
    """The first words of the query a database client was given (`psql -c "SELECT ..."`), for a title."""
    m = _QUERY_FLAG.search(command)
    if not m:
        return ""
    words = re.sub(r"[`*{}]", "", next(g for g in m.groups() if g)).rstrip(";").split()
    shown: list[str] = []
    for word in words[:4]:
        if shown and word.upper() in ("FROM", "WHERE", "SET", "VALUES", "INTO", "AS"):
            break
        shown.append(word)
    return " ".join(shown)


_FEEDERS = frozenset("echo printf yes true cat".split())  # `echo | openssl s_client ...`: the next one acts


def words_of(command: str) -> list[str]:
    """The first simple command's words, past wrappers (`sudo`), `X=1` prefixes and `echo |` feeders."""
    parts = [p for p in re.split(r"\|\|?|&&|;|\n", command) if p.strip()] or [""]
    for n, part in enumerate(parts):
        words = part.split()
        while words and (words[0] in _WRAPPERS or _ASSIGNMENT.match(words[0])):
            words = words[1:]
        if not (words and words[0] in _FEEDERS and n + 1 < len(parts) and len(words) <= 2):
            return words
    return []


_PROMPTED = re.compile(r"^\s*(?:\$\s|[\w.-]+@[\w.-]+(?::[^\s$#]*)?[#$]\s|\[[^\]\n]{1,80}\][#$]\s)", re.M)
_COMMAND_LINE = re.compile(r"^(?:sudo\s+)?[a-z][\w.-]*(?:\s|$)")
_KEY_LINE = re.compile(r"^[\w.-]+:(?:\s|$)")


def block_commands(info: str, content: str, all_lines: bool = False) -> tuple[list[str], str]:
    """The commands of a code block someone posted, and its language.

    The prose reader's rules first (prompts stripped, output dropped, multi-line commands kept whole);
    then, in a block that says it is shell (```sh) or that is all commands (`all_lines`, a chat message)
    and has no prompts, every line that starts like a command (`cmctl renew ...`) is one too, even for a
    program the reader does not know. Output (`NAME READY`, `Error: ...`, `  lag`) never starts that way.
    """
    block = read_block(info, content)
    if block is not None and block.language != "shell":
        return [block.script], block.language
    found = list(block.commands) if block is not None else []
    if (all_lines or info.strip().lower() in ("sh", "bash", "shell", "zsh")) and not _PROMPTED.search(content):
        lines = content.split("\n")
        positions = {}
        for command in found:
            head = command.split("\n")[0].split(" \\")[0].strip()
            positions[command] = next((i for i, line in enumerate(lines) if head and head in line), 0)
        covered = {i for c in found for i, line in enumerate(lines) if line.strip() and line.strip() in c}
        for i, line in enumerate(lines):
            text = line.strip()
            if i in covered or not text or not _COMMAND_LINE.match(line) or _KEY_LINE.match(text):
                continue
            if text.endswith("\\"):
                continue  # a continued command the reader did not know: too unsure to stitch
            found.append(text)
            positions[text] = i
        found.sort(key=lambda c: positions.get(c, 0))
    return found, "shell"


def title_for(command: str) -> str:
    """`Run `kubectl rollout restart``: the program and its subcommands, or its first option; never values,
    so the title says what kind of action it is and stays the same when the values are generalised."""
    words = words_of(command)
    if not words:
        return "Run the command"
    program = words[0].rsplit("/", 1)[-1] if words[0].startswith(("/", "./")) else words[0]
    if program in _QUERY_CLIENTS and (query := _query_of(command)):
        return f"Run `{query}` in {program}"
    shown = [program]
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
            continue
        if word in _VALUE_FLAGS and program in SUBCOMMAND_TOOLS | _KUBE_TOOLS:
            skip = True
            continue
        if _VERB.match(word) and len(shown) < 3:
            shown.append(word)
        elif len(shown) == 1 and _FLAG.match(word) and "{" not in word:
            shown.append(word)
            break
        else:
            break
    text = " ".join(shown)
    if not re.fullmatch(r"[A-Za-z0-9 ._:/=%+-]+", text):
        text = re.sub(r"[^A-Za-z0-9 ._:/=%+-]", "", text) or "the command"
    return f"Run `{text}`"


def masked_note(command: str | None) -> str:
    """A step whose command lost a secret to masking cannot run as written: say so where the reviewer reads."""
    if command and "[masked]" in command:
        return "a secret was masked here: take it from your secret store, never write it in the runbook"
    return ""


def section_for(command: str, language: str = "shell") -> Section:
    """Reading is diagnosis (green), changing is the fix (yellow or red): the classifier's verdict."""
    return "diagnosis" if classify(command, language).risk.value == "green" else "fix"


def escape_template(command: str) -> str:
    """A command's own `{{`, `{%` and `{#` (Go templates, `${#x}`) written as constants, so the reader does not
    take them for placeholders."""
    return re.sub(r"\{([{%#])", lambda m: "{{ '{" + m.group(1) + "' }}", command)


def template_ok(command: str) -> bool:
    """Would the reader accept this command template (placeholders only where a value can stand)?"""
    try:
        referenced_variables(command)
    except TemplateError:
        return False
    except Exception:  # noqa: BLE001 - any other refusal means the same: do not write it this way
        return False
    return True


# --- placeholders ------------------------------------------------------------------------------------------

_KUBE_TOOLS = frozenset("kubectl oc helm istioctl linkerd velero argocd stern kubectx kubens k9s".split())
_HOST_H_TOOLS = frozenset("psql pg_isready pg_dump pg_dumpall pg_basebackup pg_restore vacuumdb reindexdb createdb "
                          "dropdb redis-cli mysql mysqladmin mysqldump clickhouse-client".split())
_NAMESPACE = re.compile(r"(?:^|\s)(?:-n|--namespace)(?:\s+|=)([a-z0-9][a-z0-9-]{0,62})(?=\s|$|;|\|)")
_POD = re.compile(r"(?<![\w.-])([a-z][a-z0-9-]*-[a-z0-9]{8,10}-[a-z0-9]{5})(?![\w.-])")
_IP_PORT = re.compile(r"(?<![\w.-])((?:\d{1,3}\.){3}\d{1,3}:\d{2,5})(?![\w.-])")
_HOST_FLAG = re.compile(r"(?:^|\s)(--host|-h)(?:\s+|=)([A-Za-z0-9][A-Za-z0-9.:-]*)(?=\s|$|;|\|)")
_SKIPPED_LABELS = frozenset({"alertname", "severity"})


def _token(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.-])" + re.escape(value) + r"(?![\w-]|\.\w)")


def _guess(commands: list[str]) -> dict[str, str]:
    """Without the alert's labels: the most used namespace, pod and instance of the session, by shape."""
    counts: dict[str, dict[str, int]] = {"namespace": {}, "pod": {}, "instance": {}}
    for command in commands:
        for part in re.split(r"\|\|?|&&|;|\n", command):
            words = words_of(part)
            program = words[0] if words else ""
            if program in _KUBE_TOOLS:
                for m in _NAMESPACE.finditer(part):
                    counts["namespace"][m.group(1)] = counts["namespace"].get(m.group(1), 0) + 1
            for m in _HOST_FLAG.finditer(part):
                if m.group(1) == "--host" or program in _HOST_H_TOOLS:
                    counts["instance"][m.group(2)] = counts["instance"].get(m.group(2), 0) + 1
        for m in _POD.finditer(command):
            counts["pod"][m.group(1)] = counts["pod"].get(m.group(1), 0) + 1
        for m in _IP_PORT.finditer(command):
            counts["instance"][m.group(1)] = counts["instance"].get(m.group(1), 0) + 1
    chosen: dict[str, str] = {}
    for name, seen in counts.items():
        if seen:
            value = max(seen, key=lambda v: (seen[v], -list(seen).index(v)))  # most used, then first seen
            chosen.setdefault(value, name)
    return chosen


def generalise(commands: list[str | None], labels: dict[str, str] | None = None
               ) -> tuple[list[str | None], dict[str, str]]:
    """Each command with the alert's values as `{{ labels.x }}`, and the replacements made.

    With `labels`, every whole-token occurrence of a label's value; without, the shapes a session's
    values have (`-n prod`, a pod name, `ip:port`, `--host db-1`). A replacement the reader would refuse
    where it stands (inside single quotes, `$(...)`) is not made: that command keeps its value.
    """
    present = [c for c in commands if c]
    if labels:
        wanted = {v: k for k, v in labels.items() if k not in _SKIPPED_LABELS and v and len(v) >= 3
                  and re.fullmatch(r"[\w.:/@-]+", v)}
    else:
        wanted = {v: k for v, k in _guess(present).items()}
    order = sorted(wanted, key=len, reverse=True)  # `10.0.0.1:9100` before `10.0.0.1`
    used: dict[str, str] = {}
    out: list[str | None] = []
    for command in commands:
        if not command:
            out.append(command)
            continue
        for value in order:
            pattern = _token(value)
            if not pattern.search(command):
                continue
            placeholder = "{{ labels.%s }}" % wanted[value]
            candidate = pattern.sub(lambda _m, p=placeholder: p, command)
            if template_ok(candidate):
                command = candidate
                used[value] = placeholder
        out.append(command)
    return out, used


# --- Markdown ----------------------------------------------------------------------------------------------

def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fence(command: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", command)), default=0)
    return "`" * max(3, longest + 1)


def _safe_line(text: str) -> str:
    """Text that stays a line of the step: never a directive, a heading, a list item or a code fence."""
    return _one_line(text).replace("`" * 3, "'''")


def to_markdown(draft: Draft, runbook_id: str) -> str:
    """The draft as a structured runbook (front matter, `## Steps`, one numbered item per step).

    The reader takes one ordered list of steps, so the section of each step is written on its own line
    (`Section: fix`) rather than as headings that would split the list; `Source:` says where it came from.
    """
    front = yaml.safe_dump({"id": runbook_id, "title": draft.title, "mode": "copilot"}, sort_keys=False,
                           allow_unicode=True).strip()
    origin = f" from {draft.origin}" if draft.origin else ""
    lines = ["---", front, "---", f"# {draft.title}", "",
             f"Drafted{origin}: every step is what someone did, with where it came from. It is a draft: "
             "a person reviews it before it can run.", "", "## Steps", ""]
    for n, step in enumerate(draft.steps, start=1):
        lead = f"{n}. "
        pad = " " * len(lead)
        title = _safe_line(step.title).replace("**", "")
        lines.append(f"{lead}**{title}**")
        lines.append(f"{pad}Section: {step.section}")
        lines.append(f"{pad}Source: {_safe_line(step.source, )}")
        if step.note:
            lines.append(f"{pad}Note: {_safe_line(step.note)}")
        if step.command:
            fence = _fence(step.command)
            info = "sh" if step.language == "shell" else step.language
            lines.append(f"{pad}{fence}{info}")
            lines += [f"{pad}{line}" if line else "" for line in step.command.splitlines()]
            lines.append(f"{pad}{fence}")
    if not draft.steps:
        lines.append("No step could be drafted: see what was left out below.")
    if draft.dropped:
        lines += ["", "## Left out of this draft", ""]
        lines += [f"- {_one_line(reason, 300)}" for reason in draft.dropped]
    if draft.placeholders:
        lines += ["", "## Values generalised", ""]
        lines += [f"- `{value}` became `{placeholder}`" for value, placeholder in draft.placeholders.items()]
    return "\n".join(lines) + "\n"
