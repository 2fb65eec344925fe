"""Text as the runbook search sees it: words from identifiers, lexical tokens, summaries, queries.

- `words("KubePodCrashLooping")` -> "kube pod crash looping": camel case, acronyms, digits and
  separators split, so a name reads like the prose it abbreviates.
- `tokens(text)` -> lower-case, stop words out, a light suffix stemmer (restarted/restarts ->
  restart, errors -> error, looping -> loop) for BM25.
- `runbook_summary(rb)` is what gets embedded, `runbook_lexical(rb)` what BM25 indexes, and
  `alert_query(labels, annotations)` the two queries built from an alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runbooks.matching.thesaurus import thesaurus_words
from runbooks.model import Runbook

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_LETTER_DIGIT = re.compile(r"([A-Za-z])(\d)")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\$[A-Z_]+|<[^>]+>")
_CAMEL_WORD = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*\b|\b[A-Z]{2,}[a-z][A-Za-z0-9]*\b")

STOP_WORDS = frozenset("""
a an and are as at be been being but by can could do does for from has have having if in into is it its
of on or so such than that the their then there these this those to was were will with would which when
while who what where how not no any all some more most other only over under up down out very via per
this alert fires fired firing triggered triggers trigger alerts
""".split()) - {"down", "up", "out", "not", "no", "over", "under", "any", "some"}  # state words and qualifiers

# Labels that say what is affected; their values join the lexical query (pod names and ids do not).
KEY_LABELS = ("service", "job", "namespace", "container", "component", "app", "deployment", "statefulset",
              "daemonset", "persistentvolumeclaim", "device", "mountpoint", "controller", "integration")
TEXT_ANNOTATIONS = ("summary", "description", "message")
MAX_ANNOTATION_CHARS = 600


_K8S = re.compile(r"k8s", re.IGNORECASE)
_HAPROXY = re.compile(r"haproxy", re.IGNORECASE)

# What names abbreviate -> the word runbooks spell out; applied to both sides, before stemming.
ABBREVIATIONS = {
    "kubernetes": "kube", "apiserver": "api server", "err": "error", "errs": "errors", "fs": "filesystem",
    "rootfs": "root filesystem", "tx": "transmit", "rx": "receive", "cert": "certificate", "certs": "certificates",
    "mem": "memory", "pvc": "persistent volume claim", "pv": "persistent volume", "db": "database",
    "prom": "prometheus", "ctrl": "controller", "conn": "connection", "conns": "connections", "repl": "replication",
    "util": "utilization", "oom": "out of memory", "oomkilled": "out of memory killed", "ns": "namespace",
    "cronjob": "cron job", "cronjobs": "cron jobs", "statefulset": "stateful set", "daemonset": "daemon set",
    "am": "alertmanager", "sched": "scheduler", "ocp": "openshift", "clusteroperator": "cluster operator",
    "crashloop": "crash loop", "crashlooping": "crash looping", "crashloopbackoff": "crash loop back off",
    "apiservice": "api service", "apiservices": "api services", "critically": "critical", "nearly": "near",
    "ds": "daemon set", "sts": "stateful set", "pdb": "pod disruption budget", "pdbs": "pod disruption budgets",
    "hpa": "hpa horizontal pod autoscaler", "nic": "network interface", "netpol": "network policy",
    "vm": "virtual machine", "vms": "virtual machines", "vmi": "virtual machine instance", "lb": "load balancer",
    "svc": "service", "req": "request", "reqs": "requests", "mcp": "machine config pool",
    "mco": "machine config operator", "cvo": "cluster version operator", "olm": "operator lifecycle manager",
    "kcm": "kube controller manager", "ha": "highly available", "odf": "ceph", "nxdomain": "nx domain", "servfail": "serv fail",
    "fd": "file descriptor", "fds": "file descriptors", "mdadm": "raid", "nearfull": "near full", "sb": "southbound",
    "nb": "northbound", "clf": "cluster log forwarder", "dv": "data volume", "ksm": "kube state metrics",
    "gc": "garbage collector", "lat": "latency",
}


def words(identifier: str) -> str:
    """Identifier -> lower-case words: 'KubeAPIDown' -> 'kube api down', 'etcd-no_leader' -> 'etcd no leader'."""
    text = _HAPROXY.sub("Haproxy", _K8S.sub("Kube", identifier))  # HAProxy is a product, not "ha proxy"
    text = _CAMEL_2.sub(r"\1 \2", _CAMEL_1.sub(r"\1 \2", text))
    text = _LETTER_DIGIT.sub(r"\1 \2", text)
    return " ".join(_NON_WORD.sub(" ", text).lower().split())


def norm(text: str) -> str:
    """For exact comparison of names: case and separators do not count."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _stem(tok: str) -> str:
    """A light suffix stripper, the same on both sides: expires/expiring/expiration -> expir."""
    if len(tok) <= 3 or tok.isdigit():
        return tok
    if tok.endswith("ies") and len(tok) > 4:
        return tok[:-3] + "y"
    for suffix in ("ations", "ation", "ing", "ed", "es", "s"):
        keeps_s = suffix == "s" and tok.endswith(("ss", "us", "is"))  # class, status, analysis
        if tok.endswith(suffix) and len(tok) - len(suffix) >= 3 and not keeps_s:
            tok = tok[:-len(suffix)]
            break
    if len(tok) > 3 and tok[-1] == tok[-2] and tok[-1] not in "lsz":  # stopp-ed -> stop
        tok = tok[:-1]
    if len(tok) > 3 and tok.endswith("e"):  # expire/expir-ing, update/updat-ed
        tok = tok[:-1]
    return tok


