"""`runbooks drill RUNBOOK [label=value ...]`: a fire drill through the running product's API.

    runbooks drill disk-full instance=web-1                 rehearse: approvals asked, nothing runs
    runbooks drill disk-full --target ssh://ops@sandbox-1   the steps run on the sandbox instead
    runbooks drill disk-full --no-wait                      start it and print its id

It follows the drill until it ends (people answer its approval requests in Slack, the cockpit or
REST, as they would at 3 a.m.) and prints the score. The token is --token, else the admin token
`make run` wrote (DATA_DIR/admin-token); the drill is started as its holder.
"""

from __future__ import annotations

import argparse
import time

import httpx
from rich.console import Console

from runbooks.drills import parse_labels
from runbooks.settings import Settings

console = Console()
TERMINAL = {"succeeded", "failed", "rolled_back", "cancelled"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    drill = sub.add_parser("drill", help="run a fire drill of a runbook: a synthetic alert, real approvals, "
                                         "nothing executed (or a sandbox target), scored")
    drill.add_argument("runbook", help="the runbook's id")
    drill.add_argument("labels", nargs="*", metavar="label=value", help="labels of the synthetic alert")
    drill.add_argument("--target", help="a sandbox target (local, ssh://user@host) the steps run on")
    drill.add_argument("--mode", choices=["dry_run", "copilot", "autopilot"], help="default: the runbook's own")
    drill.add_argument("--api", help="the API's address (default http://API_HOST:API_PORT)")
    drill.add_argument("--token", help="an API token (default: the admin token in DATA_DIR/admin-token)")
    drill.add_argument("--no-wait", action="store_true", help="print the drill's id and return")
    drill.add_argument("--timeout", type=float, default=3600, help="seconds to follow it (default an hour)")


def _token(args: argparse.Namespace, settings: Settings) -> str:
    if args.token:
        return args.token
    path = settings.data_dir / "admin-token"
    if not path.exists():
        raise SystemExit(f"no token: pass --token, or run `make run` once (it writes {path})")
    return path.read_text().strip()


def run(args: argparse.Namespace, settings: Settings) -> int:
    api = args.api or f"http://{settings.api_host}:{settings.api_port}"
    try:
        labels = parse_labels(args.labels)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    body = {"runbook_id": args.runbook, "labels": labels, "target": args.target, "mode": args.mode}
    headers = {"Authorization": f"Bearer {_token(args, settings)}"}
    with httpx.Client(base_url=api, headers=headers, timeout=30) as http:
        try:
            resp = http.post("/api/v1/drills", json=body)
        except httpx.HTTPError as exc:
            raise SystemExit(f"the API at {api} did not answer ({exc}): is `make run` running?") from None
        if resp.status_code != 201:
            raise SystemExit(f"drill refused ({resp.status_code}): {resp.json().get('detail', resp.text)}")
        drill = resp.json()
        console.print(f"drill {drill['id']}: execution {drill['execution_id']}\n"
                      f"  matching chose {drill['matched_runbook_id'] or 'no runbook'}: {drill['match_reason']}")
        if args.no_wait:
            print(drill["id"])
            return 0
        console.print("  answer its approval requests in Slack, the cockpit or REST; following it...")
        deadline = time.monotonic() + args.timeout
        while drill["status"] not in TERMINAL and time.monotonic() < deadline:
            time.sleep(1)
            drill = http.get(f"/api/v1/drills/{drill['id']}").json()
    result = drill["result"]
    console.print(f"\n  {drill['status']}: score [bold]{result['score']}[/bold]/100")
    for line in result["explanation"]:
        console.print(f"  - {line}")
    for a in result["approvals"]:
        waited = f"{a['seconds']:.0f} s" if a["seconds"] is not None else "unanswered"
        console.print(f"  approval of '{a['title']}': {waited}, by {a['by'] or 'nobody'}"
                      + (f", after {a['escalations']} escalation(s)" if a["escalations"] else ""))
    return 0 if drill["status"] in TERMINAL else 1
