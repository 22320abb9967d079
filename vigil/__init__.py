"""Vigil's shared core: domain types, config, catalogue, errors, database and evidence store."""
__version__ = "0.1.0"
