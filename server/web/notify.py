"""Events across the processes of a team server: PostgreSQL LISTEN/NOTIFY behind the EventHub.

Each process publishes to its own /ws clients at once and NOTIFYs channel `replydesk_events`; one listener thread
per process hands every other process's notification to its local subscribers. A notification names the process
that sent it (`o`), so the sender, which hears its own NOTIFY too, skips it: every process delivers each event
exactly once. NOTIFY is used rather than a table to poll because PostgreSQL delivers it within milliseconds to
every listening session and keeps nothing afterwards.

Payloads: PostgreSQL refuses a NOTIFY payload over 8000 bytes. An event whose JSON is bigger (a queue item with a
long post and thread) travels in a compact form, its scalar fields plus `item_id` and `compact: true`; receivers
re-read that item from the shared store (`expand`), so they send their clients the item as it is now, which may
already include a later change. What cannot be re-read reaches clients as `{"type": "resync"}` (ask for a
snapshot), as do the events missed while the listener was disconnected: it reconnects with backoff when
PostgreSQL restarts and tells local clients to resync once it is listening again.

Sending runs on a thread of its own with a bounded outbox, so a slow or restarting database never holds up the
request or scheduler thread that published.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from server.services import Services
    from server.web.events import EventHub

CHANNEL = "replydesk_events"
MAX_PAYLOAD = 7900  # bytes; PostgreSQL's limit is 8000
OUTBOX_SIZE = 10000
BACKOFF_MAX = 5.0
log = logging.getLogger(__name__)

Event = dict[str, Any]


def encode(origin: str, event: Event) -> str:
    """The NOTIFY payload for an event: whole when it fits, else compact (see the module's docstring)."""
    body = _dumps({"o": origin, "e": event})
    if len(body.encode("utf-8")) <= MAX_PAYLOAD:
        return body
    small: Event = {k: v for k, v in event.items()
                    if k != "item" and (v is None or isinstance(v, str | int | float | bool)) and len(str(v)) <= 200}
    item = event.get("item")
    if isinstance(item, dict) and isinstance(item.get("id"), int):
        small["item_id"] = item["id"]
    small["compact"] = True
    body = _dumps({"o": origin, "e": small})
    if len(body.encode("utf-8")) > MAX_PAYLOAD:  # only with very many scalar fields: keep what identifies it
        body = _dumps({"o": origin, "e": {k: small[k] for k in ("type", "change", "item_id", "compact")
                                              if k in small}})
    return body


def decode(origin: str, payload: str) -> Event | None:
    """The event in another process's payload; None for this process's own NOTIFY and for anything malformed."""
    try:
        msg = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("o") == origin or not isinstance(msg.get("e"), dict):
        return None
    return msg["e"]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def conninfo(url: str) -> str:
    """A libpq URL for psycopg from the store's SQLAlchemy URL (which may name its driver: postgresql+psycopg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgBridge:
    """The EventHub's bridge over LISTEN/NOTIFY: `send` queues a NOTIFY, a listener thread delivers the rest."""

    def __init__(self, url: str, hub: EventHub, expand: Callable[[Event], Event] | None = None,
                 on_remote: list[Callable[[Event], None]] | None = None, poll: float = 0.5) -> None:
        self.url = conninfo(url)
        self.hub = hub
        self.expand = expand
        self.on_remote = list(on_remote or [])
        self.poll = poll
        self.origin = uuid.uuid4().hex[:16]
        self.listening = threading.Event()
        self.delivered = 0
        self._outbox: queue.Queue[str | None] = queue.Queue(OUTBOX_SIZE)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, wait: float = 10.0) -> bool:
        """Start both threads; True once the listener is LISTENing (events of other processes are heard)."""
        for target, name in ((self._listen_loop, "pg-listen"), (self._send_loop, "pg-notify")):
            thread = threading.Thread(target=target, daemon=True, name=name)
            thread.start()
            self._threads.append(thread)
        return self.listening.wait(wait)

    def send(self, event: Event) -> None:
        payload = encode(self.origin, event)
        try:
            self._outbox.put_nowait(payload)
        except queue.Full:  # the database has been gone a long while: the oldest news is the least useful
            try:
                self._outbox.get_nowait()
            except queue.Empty:
                pass
            self._outbox.put_nowait(payload)

    def close(self) -> None:
        self._stop.set()
        try:
            self._outbox.put_nowait(None)
        except queue.Full:
            pass
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=3)

    # -- threads -----------------------------------------------------------------------------------------------
    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=5, keepalives=1, keepalives_idle=10,
                               keepalives_interval=5, keepalives_count=3, application_name="replydesk-events")

    def _listen_loop(self) -> None:
        delay, first = 0.2, True
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                conn.execute(f"LISTEN {CHANNEL}")
                self.listening.set()
                if not first:  # notifications sent while we were away are gone: clients must re-read
                    self.hub.deliver({"type": "resync"})
                first, delay = False, 0.2
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=self.poll):
                        self.receive(note.payload)
            except Exception as exc:
                self.listening.clear()
                if self._stop.is_set():
                    break
                log.warning("event listener: %s; reconnecting in %.1f s", str(exc).strip() or type(exc).__name__,
                            delay)
                self._stop.wait(delay)
                delay = min(BACKOFF_MAX, delay * 2)
            finally:
                if conn is not None:
                    _close_quietly(conn)
        self.listening.clear()

    def receive(self, payload: str) -> None:
        """One notification: this process's own are skipped, compact ones re-read, then local delivery."""
        event = decode(self.origin, payload)
        if event is None:
            return
        if event.get("compact"):
            event = self._expanded(event)
        self.hub.deliver(event)
        self.delivered += 1
        for hook in self.on_remote:
            try:
                hook(event)
            except Exception:
                log.exception("event listener hook failed")

    def _expanded(self, event: Event) -> Event:
        if self.expand is not None:
            try:
                return self.expand(event)
            except Exception:
                log.exception("could not re-read a compact event")
        return {"type": "resync"}

    def _send_loop(self) -> None:
        conn, delay = None, 0.2
        while True:
            payload = self._outbox.get()
            if payload is None or self._stop.is_set():
                break
            for attempt in range(2):  # a connection the database dropped gets one fresh try
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    delay = 0.2
                    break
                except Exception as exc:
                    if conn is not None:
                        _close_quietly(conn)
                    conn = None
                    if attempt:
                        log.warning("event not sent to the other processes: %s", str(exc).strip())
                        self._stop.wait(delay)
                        delay = min(BACKOFF_MAX, delay * 2)
        if conn is not None:
            _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:
        pass


