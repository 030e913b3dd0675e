"""The stores in a SQLite file (the CLI, the demo, tests, a single host): the local twins of the Table Storage
stores, one module per port (``catalog_state.py``, ``deployments.py``, ``ledger.py``, ``alert_buffer.py``,
``canary_results.py``) over ``file.py`` (one connection behind a lock, errors translated). Every store can open the
same file: each creates only its own tables."""
