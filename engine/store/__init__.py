"""The run store: runs, findings and their lifecycle, the 文号 register, waivers and deadlines (SQLite or PostgreSQL)."""

from engine.store.db import Store, default_url, open_store  # noqa: F401
