"""The migration scripts, oldest first (each names the one before it)."""
