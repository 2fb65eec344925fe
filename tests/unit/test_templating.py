"""Specification of command templating: alert values are hostile data and must stay data.

The decisive tests do not inspect strings: they run the rendered command, with /bin/sh (and bash
when present, since remote hosts often use it) and as argv, in an empty directory, and check that
no payload created a file and that every value comes back byte for byte.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from runbooks.contract import RenderedCommand
from runbooks.rendering.templating import TemplateError, referenced_variables, render_command, render_text

SHELLS = ["/bin/sh"] + (["bash"] if shutil.which("bash") else [])

# Values an attacker can put into an alert label. None of them starts with '-', is empty or has a NUL:
# those are refused outright (tested separately); everything else must pass through as inert text.
NASTY = [
    "$(touch pwned)",
    "`touch pwned`",
    "; touch pwned",
    "a; touch pwned #",
    "&& touch pwned",
    "|| touch pwned",
    "| tee pwned",
    "> pwned",
    "< /etc/passwd",
    "' \"",
    "'; touch pwned; '",
    '"; touch pwned; "',
    "'\"'\"'; touch pwned",
    "a\ntouch pwned",
    "a\r\ntouch pwned\n",
    "*",
    "~",
    "~root/.ssh",
    "$HOME",
    "${IFS}touch${IFS}pwned",
    "$((1+1))",
    "a[$(touch pwned)]",
    "\\",
    "a\\",
    "\\'; touch pwned; #",
    "\\x27; touch pwned",
    "$'\\x27'; touch pwned",
    "!!",
    "{{ 7*7 }}",
    "{% if true %}x{% endif %}",
    "{# comment #}",
    "a b  c",
    " leading and trailing ",
    "\t",
    "%s%n%x",
    "é ünïcødé ✓",
    "\x1b[31mred\x1b[0m",
    "Rb0123456789abcdefv0x",  # looks like the internal sentinel
    "#not-a-comment",
    "x=y",
]


def ctx(labels: dict[str, str] | None = None, params: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    return {"labels": labels or {}, "annotations": annotations or {}, "params": params or {}}


def run_script(script: str, cwd: Path, shell: str = "/bin/sh") -> str:
    done = subprocess.run([shell, "-c", script], cwd=cwd, capture_output=True, timeout=10, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def run_argv(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=10, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


# --- hostile values never execute -------------------------------------------------------------


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize("shell", SHELLS)
def test_shell_form_prints_value_verbatim_and_runs_nothing(value: str, shell: str, tmp_path: Path) -> None:
    for template, expected in [
        ("printf '%s\\n' {{ labels.x }} | cat", f"{value}\n"),
        ('printf "%s\\n" "prefix-{{ labels.x }}-suffix" | cat', f"prefix-{value}-suffix\n"),
        ("printf '[%s]' {{ labels.x }} {{ labels.x }}; printf '\\n'", f"[{value}][{value}]\n"),
    ]:
        rendered = render_command(template, ctx({"x": value}))
        assert rendered.argv is None  # a pipe or ';' needs a shell
        assert run_script(rendered.script, tmp_path, shell) == expected
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", NASTY)
def test_echo_pipe_templates_never_execute_the_value(value: str, tmp_path: Path) -> None:
    for template in ["echo {{ labels.x }} | cat", 'echo "prefix-{{ labels.x }}-suffix" | cat']:
        out = run_script(render_command(template, ctx({"x": value})).script, tmp_path)
        assert list(tmp_path.iterdir()) == []
        if "\\" not in value:  # dash's echo interprets backslashes itself; printf tests cover those
            assert value in out


@pytest.mark.parametrize("value", NASTY)
def test_argv_form_keeps_each_value_one_argument(value: str, tmp_path: Path) -> None:
    for template, argv, expected in [
        ("printf %s {{ labels.x }}", ["printf", "%s", value], value),
        ('printf %s "prefix-{{ labels.x }}-suffix"', ["printf", "%s", f"prefix-{value}-suffix"],
         f"prefix-{value}-suffix"),
        ("printf %s: {{ labels.x }} x{{ labels.x }}y", ["printf", "%s:", value, f"x{value}y"], f"{value}:x{value}y:"),
    ]:
        rendered = render_command(template, ctx({"x": value}))
        assert rendered.argv == argv
        assert run_argv(rendered.argv, tmp_path) == expected
        # the script form of the same command is equivalent, for remote execution over SSH
        assert shlex.split(rendered.script) == rendered.argv
        for shell in SHELLS:
            assert run_script(rendered.script, tmp_path, shell) == expected
        assert list(tmp_path.iterdir()) == []


def test_values_with_spaces_and_shell_syntax_stay_one_argument() -> None:
    rendered = render_command("kubectl logs {{ labels.pod }}", ctx({"pod": "a b; rm -rf /"}))
    assert rendered.argv == ["kubectl", "logs", "a b; rm -rf /"]
    assert rendered.script == "kubectl logs 'a b; rm -rf /'"


def test_template_syntax_in_a_value_stays_literal_text() -> None:
    rendered = render_command("echo {{ labels.x }}", ctx({"x": "{{ 7*7 }}"}))
    assert rendered.argv == ["echo", "{{ 7*7 }}"]
    assert "49" not in rendered.script and shlex.split(rendered.script) == ["echo", "{{ 7*7 }}"]
    piped = render_command("echo {{ labels.x }} | cat", ctx({"x": "{{ 7*7 }}"}))
    assert piped.script == "echo '{{ 7*7 }}' | cat"
    assert render_text("{{ labels.x }}", ctx({"x": "{{ 7*7 }}"})) == "{{ 7*7 }}"


def test_a_value_that_looks_like_a_sentinel_is_not_substituted() -> None:
    rendered = render_command("echo {{ labels.a }} {{ labels.b }}", ctx({"a": "Rb00v1x", "b": "B"}))
    assert rendered.argv == ["echo", "Rb00v1x", "B"]


# --- values refused --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["--all", "-rf", "-", "-oProxyCommand=touch pwned", "--namespace=kube-system"])
def test_a_value_that_could_become_an_option_is_refused(value: str) -> None:
    with pytest.raises(TemplateError, match="starts with '-'"):
        render_command("kubectl delete pod {{ labels.pod }}", ctx({"pod": value}))
    with pytest.raises(TemplateError, match="starts with '-'"):
        render_command("kubectl delete pod {{ labels.pod }} | cat", ctx({"pod": value}))
    with pytest.raises(TemplateError, match="starts with '-'"):
        render_text("{{ labels.host }}", ctx({"host": value}))


def test_empty_and_nul_values_are_refused() -> None:
    with pytest.raises(TemplateError, match="empty"):
        render_command("kubectl delete pod {{ labels.pod }}", ctx({"pod": ""}))
    with pytest.raises(TemplateError, match="NUL"):
        render_command("kubectl delete pod {{ labels.pod }}", ctx({"pod": "a\0b"}))


def test_missing_value_is_named() -> None:
    with pytest.raises(TemplateError, match=r"missing value for labels\.pod"):
        render_command("kubectl logs {{ labels.pod }}", ctx({"other": "x"}))
    with pytest.raises(TemplateError, match=r"missing value for params\.count"):
        render_command("echo {{ params.count | int + 1 }}", ctx())
    with pytest.raises(TemplateError, match=r"missing value for annotations\.summary"):
        render_text("{{ annotations.summary }}", ctx())


def test_expression_must_give_text_not_a_container_or_method() -> None:
    with pytest.raises(TemplateError, match="not text"):
        render_command("echo {{ [labels.missing] }}", ctx())
    with pytest.raises(TemplateError, match="not text"):
        render_command("echo {{ labels.x.upper }}", ctx({"x": "a"}))
    assert render_command("echo {{ [labels.x, 'b'] | join(',') }}", ctx({"x": "a"})).argv == ["echo", "a,b"]


# --- the sandbox -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "echo {{ labels.__class__.__mro__ }}",
        "echo {{ ''.__class__ }}",
        "echo {{ labels.x.__class__.__mro__[1].__subclasses__() }}",
        "echo {{ labels.x['__class__'] }}",
        "echo {{ (labels.x | attr('__class__')).__name__ }}",
    ],
)
def test_python_internals_are_refused_when_the_runbook_loads(template: str) -> None:
    with pytest.raises(TemplateError):
        referenced_variables(template)
    with pytest.raises(TemplateError):
        render_command(template, ctx({"x": "a"}))


@pytest.mark.parametrize(
    "template",
    [
        "echo {{ labels.x | attr('__class__') }}",
        "echo {{ labels['__class__'] }}",
        "echo {{ labels.x | map(attribute='__class__') | join(',') }}",
        "echo {{ labels.x | attr('__cl' ~ 'ass__') }}",
        "echo {{ labels.x | attr(params.name) }}",
    ],
)
def test_python_internals_reached_at_runtime_are_refused(template: str) -> None:
    context = ctx({"x": "a"}, params={"name": "__class__"})
    with pytest.raises(TemplateError):
        render_command(template, context)
    with pytest.raises(TemplateError):
        render_text(template.removeprefix("echo "), context)


def test_labels_are_looked_up_by_key_never_as_dict_methods() -> None:
    labels = {"items": "the-items-label", "x": "a"}
    assert render_command("echo {{ labels.items }}", ctx(labels)).argv == ["echo", "the-items-label"]
    with pytest.raises(TemplateError, match=r"labels\.clear"):
        render_command("echo {{ labels.clear() }}", ctx(labels))
    assert labels == {"items": "the-items-label", "x": "a"}  # nothing could mutate the alert


# --- what authors can write --------------------------------------------------------------------


def test_filters_work() -> None:
    context = ctx({"instance": "node-1:9100"}, params={})
    assert render_command("ping -c1 {{ labels.instance | replace(':9100', '') }}", context).argv == [
        "ping", "-c1", "node-1"]
    assert render_command("tail -n {{ params.lines | default('100') }} f", context).argv == ["tail", "-n", "100", "f"]
    assert render_command("tail -n {{ params.lines | default('100') }} f", ctx(params={"lines": "5"})).argv == [
        "tail", "-n", "5", "f"]
    assert render_text("{{ labels.instance.split(':')[0] }}", context) == "node-1"


def test_double_braces_inside_a_string_literal() -> None:
    rendered = render_command("echo {{ labels.x | replace('}}', '') }} done", ctx({"x": "a}}b"}))
    assert rendered.argv == ["echo", "ab", "done"]
    # a literal go-template for docker/kubectl is written as a Jinja string
    rendered = render_command("docker inspect -f {{ '{{.State.Status}}' }} {{ labels.c }}", ctx({"c": "web"}))
    assert rendered.argv == ["docker", "inspect", "-f", "{{.State.Status}}", "web"]


def test_referenced_variables() -> None:
    assert referenced_variables("kubectl -n {{ labels.namespace }} logs {{ labels.pod }} --tail "
                                "{{ params.lines | default('100') }} {{ labels.pod }}") == [
        "labels.namespace", "labels.pod", "params.lines"]
    assert referenced_variables("echo {{ labels['app.kubernetes.io/name'] }} {{ annotations.summary }}") == [
        "labels.app.kubernetes.io/name", "annotations.summary"]
    assert referenced_variables("uptime") == []


@pytest.mark.parametrize(
    "template",
    [
        "uptime",
        "kubectl get pods -A -o wide",
        "ps aux | grep '[n]ginx' | head -n 5",
        "systemctl status nginx && journalctl -u nginx --since '10 min ago'",
        "for i in 1 2 3; do echo \"$i $(date)\"; done",
    ],
)
def test_a_template_without_placeholders_passes_through(template: str) -> None:
    rendered = render_command(template, ctx())
    if rendered.argv is None:
        assert rendered.script == template
    else:
        assert rendered.argv == shlex.split(template) and shlex.split(rendered.script) == rendered.argv


def test_needs_shell_decision() -> None:
    c = ctx({"p": "web-1"})
    assert render_command("kubectl delete pod {{ labels.p }}", c).argv == ["kubectl", "delete", "pod", "web-1"]
    assert render_command("kubectl logs {{ labels.p }} | tail -n 5", c).argv is None
    assert render_command("echo {{ labels.p }} > out.txt", c).argv is None
    assert render_command("ls *.log {{ labels.p }}", c).argv is None
    assert render_command("echo \"$HOME\" {{ labels.p }}", c).argv is None
    assert render_command("cd /tmp && ls {{ labels.p }}", c).argv is None
    assert render_command("FOO=1 printenv {{ labels.p }}", c).argv is None
    # quoted shell characters are plain text and need no shell
    assert render_command("grep 'a|b;c' {{ labels.p }}", c).argv == ["grep", "a|b;c", "web-1"]


def test_shell_form_quotes_by_context() -> None:
    c = ctx({"p": "it's $x"})
    assert render_command("echo {{ labels.p }} | cat", c).script == "echo 'it'\"'\"'s $x' | cat"
    assert render_command('echo "a {{ labels.p }} b" | cat', c).script == "echo \"a \"'it'\"'\"'s $x'\" b\" | cat"
    assert render_command("X={{ labels.p }}; echo \"$X\"", c).script == "X='it'\"'\"'s $x'; echo \"$X\""
    assert render_command("( cd / && ls {{ labels.p }} ) | cat", c).argv is None


# --- templates refused when the runbook is loaded ---------------------------------------------------


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{% if labels.x %}rm -rf /{% endif %}", "blocks"),
        ("echo {# note #} {{ labels.x }}", "Jinja comment"),
        ("echo {% raw %}{{{% endraw %}", "raw"),
        ("echo {{ os.system('id') }}", "unknown name 'os'"),
        ("echo {{ self }}", "unknown name 'self'"),
        ("echo {{ range(10) | list }}", "unknown name 'range'"),
        ("echo {{ lipsum() }}", "unknown name"),
        ("echo {{ labels }}", "on its own"),
        ("echo {{ labels[params.key] }}", "constant string key"),
        ("echo {{ labels.x ", "syntax error"),
        ("echo {{ labels.x }", "syntax error"),
        ("echo {{ }}", "syntax error"),
        ("echo {{- labels.x }}", "whitespace control"),
        ("echo '{{ labels.x }}'", "single quotes"),
        ("echo 'pre {{ labels.x }} post' | cat", "single quotes"),
        ("echo $(echo {{ labels.x }})", r"\$\(\.\.\.\)"),
        ('echo "$(echo "{{ labels.x }}")"', r"\$\(\.\.\.\)"),
        ("echo `echo {{ labels.x }}`", "backticks"),
        ("echo $(( {{ params.n }} + 1 ))", "arithmetic"),
        ("(( n = {{ params.n }} ))", "arithmetic"),
        ("[[ {{ params.n }} -eq 1 ]] && echo one", r"\[\["),
        ('echo "${FOO:-{{ labels.x }}}"', r"\$\{"),
        ("echo ${{ labels.x }}", "directly before"),
        ("cat <<EOF\n{{ labels.x }}\nEOF", "heredoc"),
        ("cat <<'EOF'\nhello\nEOF\necho {{ labels.x }}", "heredoc"),
        ("echo \\{{ labels.x }}", "directly before"),
        ('echo "\\{{ labels.x }}"', "directly before"),
        ('echo "${{ labels.x }}"', "directly before"),
        ("echo hi # was {{ labels.x }}\nuptime", "comment"),
        ("{{ labels.cmd }} --help", "command position"),
        ("echo ok; {{ labels.cmd }}", "command position"),
        ("ls | {{ labels.cmd }}", "command position"),
        ('"{{ labels.cmd }}" x', "command position"),
        ("sudo {{ labels.cmd }}", "command position"),
        ("case x in x) {{ labels.cmd }} ;; esac", "command position"),
        ("if true; then {{ labels.cmd }}; fi", "command position"),
        ("coproc {{ labels.cmd }}", "command position"),
        ("/opt/{{ labels.tool }}/bin/run", "command position"),
        ("ssh host {{ labels.x }}", "runs its arguments"),
        ("bash -c \"echo {{ labels.x }}\"", "runs its arguments"),
        ("kubectl exec pod -- sh -c \"kill {{ labels.x }}\"", "runs its arguments"),
        ("eval echo {{ labels.x }}", "runs its arguments"),
        ("let n={{ params.n }}+1", "runs its arguments"),
        ("echo {{ labels.x }} | sh", "piped into"),
        ("echo {{ labels.x }} | sudo bash", "piped into"),
        ("echo {{ labels.x }} | xargs kubectl delete pod", "piped into"),
        ("trap {{ labels.x }} EXIT", "runs its arguments"),
        ("read x <<< {{ labels.x }}", "heredoc|runs its arguments"),
        # bash reads these words a second time, $(...) and a[$(...)] included
        ("echo hi >&{{ labels.x }}", ">&"),
        ("echo hi 2>&$(echo 1){{ labels.x }}", ">&"),
        ("test -v {{ labels.x }}", "-v"),
        ("printf -v {{ labels.x }} %s 1", "-v"),
        ("a[{{ labels.x }}]=1", "arithmetic"),
        ("for (( i={{ params.n }}; i>0; i-- )); do echo $i; done", "arithmetic"),
        ("diff <(ls {{ labels.x }}) <(ls /)", "process substitution"),
        # sh and bash disagree about these, so neither reading can be trusted
        ("echo $'a' {{ labels.x }}", "sh and bash"),
        ("echo $[1] {{ labels.x }}", "sh and bash"),
        ("(( 1 #))\necho {{ labels.x }}", "sh and bash"),
        ("(( 1 << 2 ))\necho {{ labels.x }}\n2", "heredoc"),
        # bash ends the word after <&- and a line continuation vanishes: '#' starts a comment either way
        ("printf %s <&-#x {{ labels.x }}", "comment"),
        ("echo \\\n#{{ labels.x }}", "comment"),
        ("echo ${#HOME} {{ labels.x }}", "Jinja comment"),
        ("echo \"{{ labels.x }}", "unterminated"),
        ("echo '{{ labels.x }}", "single quotes"),
    ],
)
def test_unsafe_templates_are_refused_early(template: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason):
        referenced_variables(template)
    with pytest.raises(TemplateError, match=reason):
        render_command(template, ctx({"x": "a", "cmd": "rm", "tool": "t"}, params={"n": "1", "key": "x"}))


@pytest.mark.parametrize(
    "template",
    [
        "kubectl exec {{ labels.pod }} -- sh -c 'kill -HUP 1'",  # the value comes before the shell
        "echo {{ labels.x }} | grep sh",  # 'sh' is only an argument here
        "kubectl -n local delete pod {{ labels.pod }}",
        "FOO={{ labels.x }} env",
        "echo hi > {{ labels.x }}.txt",
        "cat /etc/hostname | grep {{ labels.x }}",
        "echo ${HOME%/} {{ labels.x }} | cat",
        "echo $(( 1 + 2 )) {{ labels.x }}",
        "kubectl logs {{ labels.pod }} 2>&1 | tail -n 20",
        "echo {{ labels.x }} >&2",
        "echo a >&- {{ labels.x }}",
        "x=$(date) && echo \"{{ labels.x }} at $x\"",
        "[[ -f /etc/hostname ]] && echo {{ labels.x }}",
    ],
)
def test_safe_shell_templates_are_accepted(template: str) -> None:
    referenced_variables(template)
    rendered = render_command(template, ctx({"x": "a b", "pod": "web-1"}))
    assert isinstance(rendered, RenderedCommand)


def test_payloads_aimed_at_an_absolute_path_do_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payloads = [f"$(touch {marker})", f"`touch {marker}`", f"; touch {marker}", f"'; touch {marker}; '",
                f"\ntouch {marker}", f"a[$(touch {marker})]"]
    for value in payloads:
        for template in ["kubectl logs {{ labels.pod }}", "echo {{ labels.pod }} | cat",
                         'echo "pod={{ labels.pod }}" | cat']:
            rendered = render_command(template, ctx({"pod": value}))
            for shell in SHELLS:
                subprocess.run([shell, "-c", rendered.script], cwd=tmp_path, capture_output=True, timeout=10,
                               check=False)
            if rendered.argv:
                assert rendered.argv == ["kubectl", "logs", value]
            assert not marker.exists(), (template, value)


def test_render_text_for_a_target_host() -> None:
    context = ctx({"instance": "db-1.internal:9100"})
    assert render_text("ssh://{{ labels.instance | replace(':9100', '') }}", context) == "ssh://db-1.internal"
    assert render_text("local", context) == "local"
    assert referenced_variables("ssh://{{ labels.instance }}", shell=False) == ["labels.instance"]
    with pytest.raises(TemplateError, match="command position"):
        referenced_variables("{{ labels.instance }}")  # as a command it would choose the program
    with pytest.raises(TemplateError, match="unknown name"):
        referenced_variables("ssh://{{ host }}", shell=False)
    with pytest.raises(TemplateError, match="starts with '-'"):
        render_text("{{ labels.instance }}", ctx({"instance": "-oProxyCommand=touch pwned"}))


# --- constant placeholders: literal text the author wrote, allowed in any quoting ---------------------


def test_a_constant_placeholder_is_literal_text_even_inside_single_quotes() -> None:
    template = "kubectl get pods -o go-template='{{ '{{' }}.metadata.name}}'"
    assert referenced_variables(template) == []
    assert render_command("echo '{{ '{{' }}.metadata.name}}' | cat", ctx()).script == "echo '{{.metadata.name}}' | cat"
    rendered = render_command(template, ctx())
    assert rendered.argv == ["kubectl", "get", "pods", "-o", "go-template={{.metadata.name}}"]


def test_a_go_template_next_to_real_placeholders_renders_verbatim(tmp_path: Path) -> None:
    template = "printf '%s %s\\n' '{{ '{{' }}range .items}}{{ '{{' }}\"\\n\"}}{{ '{{' }}end}}' {{ labels.ns }} | cat"
    rendered = render_command(template, ctx({"ns": "$(touch pwned)"}))
    for shell in SHELLS:
        assert run_script(rendered.script, tmp_path, shell) == '{{range .items}}{{"\\n"}}{{end}} $(touch pwned)\n'
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "template",
    [
        "echo '{{ '{{' }} labels.x }}'",  # the constant's text is never read as a template again
        "echo {{ '{{ labels.x }}' }}",
    ],
)
def test_a_constant_cannot_smuggle_in_a_variable(template: str) -> None:
    assert referenced_variables(template) == []
    rendered = render_command(template, ctx({"x": "secret"}))
    assert "secret" not in rendered.script and "labels.x" in rendered.script


@pytest.mark.parametrize(
    "template",
    [
        "echo {{ \"'\" }}{{ labels.x }}{{ \"'\" }}",  # constants that open and close quotes around a value
        "echo {{ '$(' }}{{ labels.x }}{{ ')' }}",
        "{{ 'echo' }} '{{ labels.x }}'",
    ],
)
def test_constants_do_not_change_how_a_real_placeholder_is_judged(template: str) -> None:
    with pytest.raises(TemplateError):
        referenced_variables(template)


def test_only_string_literals_are_constants() -> None:
    with pytest.raises(TemplateError, match="single quotes"):
        referenced_variables("echo '{{ 'a' ~ 'b' }}'")  # an expression keeps the rules of a value


def test_braces_need_a_shell_only_where_bash_expands_them() -> None:
    c = ctx({"p": "web-1"})
    assert render_command("docker inspect -f {{ '{{.State.Status}}' }} {{ labels.p }}", c).argv is not None
    assert render_command("echo {a,b} {{ labels.p }}", c).argv is None
    assert render_command("echo {1..3} {{ labels.p }}", c).argv is None


# --- case-insensitive binding: `labels.namespace` finds `Namespace` ----------------------------------


def test_a_label_is_found_ignoring_case_when_there_is_no_exact_key() -> None:
    assert render_command("kubectl -n {{ labels.namespace }} get pods", ctx({"Namespace": "x"})).argv == [
        "kubectl", "-n", "x", "get", "pods"]
    assert render_command("echo {{ labels.namespace }}", ctx({"NAMESPACE": "y"})).argv == ["echo", "y"]
    # an exact key wins over others that differ in case
    assert render_command("echo {{ labels.ns }}", ctx({"NS": "a", "ns": "b"})).argv == ["echo", "b"]


def test_keys_differing_only_in_case_are_ambiguous() -> None:
    with pytest.raises(TemplateError, match="differ only in case"):
        render_command("echo {{ labels.ns }}", ctx({"NS": "a", "Ns": "b"}))
