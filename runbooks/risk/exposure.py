"""More whole-command rules (applied after security.py's, by rulebook.py): access opened to anyone,
durability switched off, actions on every resource a listing returns, several backends out at once,
and reads that show secret material or scan a whole table.

Each names what an engineer would recognise; the reason quotes the part of the command that matched.
"""

from __future__ import annotations

from runbooks.risk.base import R, Y
from runbooks.risk.rulebook import WORLD, SecurityRule, rule

CLOUD = r"(?:az|aws|gcloud|doctl|hcloud|oci|linode-cli|scw)"
RULES: tuple[SecurityRule, ...] = (
    rule("anonymous-access", R, r"(?:--user|--group|--serviceaccount)[= ]+[\"']?system:(?:anonymous|unauthenticated)\b|"
         r"\bname:\s*[\"']?system:(?:anonymous|unauthenticated)\b|\"name\"\s*:\s*\"system:(?:anonymous|unauthenticated)\"",
         "gives access to anyone, unauthenticated"),
    rule("admin-grant", R, r"\bto\s+manage\s+all-resources\b|\bAllow\s+any-user\s+to\s+(?:manage|use)\b",
         "grants administrator access"),
    rule("open-to-world", R, rf"(?:SourceRanges|allowedCidrs|allowed_cidrs|source-range|ipAllowList|sourceRanges|"
         rf"allowlist|whitelist)[\w.-]*[\"']?\s*(?:=|:\s+|:\s*\[)[\s\[{{\"'-]{{0,6}}{WORLD}|\bstats\s+socket\s+(?:ipv[46]@)?(?:0\.0\.0\.0|\*|::)[:\s]",
         "opens it to the whole internet"),
    rule("auth-weakened", R, r"\bauto_accept:\s*True\b|/(?:md5|scram-sha-256|peer|password|ident)\$?/trust/|"
         r"\bhost\w*\s+all\s+all\s+\S+\s+trust\b",
         "weakens authentication"),
    rule("security-off", R, r"(?:ssl|tls)[-_.]?verify\w*\s+off\b", "switches a security control off"),
    rule("versioning-off", R, r"\bversioning\b[^\n]*(?:Status=Suspended|\"Status\"\s*:\s*\"Suspended\")|"
         r"\bversioning\s+set\s+off\b|--(?:no-)?enable-versioning[= ]+false\b|--no-enable-versioning\b",
         "switches off object versioning (overwritten or deleted objects can no longer be recovered)"),
    rule("every-listed-resource", R, rf"\b{CLOUD}\b[^\n$]*\b(?:stop|deallocate|terminate[\w-]*|delete[\w-]*|shutdown|"
         rf"power-?off|restart|reboot)\b[^\n]*\$\(\s*{CLOUD}\b[^)]*\b(?:list|describe-instances|ls)\b",
         "acts on every resource a listing returns"),
    rule("app-data-wiped", R, r"/(?:db|database|data|datastore|storage)/(?:reset|wipe|clear|truncate|drop|purge|flush)\b",
         "resets or wipes a database through an application's API"),
    rule("traffic-cut", R, r"(?:(?:\bdisable\s+server\b|\bstate\s+(?:maint|drain)\b)[^\n]*?){3,}",
         "takes three or more servers out of rotation at once"),
    rule("secret-read", Y, r"\bhelm\s+get\s+(?:values\b[^\n|;&]*\s(?:--all|-a)\b|all\b)",
         "shows secret material on the screen (computed values and manifests include secrets)"),
    rule("blocking-read", Y, r"\bALLOW\s+FILTERING\b", "can block or load a production server (a full scan)"),
)
