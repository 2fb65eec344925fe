"""Drafting speed: a realistic 300-command on-call shell session (prompts, output, typos, retries, repeats).

The session is a long night on a bastion: Kubernetes pods crash-looping in several namespaces, a
disk filling up on a node, a Postgres replica lagging; with `cd`, `ls`, mistyped programs, failed
commands retried with the right flag, and the same checks run again after each fix.

    .venv/bin/python bench/draft_shell.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from runbooks.drafts.shell import draft_from_shell  # noqa: E402

PROMPT = "sre@bastion-1:~$ "


def _episode(n: int) -> list[tuple[str, list[str]]]:
    """About 30 commands of one incident; `n` varies the names so most commands are new."""
    ns = ("shop", "payments", "search")[n % 3]
    pod = f"api-{n}-7d4b9c8f6-x{n:02d}kp"
    host = f"10.0.{n}.12"
    return [
        (f"kubectl get pods -n {ns}", ["NAME READY STATUS RESTARTS AGE", f"{pod} 0/1 CrashLoopBackOff 14 47m"]),
        (f"kubectl logs {pod} -n {ns} --previous",
         [f'Error from server (BadRequest): previous terminated container "api" in pod "{pod}" not found']),
        (f"kubectl logs {pod} -n {ns} -c api --previous", ["panic: out of memory"] + ["stack line"] * 20),
        (f"kubectl describe pod {pod} -n {ns}", ["Name: " + pod, "  Reason: OOMKilled"] + ["..."] * 30),
        (f"kubectl top pod {pod} -n {ns}", ["NAME CPU MEMORY", f"{pod} 120m 1020Mi"]),
        ("cd ~/deploy", []),
        ("ls", ["charts values.yaml"]),
        (f"kubctl get deploy api-{n} -n {ns}", ["bash: kubctl: command not found"]),
        (f"kubectl get deploy api-{n} -n {ns} -o yaml | grep -A3 resources", ["resources:", "  limits:"]),
        (f"kubectl set resources deploy/api-{n} -n {ns} -c api --limits=memory=1Gi",
         [f"deployment.apps/api-{n} resource requirements updated"]),
        (f"kubectl rollout status deploy/api-{n} -n {ns} --timeout=120s", ["successfully rolled out"]),
        (f"kubectl get pods -n {ns}", ["NAME READY STATUS RESTARTS AGE", f"{pod} 1/1 Running 0 1m"]),
        (f"ssh node-{n}", []),
        ("df -h /var", ["Filesystem Size Used Avail Use% Mounted on", "/dev/sda1 50G 48G 2G 96% /"]),
        ("sudo du -xh --max-depth=1 /var | sort -rh | head", ["31G /var", "22G /var/log"]),
        ("journalctl --disk-usage", ["Archived and active journals take up 19.8G in the file system."]),
        (f"sudo journalctl --vacuum-size={500 + n}M", ["Vacuuming done, freed 19.3G"]),
        ("sudo crictl rmi --prune", ["Deleted: sha256:..."] * 10),
        ("df -h /var", ["/dev/sda1 50G 20G 30G 40% /"]),
        ("exit", ["logout"]),
        (f"psql -h {host} -U postgres -c 'SELECT now() - pg_last_xact_replay_timestamp() AS lag;'",
         ["   lag", "----------", " 00:30:43.1", "(1 row)"]),
        (f"psql -h {host} -U postgress -c 'SELECT pid FROM pg_stat_activity'",
         ['psql: error: connection to server failed: FATAL:  role "postgress" does not exist']),
        (f"psql -h {host} -U postgres -c 'SELECT pid, backend_type FROM pg_stat_activity'", ["  pid | backend_type"]),
        (f"sudo systemctl restart postgresql@16-main-{n}", []),
        (f"psql -h {host} -U postgres -c 'SELECT now() - pg_last_xact_replay_timestamp() AS lag;'",
         ["   lag", " 00:00:01.2"]),
        (f"curl -s http://{host}:9187/metrics | grep pg_replication_lag", ["pg_replication_lag 1.2"]),
        ("clear", []),
        (f"kubectl -n {ns} get events --sort-by=.lastTimestamp | tail -n 20", ["..."] * 20),
        (f"helm -n {ns} history api-{n}", ["REVISION UPDATED STATUS"]),
        (f"helm -n {ns} rollback api-{n} {n + 3}", ["Rollback was a success! Happy Helming!"]),
    ]


def session(commands: int = 300) -> str:
    lines: list[str] = []
    count, n = 0, 0
    while count < commands:
        for command, output in _episode(n):
            if count == commands:
                break
            lines.append(PROMPT + command)
            lines += output
            count += 1
        n += 1
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = session(300)
    times, draft = [], None
    for _ in range(args.runs):
        started = time.perf_counter()
        draft = draft_from_shell(text)
        times.append(time.perf_counter() - started)
    assert draft is not None
    print(f"draft from a 300-command shell session: {statistics.median(times):.2f} s (median of {args.runs}); "
          f"{len(draft.steps)} steps, {len(draft.dropped)} left out")


if __name__ == "__main__":
    main()