def token_pairs(text: str) -> list[tuple[str, str]]:
    """(BM25 token, the word it came from): identifiers split into words, stop words out, light stemming."""
    out = []
    for word in _TOKEN.findall(words(text)):
        for tok in ABBREVIATIONS.get(word, word).split():
            if tok not in STOP_WORDS and len(tok) > 1 and not (tok.isdigit() and len(tok) < 3):
                out.append((_stem(tok), word))
    return out


def tokens(text: str) -> list[str]:
    return [t for t, _ in token_pairs(text)]


def _clean(text: str) -> str:
    """Prose for the embedder: templates out, identifiers in prose ('ClusterOperatorDown') as words."""
    text = _CAMEL_WORD.sub(lambda m: words(m.group(0)), _TEMPLATE.sub(" ", text))
    return " ".join(text.split())


def name_words(rb: Runbook) -> str:
    """The runbook's name as words: its file name and, when it says something else, its title."""
    last = words(rb.id.rsplit("/", 1)[-1])
    title = words(rb.title)
    return last if title == last or not title else f"{last}. {title}"


def name_tokens(rb: Runbook) -> list[str]:
    """The runbook's name as lexical tokens, each once: what an alert's words should cover."""
    return list(dict.fromkeys(tokens(name_words(rb))))


def runbook_summary(rb: Runbook, max_chars: int = 700) -> str:
    """The text embedded for a runbook: name and meaning (what the alert is), not the procedure.

    The runbook's vector is the mean of this text's and `name_words`' (see runbooks/matching/index.py)."""
    description = _clean(rb.description)
    if description.startswith("|"):  # a table where the meaning should be: step titles say more
        description = ""
    if len(description) < 80:
        extra = "; ".join(s.title for s in rb.steps[:4] if s.title)
        description = f"{description} {extra}".strip()
    return f"{name_words(rb)}. {description}"[:max_chars]


def runbook_lexical(rb: Runbook) -> list[str]:
    """The BM25 document: name (twice, it is the surest text), folder, description, step titles, commands."""
    folder = rb.id.rsplit("/", 1)[0] if "/" in rb.id else ""
    parts = [name_words(rb), name_words(rb), words(folder.split("/", 1)[-1]), rb.description]
    parts += [s.title for s in rb.steps] + [s.command or "" for s in rb.steps]
    return tokens(" ".join(parts))


