"""Reading the sentences around commands in prose runbooks: titles, conditions, sections, hints.

The decisions a runbook makes live in its sentences ("If the pod is OOMKilled, raise the limit"),
its structure in headings ("Diagnosis", "Mitigation"). These are small, separately testable
heuristics; prose.py applies them while it walks the document.
"""

from __future__ import annotations

import re

# Heading words -> the kind of step found under them. The earliest word in a heading decides, so
# "Diagnosis and mitigation" is diagnosis; a heading with none inherits its parent's kind.
_SECTION_WORDS = (
    ("skip", (r"\bmeaning\b|\bimpact\b|\bdefinition\b|\bdescription\b|\brelated\b|\breferences?\b|\bresources\b"
              r"|\bsee also\b|\bsummary\b|\bsource\b|\blicen[cs]e\b")),
    ("other", r"\bdisable\b|\bsilenc|\bnotes?\b|\bescalat|\bprevent"),
    ("verification", r"\bverif|\bvalidat|\bconfirm"),
    ("mitigation", r"\bmitigat|\bresol[uv]|\bremediat|\bfix|\brecover|\bworkaround|\brepair|\brestor|\bsolution"),
    ("diagnosis", (r"\bdiagnos|\btroubleshoot|\binvestigat|\bcheck|\bidentif|\bdebug|\bquer(?:y|ies)\b|\binspect"
                   r"|\bcauses?\b|\banaly[sz]")),
)
_SECTION_RE = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _SECTION_WORDS]
PREREQUISITE_HEADING = re.compile(
    r"prerequisite|pre-requisite|requirements|before you (?:begin|start)|you will need|access needed", re.IGNORECASE)

_CONDITION = re.compile(r"^(?:if|in case(?: of| that)?|in the case (?:when|that|of)|when(?:ever)?|only if)\s+(.+)",
                        re.IGNORECASE | re.DOTALL)
_ALERT_FIRES = re.compile(r"\b(?:this|the) alert (?:fires|is firing|is triggered|triggers|is raised)\b", re.IGNORECASE)
_CLAUSE_GOES_ON = re.compile(r"(?:but|and|or|and/or|which|that|because|as|while)\b", re.IGNORECASE)
_ROLLBACK = re.compile(
    r"\b(?:revert(?:s|ed|ing)?|undo(?:ne|ing)?|roll(?:s|ed|ing)?[ -]?back|rollback"
    r"|to restore|restore (?:the )?(?:previous|original|old|default|backup|prior|former))\b", re.IGNORECASE)
_OUTPUT_INTRO = re.compile(
    r"\b(?:example|sample|expected) output\b|\boutput\b[^.]{0,40}\b(?:should|will|looks?|is similar|similar to|like)\b"
    r"|\boutput\s*:?\s*$|\bsimilar to the following\b|\byou (?:should|will|might|may) see\b"
    r"|\blooks? like (?:this|the following)\b|\b(?:returns|shows|prints|displays)(?: something)?(?: like| similar to)?"
    r"(?: the following)?\s*:\s*$", re.IGNORECASE)
_EXAMPLE_INTRO = re.compile(r"\bexample\b|\bfor instance\b|\be\.g\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z`*(\[\"'])")
_LEADS = (
    re.compile(r"^(?:first|then|next|now|finally|also|alternatively|additionally|afterwards|otherwise),?\s+", re.IGNORECASE),
    re.compile(r"^(?:you|we|one) (?:can|could|should|may|might|must|need to|have to|will need to|want to)"
               r"(?: also| then| first)?\s+", re.IGNORECASE),
    re.compile(r"^(?:please|simply|just)\s+", re.IGNORECASE),
    re.compile(r"^(?:run|use|execute|issue|type|enter|try)(?: the| this| these)?(?: following| below| next)?"
               r"(?: command| commands| query| queries| script| snippet)?(?: below)?\s*(?:to|in order to)\s+", re.IGNORECASE),
    re.compile(r"^(?:with|using) (?:the )?(?:following|this|these|below) (?:command|commands|query)s?,?\s+", re.IGNORECASE),
)
_TRAILING_CONNECTORS = re.compile(
    r"(?:\s*[,:;(\-–—]|\s+(?:via|using|with|by|by running|by executing|running|run|execute|executing|through|"
    r"the command|command|commands|e\.g\.|for example|such as|like|as follows|below|the following|following|"
    r"in|on|from|and|or|to))+\s*$", re.IGNORECASE)
_TRAILING_INTRO = re.compile(
    r"(?:\s*[,:;(\-–—]|\s+(?:with|using|via|by running)?\s*(?:the|this)?\s*(?:following|below)"
    r"(?: commands?| query| queries)?|\s+as follows)+\s*$", re.IGNORECASE)