def expand_queue_event(svc: Services, event: Event) -> Event:
    """A compact queue event made whole again from the shared store (the item as it is now)."""
    item_id = event.get("item_id")
    if svc.queue is None or isinstance(item_id, bool) or not isinstance(item_id, int):
        return {"type": "resync"}
    full = {k: v for k, v in event.items() if k not in ("compact", "item_id")}
    full["item"] = svc.queue.get(item_id)
    return full


def watch_remote_item(svc: Services, event: Event) -> None:
    """Tell this process's scheduler about an item another process tracked or changed, so its due_soon and
    overdue crossings are watched here too (whichever process wins the store's conditional update announces)."""
    item = event.get("item")
    queue_svc = svc.queue
    if event.get("type") != "queue" or not isinstance(item, dict) or queue_svc is None or queue_svc.scheduler is None:
        return
    item_id = item.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        queue_svc.scheduler.watch(item_id)


def attach(svc: Services, wait: float = 10.0) -> PgBridge:
    """Bridge the app's hub across processes (team servers only); closed with the other services."""
    bridge = PgBridge(svc.config.database_url or "", svc.hub, expand=lambda ev: expand_queue_event(svc, ev),
                      on_remote=[lambda ev: watch_remote_item(svc, ev)])
    if not bridge.start(wait):
        log.warning("not listening for other processes' events yet; the listener keeps trying")
    svc.hub.bridge = bridge
    svc.on_close(bridge.close)
    return bridge
