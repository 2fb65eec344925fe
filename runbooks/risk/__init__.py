"""Deterministic risk classification of step commands, so the engine knows what may run unattended.

green: read-only; yellow: changes state, reversibly; red: destructive, irreversible or wide blast radius.
A shell command is split into simple commands (lists, pipelines, loops, `$(...)`, wrappers such as sudo,
ssh or `kubectl exec`); each is looked up in data tables and the worst part decides. Anything not known to
be read-only is at least yellow: a gap in the tables costs an approval, never a silent red.

    shell.py      prompts, placeholders, scanning and splitting; dispatch of one simple command
    commands.py   single-verdict commands, flag-decided commands, wrappers, aliases
    tools.py      subcommand tables (systemctl, docker, git, helm...), escalating flags, dry runs
    kube.py       kubectl / oc, with exec, rsh and debug classified by what they run
    verbs.py      verb-style platform CLIs; their tables are in platforms.py and clis.py (other clouds,
                  object stores, identity, messaging, CI: most judged by their verbs alone)
    automation.py ansible (by module; shell/command by what they run), ansible-playbook, the Jenkins CLI
    handlers.py   argument-decided commands (find, kill, ssh, bash -c...) and the handler registry
    http.py       curl / wget;  cloud.py  aws / gcloud / az;  python.py  `python -c`
    http_method.py  an HTTP step's request block (```http): its method decides, nothing else
    sql.py        SQL, redis-cli, mongosh, cqlsh, clickhouse-client, bq
    security.py, exposure.py   whole-command rules (rulebook.py applies them): they only raise
"""

from __future__ import annotations

from runbooks.risk import exposure, http_method, security, shell
from runbooks.risk.base import G, R, RiskAssessment, Y
from runbooks.risk.learned import raise_if_red_like
from runbooks.risk.rulebook import raise_for_security
from runbooks.risk.sql import sql_risk

__all__ = ["RiskAssessment", "classify", "classify_by_rules"]

SHELL_LANGUAGES = {"shell", "sh", "bash", "zsh", "ksh", "console", "shell-session", "shellsession", "terminal", ""}
SQL_LANGUAGES = {"sql", "psql", "postgresql", "postgres", "pgsql", "mysql", "mariadb", "sqlite", "plsql", "tsql"}
QUERY_LANGUAGES = {"promql": "PromQL", "logql": "LogQL", "metricsql": "MetricsQL", "traceql": "TraceQL"}
MANIFEST_LANGUAGES = {"yaml", "yml"}
RULES = security.RULES + exposure.RULES  # whole-command rules, in order
TEXT_LANGUAGES = {"json", "text", "txt", "log", "output", "plaintext", "plain", "none", "ini", "toml", "xml"}


def _language(command: str, lang: str, written: str) -> RiskAssessment | None:
    """Non-shell blocks are shown to a person, not run: say what the person would be doing."""
    if lang in SQL_LANGUAGES:
        return sql_risk(command)
    if lang in QUERY_LANGUAGES:
        return RiskAssessment(risk=G, reason=f"a {QUERY_LANGUAGES[lang]} query only reads metrics or logs")
    if lang in MANIFEST_LANGUAGES:
        return RiskAssessment(risk=Y, reason="applies a manifest or configuration (reversible state change)")
    if lang in TEXT_LANGUAGES:
        return RiskAssessment(risk=Y, reason=f"{written} text is not a command: a person reads it and acts, "
                                             "so it is not known to be read-only")
    if lang not in SHELL_LANGUAGES:
        return RiskAssessment(risk=Y, reason=f"{written} code is not analysed: not known to be read-only")
    return None


def classify(command: str, language: str = "shell") -> RiskAssessment:
    """Classify a step command as green (read-only), yellow (reversible change) or red (destructive);
    then the security rules (security.py) may raise it: what the command does to who may do what; and
    a yellow verdict is raised to red when the command looks like the labelled red ones (learned.py)."""
    verdict = classify_by_rules(command, language)
    if language.strip().lower() == "http":  # a request, not a shell line: the shell-trained opinion has no say
        return verdict
    return raise_if_red_like(verdict, command) if command and command.strip() else verdict


def classify_by_rules(command: str, language: str = "shell") -> RiskAssessment:
    """The tables and the security rules alone (what the learned second opinion is trained beside)."""
    if language.strip().lower() == "http":
        return http_method.request_risk(command)
    verdict = _classify(command, language)
    return raise_for_security(verdict, command, RULES) if command and command.strip() else verdict


def _classify(command: str, language: str) -> RiskAssessment:
    if not command or not command.strip():
        return RiskAssessment(risk=G, reason="empty command")
    lang = language.strip().lower()
    if verdict := _language(command, lang, language.strip()):
        return verdict
    try:
        text = shell.strip_prompts(command, transcript=lang in ("console", "shell-session", "shellsession"))
        verdict = shell.run_shell(shell.placeholders_as_words(text))
        if verdict.risk != R and shell.ANGLE.search(text):
            # `<POD_NAME>` is read as a placeholder word; were it really redirections (`<in> /dev/sda`),
            # a red reading must still win
            literal = shell.run_shell(shell.placeholders_as_words(text, angles=False))
            verdict = literal if literal.risk == R else verdict
        return verdict
    except Exception as exc:
        return RiskAssessment(risk=R, reason=f"could not analyse `{command.strip()[:60]}` ({type(exc).__name__}): "
                                             "treated as destructive")
