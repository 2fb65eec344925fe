"""Finding the commands in prose runbooks: inline code that is a command, and code blocks.

Prose runbooks mix commands with everything else a code span can hold (`NotReady`, metric names,
file paths, YAML keys) and show commands the way a terminal does (`$ ` prompts, output lines,
`\\` continuations). This module decides what is a command and extracts it as a person would type
it; prose.py decides which step it becomes.

A whole code block is one step: commands of one block share variables (`POD=$(...)` then `$POD`),
so splitting them would break them, and the block is how the author grouped them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# Programs whose name starting a code span or line makes it a command. Case matters: `For` in a
# comment is English, `for` is a loop.
CLI_WORDS: frozenset[str] = frozenset("""
kubectl oc etcdctl curl wget systemctl journalctl docker podman crictl crio runc ctr helm aws gcloud az psql mysql
redis-cli mongo mongosh promtool amtool ss df du free top ps grep egrep cat ls dig ping openssl virtctl velero ceph
rados rbd radosgw-admin chronyc timedatectl ntpq mdadm ip ethtool netstat lsof dmesg mount umount lsblk blkid
findmnt find tail head less more iostat vmstat mpstat sar uptime ssh scp rsync kill pkill pgrep jq yq sysctl
chroot awk sed sort uniq wc cut tr xargs tee base64 date hostname uname nproc getent iptables nft nc telnet curl
tcpdump conntrack traceroute tracepath nslookup host mtr ovs-vsctl ovs-appctl ovs-ofctl ovn-nbctl ovn-sbctl
ovn-appctl nmcli virsh rpm-ostree rpm dnf yum apt apt-get systemd-analyze loginctl hostnamectl stat file touch
mkdir rm mv cp chmod chown ln tar gzip gunzip zcat unzip diff watch timeout sleep strace perf htop vi vim nano
kubeadm kubelet minikube kind terraform ansible git make python python3 go java node npm nslookup cfssl
certutil keytool mc s3cmd gsutil rclone thanos prometheus alertmanager kube-burner etcd etcdutl fio
""".split())
# Shell words that start a statement in a script.
SHELL_WORDS: frozenset[str] = frozenset(
    "for while until if case select export source . cd echo printf set unset read local declare readonly "
    "function test [ [[ eval exec exit return trap wait true false sudo time env nohup".split())
# Tools every host has: listing them as prerequisites would be noise.
_COMMON = frozenset(
    "ss df du free top ps grep egrep cat ls tail head less more awk sed sort uniq wc cut tr xargs tee base64 date "
    "hostname uname nproc getent find stat file touch mkdir rm mv cp chmod chown ln tar gzip gunzip zcat diff "
    "watch timeout sleep mount umount kill pkill pgrep uptime dmesg lsblk blkid findmnt vi vim nano less chroot".split())
# Tools whose second word is a verb that needs an object: `oc logs` alone names a command, it is not one.
_SUBCOMMAND_TOOLS = frozenset("kubectl oc docker podman crictl helm virtctl velero aws gcloud az".split())
_REDIS_VALUE_FLAGS = frozenset("-h -p -a -n -u -s --user --pass --cacert --cert --key -r -i".split())
_COMPLETE_ALONE = frozenset("version whoami status cluster-info api-resources api-versions ps images info".split())

_INFO_LANGUAGE = {
    "console": "shell", "shell-session": "shell", "sh": "shell", "bash": "shell", "shell": "shell", "zsh": "shell",
    "promql": "promql", "yaml": "yaml", "yml": "yaml", "json": "json", "sql": "sql", "psql": "sql",
    "postgresql": "sql", "mysql": "sql", "text": "text", "txt": "text", "log": "text", "output": "text",
    "plain": "text", "plaintext": "text", "none": "text",
}
_PROMPTS = (
    re.compile(r"^\s*\$(?:\s+(.*)|$)"),  # $ cmd
    re.compile(r"^\s*(?:sh|bash|zsh|ksh)-[\d.]+[#$]\s+(.*)"),  # sh-5.1# cmd
    re.compile(r"^\s*\[[^\]\n]{1,80}\][#$]\s+(.*)"),  # [root@host ~]# cmd
    re.compile(r"^\s*[\w.-]+@[\w.-]+(?::[^\s$#]*)?[#$]\s+(.*)"),  # user@host:~$ cmd
)
_ROOT_PROMPT = re.compile(r"^\s*#\s+(.*)")  # `# cmd`: a root prompt only when a command follows
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_FUNCTION = re.compile(r"^\s*(?:function\s+([A-Za-z_][\w-]*)|([A-Za-z_][\w-]*)\s*\(\))")
_ASSIGNED_VALUE = re.compile(r"""^[A-Za-z_]\w*=(?:'[^']*'|"(?:[^"\\]|\\.)*"|\$\((?:[^()]|\([^()]*\))*\)|[^\s;&|]*)""")
_VERB_LIST = re.compile(r"^[a-z-]+(?:/[a-z-]+)+$")  # `apply/create/delete`: a list of verbs, not a command
_SQL = re.compile(r"^\s*(?:SELECT|UPDATE|INSERT|DELETE|ALTER|CREATE|DROP|SHOW|EXPLAIN|VACUUM|WITH|TRUNCATE|GRANT"
                  r"|REVOKE|BEGIN|COMMIT)\b|^\s*select\b.*\bfrom\b", re.DOTALL)
