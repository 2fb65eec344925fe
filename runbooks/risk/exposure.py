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
    # -- who may do what: access for anyone, administrator or wholesale grants, weaker authentication ---------
    rule("admin-grant", R, r"--clusterrole[= ]+[\"']?admin\b|"
         r"\bcreate\s+token\b[^\n|;&]*--duration[= ]+(?:\d{4,}h|[7-9]\d{2}h|\d{2,}d)\b",
         "grants administrator access or a token valid for a month or more"),
    rule("auth-weakened", R, r"--new-password[= ]+[\"']?(?:admin|password|changeme|guest|123456)\b|"
         r"\bauthentication_string\s*=\s*''", "sets an empty or well-known password"),
    rule("anonymous-access", R, r"(?:--user|--group|--serviceaccount)[= ]+[\"']?system:(?:anonymous|unauthenticated)\b|"
         r"\bname:\s*[\"']?system:(?:anonymous|unauthenticated)\b|"
         r"\"name\"\s*:\s*\"system:(?:anonymous|unauthenticated)\"",
         "gives access to anyone, unauthenticated"),
    rule("admin-grant", R, r"\bto\s+manage\s+all-resources\b|\bAllow\s+any-user\s+to\s+(?:manage|use)\b|"
         r"[\"']Name[\"']\s*:\s*[\"']global-management[\"']|--caps=[\"']?[^\s\"']*=\s*\*|"
         r"\bopenstack\s+role\s+add\b[^\n|;&]*\s[\"']?admin[\"']?(?:\s|$)|"
         r"\bipmitool\b[^\n|;&]*\buser\s+priv\s+\d+\s+4\b", "grants administrator access"),
    rule("admin-grant", R, r"\bset-iam-policy\b|default_repository_permission=admin\b|path\s*\\*[\"']\*\\*[\"']\s*\{",
         "grants or replaces access wholesale"),
    rule("credentials-set", R, r"\bset\s+iDRAC\.Users\.\d+\.Password\b|\buser\s+set\s+password\b",
         "sets a BMC account's password (who can power the server off)"),
    rule("auth-weakened", R, r"faillock[^\n]*\bdeny\s*=\s*0\b|\bdeny\s*=\s*0\b[^\n]*faillock|\blan\s+set\s+\d+\s+auth\s+\w+\s+NONE\b|\bssl_verify_client\s+(?:off|optional_no_ca)\b|"
         r"\bauto_accept:\s*True\b|/(?:md5|scram-sha-256|peer|password|ident)\$?/trust/|"
         r"\bhost\w*\s+all\s+all\s+\S+\s+trust\b",
         "weakens authentication"),
    rule("private-key-readable", R, r"\bchmod\s+(?:-\w+\s+)*(?:[0-7]?[0-7][0-7][4-7]|[ao]\+r|go\+r)\s+\S*"
         r"(?:/private/|\.key\b|id_rsa|id_ecdsa|id_ed25519)", "makes a private key readable by everyone"),
    rule("review-bypassed", R, r"can_approve_pull_request_reviews=true\b", "lets workflows approve their own changes"),
    rule("review-bypassed", R, r"\benforce_admins=false\b|\brequired_pull_request_reviews=null\b|"
         r"-X\s*DELETE\b[^\n|;&]*/branches/[^\s/]+/protection\b|/branches/[^\s/]+/protection\b[^\n|;&]*-X\s*DELETE\b",
         "weakens branch protection (changes land without review)"),
    # -- reachable by anyone ----------------------------------------------------------------------------------
    rule("open-to-world", R, rf"(?:SourceRanges|allowedCidrs|allowed_cidrs|source-range|ipAllowList|sourceRanges|"
         rf"allowlist|whitelist)[\w.-]*[\"']?\s*(?:=|:\s+|:\s*\[)[\s\[{{\"'-]{{0,6}}{WORLD}|"
         r"\bstats\s+socket\s+(?:ipv[46]@)?(?:0\.0\.0\.0|\*|::)[:\s]",
         "opens it to the whole internet"),
    rule("open-to-world", R, r"\ballow\s+replace-all-with\s*\{\s*ALL\s*\}|\ballow-(?:recursion|query|transfer|update)\s*\{\s*any\s*;|\bhttp_access\s+allow\s+all\b",
         "opens it to anyone"),
    rule("open-to-world", R, r"\b(?:whitelist|allowlist)-source-range-(?:\s|$)|\bs3\s+presign\b[^\n]*backup|"
         r"\bpresign\b[^\n]*--expires-in[= ]+\d{6,}\b", "opens it to anyone (an allow list removed, a long-lived link)"),
    rule("security-off", R, r"[\"']op[\"']\s*:\s*[\"']remove[\"']\s*,\s*[\"']path[\"']\s*:\s*[\"']/spec/tls\b|"
         r"\bsed\b[^\n]*@@[\w.-]+:\d+[^\n]*/#", "switches a security control off (TLS removed, logs no longer forwarded)"),
    rule("allow-all", R, r"[\"']?(?:ingress|egress)[\"']?\s*:\s*\[\s*\{\s*\}\s*\]",
         "allows all traffic (a network policy rule that matches everything)"),
    rule("public-data", R, r"\bvisibility=public\b", "makes it public"),
    # -- protections switched off -----------------------------------------------------------------------------
    rule("security-off", R, r"\b(?:kptr_restrict|dmesg_restrict|unprivileged_bpf_disabled)\s*=\s*0\b|"
         r"(?:ssl|tls)[-_.]?verify\w*\s+off\b", "switches a security control off"),
    rule("guard-off", R, r"\borganizations\s+(?:detach-policy|delete-policy|disable-policy-type)\b|"
         r"--action\s+ARCHIVE\b|\bdisassociate-web-acl\b|\bistio-injection-(?:\s|$)|istio-injection=disabled\b|"
         r"\bunclean\.leader\.election\.enable\s*=\s*true\b|number_of_replicas[\"']?\s*:\s*0\b|"
         r"\bALTER\s+KEYSPACE\b[^\n]*[\"']\w+[\"']\s*:\s*1\s*\}", "switches off a guard against data loss or attack"),
    rule("guard-off", R, r"\bmon_allow_pool_delete\s+true\b|no-quorum-policy=ignore\b|\bquorum\s+unblock\b|"
         r"\bstonith-enabled=false\b", "switches off a guard against data loss or split brain"),
    rule("secrets-sealed", R, r"/v1/sys/seal\b|\bvault\s+operator\s+seal\b",
         "seals Vault (every client loses its secrets until it is unsealed)"),
    # -- data lost: expired, overwritten, unrecoverable -------------------------------------------------------
    rule("data-expired", R, r"retention\.ms[\"']?\s*[:=]\s*[\"']?\d{1,7}\b|--retention-days[= ]+[1-6]\b(?!\d)|"
         r"--election-type[= ]+unclean\b|\bMODIFY\s+TTL\b|\bexpireAfterSeconds\b|"
         r"\bALTER\s+TABLE\b[^\n]*\bDELETE\s+WHERE\b[^\n]*<=?\s*(?:today|now)\(|\.updateMany\(\s*\{\s*\}",
         "deletes or rewrites data wholesale (a short retention, a TTL, every row or document)"),
    rule("durability-off", R, r"\barchive_command\s*=\s*[\"']?(?:/bin/true|true|:)?[\"']?\s*(?:;|$|\"|')|\barchive_mode\s*=\s*'?off\b|"
         r"--expire-days[= ]+[0-7]\b|--expire-days[= ]+\d+[^\n]*backup|backup[^\n]*--expire-days\b",
         "switches archiving off or expires data or backups within days"),
    rule("versioning-off", R, r"\bversioning\b[^\n]*(?:Status=Suspended|\"Status\"\s*:\s*\"Suspended\")|"
         r"\bversioning\s+set\s+off\b|--(?:no-)?enable-versioning[= ]+false\b|--no-enable-versioning\b",
         "switches off object versioning (overwritten or deleted objects can no longer be recovered)"),
    rule("restore-over-live", R, r"\bbarman\s+recover\b|\bzfs\s+(?:recv|receive)\b[^\n|;&]*\s-\w*F|\blvconvert\s+--merge\b|"
         r"--discard-my-data\b|\brs\.reconfig\([^)]*force\s*:\s*true|\btmsh\s+load\s+sys\s+config\s+default\b|"
         r"\bcrm\s+configure\s+erase\b", "overwrites live data or configuration (what was there is lost)"),
    rule("evidence-cleared", R, r"\bclrsel\b|\bsel\s+clear\b|\bqemu-img\s+snapshot\s+-d\b",
         "deletes a snapshot or clears the hardware event log (irreversible)"),
    rule("app-data-wiped", R, r"/(?:db|database|data|datastore|storage)/(?:reset|wipe|clear|truncate|drop|purge|flush)\b",
         "resets or wipes a database through an application's API"),
    rule("dns-delete", R, r"\bAction\b[\"']?\s*:\s*[\"']DELETE[\"']", "deletes DNS records"),
    # -- blast radius: everything at once ---------------------------------------------------------------------
    rule("every-listed-resource", R, r"\bfor\s+\w+\s+in\s+\$\([^)]*\)\s*;?\s*do\b.{0,300}?(?:\b(?:stop|delete|destroy|rm|kill|"
         r"terminate|drop|purge|remove|uninstall|approve)\b|[\s\"']:refs/)|"
         r"\|\s*xargs\b[^\n|;&]*\b(?:delete|drain|cordon|approve|terminate|purge|destroy)\b|"
         r"\b(?:cordon|drain|approve|delete)\s+\$\(\s*(?:kubectl|oc)\s+get\b|"
         r"\bfor\s+\w+\s+in\s+\$\(\s*(?:kubectl|oc)\s+get\s+(?:nodes?|no)\b.{0,200}?\b(?:cordon|drain)\b",
         "acts on every item a listing returns"),
    rule("every-listed-resource", R, rf"\b{CLOUD}\b[^\n$]*\b(?:stop|deallocate|terminate[\w-]*|delete[\w-]*|shutdown|"
         rf"power-?off|restart|reboot|revoke[\w-]*)\b[^\n]*\$\(\s*{CLOUD}\b[^)]*\b(?:list|describe-[\w-]+|ls)\b",
         "acts on every resource a listing returns"),
    rule("scale-to-zero", R, r"[\"'](?:numberOfInstances|replicas|instances)[\"']\s*:\s*0\b|\bresize\b[^\n|;&]*--size[= ]+0\b",
         "scales it to zero"),
    rule("traffic-cut", R, r"(?:(?:\bdisable\s+server\b|\bstate\s+(?:maint|drain)\b)[^\n]*?){3,}",
         "takes three or more servers out of rotation at once"),
    rule("kill-all-sessions", R, r"\bKILL\s+QUERY\s+WHERE\s+(?:1|true|1\s*=\s*1)\b", "ends every query at once"),
    rule("auto-approved-apply", R, r"\bcdktf\s+(?:deploy|destroy)\b[^\n|;&]*--auto-approve\b",
         "applies infrastructure changes without a review"),
    # -- yellow: secret material shown, production scanned ----------------------------------------------------
    rule("secret-read", Y, r"\bhelm\b[^\n|;&]*\sget\s+(?:values\b[^\n|;&]*\s(?:--all|-a)\b|all\b)|"
         r"\bterraform\s+state\s+pull\b|\b(?:cat|less|more|head|tail)\s+[^\n|;&]*/secrets?/[^\s|;&]+|169\.254\.169\.254/\S*security-credentials|"
         r"metadata\.google\.internal/\S*/token\b|/metadata/identity/oauth2/token\b|\bget\b[^\n|;&]*\.\w*Community\b|"
         r"\b(?:cat|less|more|head|tail|strings|xargs)\b[^\n]*?/proc/[^\n]{0,60}?/environ\b|"
         r"\b(?:grep|egrep|rg)\b(?:\s+-\w+)*\s+[\"']?[\w.-]*(?<!no)(?:pass(?:word|wd)?|secret|token|jaas|cipher|api_?key|credential)"
         r"[\w.-]*[\"']?\s+/\S+",
         "shows secret material on the screen (values, state and config lines include secrets)"),
    rule("blocking-read", Y, r"\bALLOW\s+FILTERING\b|\betcdctl\s+get\s+[\"']?/(?:registry)?/?[\"']?\s+--prefix\b|"
         r"\bs3\s+ls\s+s3://[\w.-]+/?\s[^\n|;&]*--recursive\b|--num-results[= ]+[\"']?\*|\bcheck\b[^\n|;&]*--read-data\b|"
         r"\bradosgw-admin\s+bucket\s+list\s+--bucket\b|"
         r"\bFROM\s+(?!pg_|information_schema|sys\.|system\.|performance_schema)[\w.\"]+\s+WHERE\b[^\n;]*\bILIKE\s+'%",
         "can block or load a production server (a full scan)"),
)
