"""Where the bundled rules, record schemas, sample records, letter templates and Typst layout are.

An installed wheel carries them inside the package (`engine/data/…`, mapped from the top-level folders by setup.cfg's
`package_dir`); a source checkout (`make install`, an editable install) reads the top-level folders themselves. Both
are found with importlib.resources from the `engine` package, so ecocheck runs from any folder. Every other module
asks here; none walks up from its own `__file__`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# resource → (folder inside the installed package, folder in a source checkout)
_PLACES = {
    "rules": ("data/rules", "rules"),
    "schemas": ("data/schemas", "inputs/schemas"),
    "samples": ("data/samples", "inputs/samples"),
    "templates": ("data/templates", "templates"),
    "typst": ("typst", "engine/typst"),
}


def _package() -> Path:
    root = resources.files("engine")
    if not isinstance(root, Path):  # a zip import: the rule loader needs real files
        raise RuntimeError("ecocheck must be installed as files (pip install), not imported from a zip archive")
    return root


def resource(name: str) -> Path:
    """The folder of one bundled resource: rules, schemas, samples, templates or typst."""
    installed, checkout = _PLACES[name]
    package = _package()
    inside = package / installed
    if inside.is_dir():
        return inside
    return package.parent / checkout


def rules_dir() -> Path:
    return resource("rules")


def schemas_dir() -> Path:
    return resource("schemas")


def samples_dir() -> Path:
    return resource("samples")


def templates_dir() -> Path:
    return resource("templates")


def typst_dir() -> Path:
    return resource("typst")
