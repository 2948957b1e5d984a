"""The `ecocheck` name for `python -m ecocheck`: the code is the `engine` package."""

from engine import __version__  # noqa: F401
