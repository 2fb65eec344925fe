"""The `runbooks` command: `dev` (everything on embedded defaults), `worker`, `agent`, `api`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from rich.console import Console

from cli import db_commands, drill_command, identity_commands, record_command, runbook_commands

from runbooks.settings import Settings, get_settings

console = Console(stderr=True)
# Open cockpit pages hold live streams that never end by themselves: on shutdown, requests still open
# after this many seconds are cut (the browser reconnects to the next server).
GRACE = 5


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _logging(settings: Settings) -> None:
    """LOG_FORMAT=json (default): one JSON object per line with the execution id; text for a terminal."""
    from runbooks.telemetry.logs import configure

    configure(settings.log_level, json=settings.log_format == "json")


def _require_key_ring(settings: Settings) -> None:
    """Refuse to start with encryption on and no usable key: no plaintext, no unreadable history."""
    from workflows.codec import KeyRingError, key_ring

    try:
        key_ring(settings)
    except KeyRingError as exc:
        raise SystemExit(f"refusing to start: {exc}") from None


async def _dev(settings: Settings) -> None:
    import uvicorn

    from api.app import create_app
    from cli.devserver import codec_endpoint, start_dev_server, stop_dev_server
    from workers.main import run_worker

    console.print(f"[bold]Living Runbooks[/bold]: starting the Temporal dev server (state in {settings.data_dir})")
    temporal = start_dev_server(settings.data_dir, settings.temporal_address, settings.temporal_ui_port,
                                settings.temporal_namespace, codec_endpoint=codec_endpoint(settings))
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop, handle_signals=False))
    try:
        # log_config=None: uvicorn's records go through our handler (JSON or text) like the rest
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.api_host,
                                               port=settings.api_port, log_level="warning", log_config=None,
                                               timeout_graceful_shutdown=GRACE))
        api = f"http://{settings.api_host}:{settings.api_port}"
        app = server.config.app
        banner = asyncio.create_task(_banner(server, app, settings, api))
        await server.serve()
        banner.cancel()
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
        stop_dev_server(temporal)
        console.print("stopped: API, worker and Temporal dev server")


async def _banner(server, app, settings: Settings, api: str) -> None:  # noqa: ANN001
    while not server.started:
        await asyncio.sleep(0.1)
    token_file = (settings.data_dir / "admin-token").resolve()
    made = app.state.services.admin_token
    console.print(
        (f"\n  First start: user [bold]admin[/bold] and its token (shown this once, also in {token_file}, mode 0600):"
         f"\n    {made}\n" if made else f"\n  Admin token     in {token_file}\n") +
        f"  Self-review     {'allowed (ALLOW_SELF_REVIEW): an admin may confirm their own runbook change' if settings.allow_self_review else 'off: a second author or admin reviews risky runbook changes'}\n", soft_wrap=True)
    console.print(
        f"\n  Cockpit         {api}/   (sign in with the admin token)\n"
        f"  API            {api}   (docs: {api}/docs)\n"
        f"  Temporal Web UI http://127.0.0.1:{settings.temporal_ui_port}\n"
        f"  Temporal        {settings.temporal_address} (namespace {settings.temporal_namespace})\n"
        f"  State folder    {settings.data_dir.resolve()}\n"
        f"  Encryption      {_encryption_line(settings)}\n"
        f"  Runbooks        {settings.runbooks_dir}\n\n"
        "  Try: curl -XPOST -H 'content-type: application/json' "
        f"{api}/api/v1/alerts/alertmanager -d @examples/demo-maintenance-window.json\n"
        f"       curl -H \"Authorization: Bearer $(cat {token_file})\" {api}/api/v1/executions\n"
        "  Ctrl-C stops everything.\n", soft_wrap=True)


def _first_admin(svc) -> None:  # noqa: ANN001
    if svc.admin_token:
        console.print(f"First start: user admin and its token (shown this once, also in "
                      f"{(svc.settings.data_dir / 'admin-token').resolve()}, mode 0600):\n{svc.admin_token}")


def _encryption_line(settings: Settings) -> str:
    if not settings.runbooks_encryption:
        return "off (RUNBOOKS_ENCRYPTION=off): Temporal stores payloads in plaintext"
    where = settings.runbooks_encryption_key_file or "RUNBOOKS_ENCRYPTION_KEYS"
    return f"on, key ring {where} (the Web UI decodes through the API's /codec)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="runbooks", description="Living Runbooks: durable runbook automation")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="Temporal dev server + worker + API on embedded defaults (what `make run` does)")
    sub.add_parser("worker", help="run a worker against TEMPORAL_ADDRESS")
    sub.add_parser("api", help="run the API on API_HOST:API_PORT")
    agent = sub.add_parser("agent", help="run the steps whose target is agent:NAME, inside the network they act "
                                         "on (no database; outbound to Temporal only)")
    agent.add_argument("--name", required=True, help="the agent's name, as targets write it (agent:NAME)")
    runbook_commands.add_parsers(sub)
    db_commands.add_parsers(sub)
    identity_commands.add_parsers(sub)
    drill_command.add_parsers(sub)
    record_command.register(sub)
    risk = sub.add_parser("risk", help="classify commands read from stdin, one JSON object per line")
    risk.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    settings = get_settings()
    _logging(settings)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops cleanly, like Ctrl-C
    code = 0
    try:
        if args.command == "dev":
            from cli.devserver import dev_key_ring
            settings = dev_key_ring(settings)
            _require_key_ring(settings)
            asyncio.run(_dev(settings))
        elif args.command == "worker":
            from workers.main import run_worker
            _require_key_ring(settings)
            asyncio.run(run_worker(settings, metrics_port=settings.worker_metrics_port))
        elif args.command == "agent":
            from workers.agent import run_agent
            _require_key_ring(settings)
            asyncio.run(run_agent(settings, args.name))
        elif args.command == "import":
            code = runbook_commands.run_import(args, settings)
        elif args.command == "db":
            code = db_commands.run(args, settings)
        elif args.command in ("users", "tokens", "audit"):
            code = identity_commands.run(args, settings)
        elif args.command == "drill":
            code = drill_command.run(args, settings)
        elif args.command == "record":
            code = record_command.run(args)
        elif args.command == "parse":
            code = runbook_commands.run_parse(args, settings)
        elif args.command == "risk":
            from cli.risk_command import run as run_risk
            code = run_risk(args.rest)
        elif args.command == "api":
            import uvicorn

            from api.app import create_app
            _require_key_ring(settings)
            uvicorn.run(create_app(settings, on_start=_first_admin), host=settings.api_host, port=settings.api_port,
                        log_config=None, timeout_graceful_shutdown=GRACE)
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        if isinstance(exc.code, str):
            console.print(f"[red]{exc.code}[/red]")
        code = 1 if isinstance(exc.code, str) else (exc.code or 0)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # temporalio sdk-python#300: avoid a crash at interpreter exit after a worker ran


if __name__ == "__main__":
    main()
