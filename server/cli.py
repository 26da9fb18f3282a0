"""The one command line: `python -m server run|token|set-key|config|pair|add-supervisor`.

Every command registers itself in `COMMANDS` with the `command` decorator, in this module only, so the CLI has one
registry and no module imports it back (the old `__main__` / `admin_cli` pair loaded the CLI twice).
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from server.config import Config

COMMANDS: dict[str, tuple[str, object]] = {}


def command(name: str, help_text: str):
    def wrap(fn):
        COMMANDS[name] = (help_text, fn)
        return fn
    return wrap


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None,
                   help="data folder (SQLite, pack history, settings); env REPLYDESK_DATA_DIR; "
                        "default: the user data folder")


@command("run", "start the server (loopback only by default)")
def cmd_run(args: argparse.Namespace) -> int:
    """workers 0 (the default, `make run`): one process, Werkzeug's threaded server, as ever. workers >= 1: the
    team server, gunicorn with that many worker processes of `threads` threads each (server/web/serve.py)."""
    cfg = Config.from_env(host=args.host, port=args.port, data_dir=args.data_dir, packs_dir=args.packs_dir,
                          database_url=getattr(args, "database_url", None), workers=getattr(args, "workers", None),
                          threads=getattr(args, "threads", None))
    if cfg.workers < 0 or cfg.threads < 1:
        print("error: --workers must be 0 or more and --threads 1 or more", file=sys.stderr)
        return 2
    if cfg.workers > 1 and not cfg.team:  # each worker would keep its own events and scheduler on one file
        print("error: more than one worker needs the team database (--database-url postgresql://...)",
              file=sys.stderr)
        return 2
    from server.web.security import check_listen

    refused = check_listen(cfg)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    if cfg.workers >= 1:
        return _run_gunicorn(cfg)
    from werkzeug.serving import run_simple

    from server.app import create_app
    from server.services import services

    app = create_app(cfg)
    print(f"Reply Desk {app.config['REPLYDESK_VERSION']} on http://{cfg.host}:{cfg.port}  "
          f"(data: {cfg.data_dir}; engine: {services(app).engine_name})", flush=True)
    print("Pair the extension with the token from `python -m server token`.", flush=True)
    run_simple(cfg.host, cfg.port, app, threaded=True, use_reloader=False, use_debugger=False)
    return 0


def _run_gunicorn(cfg: Config) -> int:
    from server import __version__
    from server.llm.settings import describe_engine
    from server.web.serve import serve

    where = f"data: {cfg.data_dir}" + ("; team database" if cfg.team else "")
    print(f"Reply Desk {__version__} on http://{cfg.host}:{cfg.port}  ({where}; engine: {describe_engine(cfg)}; "
          f"{cfg.workers} worker processes x {cfg.threads} threads)", flush=True)
    print("Pair the extension with the token from `python -m server token`.", flush=True)
    serve(cfg)
    return 0


def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None,
                        help="team database, postgresql://... (env REPLYDESK_DATABASE_URL); default: the data "
                             "folder's SQLite file")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (gunicorn; env REPLYDESK_WORKERS); default 0: one Werkzeug process")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per worker process, each serves one request or /ws connection "
                             "(env REPLYDESK_THREADS; default 128: every open /ws holds one)")


cmd_run.configure = _configure_run  # type: ignore[attr-defined]


@command("token", "print the pairing token for the extension and the tray (creates it on first use)")
def cmd_token(args: argparse.Namespace) -> int:
    from server.web.keystore import get_or_create_token

    cfg = Config.from_env(data_dir=args.data_dir)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    print(get_or_create_token(cfg.data_dir))
    return 0


@command("set-key", "store the LLM API key in the OS keyring (read without echo)")
def cmd_set_key(args: argparse.Namespace) -> int:
    from server.web.keystore import set_api_key

    key = getpass.getpass("LLM API key (not shown): ").strip() if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not key:
        print("No key given; nothing stored.", file=sys.stderr)
        return 2
    if not set_api_key(key):
        print("No usable OS keyring: the key was not stored. Set OPENAI_API_KEY in the server's environment "
              "instead, or install a keyring backend (e.g. gnome-keyring).", file=sys.stderr)
        return 1
    print("API key stored in the OS keyring.")
    return 0


@command("config", "show the settings in force (never a secret)")
def cmd_config(args: argparse.Namespace) -> int:
    from server.web.keystore import get_api_key, token_storage

    cfg = Config.from_env(data_dir=args.data_dir)
    shown = {
        "host": cfg.host, "port": cfg.port, "data_dir": str(cfg.data_dir), "packs_dir": str(cfg.packs_dir),
        "default_pack": cfg.default_pack, "llm_base_url": cfg.llm_base_url, "llm_model": cfg.llm_model,
        "llm_timeout": cfg.llm_timeout, "llm_api_key": "set" if get_api_key() else "not set",
        "pairing_token": token_storage(cfg.data_dir),
    }
    try:
        from server.llm.settings import describe_engine, redact_url

        shown["llm_base_url"] = redact_url(cfg.llm_base_url)  # a URL may carry credentials
        shown["engine"] = describe_engine(cfg)
    except ImportError:
        shown["engine"] = "playbook"
    print(json.dumps(shown, indent=2))
    return 0


@command("pair", "approve the extension's one-click pairing request with the code it shows")
def cmd_pair(args: argparse.Namespace) -> int:
    import requests

    from server.web.keystore import get_or_create_token

    cfg = Config.from_env(data_dir=args.data_dir, port=args.port)
    url = f"http://{'127.0.0.1' if cfg.host in ('0.0.0.0', '::') else cfg.host}:{cfg.port}/api/pair/approve"
    try:
        r = requests.post(url, json={"code": args.code}, timeout=10,
                          headers={"Authorization": f"Bearer {get_or_create_token(cfg.data_dir)}"})
    except requests.RequestException:
        print(f"The server is not answering at {url.rsplit('/api', 1)[0]}; start it with `make run`.", file=sys.stderr)
        return 1
    body = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
    if r.status_code != 200:
        print(body.get("message") or f"The server answered HTTP {r.status_code}.", file=sys.stderr)
        return 2
    print(f"Approved: {body.get('client')} ({body.get('origin')}) receives the token on its next check.")
    return 0


def _configure_pair(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", help="the code the extension's options page shows, e.g. K7Q-4MX")
    parser.add_argument("--port", type=int, default=None, help="the running server's port (env REPLYDESK_PORT)")


cmd_pair.configure = _configure_pair  # type: ignore[attr-defined]


def _configure_add_supervisor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the supervisor's sign-in name (letters, digits, '.', '_', '-')")


@command("add-supervisor", "create a supervisor sign-in for the /admin console, or change its password")
def cmd_add_supervisor(args: argparse.Namespace) -> int:
    from server.admin.auth import PASSWORD_RULE, SupervisorError, add_supervisor, check_name, check_new

    cfg = Config.from_env(data_dir=args.data_dir)
    try:
        check_name(args.name)  # a bad name is told before any password is typed
    except SupervisorError as exc:
        print(f"{exc} Nothing stored.", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        print(f"Password rule: {PASSWORD_RULE}")
        password = getpass.getpass(f"Password for supervisor {args.name} (not shown): ")
        try:
            check_new(args.name, password)
        except SupervisorError as exc:
            print(f"{exc} Nothing stored.", file=sys.stderr)
            return 2
        again = getpass.getpass("Repeat the password: ")
        if password != again:
            print("The passwords differ; nothing stored.", file=sys.stderr)
            return 2
    else:
        print(f"Password rule: {PASSWORD_RULE} Reading the password from standard input.", file=sys.stderr)
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_new(args.name, password)
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        if cfg.team:  # a team's supervisors sign in on every process: they live in the team database
            from server.queue.store import QueueStore

            store = QueueStore(cfg.database)
            try:
                is_new = add_supervisor(store.db, args.name, password)
            finally:
                store.close()
        else:
            is_new = add_supervisor(cfg.data_dir, args.name, password)
    except SupervisorError as exc:
        print(f"{exc} Nothing stored.", file=sys.stderr)
        return 2
    what = "added" if is_new else "password changed for"
    print(f"Supervisor {what} {args.name}. Sign in at /admin on the running server.")
    return 0


cmd_add_supervisor.configure = _configure_add_supervisor  # type: ignore[attr-defined]


def _team_store(args: argparse.Namespace) -> Any:
    from server.queue.store import QueueStore

    return QueueStore(Config.from_env(data_dir=args.data_dir, database_url=args.database_url).database)


def _configure_add_agent(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the agent's name as teammates see it (\"Dana is replying\")")
    parser.add_argument("--initials", default="", help="for the reply's signature, e.g. KM (default: from the name)")
    parser.add_argument("--supervisor", action="store_true", help="may take over other agents' claims")
    parser.add_argument("--database-url", default=None, help="the team database (env REPLYDESK_DATABASE_URL)")


@command("add-agent", "add an agent with a token of their own; prints the token once, on the last line")
def cmd_add_agent(args: argparse.Namespace) -> int:
    from server.core.errors import DomainError
    from server.team.agents import Agents

    store = _team_store(args)
    try:
        token = Agents(store.db).add(args.name, args.initials, args.supervisor)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"Agent {args.name.strip()} added. Their token, shown only now (paste it into their extension and tray):")
    print(token)
    return 0


def _configure_agents(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None, help="the team database (env REPLYDESK_DATABASE_URL)")


@command("list-agents", "list the team's agents (names, initials, roles; never a token)")
def cmd_list_agents(args: argparse.Namespace) -> int:
    from server.team.agents import Agents

    store = _team_store(args)
    try:
        for a in Agents(store.db).list():
            role = "supervisor" if a["supervisor"] else "agent"
            print(f"{a['name']}\t{a['initials'] or '-'}\t{role}" + ("\trevoked" if a["revoked_at"] else ""))
    finally:
        store.close()
    return 0


def _configure_revoke(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    _configure_agents(parser)


@command("revoke-agent", "revoke an agent's token (add-agent can then issue a new one)")
def cmd_revoke_agent(args: argparse.Namespace) -> int:
    from server.core.errors import DomainError
    from server.team.agents import Agents

    store = _team_store(args)
    try:
        Agents(store.db).revoke(args.name)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"Agent {args.name} revoked: their token no longer works (within a few seconds on every server process).")
    return 0


cmd_add_agent.configure = _configure_add_agent  # type: ignore[attr-defined]
cmd_list_agents.configure = _configure_agents  # type: ignore[attr-defined]
cmd_revoke_agent.configure = _configure_revoke  # type: ignore[attr-defined]


def _configure_migrate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=None,
                        help="the team database (env REPLYDESK_DATABASE_URL); default: the data folder's SQLite file")
    parser.add_argument("--from-sqlite", type=Path, default=None, metavar="FILE",
                        help="also move this single-agent SQLite file (replydesk.sqlite3) into the team database")


@command("migrate", "bring the database's schema up to date; --from-sqlite moves a single agent's desk into it")
def cmd_migrate(args: argparse.Namespace) -> int:
    from server.queue.store import QueueStore, StoreError
    from server.store.transfer import copy_sqlite

    cfg = Config.from_env(data_dir=args.data_dir, database_url=args.database_url)
    try:
        if args.from_sqlite is not None:
            QueueStore(args.from_sqlite.expanduser()).close()  # the source at the latest schema first
        store = QueueStore(cfg.database)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"schema version {store.schema_version()} (was {store.found_version}) at {store.db.describe()}")
        if args.from_sqlite is not None:
            copied = copy_sqlite(args.from_sqlite.expanduser(), store.db)
            print("moved " + ", ".join(f"{n} {table}" for table, n in copied.items())
                  + f" from {args.from_sqlite}")
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


cmd_migrate.configure = _configure_migrate  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server",
                                     description="Reply Desk's local server: suggested replies, tone checks and the "
                                                 "response-time queue for X and Facebook care agents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_data_dir(p)
        if name == "run":
            p.add_argument("--host", default=None, help="address to bind (env REPLYDESK_HOST; default 127.0.0.1)")
            p.add_argument("--port", type=int, default=None, help="port (env REPLYDESK_PORT; default 8765)")
            p.add_argument("--packs-dir", type=Path, default=None,
                           help="prompt packs folder (env REPLYDESK_PACKS_DIR; default: packs/ in the data folder, "
                                "seeded from the shipped prompts/ on first start)")
        extra = getattr(_fn, "configure", None)
        if extra:
            extra(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    return COMMANDS[args.command][1](args)  # type: ignore[operator]
