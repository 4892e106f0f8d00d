"""Fixtures of the hostile-input suite (see _support.py)."""

from ._support import cli, tiny

__all__ = ["cli", "tiny"]