_YAML_LINE = re.compile(r"^\s*(?:-\s+)?[\w.\-/\"']+:(?:\s|$)|^\s*-\s|^\s*#|^\s*$")
_PROMQL = re.compile(
    r"^\s*(?:\(|\d+(?:\.\d+)?\s*[-+*/]|(?:sum|avg|min|max|count|count_values|stddev|stdvar|topk|bottomk|quantile"
    r"|group)\b\s*(?:(?:by|without)\s*\([^)]*\)\s*)?\(|(?:rate|irate|increase|delta|idelta|deriv|predict_linear"
    r"|histogram_quantile|absent|label_replace|label_join|clamp_min|clamp_max|sort|sort_desc|vector|scalar"
    r"|\w+_over_time)\s*\(|[a-zA-Z_:][a-zA-Z0-9_:]*\s*(?:\{|\[|$|[<>=!]=?\s*\d|\s(?:and|or|unless|offset)\b))")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([\w.-]+)\1")
_WORD = re.compile(r"[^\s;&|()'\"\\]+")
_OPENS = frozenset({"if", "case", "for", "while", "until", "select", "{"})
_CLOSES = frozenset({"fi", "esac", "done", "}"})
_STATEMENT_AGAIN = frozenset({"then", "do", "else", "elif", "if", "while", "until", "{", "!", "time", "sudo"})


@dataclass
class CodeBlock:
    """What a code block holds: its language, the commands in it, and the comments that explain them."""

    language: str  # shell | sql | promql | yaml | json
    commands: list[str]
    comments: list[str] = field(default_factory=list)
    first_line: int = 0  # offset of the first command line within the block's content
    prompted: bool = False  # a terminal transcript: its `$ ` lines are commands whatever the text says

    @property
    def script(self) -> str:
        return "\n".join(self.commands)


def first_program(text: str) -> str:
    """The program a command line starts with, past `sudo`, `env` and `X=1` prefixes."""
    words = text.split()
    while len(words) > 1 and (words[0] in ("sudo", "time", "nohup", "env", "command", "exec")
                              or _ASSIGNMENT.match(words[0])):
        words = words[1:]
    return words[0] if words else ""


def is_commandish(line: str, functions: frozenset[str] = frozenset()) -> bool:
    """Does this line read as something to run (a known program, shell statement or assignment)?

    `X=1` and `X=$(...); cmd` are; `notAfter=Aug  6 13:11:20 2025 GMT` (output) is not: after an
    assignment comes nothing, an operator, or another command. `functions` are names the block defines.
    """
    words = line.split()
    if not words:
        return False
    if m := _ASSIGNED_VALUE.match(line.strip()):
        rest = line.strip()[m.end():].strip()
        return not rest or rest.startswith((";", "&&", "||", "|")) or is_commandish(rest, functions)
    program = first_program(line)
    if program in CLI_WORDS or program in SHELL_WORDS or program in functions:
        return True
    if re.match(r"^[A-Za-z_][\w-]*\(\)", words[0]):  # a function definition
        return True
    return bool(re.match(r"^(?:\./|~/|/)[\w.-][\w./-]*$", program)) and (len(words) > 1 or program.startswith("./"))


