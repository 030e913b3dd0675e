"""The version of modelwatch: the one place it is written (pyproject.toml reads it, ``--version`` prints it)."""

VERSION = "0.1.0"
