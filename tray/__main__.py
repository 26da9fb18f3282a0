"""`python -m tray [--server http://127.0.0.1:8765 | https://desk.example.com] [--token T] [--data-dir DIR]
[--backend gtk|xorg|appindicator]`."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from tray.app import TrayApp, choose_backend
from tray.client import server_problem


def default_server(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    host = env.get("REPLYDESK_HOST") or "127.0.0.1"
    return env.get("REPLYDESK_SERVER") or f"http://{host}:{env.get('REPLYDESK_PORT') or 8765}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tray",
                                     description="Reply Desk tray: response-time deadlines at a glance.")
    parser.add_argument("--server", default=None,
                        help="server URL: this machine's (default http://127.0.0.1:8765) or a team server's "
                             "(https://desk.example.com); env REPLYDESK_SERVER, or REPLYDESK_HOST/REPLYDESK_PORT")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the server's data folder, for the pairing token (env REPLYDESK_DATA_DIR; default: "
                             "the server's default)")
    parser.add_argument("--token", default=None,
                        help="an agent's token for a team server (env REPLYDESK_TOKEN; `python -m server add-agent` "
                             "prints it); default: this machine's pairing token")
    parser.add_argument("--allow-plain-http", action="store_true",
                        help="allow a plain http:// server on another machine (only on a private network)")
    parser.add_argument("--backend", default=None, help="pystray backend (env PYSTRAY_BACKEND; default gtk when "
                                                        "python3-gi is importable, else xorg)")
    args = parser.parse_args(argv)
    server = args.server or default_server()
    problem = server_problem(server, args.allow_plain_http)
    if problem:
        print(f"reply-desk tray: {problem}", file=sys.stderr)
        return 2
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        print("reply-desk tray: no display (DISPLAY is not set); the tray needs a desktop session.",
              file=sys.stderr)
        return 2
    backend = args.backend or choose_backend()
    app = TrayApp(server, args.data_dir, backend, token=args.token or os.environ.get("REPLYDESK_TOKEN"))
    _stop_on_term(app, backend)
    app.run()
    return 0


def _stop_on_term(app: TrayApp, backend: str) -> None:
    """SIGTERM/SIGINT end the tray cleanly (GTK's C main loop would otherwise delay Python's handlers)."""
    if backend in ("gtk", "appindicator"):
        from gi.repository import GLib

        for sig in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda *_: app.stop() or False)
    else:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: app.stop())


if __name__ == "__main__":
    sys.exit(main())
