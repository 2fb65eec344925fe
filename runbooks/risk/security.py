"""Rules over a whole command for what the per-command tables cannot see: changes that weaken
security (a reversible-looking `aws iam attach-user-policy` that grants AdministratorAccess, a
firewall rule open to 0.0.0.0/0, `setenforce 0`), of a blast radius wider than one thing (a
silence of every alert, killing every database session), and reads that expose secret material
or can block production. exposure.py holds more of them; rulebook.py applies them.

Patterns are matched case-insensitively on the command text (SQL and here-documents included), so a
rule is written as the words an engineer would recognise.
"""

from __future__ import annotations

from runbooks.risk.base import R, Y
from runbooks.risk.rulebook import WORLD, SecurityRule, rule as _rule

RULES: tuple[SecurityRule, ...] = (
    # -- who may do what: administrator grants ----------------------------------------------------
    _rule("admin-grant", R, r"policy/AdministratorAccess\b|\bclusterrole[= ]+cluster-admin\b|"
          r"--role[= ]+[\"']?roles/(?:owner|editor|iam\.\w*admin|resourcemanager\.\w*admin)\b|"
          r"--role[= ]+[\"']?(?:Owner|Contributor|User Access Administrator)[\"']?(?:\s|$)|"
          r"\"Action\"\s*:\s*(?:\[\s*)?\"\*\"|\bname:\s*cluster-admin\b|"
          r"\bpath\s+\"\*\"\s*\{[^}]*\b(?:create|update|delete|sudo)\b|"
          r"\"Principal\"\s*:\s*(?:\{\s*\"AWS\"\s*:\s*)?\"\*\"|-policy[= ]+root\b|\bpolicies=[\w,]*\b(?:root|admin)\b|"
          r"\busermod\b[^\n|;&]*\s-u\s*0\b|\bchmod\s+(?:-\w+\s+)*(?:u\+s|[0-7]?[4-7][0-7]{3})\s+/\S+|"
          r"\bconsoleAdmin\b|\bpermission=admin\b|\bintention\s+create\s+-allow\s+[\"']?\*[\"']?\s+[\"']?\*|/scriptText\b|\brole=(?:admin|owner)\b|\bis_superuser\s*=\s*True\b|"
          r"\bSET\s+\w*(?:is_admin|is_superuser|superuser|is_staff)\s*=\s*(?:true|1)\b|"
          r"\badd-destination\b[^\n|;&]*[\"']\*[\"']\s+[\"']\*[\"']|-policy-name[= ]+global-management\b|\"roles\"\s*:\s*\[[^\]]*\"(?:superuser|all_access)\"|"
          r"--group-name[= ]+[\"']?\w*admin\w*|\bset_user_tags\s+\S+\s+[^\n]*\badministrator\b|"
          r"\bset_permissions\b[^\n]*(?:[\"']\.\*[\"']\s+){2}[\"']\.\*[\"']|--allow-principal[= ]+[\"']?User:\*|"
          r"\"(?:apiGroups|resources|verbs)\"\s*:\s*\[\s*\"\*\"|"
          r"\bGRANT\b[^;\n]*\bTO\s+PUBLIC\b|\bGRANT\s+(?:ALL|SUPER)\b[^;\n]*\bON\s+\*\.\*|\bWITH\s+GRANT\s+OPTION\b|"
          r"\b(?:ALTER|CREATE)\s+(?:ROLE|USER)\b[^;\n]*\b(?:SUPERUSER|BYPASSRLS)\b|"
          r"\bGRANT\s+(?:rds_superuser|cloudsqlsuperuser|azure_pg_admin|pg_write_all_data|pg_execute_server_program)\b|"
          r"\b(?:mon|osd|mds|mgr)\s+[\"']allow\s+\*[\"']|>>?\s*/root/\.ssh/authorized_keys|tee\s+-a\s+/root/\.ssh/authorized_keys",
          "grants administrator rights"),
    _rule("admin-group", R, r"\b(?:usermod|gpasswd|adduser)\b(?![^\n|;&]*\s(?:-d|--delete)\s)[^\n|;&]*\b(?:wheel|sudo|root|admin|docker)\b|"
          r"\bgroups?=[\"']?[\w,]*\b(?:wheel|sudo|admins?|root|docker)\b|\badd-user\b[^\n|;&]*\bAdministrators?\b|"
          r"\bcn=\w*admins?\b[^|]*\badd:\s*member\b|\bldapmodify\b[^\n|;&]*-f\s+\S*admin\S*\.ldif\b|\bgroup\s+add-member\b[^\n|;&]*\badmins?\b",
          "adds a user to an administrators' group"),
    _rule("sudoers-nopasswd", R, r"NOPASSWD", "lets a user run anything as root without a password"),
    _rule("root-access-key", R, r"\bcreate-access-key\b(?![^\n]*--user-name)", "creates a long-lived key for the root account"),
    # -- reachable from the whole internet --------------------------------------------------------
    _rule("open-to-world", R, rf"(?:--cidr|--cidr-ip|--source-ranges|--authorized-networks|--source-address-prefix(?:es)?|"
          rf"--ip-address|CidrIp|--remote-ip-prefix|--source-ips?|--allowed-ips|from)[= ]+[\"']?[^\s\"']*{WORLD}|"
          rf"(?:authorize-security-group-ingress|firewall-rules\s+(?:create|update)|nsg\s+rule\s+(?:create|update)|"
          rf"security-rules?\s+(?:create|update))[^\n]*{WORLD}|"
          rf"\b(?:add|create|allow|authorize|insert|append)[\w-]*\b(?![^\n|;&]*\b(?:route|via|gw)\b)[^\n|;&]*{WORLD}|"
          r"--set-default-zone[= ]+trusted\b|source-ranges?[= ]+[\"']?[^\s\"']*(?:0\.0\.0\.0/0|::/0)|"
          r"\bNetworkPolicy\b.*\bingress:\s*-\s*\{\s*\}|"
          r"--source-address-prefix(?:es)?[= ]+[\"']?(?:\*|Internet|Any)\b|"
          r"--start-ip-address[= ]+0\.0\.0\.0\b[^\n]*--end-ip-address[= ]+255\.255\.255\.255|"
          r"--publicly-accessible\b|--no-enable-master-authorized-networks\b|"
          r"--api-server-authorized-ip-ranges[= ]+(?:\"\"|''|0\.0\.0\.0/0)|"
          r"\s-s\s+(?:0\.0\.0\.0/0|::/0)\b[^\n|;&]*-j\s+ACCEPT|\bufw\s+default\s+allow\s+incoming\b|"
          r"\bnft\b[^\n|;&]*\badd\s+rule\b(?![^\n|;&]*\bsaddr\b)[^\n|;&]*\bdport\s+\d+[^\n|;&]*\baccept\b",
          "opens access to the whole internet (0.0.0.0/0)"),
    _rule("public-data", R, r"\ballUsers\b|\ballAuthenticatedUsers\b|--acl[= ]+public-read|--visibility[= ]+public\b|"
          r"--launch-permission[^\n]*\bGroup=all\b|--(?:bind|ip|listen\S*)[= ]+[\"']?(?:https?://)?0\.0\.0\.0\b[^\n]*"
          r"(?:--directory[= ]+/(?:\s|$)|token=(?:''|\"\")|--allow-root)|--listen-client-urls[= ]+http://0\.0\.0\.0|"
          r"--allow-blob-public-access[= ]+true|--public-access[= ]+(?:blob|container)|"
          r"block-public-access[^\n]*false|PublicAccessBlock[^\n]*false",
          "makes data or a service public"),
    _rule("firewall-open-port", R, r"\b(?:ip6?tables)\b[^\n|;&]*\s-[IA]\s+INPUT\b(?![^\n|;&]*\s(?:-s|--source|--src-range)\s)"
          r"[^\n|;&]*-j\s+ACCEPT|\bufw\s+allow\s+(?!from\b)(?:in\s+)?(?:proto\s+\w+\s+)?(?:port\s+)?\d|"
          r"\bfirewall-cmd\b[^\n|;&]*--zone[= ]+public\b[^\n|;&]*--add-(?:port|service)\b",
          "opens a port to every source"),
    _rule("host-escape", R, r"--privileged\b[^\n|;&]*(?:-v\s+/:/|--pid[= ]host)|(?:-v\s+/:/|--pid[= ]host)[^\n|;&]*--privileged\b|"
          r"privileged[\"']?\s*[:=]\s*true|\"host(?:PID|Network|IPC)\"\s*:\s*true|hostPath[^\n]*\"path\"\s*:\s*\"/\"|"
          r"pod-security\.kubernetes\.io/enforce=privileged|--cap-add[= ]+(?:ALL|SYS_ADMIN)\b",
          "runs a privileged container with the host's root or processes (root on the host)"),
    _rule("world-writable", R, r"\b(?:chmod\s+(?:-R\s+)?|install\s+[^\n|;&]*-m\s*)0?[0-7][0-7][2367]\s+[^\n|;&]*/(?:etc|var|usr|root|opt|srv|home|boot)\b|"
          r"\bchmod\s+(?:-R\s+)?(?:a|o)\+w\s+[^\n|;&]*/(?:etc|var|usr|root|opt|srv)\b|\bsetfacl\b[^\n]*\bo::rwx\b",
          "makes system or data files writable by every user"),
    _rule("unauthenticated-daemon", R, r"-H\s+tcp://0\.0\.0\.0:2375|-p\s+2375:2375|"
          r"-v\s+/var/run/docker\.sock:/var/run/docker\.sock|\bchmod\s+[0-7]*[67]{2}\s+/var/run/docker\.sock",
          "exposes the Docker daemon (root on the host) without authentication"),
    _rule("expose-service", R, r"\"type\"\s*:\s*\"LoadBalancer\"|--type[= ]+LoadBalancer|\btype:\s*LoadBalancer\b",
          "exposes a service outside the cluster"),
    # -- security controls switched off --------------------------------------------------------------
    _rule("security-off", R, r"\bsetenforce\s+(?:0|Permissive)\b|SELINUX=(?:disabled|permissive)|\baa-teardown\b|"
          r"\bufw\s+disable\b|\b(?:ip6?tables)\s+(?:-F|--flush)\b|\biptables\s+-P\s+INPUT\s+ACCEPT\b|"
          r"\bsystemctl\s+(?:stop|disable|mask)\b[^\n|;&]*\b(?:firewalld|ufw|apparmor|auditd|selinux|falco|"
          r"fail2ban|crowdstrike|falcon-sensor|osqueryd|wazuh-agent|systemd-journald)\b|"
          r"\bauditctl\s+-e\s*0\b|\bcloudtrail\s+(?:stop-logging|delete-trail)\b|"
          r"\bdisable-ebs-encryption-by-default\b|--http-tokens[= ]+optional\b|"
          r"\bguardduty\s+(?:delete-detector|disassociate)|\bsecurityhub\s+disable|"
          r"\bconfig(?:service)?\s+(?:stop-configuration-recorder|delete-configuration-recorder)\b|"
          r"--no-enable-(?:shielded|network-policy)|--enable-legacy-authorization|"
          r"--mfa-configuration[= ]+OFF\b|enable-oslogin=FALSE\b|dnssec[\w-]*\s*(?:disable|off)|disable-[\w-]*dnssec\b|"
          r"\baa-(?:complain|disable)\b|\bselinux=0\b|\bauditctl\s+-D\b|\bselinux\w*\s*[=:]\s*[\"']?(?:disabled|permissive)\b|"
          r"\bNODE_TLS_REJECT_UNAUTHORIZED\s*=\s*[\"']?0|\bPYTHONHTTPSVERIFY\s*=\s*[\"']?0|\bGIT_SSL_NO_VERIFY\s*=\s*[\"']?(?:1|true)|"
          r"\b(?:CURL_CA_BUNDLE|REQUESTS_CA_BUNDLE)\s*=\s*(?:\"\"|''|\s|$)|\bsslVerify\s+false\b|"
          r"destructive_requires_name[\"']?\s*:\s*false|policy\.sigstore\.dev/include=false|"
          r"\b[A-Z_]*(?:SKIP_VERIFY|NO_VERIFY|SKIP_TLS\w*|TLS_INSECURE|INSECURE_SKIP\w*)\s*=\s*[\"']?(?:1|true|yes)\b|"
          r"\b[A-Z_]*(?:HOST_KEY_CHECKING|VERIFY_SSL|SSL_VERIFY|TLS_VERIFY|STRICT_SSL|CONTENT_TRUST)\s*=\s*[\"']?(?:0|false|no|off)\b|"
          r"\bGOSUMDB\s*=\s*[\"']?off\b|\bGOINSECURE\s*=|\bGONOSUMDB\s*=\s*[\"']?\*|\benableStrictSsl\s+false\b|"
          r"(?:\bexport\s+\w+=|\bHost\s+\*)[^|]*StrictHostKeyChecking[= ]+no\b|insecure-registries|"
          r"\bmokutil\s+--disable-validation\b|\bptrace_scope\b[^\n]*(?:=\s*0|<<<\s*0)|\becho\s+0\s*>\s*/proc/sys/kernel/yama/ptrace_scope|"
          r"force_ssl,?\s*ParameterValue=0|\bforce_ssl\s*=\s*0\b|"
          r"\b[A-Z][A-Z0-9_]*(?:VERIFY|SIGNATURE)[A-Z0-9_]*\s*=\s*[\"']?(?:0|false|no|off)\b|"
          r"\bverify_?\w*(?:signature|ssl|tls|cert)\w*[\"']?\s*[:= ]\s*[\"']?(?:false|0)\b|"
          r"\bssl_protocols\b[^;\n]*\bTLSv1(?:\.[01])?(?![.\d])|/lifecycle/deactivate\b|NO_AUTHENTICATION|"
          r"\bsystemctl\s+(?:stop|disable|mask)\b[^\n|;&]*\b(?:nftables|iptables|netfilter-persistent)\b|"
          r"--nogpgcheck\b|gpgcheck\s*=\s*0|--allow-unauthenticated\b|--no-gpg-checks\b|--trusted-host\b|"
          r"--(?:extra-)?index-url[= ]+[\"']?http://|AllowUnauthenticated(?:\s+\"?|=)true|AllowInsecure\w*=true|"
          r"--nosignature\b|--no-check-signature\b|"
          r"(?:ssl|tls)[-_.]?verify\w*[\"']?\s*[:= ]\s*[\"']?(?:false|0|no)\b|\bstrict-ssl\s+false\b|"
          r"insecureSkipTLSVerify[\"']?\s*:\s*true|--insecure-skip-tls-verify\b|https-only[= ]+false\b|"
          r"ALLOW_UNENCRYPTED|\becho\s+[\"']?(?:-k|insecure)[\"']?\s*>>\s*~?/?\S*\.curlrc|"
          r"randomize_va_space\s*=\s*0|/apparmor\.d/disable/|\bapparmor_parser\s+(?-i:-R)\b|"
          r"\b(?:auth|authentication|security|tls|ssl|rbac|authorization|mtls|encryption|audit|networkPolicy|"
          r"podSecurity\w*|alertmanager)[\w.-]*?[._-]enabled[\"']?\s*[:=]\s*[\"']?false\b|"
          r"\brequire_secure_transport\s*=\s*(?:OFF|0)\b|\bssl\s*=\s*'?off\b|\bsslRequired=NONE\b|"
          r"\bssl_verify_client\s+off\b|\bauth_basic\s+off\b|\bverify_peer\s*=\s*false\b|trusted-host\b|"
          r"\bservice\s+(?:firewalld|ufw|apparmor|auditd|fail2ban|falco|osqueryd|wazuh-agent)\s+stop\b|"
          r"\bfail2ban-client\s+stop\b|\betcdctl\b[^\n|;&]*\bauth\s+disable\b|"
          r"\bupdate-crypto-policies\s+--set\s+(?:LEGACY|DEFAULT:SHA1)\b|allow_insecure\w*[= ]+(?:true|1)\b",
          "switches a security control off"),
    # -- authentication weakened ------------------------------------------------------------------
    _rule("auth-weakened", R, r"PasswordAuthentication\s+yes|PermitRootLogin\s+yes|PermitEmptyPasswords\s+yes|"
          r"--anonymous-auth[= ]+true|anonymous-auth:\s*true|authorization-mode[= ]+AlwaysAllow|"
          r"mode:\s*AlwaysAllow|\bdeactivate-mfa-device\b|\bdelete-virtual-mfa-device\b|"
          r"\bpam_[a-z_]+\.so/#|s/\^?auth\b[^/]*/#|"
          r"\bhost\w*\s+all\s+all\s+\S+\s+trust\b|"
          r"protected-mode\s+no\b|requirepass\s+(?:\"\"|''|$)|CONFIG\s+SET\s+(?:dir|dbfilename)\b|"
          r"IDENTIFIED\s+(?:WITH\s+\w+\s+)?BY\s+''|\bPASSWORD\s+(?:''|NULL)\b|\bpassword=(?:guest|admin|password|changeme)\b|"
          r"authorization:\s*(?:enabled/authorization:\s*)?disabled|ANONYMOUS_ENABLED=true|\bpam_permit\.so\b|"
          r"/(?:md5|scram-sha-256|peer|password)/trust/|--auth-mode[= ]+none|\btoken=(?:''|\"\")|"
          r"\bchmod\s+[0-7]*[67]{2}\s+/etc/(?:shadow|sudoers|passwd)\b|"
          r"\bchmod\s+(?:-\w+\s+)*(?:[0-7]?[0-7][0-7][4-7]|o\+r|a\+r)\s+/etc/g?shadow\b|/pam_\w+\.so/d\b|"
          r"\bsed\b[^\n]*#\s?(?:auth_basic|deny\s+all|auth_request|require\s+valid-user)\b|"
          r"\bsed\b[^\n]*/(?:auth_basic|auth_request|deny\s+all|require\s+valid-user)[^/]*/d\b|"
          r"\bsed\b[^\n]*\bdeny\s+all;?/\s*allow\s+all\b|"
          r"--no-verify-ssl|sslmode=disable|insecure-skip-tls-verify[= ]+true|"
          r"(?:minlength|minimum-password-length|passwordPolicy=[\"']?length\()[= (]*[0-7]\b|--maxfail[= ]+0\b|"
          r"\bgh\s+pr\s+merge\b[^\n|;&]*--admin\b|\bsalt-key\b[^\n|;&]*\s(?-i:-A)\b|skip[-_]grant[-_]tables|"
          r"\bvault\s+auth\s+enable\s+userpass\b|(?:TOTP|OTP|mfa|2fa|webauthn)[^\n|;&]*\benabled=false\b",
          "weakens authentication"),
    # -- silences wider than one alert for a while -------------------------------------------------
    _rule("silence-everything", R, r"\bsilence\s+add\b[^\n]*=~\s*[\"']?\.[*+]|"
          r"\bsilence\s+add\b[^\n]*--duration[= ]+[\"']?(?:(?:2[4-9]|[3-9]\d|\d{3,})h|\d+[dwy]\b)|"
          r"/silences\b[^\n]*\"value\"\s*:\s*\"\.[*+]\"|"
          r"/downtime\b[^\n]*\"scope\"\s*:\s*\[?\s*\"\*\"|\bdescribe-alarms\b[^\n]*\|\s*xargs\b[^\n]*\bdisable-alarm-actions\b|"
          r"\bsilence\s+add\b(?![^\n]*\balertname\b)|/api/v2/silences\b(?![^\n]*\"name\"\s*:\s*\"alertname\")[^\n]*\"isRegex\"\s*:\s*true",
          "silences every alert, or for a day or more"),
    # -- every session at once ----------------------------------------------------------------------
    _rule("kill-all-sessions", R, r"pg_terminate_backend\s*\(\s*pid\s*\)[^;]*\bFROM\s+pg_stat_activity"
          r"(?![^;]*(?:\bstate\s*=|now\(\)|\binterval\b|\bquery_start\b|\bxact_start\b))|"
          r"CONCAT\s*\(\s*'KILL\s|\bforEach\b[^\n]*killOp|\bCLIENT\s+KILL\s+TYPE\s+normal\b|"
          r"ALTER\s+SYSTEM\s+KILL\s+SESSION[^\n]*(?:\|\||LOOP)|FOR\s+\w+\s+IN\s*\([^)]*v\$session|"
          r"processlist\b[^\n]*\|[^\n]*\bxargs\b[^\n]*\bkill\b|\bclose_all_connections\b|"
          r"\bpgbouncer\b[^\n]*-c\s+[\"']?KILL\s+\w+|\bpt-kill\b(?=[^\n]*--victims[= ]+all\b)(?=[^\n]*--kill\b)|"
          r"\bROLLBACK\s+IMMEDIATE\b|\bshutdown\s+(?:frontend|sessions)\b|"
          r"pg_stat_activity[^\n]*\|[^\n]*\bxargs\b[^\n]*\b(?:kill|pg_terminate_backend)\b|"
          r"\blist-units\b[^\n]*\|[^\n]*\bxargs\b[^\n]*\bsystemctl\s+(?:stop|kill|mask)\b|"
          r"\bfor\s+\w+\s+in\s+\$\([^)]*\bprocesslist\b[^\n]*;\s*do\b[^\n]*\bKILL\b|"
          r"\bfor\s+\w+\s+in\s+\$\([^)]*\blist-units\b[^\n]*;\s*do\b[^\n]*\bsystemctl\s+(?:stop|kill|mask)\b",
          "ends every session of the database"),
    _rule("traffic-cut", R, r"\bnetem\b[^\n|;&]*\bloss\s+100%|\bipvsadm\s+-C\b|\bclear\s+ip\s+bgp\s+\*|\bno\s+neighbor\b|"
          r"\bip\s+link\s+set\s+(?:dev\s+)?(?:bond|br|team|eth0\b|ens|eno|enp)\w*\s+down\b|\bhealthcheck/fail\b|"
          r"\bip\s+route\s+(?:del|delete|flush)\s+default\b|"
          r"\bfor\s+\w+\s+in\b[^\n]*;\s*do\b[^\n]*\bdisable\s+server\b",
          "cuts traffic for everything behind it"),
    # -- restores over live data, backups and certificates destroyed ------------------------------------
    _rule("restore-over-live", R, r"\bpg_restore\b[^\n]*--clean\b|\bpgbackrest\b[^\n]*(?:--type=time|\brestore\b)|"
          r"\bwal-g\s+delete\b|\bmongorestore\b[^\n]*--drop\b|--existing-resource-policy[= ]+update\b|"
          r"\b(?:gunzip|zcat|xzcat|bzcat)\b[^\n|]*(?:<[^\n|]*)?\|\s*(?:mysql|psql)\b|"
          r"\b(?:mysql|psql)\b[^\n|;&]*<\s*\S+\.sql\b|\bsql\s+backups\s+restore\b|/_snapshot/\S+/_restore\b|"
          r"\bfsync\s*=\s*'?off\b|\bfull_page_writes\s*=\s*'?off\b|--no-backup\b|PointInTimeRecoveryEnabled=false|"
          r"--retention-in-days[= ]+[1-6]\b(?!\d)|\"Expiration\"\s*:\s*\{\s*\"Days\"\s*:\s*[1-6]\b|"
          r"\bput-bucket-lifecycle\w*\b[^\n|;&]*backup|\bpg_resetwal\b|\bpg_drop_replication_slot\b|\bRESET\s+(?:MASTER|BINARY\s+LOGS)\b|\bFLUSH(?:ALL|DB)\b",
          "restores over live data, or deletes backups"),
    _rule("certificate-revoked", R, r"\bcertbot\s+(?:revoke|delete)\b|\bopenssl\s+ca\b[^\n]*-revoke\b|"
          r"\bacm\s+delete-certificate\b|\bcertificates?\s+delete\b|\brevoke-certificate\b|"
          r"\blease\s+revoke\b[^\n]*-prefix\b|\bca\s+revoke\b|\bprovisioner\s+remove\b|\bca\s+clean\b|"
          r"\bsalt-key\b[^\n|;&]*\s(?-i:-D)\b|\bupdate-certificate-authority\b[^\n]*--status[= ]+DISABLED\b|\bpki\w*/root/(?:rotate|generate|sign-self-issued)",
          "revokes or deletes a certificate"),
    _rule("dns-delete", R, r"\"Action\"\s*:\s*\"DELETE\"|\"Type\"\s*:\s*\"NS\"|\bdelete-hosted-zone\b|"
          r"\bdns\s+managed-zones\s+delete\b|\bdns\s+zone\s+delete\b|\bupdate-domain-nameservers\b|"
          r"\brecord-set\s+ns\s+(?:update|delete|remove-record)\b|\bnsdname\b|\bupdate\s+delete\s+\S+[^\n]*\bnsupdate\b|"
          r"\brndc\s+delzone\b",
          "deletes DNS records or changes a zone's name servers"),
    # -- executes what looks like a read, or takes a whole service down -----------------------------
    _rule("explain-analyze-dml", R, r"\bEXPLAIN\s*(?:\([^)]*\bANALYZE\b[^)]*\)|ANALYZE\b)\s*(?:VERBOSE\s+)?(?:DELETE|UPDATE|INSERT)\b",
          "EXPLAIN ANALYZE runs the statement it explains"),
    _rule("scale-to-zero", R, r"--(?:desired-count|desired-capacity|max-size|num-nodes|new-capacity|min-nodes|node-count|max-count)[= ]+0\b|"
          r"\breplicaCount=0\b|\bscale\b[^\n|;&]*\s(?!-)[\w.-]+=0\b|"
          r"--reserved-concurrent-executions[= ]+0\b",  # docker service scale api=0, heroku ps:scale web=0
          "takes the whole service down (zero instances)"),
    _rule("auto-approved-apply", R, r"\b(?:terraform|tofu|terragrunt)\b[^\n|;&]*\b(?:apply|destroy)\b[^\n|;&]*-auto-approve\b|"
          r"\bterraform\s+state\s+(?:push\s+-force|rm)\b|\bplan\b[^\n]*-destroy\b[^\n]*&&[^\n]*\bapply\b|"
          r"TF_CLI_ARGS\w*=[\"']?[^\n]*-auto-approve|\bpulumi\s+(?:up|destroy)\b[^\n|;&]*(?:--yes|-y|--skip-preview)\b|"
          r"\brun-all\s+(?:apply|destroy)\b|\bcdk\s+deploy\b[^\n|;&]*--require-approval[= ]+never\b|--terragrunt-non-interactive\b[^\n]*\b(?:apply|destroy)\b",
          "changes infrastructure without a reviewed plan"),
    _rule("journal-wiped", R, r"--vacuum-time[= ]+[\"']?(?:\d+\s*(?:s|sec|secs|seconds?|m|min|mins|minutes?)?|"
          r"(?:[0-9]|1\d|2[0-3])\s*(?:h|hours?))(?![\w.])", "wipes (nearly) the whole journal: a vacuum under a day"),
    _rule("lock-out", R, r"\bsystemctl\s+(?:stop|disable|mask)\b[^\n|;&]*\bsshd?\b|"
          r"\bfor\s+\w+\s+in\b[^\n]*;\s*do\b[^\n]*\bssh\b[^\n]*\bsystemctl\s+(?:stop|disable)\b|"
          r"\bxargs\b[^\n]*\bssh\b[^\n]*\bsystemctl\s+(?:stop|disable)\b|"
          r"\bansible\s+all\b[^\n]*\s-b\b[^\n]*\s-m\s+(?:apt|yum|dnf|package|shell|command|service|systemd)\b|"
          r"\bcloudtrail\b[^\n]*--retention-in-days[= ]+[1-9]\b(?!\d)",
          "can lock everyone out, or acts on every host at once"),
    _rule("repository-deleted", R, r"\bgh\s+repo\s+delete\b|\bgh\s+repo\s+archive\b|"
          r"\bgh\s+api\b[^\n]*(?:-X\s*|--method[= ])DELETE\b", "deletes a repository or its settings"),
    _rule("history-rewritten", R, r"\bgit\s+push\b(?![^\n|;&]*--dry-run)[^\n|;&]*\s\+[\w/.-]+|\bgit\s+filter-(?:repo|branch)\b|"
          r"\bgit\s+push\b[^\n|;&]*\s:[\w/.-]+|"
          r"\bbfg\b[^\n]*--(?:delete|replace)", "rewrites shared git history"),
    _rule("data-deleted", R, r"\.(?:deleteMany|remove)\(\s*\{\s*\}\s*\)|\.dropDatabase\(\)|\.drop\(\)|"
          r"\bkafka-delete-records\b|--delete-config\b|\bretention\.ms=\d{1,5}\b|/loki/api/v1/delete\b|"
          r"\bimages?\s+(?:rm|remove|delete)\b[^\n]*\$\(|"
          r"(?:>|\btee)\s+/var/log/audit/",
          "deletes data, or the audit trail"),
    _rule("app-data-wiped", R, r"\bmanage\.py\s+flush\b|\b(?:rails|rake)\s+db:(?:drop|reset|schema:load|purge)\b|"
          r"\bartisan\s+(?:migrate:(?:fresh|reset)|db:wipe)\b|DISABLE_DATABASE_ENVIRONMENT_CHECK=1|"
          r"Queue\.new\([^)]*\)\.clear\b",
          "wipes the application's data through its framework"),
    _rule("volumes-deleted", R, r"\bcompose\b[^\n|;&]*\sdown\b[^\n|;&]*(?:\s-v\b|--volumes\b)",
          "deletes the project's volumes with its containers"),
    _rule("secret-exfiltrated", R, r"\bget\s+secrets?\b[^\n]*\|[^\n]*\b(?:curl|wget|nc)\b|"
          r"\b(?:vault\s+(?:read|kv\s+get)|get-secret-value)\b[^\n]*\|[^\n]*\b(?:curl|wget|nc)\b",
          "sends secret material off the host"),
    _rule("messages-skipped", R, r"--reset-offsets\b(?=[^\n|;&]*--to-latest\b)(?=[^\n|;&]*--execute\b)|"
          r"\bsubscriptions\s+seek\b[^\n|;&]*--time[= ]+[\"']?\$\(date\b",
          "moves a consumer past every unconsumed message (they are never handled)"),
    _rule("history-rewound", Y, r"\bsubscriptions\s+seek\b|--reset-offsets\b[^\n]*--execute\b",
          "moves a consumer's position: messages are skipped or handled again"),
    # -- reads that expose secrets or can block production ----------------------------------------
    _rule("secret-read", Y, r"\bvault\s+(?:read|kv\s+get)\b|\bget-secret-value\b|\bsecrets\s+versions\s+access\b|"
          r"\bkeyvault\s+secret\s+show\b|\bssm\s+get-parameters?\b[^\n]*--with-decryption|"
          r"\bget\s+secrets?\b[^\n]*(?:-o\s*(?:yaml|json|jsonpath|go-template)|--output[= ](?:yaml|json|jsonpath))"
          r"(?![^\n]*\|\s*jq\b[^\n]*\bmetadata\b)|\bget\s+secrets?\b[^\n]*\|\s*base64\s+(?:-d|--decode)\b|"
          r"\b(?:cat|less|more|head|tail)\s+[^\n|;&]*(?:id_(?:rsa|ed25519|ecdsa)\b|\.pem\b|\.key\b)|"
          r"\bterraform\s+output\b[^\n]*-json|\bgetent\s+shadow\b|/etc/shadow\b|"
          r"\bopenssl\s+(?:rsa|pkey|ec|pkcs12)\b(?!(?=[^\n|]*\s-noout\b)(?![^\n|]*\s-text\b))[^\n]*(?:\.key\b|private|-nodes\b)|"
          r"\b(?:cat|less|more|head|tail|strings)\s+[^\n|;&]*/(?:var/)?run/secrets/|"
          r"\bprintenv\s+\w*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)\w*|"
          r"\b(?:cat|less|more|head|tail)\s+[^\n|;&]*(?:\.pgpass|\.my\.cnf|\.netrc|\.aws/credentials|\.docker/config\.json|"
          r"debian\.cnf|/proc/\S+/environ|\.kube/config|/etc/kubernetes/admin\.conf)\b|"
          r"\.Config\.Env\b|\buserPassword\b|(?<!\$\()\b(?:kubectl|oc)\s+create\s+token\b|\becho\s+[\"']?\$\{?\w*(?:TOKEN|PASSWORD|PASSWD|SECRET|API_KEY|PRIVATE_KEY)\w*|"
          r"\b(?:cat|less|more|head|tail)\s+[^\n|;&]*(?:secrets?|credentials?)\.(?:ya?ml|json|env|properties|txt|ini)\b|"
          r"showCredentials[\"']?\s*:\s*true|\bexec\b[^\n|;&]*\s(?:env|printenv)\s*(?:$|[|;&])|\bdata\s+bag\s+show\b[^\n|;&]*--secret|\bprintenv\s+\w*(?:URL|DSN|CONN\w*|CREDENTIALS?)\b|/registry/secrets/|\binflux\s+auth\s+list\b|"
          r"\b(?:account|cosmosdb|redis|authorization-rule)\s+keys\s+list\b|(?<!-)\blist-keys\b|show-connection-string|connection-strings\b|\bradosgw-admin\s+user\s+info\b|"
          r"\bgrep\b[^\n|;&]*\s-\w*[rR]\w*\b[^\n|;&]*(?:pass|secret|token|api_?key|credential)|"
          r"\b(?:get|show|read|output|view|value|print|describe|export)\b[^\n|;&]*?(?<![$\w{])[\w./{-]*?(?:password(?![-_]?(?:polic|last|reset|age|expir))|passwd|passphrase|"
          r"client[-_]secret|secret[-_]?key|api[-_]?key|_token\b|private[-_]?key|requirepass|masterauth)|"
          r"\bterraform\s+output\b[^\n|;&]*\s-raw\b|--show-secrets\b|\bpg_shadow\b|\bpg_authid\b|\bauthentication_string\b|"
          r"\bceph\s+auth\s+(?:get|ls|list|export|print-key|print_key|get-key)\b|"
          r"\b(?:env|printenv|set|values|inspect|environ)\b[^\n|;&]*\|\s*grep\s+(?:-\w+\s+)*[\"']?[\w|\\^()]*(?:pass|secret|sec\b|token|"
          r"credential|api_?key)",
          "shows secret material on the screen"),
    _rule("blocking-read", Y, r"\bSMEMBERS\b|\bHGETALL\b|\bFOR\s+UPDATE\b|"
          r"\blogcli\s+query\b[^\n|;&]*--limit[= ]+(?:0|\d{6,})\b|\bLIKE\s+'%|"
          r"\bredis-cli\b[^\n|;&]*\bkeys\s+[\"']?[^\s-]|(?-i:\bKEYS)\s+[\"']?[^\s-]|"
          r"\bbq\s+query\b[^\n]*\bSELECT\s+\*|\b[LZ]RANGE\s+\S+\s+0\s+-1\b|__name__\s*=~\s*[\"']?\.[*+]|"
          r"\.(?:find|countDocuments|count|distinct)\(\s*\{[^)]*:\s*/[^/\n]+/|\bldapsearch\b[^\n]*\(\w+=\*\)|[?&]size=\d{5,}|\"size\"\s*:\s*\d{5,}|\bmatch_all\b|"
          r"\bSELECT\s+(?:\*|count\(\s*\*\s*\))\s+FROM\s+"
          r"(?![`\"]?(?:pg_|system\.|information_schema|sys\.|performance_schema|mysql\.))[`\"\w.-]+"
          r"(?:\s+(?:ORDER\s+BY\s+[\w\s,]+|FORMAT\s+\w+))?\s*;?\s*[`\"']?\s*(?:$|\||>)|\.countDocuments\(\s*\{\s*\}\s*\)",
          "can block or load a production server (a full scan)"),
)