def inline_command(code: str) -> str | None:
    """The code span as a command if it is a complete one you could run, else None.

    `kubectl -n $NAMESPACE get pod $POD` is; `NotReady`, `etcdctl` (a name), `oc logs` (a verb without
    an object), `oc describe pod ...` (elided) and `kubectl apply/create/delete` (a list) are not.
    """
    text = re.sub(r"^[$#]\s+", "", code.strip())  # `$ oc get pods`, `# ceph status`: a prompt, not part of it
    words = text.split()
    if len(words) < 2 or "\n" in text or "..." in text or "…" in text:
        return None
    program = words[1] if words[0] == "sudo" else words[0]
    if program not in CLI_WORDS:
        return None
    rest = words[2:] if words[0] == "sudo" else words[1:]
    if not rest or program in _SUBCOMMAND_TOOLS and len(rest) < 2 and rest[0] not in _COMPLETE_ALONE:
        return None
    return None if _VERB_LIST.match(rest[0]) else text


def _incomplete(lines: list[str]) -> bool:
    """Would sh still be reading this command: an open quote, heredoc, compound statement or `\\`?"""
    quote, depth, parens, pending = "", 0, 0, []
    for line in lines:
        if pending and not quote:
            if line.strip() == pending[0]:
                pending.pop(0)
            continue
        i, start = 0, True
        while i < len(line):
            c = line[i]
            if quote:
                if c == "\\" and quote == '"':
                    i += 1
                elif c == quote:
                    quote = ""
                i += 1
            elif c == "\\":
                i += 2
            elif c in "'\"":
                quote, start, i = c, False, i + 1
            elif c == "#" and (i == 0 or line[i - 1] in " \t;&|("):
                break
            elif line.startswith("<<", i) and not line.startswith("<<<", i) and (m := _HEREDOC.match(line, i)):
                pending.append(m.group(2))
                i = m.end()
            elif c in ";&|()":
                parens += {"(": 1, ")": -1}.get(c, 0)
                start, i = True, i + 1
            elif c in " \t":
                i += 1
            else:
                word = _WORD.match(line, i).group(0)  # type: ignore[union-attr]
                if start:
                    depth = depth + 1 if word in _OPENS else max(0, depth - 1) if word in _CLOSES else depth
                    start = word in _STATEMENT_AGAIN
                i += len(word)
    tail = lines[-1].rstrip() if lines else ""
    return bool(quote or depth or pending or parens > 0) or tail.endswith(("\\", "|", "&&", "||"))


def _join(lines: list[str]) -> str:
    """One command from its lines: `\\` continuations become one line, other line breaks stay."""
    return re.sub(r"[ \t]*\\[ \t]*\n[ \t]*", " ", "\n".join(line.rstrip() for line in lines)).strip()


def _prompt_text(line: str, root_prompts: bool) -> str | None:
    """The command after a shell prompt on this line, or None if the line has no prompt."""
    for pattern in _PROMPTS:
        if m := pattern.match(line):
            return m.group(1) or ""
    m = _ROOT_PROMPT.match(line)  # `# chroot /host` is a command, `# NAMESPACE=<...>` and `# Check x` are notes
    if root_prompts and m and not _ASSIGNMENT.match(m.group(1)) and first_program(m.group(1)) in CLI_WORDS:
        return m.group(1)
    return None