_ACTION = re.compile(
    r"^(?:check|verify|get|list|inspect|review|look|find|identify|confirm|validate|query|run|restart|delete|"
    r"remove|scale|increase|decrease|raise|lower|set|update|edit|patch|apply|create|describe|investigate|examine|"
    r"ensure|make sure|collect|gather|retrieve|fetch|determine|see|show|display|open|connect|log|access|monitor|"
    r"test|compare|count|search|filter|drain|cordon|uncordon|evict|migrate|restore|revert|roll|stop|start|"
    r"enable|disable|export|extract|copy|move|clean|free|expand|resize|add|reduce|wait)\b", re.IGNORECASE)
_PREREQUISITE_PHRASES = (
    (re.compile(r"\blog ?in(?:to)?(?: to)? (?:the|your|an?) (?:\w+ )?cluster\b|\blogged in\b", re.IGNORECASE),
     "logged in to the cluster"),
    (re.compile(r"\bcluster-admin\b", re.IGNORECASE), "cluster-admin permissions"),
    (re.compile(r"\bVPN\b"), "VPN access"),
    (re.compile(r"\bssh (?:access|into|to)\b|\bssh access\b", re.IGNORECASE), "SSH access to the nodes"),
    (re.compile(r"\bkubeconfig\b", re.IGNORECASE), "a kubeconfig for the cluster"),
)
_NEEDS_TOOL = re.compile(
    r"\b(?:you (?:will )?need|requires?|you must have|make sure you have|ensure (?:that )?you have|install)"
    r"(?: the)? `([\w.-]+)`", re.IGNORECASE)


def plain(markdown: str) -> str:
    """Inline Markdown as plain text: code without backticks, links as their text, no emphasis or HTML.

    Code spans are kept verbatim: `<pod-name>` in code is a placeholder, not an HTML tag.
    """
    parts = re.split(r"(`+[^`]*`+)", markdown)
    out = []
    for n, part in enumerate(parts):
        if n % 2:
            out.append(part.strip("`"))
            continue
        text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", part)
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]", lambda m: m.group(1) or m.group(2) or "", text)
        text = re.sub(r"</?[A-Za-z][^>]*>", "", text)
        out.append(re.sub(r"(\*\*|__)(.+?)\1|(?<!\w)([*_])(?!\s)(.+?)(?<!\s)\3(?!\w)",
                          lambda m: m.group(2) or m.group(4), text))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def markdown_sentences(markdown: str) -> list[str]:
    """Split Markdown into sentences, never inside a code span (`state : Working` is one span)."""
    spans: list[str] = []

    def hide(m: re.Match[str]) -> str:
        spans.append(m.group(0))
        return f"\x00{len(spans) - 1}\x00"

    hidden = re.sub(r"(`+)(?:(?!\1).)+?\1", hide, markdown.strip(), flags=re.DOTALL)
    found = [s.strip() for s in _SENTENCE_END.split(hidden) if s.strip()]
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], s) for s in found]


def sentences(markdown: str) -> list[str]:
    """A paragraph's sentences as plain text (a closing ':' kept: it marks an introduction)."""
    return [plain(s) for s in markdown_sentences(markdown)]


def heading_text(heading: str) -> str:
    """A heading without its numbering: "1. Check the logs" -> "Check the logs"."""
    return re.sub(r"^\s*(?:(?:step\s*)?\d+[.):]\s*|[a-z][.)]\s+)", "", plain(heading), flags=re.IGNORECASE)


def heading_kind(heading: str) -> str | None:
    """skip | other | verification | mitigation | diagnosis for a heading, None if it says nothing.

    A heading that is a condition ("If the diagnosis shows 401 errors") says when, not what: None.
    """
    text = heading_text(heading)
    if split_condition(text)[0]:
        return None
    hits = [(m.start(), kind) for kind, pattern in _SECTION_RE if (m := pattern.search(text))]
    return min(hits)[1] if hits else None


def split_condition(sentence: str) -> tuple[str | None, str]:
    """"If the pod is OOMKilled, raise the limit" -> ("the pod is OOMKilled", "raise the limit").

    The condition ends at the first comma, unless the next clause carries it on ("..., but ...").
    "When this alert fires" is no condition: every step of the runbook assumes it.
    """
    m = _CONDITION.match(sentence.strip())
    if not m:
        return None, sentence
    parts = _top_level_commas(m.group(1))
    taken = 1
    while taken < len(parts) and _CLAUSE_GOES_ON.match(parts[taken]):
        taken += 1
    condition = ", ".join(parts[:taken]).strip().rstrip(".:;")
    rest = ", ".join(parts[taken:]).strip()
    if _ALERT_FIRES.search(condition) or not condition:
        return None, rest or sentence
    return condition, rest


