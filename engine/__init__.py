"""ecocheck: check records against Gansu energy-conservation and climate provisions."""

__version__ = "0.1.0"
