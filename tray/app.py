"""The glue: pystray icon + event stream + a ticker thread. All decisions live in state/notify/menu (pure).

Threads: pystray's loop (the main thread; menu callbacks run there and must not block), the /ws reader, and one
ticker that sleeps until the shown minute changes or an event wakes it, then redraws only what changed. That keeps
an idle tray at ~0% CPU even with hundreds of tracked posts.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tray.client import Api, ApiFailure, EventStream, read_token
from tray.icon import render, render_window
from tray.menu import Entry, build_menu
from tray.notify import Notification, Notifier, NotifyPolicy
from tray.state import Crossing, IconState, QueueState, icon_state, most_urgent, next_change_in

#: Crossings that arrive within this many seconds of each other become one notification.
BATCH_SECONDS = 0.4
#: How often menu lines are refreshed for the passing minutes (events rebuild the menu at once).
MENU_REFRESH = 30.0
DEFAULT_ICON_SIZE = 64


def choose_backend(env: dict[str, str] | None = None) -> str:
    """PYSTRAY_BACKEND when set; else gtk when Debian's python3-gi is importable, else xorg.

    pystray's own automatic choice can raise ValueError, and without DISPLAY importing it raises
    Xlib's DisplayNameError, so the choice is made here, explicitly, before pystray is imported.
    """
    env = os.environ if env is None else env
    if env.get("PYSTRAY_BACKEND"):
        return env["PYSTRAY_BACKEND"]
    try:
        import gi  # noqa: F401

        return "gtk"
    except ImportError:
        return "xorg"


def open_url(url: str) -> None:
    """The desktop's browser (honours $BROWSER); imported on use, like everything the idle tray can do without."""
    import webbrowser

    webbrowser.open(url)


