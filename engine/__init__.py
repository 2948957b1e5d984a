"""ecocheck: check records against Gansu energy-conservation and climate provisions."""

__version__ = "0.1.0"

from engine.arrowpool import choose_allocator  # noqa: E402  (before anything loads pyarrow)

choose_allocator()
