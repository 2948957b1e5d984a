"""Opening the run store: where it is, the engine (SQLite or PostgreSQL), migrations, and one writer at a time."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from engine.errors import EcocheckError
from engine.lang import tr
from engine.store import schema

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_WAIT_SECONDS = 60  # a second run waits this long for the first one's transaction
_CURRENT: set = set()  # stores this process has brought to the newest migration


class StoreError(EcocheckError):
    """The run store cannot be opened, read or written."""


def default_url() -> str:
    """ECOCHECK_DB, else runs.sqlite in the user's data directory ($XDG_DATA_HOME/ecocheck on Linux)."""
    given = os.environ.get("ECOCHECK_DB", "").strip()
    if given:
        return given
    from platformdirs import user_data_dir
    return str(Path(user_data_dir("ecocheck", appauthor=False)) / "runs.sqlite")


def shown(url: str) -> str:
    """The store as a person may see it: a path, or a database URL without its password."""
    if "://" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def engine_url(location: str) -> str:
    """A path becomes sqlite:///path (its folder made); postgresql:// is PostgreSQL through psycopg 3."""
    if "://" not in location:
        path = Path(location).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(tr(f"无法创建案卷库所在的文件夹（{exc.strerror}）", f"cannot make the store's folder ({exc.strerror})"),
                             file=str(path.parent)) from None
        return f"sqlite:///{path.resolve()}"
    if location.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + location.split("://", 1)[1]
    if location.startswith(("sqlite://", "postgresql+psycopg://")):
        return location
    raise StoreError(tr(f"不支持的数据库地址：{shown(location)}", f"unsupported database URL: {shown(location)}"),
                     fix=tr("给出文件路径（SQLite）或 postgresql://用户@主机/库名", "give a file path (SQLite) or "
                            "postgresql://user@host/dbname"))


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_WAIT_SECONDS})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")  # readers go on while a run writes
        dbapi_connection.execute("PRAGMA cache_size = -65536")  # 64 MiB: a large run's index pages stay in memory

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock from the start: one writer at a time
    return engine


class Store:
    """An open store. `transaction()` is the one way to write: everything in it is committed together or not at
    all, and no other writer runs meanwhile."""

    def __init__(self, location: str):
        self.location = location
        url = engine_url(location)
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        try:
            self.engine = _sqlite_engine(url) if self.dialect == "sqlite" else create_engine(url)
            if url not in _CURRENT:
                with self.engine.connect() as connection:
                    migrate(connection)
                    connection.commit()
                _CURRENT.add(url)
        except SQLAlchemyError as exc:
            raise self.error(exc) from None

    def error(self, exc: Exception) -> StoreError:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return StoreError(tr(f"案卷库无法读写（{reason}）", f"the run store cannot be read or written ({reason})"),
                          file=shown(self.location),
                          fix=tr("检查 --db 或 ECOCHECK_DB 所指的文件或数据库；不用案卷库时加 --no-db",
                                 "check the file or database named by --db or ECOCHECK_DB; add --no-db to run without "
                                 "a store"))

    @contextmanager
    def transaction(self):
        """A connection in a write transaction holding the store's writer lock."""
        try:
            with self.engine.begin() as connection:
                if self.dialect == "postgresql":
                    connection.execute(select(schema.store_lock.c.id).with_for_update())
                yield connection
        except OperationalError as exc:
            raise self.error(exc) from None

    @contextmanager
    def reading(self):
        try:
            with self.engine.connect() as connection:
                yield connection
        except OperationalError as exc:
            raise self.error(exc) from None

    def close(self):
        self.engine.dispose()


def migrate(connection: Connection) -> None:
    """Bring the store to the newest migration (a new store is created; nothing is done when it is current)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    head = ScriptDirectory.from_config(config).get_current_head()
    if MigrationContext.configure(connection).get_current_revision() == head:
        return
    if connection.in_transaction():
        connection.commit()
    command.upgrade(config, "head")


def open_store(location: str | None = None) -> Store:
    """The store at `location` (a path or a database URL), else ECOCHECK_DB, else the user's data directory."""
    return Store(location or default_url())


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