def release_memory(collect: bool = True) -> None:
    """Hand the heap freed after a big snapshot (hundreds of posts as JSON) back to the OS.

    CPython frees the parsed snapshot at once, but glibc keeps the pages; a tray lives for days, and resident
    memory is what users see. No-op where glibc's malloc_trim is missing.
    """
    if collect:
        import gc

        gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class TrayApp:
    def __init__(self, server: str, data_dir: Path | None = None, backend: str | None = None,
                 token: str | None = None) -> None:
        self.server = server.rstrip("/")
        # A team server's agent token (--token / REPLYDESK_TOKEN); None: this machine's pairing token.
        self.given_token = token.strip() if token and token.strip() else None
        self.data_dir = Path(data_dir) if data_dir is not None else None  # None: the server's own default
        self.backend = backend or choose_backend()
        self.state = QueueState()
        self.policy = NotifyPolicy()
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.pending: list[Crossing] = []
        self.pending_since: float | None = None
        self.icon: Any = None
        self.icon_size = DEFAULT_ICON_SIZE
        self.notifier = Notifier()
        self._token: str | None = None
        self.api = Api(self.server, self.token)
        self.stream = EventStream(self.server, self.token, self.on_event, self.on_status, self.api,
                                  on_refused=self.on_refused, on_limited=self.on_limited)
        self._drawn: tuple[IconState, int] | None = None
        self._menu: tuple[Entry, ...] | None = None
        self._menu_version = -1
        self._menu_built = 0.0
        self._trim = ""  # "snapshot" | "menu": give freed heap back to the OS after big changes

    # --- inputs -------------------------------------------------------------------------------------------
    def token(self, fresh: bool = False) -> str:
        """The pairing token, read once and again only when the server refused it."""
        if self.given_token is not None:
            return self.given_token  # a team server's: nothing to read again
        if fresh or self._token is None:
            self._token = read_token(self.data_dir)
        return self._token

    def on_event(self, event: dict[str, Any]) -> None:
        now = time.time()
        with self.lock:
            crossings = self.state.apply(event, now)
            if event.get("type") == "queue" and "change" not in event:
                self._trim = "snapshot"
            self.policy.forget_gone(self.state)
            if crossings:
                self.pending.extend(crossings)
                self.pending_since = self.pending_since or now
        self.wake.set()

    def on_status(self, connected: bool) -> None:
        with self.lock:
            self.state.set_connected(connected)
        self.wake.set()

    def on_refused(self, fresh: bool) -> bool:
        """The server refused the token: say so in the tooltip and the menu (and once on stderr), instead of
        "connecting" forever; True when that is final (the stream then retries seldom). A given token cannot
        change; a pairing token that was just read again is wrong too (its first refusal only means "read it
        again": the desk may have been re-paired)."""
        if self.given_token is None and not fresh:
            return False
        self._say("the server refused this token: it may be mistyped or revoked (`python -m server add-agent NAME` "
                  "on the server makes a new one)" if self.given_token is not None else
                  "the server refused the pairing token read from its data folder (is it the same server?)")
        return True

    def on_limited(self, seconds: float) -> None:
        """The server turns sign-ins from this address away for a while (too many wrong tokens from it)."""
        self._say(f"the server refuses sign-ins from this address for {round(seconds)} s (too many failed "
                  "sign-ins); trying again then")

    def _say(self, problem: str) -> None:
        with self.lock:
            new = problem != self.state.problem
            self.state.set_problem(problem)
        if new:
            print(f"reply-desk tray: {problem}", file=sys.stderr, flush=True)
        self.wake.set()

    # --- the ticker -----------------------------------------------------------------------------------------
    def refresh(self, now: float | None = None) -> float:
        """Bring icon, tooltip, menu and notifications up to date; return how long to sleep."""
        now = time.time() if now is None else now
        notes: list[Notification] = []
        with self.lock:
            wait = next_change_in(self.state, now, cap=MENU_REFRESH)
            if self.pending and self.pending_since is not None:
                due = self.pending_since + BATCH_SECONDS
                if now >= due:
                    notes = self.policy.decide(self.pending, self.state, now)
                    self.pending, self.pending_since = [], None
                else:
                    wait = min(wait, due - now)
            shown = icon_state(self.state, now)
            menu = None
            if (self.state.version != self._menu_version or now - self._menu_built >= MENU_REFRESH - 0.5
                    or self.state.claims_lapsed(self._menu_built, now)):
                model = build_menu(self.state, now, self.policy.paused_until)
                if model != self._menu:
                    menu = model
                self._menu_version, self._menu_built = self.state.version, now
        if self.icon is not None:
            if self._drawn != (shown, self.icon_size):
                self._drawn = (shown, self.icon_size)
                self.icon.icon = render(shown, self.icon_size)
                self.icon.title = shown.tooltip
                self._set_tooltip(shown.tooltip)
            if menu is not None:
                self._menu = menu
                self.icon.menu = self._pystray_menu(menu)
                self._trim = self._trim or "menu"  # the old native menu's memory, once GTK has let it go
        for note in notes:
            self.notifier.send(note)
        if self._trim:
            release_memory(collect=self._trim == "snapshot")
            self._trim = ""
        return wait

    def _tick_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                wait = self.refresh()
            except Exception as exc:  # keep ticking: a drawing glitch must not freeze the countdown
                print(f"reply-desk tray: refresh failed: {exc!r}", file=sys.stderr)
                wait = 5.0
            self.wake.wait(wait)
            self.wake.clear()

    # --- actions (from the menu) ------------------------------------------------------------------------------
    def dispatch(self, action: tuple) -> None:
        """Run a menu action; network calls go to a worker thread so the menu never freezes."""
        kind = action[0]
        if kind == "quit":
            self.stop()
        elif kind == "pause":
            with self.lock:
                self.policy.pause(float(action[1]), time.time())
                self._menu_version = -1
            self.wake.set()
        elif kind == "resume":
            with self.lock:
                self.policy.resume()
                self._menu_version = -1
            self.wake.set()
        elif kind == "supervisor":
            self._background(open_url, self.server + "/admin")
        elif kind in ("open", "open_top"):
            with self.lock:
                item = (self.state.items.get(action[1]) if kind == "open"
                        else most_urgent(self.state) or next(iter(self.state.sorted_items()), None))
            if item is not None and item.url:
                self._background(open_url, item.url)
        elif kind in ("replied", "dismiss", "snooze"):
            call = {"replied": self.api.replied, "dismiss": self.api.dismiss, "snooze": self.api.snooze}[kind]
            self._background(self._rest, call, *action[1:])

    def _rest(self, call: Any, *args: Any) -> None:
        try:
            call(*args)  # the server answers with a queue event; the menu follows from that
        except ApiFailure as exc:
            self.notifier.send(Notification("Reply Desk: action failed", exc.message, "error", ()))

    @staticmethod
    def _background(fn: Any, *args: Any) -> None:
        threading.Thread(target=fn, args=args, daemon=True, name="tray-action").start()

    # --- pystray ------------------------------------------------------------------------------------------
    def _pystray_menu(self, entries: tuple[Entry, ...]) -> Any:
        import pystray

        def convert(entry: Entry) -> Any:
            if entry.separator:
                return pystray.Menu.SEPARATOR
            if entry.children:
                return pystray.MenuItem(entry.text, pystray.Menu(*[convert(c) for c in entry.children]),
                                        enabled=entry.enabled)
            action = entry.action
            return pystray.MenuItem(entry.text, (lambda icon, item: self.dispatch(action)) if action else None,
                                    enabled=entry.enabled and action is not None, default=entry.default)

        return pystray.Menu(*[convert(e) for e in entries])

    def _set_tooltip(self, text: str) -> None:
        status = getattr(self.icon, "_status_icon", None)  # gtk: pystray sets the title, not the tooltip
        if status is not None:
            from gi.repository import GLib

            GLib.idle_add(lambda: status.set_tooltip_text(text) and False)

    def _watch_gtk_size(self) -> None:
        """Redraw at the size the tray asks for (crisp pixels instead of GTK's scaling)."""
        status = getattr(self.icon, "_status_icon", None)
        if status is None:
            return
        from gi.repository import GLib

        def on_size(_icon: Any, size: int) -> bool:
            if size >= 16 and size != self.icon_size:
                self.icon_size = size
                self.wake.set()
            return True

        def connect() -> bool:
            status.connect("size-changed", on_size)
            size = status.get_size()
            if size >= 16:
                on_size(status, size)
            return False

        GLib.idle_add(connect)

    def _native_icon_updates(self) -> None:
        """Hand the tray exactly the pixels drawn by `tray.icon`, at the size it shows them.

        gtk: pystray encodes each icon to a temp PNG with Pillow (PngImagePlugin and, through its explicit format,
        all of Pillow's common plugins: about 2.5 MB resident) for GTK to load it again. Here the RGBA pixels go
        to GTK as a GdkPixbuf, and GdkPixbuf writes the PNG that pystray's notifications show as their icon.
        xorg: pystray scales the image into its window with LANCZOS (blurred digits, black corners); here the icon
        is drawn for the window's own size.
        """
        icon = self.icon
        status = getattr(icon, "_status_icon", None)
        if status is not None and hasattr(icon, "_icon_path"):
            from gi.repository import GdkPixbuf, GLib

            def update_icon() -> bool:
                img = icon.icon.convert("RGBA")
                w, h = img.size
                pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(img.tobytes()), GdkPixbuf.Colorspace.RGB,
                                                         True, 8, w, h, w * 4)
                icon._remove_fs_icon()
                import tempfile

                fd, path = tempfile.mkstemp(suffix=".png", prefix="reply-desk-icon-")
                os.close(fd)
                pixbuf.savev(path, "png", [], [])
                icon._icon_path, icon._icon_valid = path, True
                status.set_from_pixbuf(pixbuf)
                return False

            icon._update_icon = lambda: GLib.idle_add(update_icon)
        elif self.backend == "xorg" and hasattr(icon, "_assert_icon_data"):
            def assert_icon_data(width: int, height: int) -> None:
                data = icon._icon_data
                if data is not None and data.size == (width, height):
                    return
                shown = self._drawn[0] if self._drawn else icon_state(self.state, time.time())
                data = render_window(shown, width, height)
                data.tostring = data.tobytes  # what python-xlib's put_pil_image calls
                icon._icon_data = data

            icon._assert_icon_data = assert_icon_data

    def _fix_xorg_clicks(self) -> None:
        """pystray 0.19.5's xorg window does not ask for button presses; without this a click does nothing."""
        window = getattr(self.icon, "_window", None)
        if window is None or self.backend != "xorg":
            return
        import Xlib.X

        window.change_attributes(event_mask=Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask | Xlib.X.ButtonPressMask)
        self.icon._display.flush()

    def _disable_broken_dbus_notifier(self) -> None:
        """gtk/appindicator create a D-Bus notifier on start and die without a session bus: fall back instead."""
        if self.backend not in ("gtk", "appindicator"):
            return
        try:
            from pystray._util import notify_dbus

            notify_dbus.Notifier()
        except Exception:
            from pystray._util import notify_dbus

            class _NoNotifier:
                def notify(self, *args: Any) -> None:
                    raise RuntimeError("no D-Bus session for notifications")

                def hide(self) -> None:
                    pass

            notify_dbus.Notifier = _NoNotifier  # type: ignore[assignment,misc]
            type(self.icon).HAS_NOTIFICATION = False

    def run(self) -> None:
        os.environ["PYSTRAY_BACKEND"] = self.backend
        import pystray

        with self.lock:
            shown = icon_state(self.state, time.time())
        # No image yet: pystray's constructor would queue its own icon update (see _native_icon_updates).
        # The title is set once the icon is visible (setup): pystray's gtk backend never applies the one given
        # here, so the first state ("connecting", a refused token) would have no tooltip at all.
        self.icon = pystray.Icon("reply-desk", None, "Reply Desk")
        self._drawn = (shown, self.icon_size)
        self._native_icon_updates()
        self.icon.icon = render(shown, self.icon_size)
        self._disable_broken_dbus_notifier()
        self.notifier = Notifier(self.icon)
        self._fix_xorg_clicks()
        print(f"reply-desk tray: backend {self.backend}, notifications via {self.notifier.backend}, "
              f"server {self.server}", file=sys.stderr, flush=True)

        def setup(icon: Any) -> None:
            icon.visible = True
            with self.lock:
                first = icon_state(self.state, time.time()).tooltip
            icon.title = first
            self._set_tooltip(first)
            self._watch_gtk_size()
            self.stream.start()
            threading.Thread(target=self._tick_loop, daemon=True, name="tray-tick").start()

        try:
            self.icon.run(setup=setup)
        except Exception as exc:  # GLib errors at shutdown (no notification daemon) are not worth a traceback
            if not self.stopping.is_set():
                raise
            print(f"reply-desk tray: stopped ({exc!r})", file=sys.stderr)
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.stream.stop()
        if self.icon is not None:
            try:
                self.icon.stop()
            except Exception:
                pass
