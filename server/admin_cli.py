"""`python -m server add-supervisor NAME`: create a console sign-in (or change its password).

The password is read without echo from a terminal, or as the first line of stdin otherwise (scripts, tests);
it never appears on the command line, where other users and shell history could see it.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from server.__main__ import COMMANDS, command
from server.config import Config


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the supervisor's sign-in name (letters, digits, '.', '_', '-')")


@command("add-supervisor", "create a supervisor sign-in for the /admin console, or change its password")
def cmd_add_supervisor(args: argparse.Namespace) -> int:
    from server.admin.auth import SupervisorError, add_supervisor, check_new

    cfg = Config.from_env(data_dir=args.data_dir)
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for supervisor {args.name} (not shown): ")
        again = getpass.getpass("Repeat the password: ")
        if password != again:
            print("The passwords differ; nothing stored.", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_new(args.name, password)
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        is_new = add_supervisor(cfg.data_dir, args.name, password)
    except SupervisorError as exc:
        print(f"{exc} Nothing stored.", file=sys.stderr)
        return 2
    what = "added" if is_new else "password changed for"
    print(f"Supervisor {what} {args.name}. Sign in at /admin on the running server.")
    return 0


cmd_add_supervisor.configure = _configure  # type: ignore[attr-defined]

# Under `python -m server` the running CLI module is `__main__`, a different module object from the
# `server.__main__` imported above; register the command in the one that is parsing the arguments too.
_running = sys.modules.get("__main__")
if _running is not None and getattr(getattr(_running, "__spec__", None), "name", None) == "server.__main__" \
        and isinstance(getattr(_running, "COMMANDS", None), dict):
    _running.COMMANDS.setdefault("add-supervisor", COMMANDS["add-supervisor"])