def _prompted(lines: list[str], root_prompts: bool) -> CodeBlock:
    """Commands of a terminal transcript: prompted lines and their continuations; the rest is output."""
    block = CodeBlock("shell", [], prompted=True)
    current: list[str] | None = None
    for n, line in enumerate(lines):
        prompt = _prompt_text(line, root_prompts)
        if current is not None and not (prompt is not None and _PROMPTS[0].match(line)):
            current.append(line.removeprefix("> "))  # `> ` is the continuation prompt
            if not _incomplete(current):
                block.commands.append(_join(current))
                current = None
            continue
        if current is not None:  # a new `$ ` prompt ends a command an unbalanced quote kept open
            block.commands.append(_join(current))
            current = None
        if prompt is None:
            if line.strip().startswith("#"):
                block.comments.append(line.strip().lstrip("#").strip())
            continue
        if prompt.strip():
            block.first_line = block.first_line if block.commands else n
            current = [prompt]
            if not _incomplete(current):
                block.commands.append(_join(current))
                current = None
    if current:
        block.commands.append(_join(current))
    block.commands = [c for c in block.commands if c]
    return block


def _plain(lines: list[str]) -> CodeBlock | None:
    """Commands of a block without prompts; None if it does not start with a command (it is output)."""
    block = CodeBlock("shell", [])
    functions = frozenset(m.group(1) or m.group(2) for line in lines if (m := _FUNCTION.match(line)))
    current: list[str] | None = None
    for n, line in enumerate(lines):
        if current is not None:
            current.append(line)
            if not _incomplete(current):
                block.commands.append(_join(current))
                current = None
            continue
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            block.comments.append(text.lstrip("#").strip())
            continue
        if not is_commandish(text, functions):
            if not block.commands:
                return None
            continue  # output shown after a command
        if not block.commands:
            block.first_line = n
        current = [line]
        if not _incomplete(current):
            block.commands.append(_join(current))
            current = None
    if current:
        block.commands.append(_join(current))
    return block if block.commands else None


def _guess_language(content: str) -> str | None:
    """yaml, json, sql or promql for a block that holds no shell command; None for output text."""
    lines = [line for line in content.splitlines() if line.strip()]
    if not lines:
        return None
    head = next((line for line in lines if not line.lstrip().startswith(("#", "//"))), "")
    if re.match(r"^\s*(?:apiVersion|kind):", head) or (
            ":" in head and sum(bool(_YAML_LINE.match(line)) for line in lines) == len(lines)):
        return "yaml"
    if head.lstrip().startswith(("{", "[")):
        try:
            json.loads(content)
            return "json"
        except ValueError:
            pass
    if _SQL.match(head):
        return "sql"
    if _PROMQL.match(head) and first_program(head) not in CLI_WORDS:
        return "promql"
    return None


def read_block(info: str, content: str) -> CodeBlock | None:
    """The commands of a fenced or indented code block, or None when it is output or an example file.

    The fence info decides first (```console, ```promql, ```text); without one, the content does.
    """
    declared = _INFO_LANGUAGE.get(info.split()[0].lower() if info.strip() else "", "")
    if declared == "text":
        return None
    lines = content.rstrip("\n").split("\n")
    if declared in ("", "shell"):
        has_prompts = any(p.match(line) for line in lines for p in _PROMPTS)
        root_prompts = has_prompts or info.strip().lower() in ("console", "shell-session")
        if has_prompts or (root_prompts and any(_prompt_text(line, True) for line in lines)):
            block = _prompted(lines, root_prompts)
            return block if block.commands else None
        if block := _plain(lines):
            return block
    language = declared if declared in ("promql", "yaml", "json", "sql") else _guess_language(content)
    if language is None:
        return None
    first = next((n for n, line in enumerate(lines) if line.strip()), 0)
    return CodeBlock(language, ["\n".join(lines).strip()], first_line=first)


def count_commands(script: str) -> int:
    """How many commands a step's script holds (continuations and heredoc bodies belong to theirs)."""
    block = _plain(script.split("\n"))
    return len(block.commands) if block else (1 if script.strip() else 0)


def _simple_commands(script: str) -> list[str]:
    """The simple commands of a script, roughly: split at operators, `$(`, backticks and subshells.

    What follows `--` in `oc exec pod -- etcdctl` runs in the pod, so it stays part of its command.
    """
    return [part.strip() for part in re.split(r"\|\|?|&&|;|\n|\$\(|`|\(", script) if part.strip()]


