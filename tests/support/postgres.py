"""A throw-away PostgreSQL cluster for team-mode tests: Debian's server binaries, on a free loopback port.

initdb refuses to run as root, so when the tests run as root the cluster belongs to the `postgres` user the
Debian package creates (commands go through `runuser`). One cluster per test session (start-up takes about two
seconds); each test gets a database of its own from `create_database`. `stop(immediate=True)` is how a fault test
makes the database vanish mid-write, `start()` brings it back on the same port with the same data.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.support.servers import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # Debian's layout, newest first


def pg_bin(name: str) -> str:
    for folder in BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing: `make test` installs Debian's postgresql package")
    return found


class PgCluster:
    """One PostgreSQL server in a temporary folder. URLs are `postgresql://postgres@127.0.0.1:PORT/NAME`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="replydesk-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "log"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        conf = self.data / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            # Team tests open many connections (two server processes with pools, plus test clients).
            f.write("\nmax_connections = 300\nfsync = on\nshared_buffers = 64MB\n")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [pg_bin(tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")

    def stop(self, immediate: bool = False) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate" if immediate else "fast", "-w", "stop",
                  check=False)

    def url(self, name: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def psql(self, url_name: str, sql: str) -> str:
        out = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", url_name,
                        "-At", "-c", sql)
        return out.stdout.strip()

    def destroy(self) -> None:
        self.stop(immediate=True)
        shutil.rmtree(self.root, ignore_errors=True)
