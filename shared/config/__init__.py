"""Every setting, read and validated once (``load_settings``), each problem named.

``settings.py`` holds the values (``Settings``, ``StateStoreConfig``, ``StoreKind``, ``UpgradeGate``), ``load.py`` reads and checks
them, ``reader.py`` the primitive parsers, ``routes.py`` the alert routes, webhooks and mentions. Import from here.
"""

from shared.config.load import WHERE, load_settings, require_arm_catalog, require_function_app
from shared.config.settings import Settings, StateStoreConfig, StoreKind, UpgradeGate

__all__ = [
    "WHERE",
    "Settings",
    "StateStoreConfig",
    "StoreKind",
    "UpgradeGate",
    "load_settings",
    "require_arm_catalog",
    "require_function_app",
]
