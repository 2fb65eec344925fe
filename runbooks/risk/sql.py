"""SQL statements (language `sql` or `psql -c`, `mysql -e`, `sqlite3 DB '...'`) and redis-cli commands.

Reads are green, writes yellow; DROP, TRUNCATE and DELETE or UPDATE without WHERE are red.
"""

from __future__ import annotations

import re

from runbooks.risk.base import (
    G, Handler, R, RiskAssessment, Rule, Y, assess, first_pos, flag_values, flags, group, matches, pick, pos, via,
    worst,
)

SQL: dict[str, Rule] = {
    **group(G, "only reads data (read-only SQL)", "SELECT, SHOW, EXPLAIN, DESCRIBE, DESC, VALUES, TABLE, USE,"
            "BEGIN, START, COMMIT, ROLLBACK, END, SAVEPOINT, RELEASE, FETCH, PRAGMA, ABORT"),
    **group(Y, "writes data or schema (reversible state change)", "INSERT, UPDATE, DELETE, ALTER, CREATE, GRANT,"
            "REVOKE, COPY, VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH, COMMENT, LOCK, CALL, DO, MERGE, REPLACE,"
            "KILL, OPTIMIZE, REPAIR, FLUSH, SET, RESET, LOAD, RENAME, NOTIFY, CHECKPOINT, DISCARD, PREPARE,"
            "EXECUTE, DEALLOCATE, IMPORT, UPSERT, CHECK"),
    **group(R, "destroys data or schema irreversibly", "DROP, TRUNCATE, PURGE"),
    "DESCRIBE": (G, "describes the schema (read-only)"),
}
SQL_META = re.compile(r"[\\.](d\w*\+?|l\+?|x|z|conninfo|timing|q|\?|tables|schema|indexes|databases|dump|show|help"
                      r"|encoding|echo|pset|a|t|H|s)(\s|$)")  # read-only psql backslash and sqlite dot commands
SQL_SIDE_EFFECTS = re.compile(r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_drop_replication_slot"
                              r"|pg_create_\w+|pg_switch_wal|pg_promote|pg_rotate_logfile|pg_stat_reset\w*|setval"
                              r"|nextval|set_config|lo_unlink|lo_import|lo_export|pg_advisory_\w*lock\w*"
                              r"|pg_wal_replay_\w+|pg_file_write|dblink_exec|\w+_reset)\s*\(|\bINTO\b",
                              re.IGNORECASE)
ALWAYS_TRUE = re.compile(r"\bWHERE\s+(1\s*=\s*1|TRUE|1|'(\w*)'\s*=\s*'\2')\s*(;|$|\bRETURNING\b|\bLIMIT\b)",
                         re.IGNORECASE)  # `WHERE 1=1` with nothing after it affects every row
REDIS: dict[str, Rule] = {
    **group(G, "reads keys or server state (read-only)", "GET, MGET, KEYS, SCAN, INFO, PING, TTL, PTTL, TYPE,"
            "EXISTS, HGET, HGETALL, HKEYS, HLEN, HMGET, LRANGE, LLEN, LINDEX, SMEMBERS, SCARD, SISMEMBER, ZRANGE,"
            "ZCARD, ZSCORE, DBSIZE, STRLEN, MEMORY USAGE, SLOWLOG GET, CLIENT LIST, CONFIG GET, ROLE, TIME, XLEN,"
            "XRANGE, XINFO, LATENCY LATEST, MEMORY STATS, MEMORY DOCTOR, LATENCY DOCTOR, CLUSTER INFO,"
            "CLUSTER NODES, CLUSTER SLOTS, CLUSTER SHARDS, SLOWLOG LEN, ACL LIST, ACL WHOAMI, OBJECT ENCODING,"
            "RANDOMKEY, SSCAN, HSCAN, ZSCAN, GETRANGE, XREVRANGE, ZREVRANGE, ZRANGEBYSCORE, ZCOUNT, PFCOUNT,"
            "BITCOUNT, HEXISTS, HVALS, LASTSAVE, CLIENT INFO, CLIENT GETNAME, SENTINEL MASTERS, SENTINEL REPLICAS,"
            "SENTINEL GET-MASTER-ADDR-BY-NAME, XPENDING, OBJECT IDLETIME, OBJECT FREQ, COMMAND COUNT"),
    **group(R, "wipes or shuts down the server (irreversible)", "FLUSHALL, FLUSHDB, SHUTDOWN, DEBUG, SCRIPT FLUSH,"
            "FUNCTION FLUSH, CLUSTER RESET, CLUSTER FORGET, REPLICAOF, SLAVEOF, ACL DELUSER"),
    **group(R, "deletes keys (irreversible)", "DEL, UNLINK, HDEL, SREM, ZREM, LREM, XDEL, XTRIM, LTRIM, GETDEL"),
}


