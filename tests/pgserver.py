"""A throwaway PostgreSQL server for the store tests: initdb and pg_ctl in a temporary folder on a free port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

OPT_OUT = "ECOCHECK_TEST_NO_POSTGRES"  # set to 1 to skip the PostgreSQL half of the store tests on purpose


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Start with `Server().start()`; `url(db)` names a database; `stop()` removes everything."""

    def __init__(self):
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="ecocheck-pg-"))
        self.port = _free_port()
        self.as_user: list = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: as the postgres user Debian's package makes
            self.as_user = ["runuser", "-u", "postgres", "--"]
            try:
                shutil.chown(self.folder, "postgres")
            except LookupError:
                shutil.rmtree(self.folder, ignore_errors=True)
                raise RuntimeError("running as root and there is no postgres user: install Debian's postgresql "
                                   "(`make postgres`)") from None
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"

    def _run(self, *args):
        return subprocess.run([*self.as_user, *map(str, args)], capture_output=True, text=True, timeout=60)

    def start(self) -> "Server":
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb): run `make postgres` as root, or apt-get "
                               f"install postgresql; or set {OPT_OUT}=1 to leave PostgreSQL out")
        steps = [(self.bin / "initdb", "-D", self.data, "-U", "ecocheck", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync"),
                 (self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off", "start")]
        for step in steps:
            done = self._run(*step)
            if done.returncode:
                log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"{Path(str(step[0])).name} failed: {done.stderr.strip()} {log}")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://ecocheck@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        if self.data.exists():
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        for _ in range(3):
            shutil.rmtree(self.folder, ignore_errors=True)
            if not self.folder.exists():
                break
            time.sleep(0.2)