def _top_level_commas(text: str) -> list[str]:
    """Split at commas outside parentheses: "(`CrashLoopBackOff`, `Error`)" stays one part."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == "," and depth <= 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


def _tidy(text: str, max_len: int = 90, around_code: bool = False) -> str:
    """A sentence as a step title: no "Run the following command to", no trailing ':'; for a sentence
    whose command was cut out (`around_code`), no dangling "via", "using", "by running" either."""
    for lead in _LEADS:
        text = lead.sub("", text)
    m = re.match(r"^to ([^,]{3,}),\s*(.+)$", text, re.IGNORECASE)  # "To find X, run:" -> "find X"
    text = m.group(1) if m else re.sub(r"^to\s+(?=\w)", "", text, flags=re.IGNORECASE)
    text = re.sub(r",?\s+(?:or|and|then)\s+(?:just\s+)?(?:run|use|execute)\b.*$", "", text, flags=re.IGNORECASE)
    text = text.rstrip(" .:;!")
    text = _TRAILING_CONNECTORS.sub("", text) if around_code else _TRAILING_INTRO.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^(?:and|or|then|so)\s+", "", text, flags=re.IGNORECASE)
    if len(text) > max_len:
        text = text[:max_len].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text[:1].upper() + text[1:]


def _is_action(sentence: str) -> bool:
    return bool(_ACTION.match(_strip_leads(split_condition(sentence)[1] or sentence)))


def title_for_block(paragraph: str | None, comments: list[str], heading: str = "") -> tuple[str, str | None]:
    """Title and condition for a code block, from the paragraph that introduces it.

    The sentence that ends with ':' introduces the block; otherwise the first that says what to do
    (check, verify, restart...); otherwise a heading that does; otherwise the first sentence.
    "Run the following command to get X:" -> "Get X".
    """
    said = sentences(paragraph) if paragraph else []
    condition = next((c for s in said if (c := split_condition(s)[0])), None)
    chosen = next((s for s in reversed(said) if s.endswith(":")), None)
    if chosen is None:
        chosen = next((s for s in said if _is_action(s) and not is_prerequisite_sentence(s)), None)
    if chosen is None and heading and _is_action(heading):
        chosen = heading
    if chosen is None:  # nothing says what to do: the caller falls back to the command itself
        chosen = said[0] if said else (comments[0] if comments else "")
    rest = split_condition(chosen)[1]
    if not rest and chosen is not heading and heading and _is_action(heading):  # "If it persists:" says when
        return _tidy(heading), condition
    return _tidy(rest or chosen), condition


def _strip_leads(text: str) -> str:
    for lead in _LEADS:
        text = lead.sub("", text)
    return text


def title_for_inline(sentence: str, code: str) -> tuple[str, str | None]:
    """Title and condition for an inline command: the clause that leads to the command, without the
    words that point at it ("Check pod events via `kubectl ...`" -> "Check pod events"), or the clause
    after it when nothing leads ("Use `oc get pods` to list the pods" -> "List the pods")."""
    before, _, after = sentence.partition(f"`{code}`") if f"`{code}`" in sentence else sentence.partition(code)
    condition, lead = split_condition(plain(before))
    text = lead if len(lead.split()) >= 2 else plain(after)
    title = _tidy(text, around_code=True)
    return ("" if len(title.split()) < 2 else title), condition  # "Run", "Check": the command says more


def sentence_with(paragraph: str, code: str) -> str:
    """The sentence of a paragraph (still Markdown) that holds the code span."""
    found = [s for s in markdown_sentences(paragraph) if code in s]
    return found[0] if found else paragraph


def is_output_intro(paragraph: str | None) -> bool:
    """Does the paragraph's last sentence announce output ("Example output:"), not a command?"""
    said = sentences(paragraph) if paragraph else []
    return bool(said) and bool(_OUTPUT_INTRO.search(said[-1]))


def is_example_intro(paragraph: str | None) -> bool:
    """Does the paragraph present what follows as an example ("Here is an example. We have...")?"""
    return bool(paragraph) and bool(_EXAMPLE_INTRO.search(plain(paragraph or "")))


def rollback_sentences(paragraph: str) -> list[str]:
    """Sentences (Markdown) that say how to undo something: "To revert, run `...`"."""
    return [s for s in markdown_sentences(paragraph) if _ROLLBACK.search(s)]


def is_prerequisite_sentence(sentence: str) -> bool:
    return any(pattern.search(sentence) for pattern, _ in _PREREQUISITE_PHRASES)


def prerequisites_in(text: str) -> list[str]:
    """Access and tools a paragraph says the reader needs ("Login to the cluster", "you need `jq`")."""
    found = [label for pattern, label in _PREREQUISITE_PHRASES if pattern.search(text)]
    return found + [f"tool: {m.group(1)}" for m in _NEEDS_TOOL.finditer(text)]


def short(text: str, max_len: int = 120) -> str:
    text = plain(text)
    return text if len(text) <= max_len else text[:max_len].rsplit(" ", 1)[0] + "…"