def sql_risk(sql: str) -> RiskAssessment:
    """Classify every statement; the worst decides."""
    parts = []
    for stmt in re.split(r";", re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)):
        s = stmt.strip()
        if s[:1] in ("\\", "."):  # psql or sqlite client command
            parts.append(pick([s], SQL_META.match(s), (G, "describes the database (read-only)"),
                              (Y, "is a client command not known to be read-only")))
            continue
        explain = re.match(r"EXPLAIN\s+((\([^)]*\)|ANALY[SZ]E|VERBOSE)\s+)*", s, re.IGNORECASE)
        if explain and re.search(r"ANALY[SZ]E", explain.group(0), re.IGNORECASE):
            s = s[explain.end() :]  # EXPLAIN ANALYZE executes the statement
        first = m.group(1).upper() if (m := re.match(r"[\s(]*(\w+)", s)) else ""
        if not first:
            continue
        if first in ("DELETE", "UPDATE") and not re.search(r"\bWHERE\b", s, re.IGNORECASE) or first in (
                "DELETE", "UPDATE") and ALWAYS_TRUE.search(s):
            parts.append(assess([s], R, f"{first} without a restricting WHERE affects every row (irreversible)"))
        elif first == "DELETE" and re.search(r"\bWHERE\b[^;]*(?:<|>|\bBETWEEN\b|\bNOT\s+IN\b|\bLIKE\b)", s, re.IGNORECASE) \
                and not re.search(r"\bWHERE\s+\w*(?:expir|ttl)\w*\s*<", s, re.IGNORECASE):  # expired rows: housekeeping
            parts.append(assess([s], R, "DELETE of every row in a range (a bulk delete: irreversible)"))
        elif first in ("SELECT", "WITH", "SHOW", "VALUES", "TABLE") and (SQL_SIDE_EFFECTS.search(s) or re.search(
                r"\b(INSERT|UPDATE|DELETE|MERGE)\b", s, re.IGNORECASE) and first == "WITH"):
            parts.append(assess([s], Y, "writes data or has side effects (reversible state change)"))
        elif first == "ALTER" and re.search(r"\b(DELETE|UPDATE)\b", s, re.IGNORECASE) and ALWAYS_TRUE.search(s):
            parts.append(assess([s], R, "deletes or updates every row (a mutation WHERE true: irreversible)"))
        elif first == "DROP" and re.match(r"DROP\s+INDEX\b", s, re.IGNORECASE):
            parts.append(assess([s], Y, "drops an index (rebuildable: no data is lost)"))
        elif first == "ALTER" and re.search(r"\bDROP\s+(?!CONSTRAINT|DEFAULT|NOT\b|INDEX|IDENTITY|EXPRESSION|PRIMARY"
                                            r"|FOREIGN|CHECK|TRIGGER)", s, re.IGNORECASE):
            parts.append(assess([s], R, "drops a column or partition and its data (irreversible)"))
        elif first == "PURGE" and re.search(r"\bBEFORE\b[^;]*\bINTERVAL\b", s, re.IGNORECASE):
            parts.append(assess([s], Y, "purges binary logs older than an interval (routine log cleanup)"))
        elif first in ("EXEC", "EXECUTE") and re.match(r"EXEC(?:UTE)?\s+(?:sp_who2?|sp_helpdb|sp_helpfile|sp_spaceused"
                                                        r"|sp_lock|sp_help\w*|sp_configure\s*$|sp_databases|sp_tables"
                                                        r"|sp_columns|sp_readerrorlog)\b", s, re.IGNORECASE):
            parts.append(assess([s], G, "runs a read-only system procedure"))
        elif first == "SET" and re.search(r"\bTRANSACTION\b|\bstatement_timeout\b|\bsearch_path\b", s, re.IGNORECASE):
            parts.append(assess([s], G, "only sets a session option (read-only)"))
        else:
            parts.append(assess([s], *SQL.get(first, (Y, "is not known to be read-only SQL"))))
    return worst(parts) or RiskAssessment(risk=G, reason="empty SQL")