@dataclass(frozen=True)
class AlertQuery:
    name: str  # the alert name as words
    semantic: str  # what is embedded: name, summary and description
    summary: str  # the one-line statement of the problem, embedded apart too ("" when there is none)
    lexical: list[str]  # BM25 tokens (name tokens repeated: the name is the alert's densest text)
    surface: dict[str, str]  # token -> a word of the alert it stands for (for reasons a person reads)


_PROMQL_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_PROMQL_MATCHER = re.compile(r"\{[^{}]*\}")
_PROMQL_VALUE = re.compile(r"[=!~]+\s*\"([^\"]*)\"")
PROMQL_WORDS = frozenset("""
sum min max avg group stddev stdvar count count_values bottomk topk quantile by without on ignoring group_left
group_right and or unless offset bool atan2 rate irate increase delta idelta deriv predict_linear absent
absent_over_time changes resets histogram_quantile holt_winters label_replace label_join vector scalar time
timestamp sort sort_desc clamp clamp_min clamp_max abs ceil floor round exp ln log2 log10 sqrt sgn avg_over_time
min_over_time max_over_time sum_over_time count_over_time quantile_over_time stddev_over_time stdvar_over_time
last_over_time present_over_time day_of_month day_of_week day_of_year days_in_month hour minute month year inf nan
""".split())
PROMQL_HINTS = {"predict_linear": "filling up predicted to run out", "absent": "absent missing",
                "absent_over_time": "absent missing", "changes": "changes flapping", "resets": "restarts resets"}
MAX_RULE_CHARS = 2000


def rule_expression(generator_url: str | None) -> str:
    """The PromQL of the rule that fired, from Prometheus's generatorURL (`...graph?g0.expr=...`)."""
    if not generator_url:
        return ""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(generator_url).query)
    return (query.get("g0.expr") or query.get("expr") or [""])[0][:MAX_RULE_CHARS]


def rule_words(expression: str) -> str:
    """What a rule's PromQL says as words: its metric names (split), the values of its label
    matchers (`reason="CrashLoopBackOff"`), and what its functions mean (`predict_linear`: filling up)."""
    if not expression:
        return ""
    values = [v for block in _PROMQL_MATCHER.findall(expression) for v in _PROMQL_VALUE.findall(block)]
    bare = _PROMQL_MATCHER.sub(" ", re.sub(r'"[^"]*"', " ", expression))
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    out: list[str] = []
    for ident in _PROMQL_IDENT.findall(bare):
        low = ident.lower()
        if low in PROMQL_HINTS:
            out.append(PROMQL_HINTS[low])
        elif low not in PROMQL_WORDS and not re.fullmatch(r"\d+[smhdwy]?", low) and len(low) > 2:
            out.append(words(ident.replace(":", "_")))
    out += [words(v) for v in values if v and not re.search(r"[.*+?|()\[\]^$]", v)]
    return " ".join(dict.fromkeys(w for w in out if w))


def alert_query(labels: dict[str, str], annotations: dict[str, str] | None = None,
                expression: str = "") -> AlertQuery:
    """`expression`: the PromQL of the rule that fired (`rule_expression`), when the source sends it."""
    annotations = annotations or {}
    name = words(labels.get("alertname", ""))
    prose = [_clean(annotations[k])[:MAX_ANNOTATION_CHARS] for k in TEXT_ANNOTATIONS if annotations.get(k)]
    prose = list(dict.fromkeys(p for p in prose if p))
    key_values = [labels[k] for k in KEY_LABELS if labels.get(k)]
    rule = rule_words(expression)
    synonyms = thesaurus_words(" ".join([name, *prose]))
    semantic = ". ".join([name, *prose]) if name else ". ".join(prose)
    pairs = token_pairs(name) * 2 + token_pairs(" ".join(prose)) + token_pairs(" ".join(key_values)) + \
        token_pairs(rule) + token_pairs(synonyms)
    lexical = [t for t, _ in pairs]
    surface: dict[str, str] = {}
    for tok, word in pairs:
        surface.setdefault(tok, word)
    summary = _clean(annotations.get("summary", ""))[:MAX_ANNOTATION_CHARS]
    return AlertQuery(name=name, semantic=semantic, summary=summary if summary != semantic else "",
                      lexical=lexical, surface=surface)
