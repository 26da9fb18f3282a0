"""A throwaway desktop for the tray's real tests and benchmark (bench/bench_tray.py): Xvfb, a D-Bus session, a
notification daemon and a system tray host (trayer). Not part of the tray product, which never starts a server or
a desktop; it moved here from tray/desktop.py.

Every process is started here and ended here by its own pid, so nothing else on the machine is touched.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

from PIL import Image

NOTIFICATION_DAEMONS = ("/usr/lib/notification-daemon/notification-daemon",
                        "/usr/libexec/notification-daemon")


class DesktopError(RuntimeError):
    pass


def _wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise DesktopError(f"timed out waiting for {what}")


class VirtualDesktop:
    """`with VirtualDesktop(workdir) as desk:` then run programs with `desk.env`."""

    def __init__(self, workdir: Path, width: int = 640, height: int = 200, tray: bool = True,
                 notifications: bool = True) -> None:
        self.workdir = Path(workdir)
        self.size = (width, height)
        self.want_tray, self.want_notifications = tray, notifications
        self.procs: list[subprocess.Popen] = []
        self.dbus_pid: int | None = None
        self.env = dict(os.environ)
        self.display = ""

    def __enter__(self) -> VirtualDesktop:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, cmd: list[str], name: str, **kw) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=kw.pop("stdout", log),
                                stderr=log, **kw)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for tool in ("Xvfb",) + (("trayer",) if self.want_tray else ()):
            if not shutil.which(tool):
                raise DesktopError(f"{tool} is not installed (make deps installs it)")
        # -displayfd: Xvfb picks a free display number itself and writes it to us when it is ready.
        read_fd, write_fd = os.pipe()
        w, h = self.size
        self._spawn(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"],
                    "xvfb", pass_fds=(write_fd,))
        os.close(write_fd)
        # Xvfb writes the number and the newline separately: read up to the newline before closing our end,
        # or its second write fails and it exits ("Cannot write display number").
        got, deadline = b"", time.monotonic() + 30
        while not got.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 64) if ready else b""
            if not chunk:
                break
            got += chunk
        os.close(read_fd)
        number = got.decode().strip()
        if not number:
            raise DesktopError("Xvfb did not start")
        self.display = f":{number}"
        self.env["DISPLAY"] = self.display
        for var in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_CURRENT_DESKTOP"):
            self.env.pop(var, None)
        if self.want_notifications:
            self._start_dbus()
        if self.want_tray:
            self._spawn(["trayer", "--edge", "top", "--align", "left", "--widthtype", "pixel", "--width", "200",
                         "--height", "32", "--SetDockType", "false", "--transparent", "false", "--tint",
                         "0xffffff"], "trayer")
            _wait_for(self._tray_manager_present, 30, "the tray host (trayer)")

    def _start_dbus(self) -> None:
        out = subprocess.run(["dbus-launch", "--sh-syntax"], env=self.env, capture_output=True, text=True,
                             timeout=30, check=True).stdout
        for line in out.splitlines():
            if line.startswith("DBUS_SESSION_BUS_ADDRESS="):
                self.env["DBUS_SESSION_BUS_ADDRESS"] = line.split("=", 1)[1].rstrip(";").strip("'")
            elif line.startswith("DBUS_SESSION_BUS_PID="):
                self.dbus_pid = int(line.split("=", 1)[1].rstrip(";"))
        daemon = next((d for d in NOTIFICATION_DAEMONS if os.path.exists(d)), None)
        if daemon:
            self._spawn([daemon], "notification-daemon")
        if shutil.which("dbus-monitor"):
            # Records every Notify call on the session bus: proof of what reached the notification service.
            with open(self.workdir / "notify-calls.log", "wb") as out:
                self._spawn(["dbus-monitor", "--session", "type='method_call',interface='org.freedesktop."
                             "Notifications',member='Notify'"], "dbus-monitor", stdout=out)
            _wait_for(lambda: (self.workdir / "notify-calls.log").stat().st_size > 0, 15, "dbus-monitor")

    def notify_calls(self) -> list[list[str]]:
        """The string arguments of each Notify call seen on the bus (app name, icon, title, body)."""
        path = self.workdir / "notify-calls.log"
        calls: list[list[str]] = []
        if not path.exists():
            return calls
        for line in path.read_text(errors="replace").splitlines():
            if "member=Notify" in line:
                calls.append([])
            elif calls and line.strip().startswith('string "'):
                calls[-1].append(line.strip()[len('string "'):-1])
        return calls

    def _tray_manager_present(self) -> bool:
        """The tray host is up once it owns the _NET_SYSTEM_TRAY_S0 selection (what tray icons look for)."""
        from Xlib import display as xdisplay

        d = xdisplay.Display(self.display)
        try:
            return d.get_selection_owner(d.intern_atom("_NET_SYSTEM_TRAY_S0")) not in (0, None) and \
                d.get_selection_owner(d.intern_atom("_NET_SYSTEM_TRAY_S0")).id != 0
        finally:
            d.close()

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=timeout)

    def screenshot(self, path: Path) -> Image.Image:
        result = self.run("import", "-display", self.display, "-window", "root", str(path))
        if result.returncode != 0:
            raise DesktopError(f"screenshot failed: {result.stderr.strip()}")
        return Image.open(path).convert("RGB")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()
        if self.dbus_pid:
            try:
                os.kill(self.dbus_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.dbus_pid = None


def color_pixels(img: Image.Image, color: tuple[int, int, int], box: tuple[int, int, int, int] | None = None,
                 tolerance: int = 40) -> list[tuple[int, int]]:
    """Pixels (x, y) within `tolerance` (per channel) of `color`, inside `box`."""
    region = img.crop(box) if box else img
    ox, oy = (box[0], box[1]) if box else (0, 0)
    r0, g0, b0 = color
    data = region.get_flattened_data()
    w = region.width
    return [(ox + i % w, oy + i // w) for i, (r, g, b) in enumerate(data)
            if abs(r - r0) <= tolerance and abs(g - g0) <= tolerance and abs(b - b0) <= tolerance]
