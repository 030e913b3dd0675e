"""The version of modelwatch, as the command line prints it (written once, in shared/domain/version.py)."""

from shared.domain.version import VERSION

__all__ = ["VERSION"]