def _sql_cli(w: list[str], piped: bool) -> RiskAssessment:
    """psql -c / mysql -e / sqlite3 DB 'SQL': classify the SQL; SQL from files or stdin is not inspected."""
    name, args = w[0], w[1:]
    cflags = ("-c", "--command") if name == "psql" else ("-e", "--execute")
    sql = pos(args)[1:] if name == "sqlite3" else []
    for i, a in enumerate(args):
        flag, eq, value = a.partition("=")
        if flag in cflags or name != "psql" and re.fullmatch(r"-[BNsrtvX]+e", a) or name == "psql" and re.fullmatch(
                r"-[AtqXxe]+c", a):  # mysql -Ne "...", psql -Atc "..."
            sql.append(value if eq else args[i + 1] if i + 1 < len(args) else "")
    if sql:
        return via(worst([sql_risk(s) for s in sql]) or sql_risk(""), f"`{name}`")
    return pick(w, matches(args, ("-l", "--list")), (G, "lists databases (read-only)"),
                (Y, "runs SQL from a file, stdin or a session (not inspected)"))


def _redis(w: list[str], piped: bool) -> RiskAssessment:
    args = w[1:]
    value_flags = flags("-h -p -s -a -u -n -r -i -d -D --user --pass --pattern --cacert --cert --key --sni --count")
    cmd = [c.upper() for c in args[first_pos(args, value_flags) :]]
    if not cmd:
        return pick(w, matches(args, ("--scan", "--bigkeys", "--memkeys", "--hotkeys", "--stat", "--latency",
                                      "--latency-history", "--intrinsic-latency")),
                    (G, "samples the server (read-only)"), (Y, "opens an interactive session (not inspected)"))
    if cmd[0] in ("REPLICAOF", "SLAVEOF") and cmd[1:3] == ["NO", "ONE"]:
        return assess(w, Y, "promotes the replica to a primary (a failover step; reversible)")
    if cmd[0] in ("DEL", "UNLINK") and len(cmd) == 2 and "*" not in cmd[1]:
        return assess(w, Y, "deletes one key (a cache or counter the application fills again)")
    rule = REDIS.get(" ".join(cmd[:2])) or REDIS.get(cmd[0]) or (Y, "changes data (not known to be read-only)")
    return assess(w, *rule)


def _query_cli(w: list[str], piped: bool) -> RiskAssessment:
    """cqlsh -e / clickhouse-client -q / sqlcmd -Q: classify the statement (CQL, ClickHouse SQL and T-SQL
    read as SQL here)."""
    qflags = {"cqlsh": ("-e", "--execute"), "clickhouse-client": ("-q", "--query"), "sqlcmd": ("-Q", "-q")}[w[0]]
    sql = flag_values(w[1:], qflags) or ([""] if w[-1] in qflags else [])  # `-e` with nothing after: empty SQL
    if sql:
        return via(worst([sql_risk(s) for s in sql]) or sql_risk(""), f"`{w[0]}`")
    return assess(w, Y, "runs statements from a file, stdin or a session (not inspected)")


BQ: dict[str, Rule] = {
    **group(G, "reads BigQuery metadata or rows (read-only)", "ls, show, head, version, help, wait, get-iam-policy"),
    **group(Y, "changes BigQuery data or settings (reversible state change)", "mk, cp, load, insert, update, extract,"
            "set-iam-policy, add-iam-policy-binding, cancel, partition, undelete"),
    "rm": (R, "deletes datasets or tables (irreversible)"),
}