def tools_in(script: str) -> list[str]:
    """The CLI tools a script needs that a host does not have anyway (kubectl, oc, etcdctl, jq...)."""
    found = (first_program(part) for part in _simple_commands(script))
    return list(dict.fromkeys(t for t in found if t in CLI_WORDS and t not in _COMMON and t not in SHELL_WORDS))


_FOLLOW = re.compile(r"(?:^|\s)(?:-f|--follow|-w|--watch)(?:\s|=|$)")
_INTERACTIVE_PROGRAMS = {
    "top": "shows a live screen", "htop": "shows a live screen", "less": "is a pager", "more": "is a pager",
    "vi": "opens an editor", "vim": "opens an editor", "nano": "opens an editor", "watch": "never ends",
    "chroot": "opens a shell",
}


_KUBE_VALUE_FLAGS = frozenset({"-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s",
                               "--server", "--as", "--token"})


def _positional(words: list[str], value_flags: frozenset[str]) -> list[str]:
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in value_flags
        else:
            out.append(word)
    return out


def _interactive(words: list[str]) -> str | None:
    """Why one simple command needs a person at a terminal, or None if it runs and ends by itself."""
    program, args = words[0], words[1:]
    verb = next(iter(_positional(args, _KUBE_VALUE_FLAGS)), "")  # `oc -n x exec ...`: the verb is `exec`
    if program in _INTERACTIVE_PROGRAMS:
        if program == "top" and "-b" in args:
            return None
        if program == "chroot" and len(args) > 1:
            return None
        return _INTERACTIVE_PROGRAMS[program]
    if program in ("kubectl", "oc"):
        line = " ".join(args)
        if verb == "debug" and " -- " not in f" {line} ":
            return "opens a debug shell on the node"
        if verb == "edit":
            return "opens an editor"
        if verb == "rsh" and len(_positional(args[1:], frozenset({"-c", "-n", "--container", "--namespace"}))) <= 1:
            return "opens a shell in the container"
        inner = line.split(" -- ", 1)[1].split() if " -- " in line else []
        if verb in ("exec", "attach") and re.search(r"(?:^|\s)-(?:it|ti|i)\b", line) and inner and (
                re.fullmatch(r"(?:/bin/|/usr/bin/)?(?:ba|z)?sh", inner[0]) and len(inner) == 1 or _interactive(inner)):
            return "runs an interactive program in the container"
        if verb in ("logs", "get", "events", "port-forward", "proxy") and (_FOLLOW.search(line) or verb in (
                "port-forward", "proxy")):
            return "never ends (it follows or forwards until stopped)"
    if program in ("tail", "journalctl") and _FOLLOW.search(" ".join(args)):
        return "never ends (it follows the log until stopped)"
    if program == "ssh" and len(_positional(args, frozenset({"-i", "-p", "-l", "-o", "-J", "-F"}))) <= 1:
        return "opens a remote shell"
    if program == "redis-cli":  # `redis-cli info memory` runs a command; without one it opens the client
        return None if _positional(args, _REDIS_VALUE_FLAGS) else "opens an interactive client"
    if program in ("psql", "mysql", "mongo", "mongosh") and not re.search(
            r"(?:^|\s)(?:-c|-e|-f|--command|--execute|--eval|--file)\b", " ".join(args)) and len(args) < 3:
        return "opens an interactive client"
    if program == "virtctl" and verb in ("console", "vnc", "ssh"):
        return "opens a console"
    return None


def interactive_reason(script: str) -> str | None:
    """`oc debug node/x` opens a shell the rest of the block was meant to run in; `oc logs -f` never ends.

    Such a step cannot run unattended: it would hang, or run the following commands on the wrong host.
    Returns what the first such command does, naming it, or None.
    """
    for part in _simple_commands(script):
        words = part.split()
        while words and (words[0] in ("sudo", "time", "nohup") or _ASSIGNMENT.match(words[0])):
            words = words[1:]
        if words and (why := _interactive(words)):
            return f"`{part if len(part) <= 80 else part[:77] + '...'}` {why}"
    return None