def _bq(w: list[str], piped: bool) -> RiskAssessment:
    """bq query 'SQL' is classified as its SQL; other subcommands by table."""
    words = pos(w[1:])
    if words[:1] == ["query"]:
        return via(sql_risk(words[-1]) if len(words) > 1 else sql_risk(""), "`bq query`")
    return assess(w, *BQ.get(words[0] if words else "", (Y, "is not known to be read-only")))


MONGO_READS = re.compile(r"\.(find|findOne|count|countDocuments|estimatedDocumentCount|distinct|aggregate|getIndexes|stats"
                         r"|status|serverStatus|currentOp|conf|isMaster|hello|explain|getCollectionNames|getCollectionInfos"
                         r"|listCollections|version|getReplicationInfo|printReplicationInfo|printSecondaryReplicationInfo"
                         r"|getSiblingDB|getCollection|getName|dataSize|storageSize|totalIndexSize|hostInfo|buildInfo"
                         r"|getProfilingStatus|getUsers|getRoles|getUser|validate|toArray|limit|sort|skip|map|forEach"
                         r"|pretty|itcount|hasNext|next|adminCommand|runCommand|getParameter|printShardingStatus|getShardDistribution"
                         r"|length|filter|keys|printjson|sum|slice|toString|toFixed)\s*\(")
MONGO_SAFE_COMMANDS = re.compile(r"(adminCommand|runCommand)\s*\(\s*\{\s*[\"']?(serverStatus|replSetGetStatus|getParameter"
                                 r"|listDatabases|dbStats|collStats|ping|buildInfo|hostInfo|connectionStatus|top"
                                 r"|getLog|currentOp|isMaster|hello|listShards|getCmdLineOpts)\b")


def _mongosh(w: list[str], piped: bool) -> RiskAssessment:
    """mongosh --eval JS: read methods are green, an unfiltered find without a limit a full scan (yellow),
    anything else a change (the security rules raise deletes of every document); no --eval is a session."""
    args = w[1:]
    js = next(iter(flag_values(args, ("--eval",))), None)
    if js is None:
        return assess(w, Y, "runs a script or opens a session (not inspected)")
    if re.search(r"\.update(Many)?\s*\(\s*\{\s*\}", js):
        return assess(w, R, "changes every document of a collection")
    calls = re.findall(r"\.(\w+)\s*\(", js)
    reads = set(MONGO_READS.findall(js))
    if any(c in ("adminCommand", "runCommand") for c in calls) and not MONGO_SAFE_COMMANDS.search(js):
        return assess(w, Y, "runs a database command not known to be read-only")
    if not all(c in reads for c in calls) or re.search(r"\$(out|merge)\b", js):
        return assess(w, Y, "changes data or the server (not known to be read-only)")
    if re.search(r"\.find\s*\(\s*(\{\s*\})?\s*\)", js) and ".limit(" not in js:
        return assess(w, Y, "reads every document of a collection (a full scan)")
    return assess(w, G, "only reads (read-only)")


def _dump(w: list[str], piped: bool) -> RiskAssessment:
    """pg_dump / mysqldump read the database; they only change state by writing the dump to a file."""
    out = matches(w[1:], ("-f", "--file", "-r", "--result-file"))
    if w[0] == "pg_dumpall" and not matches(w[1:], ("-s", "--schema-only", "-g", "--globals-only")):
        return assess(w, Y, "dumps every database and role, password hashes included (a full read)")
    return pick(w, out, (Y, "writes a database dump to a file"), (G, "dumps the database to stdout (read-only)"))


HANDLERS: dict[str, Handler] = {
    "psql": _sql_cli, "mysql": _sql_cli, "sqlite3": _sql_cli, "redis-cli": _redis, "pg_dump": _dump,
    "pg_dumpall": _dump, "mysqldump": _dump,
    "pg_isready": lambda w, p: assess(w, G, "checks that the server accepts connections (read-only)"),
    "cqlsh": _query_cli, "clickhouse-client": _query_cli, "sqlcmd": _query_cli, "bq": _bq, "mongosh": _mongosh,
}
