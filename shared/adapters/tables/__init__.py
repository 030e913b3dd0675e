"""The stores on Azure Table Storage (the deployed Function App's state), one module per port: ``catalog_state.py``
(CatalogStateStore), ``deployments.py`` (DeploymentStore + VersionChangeStore), ``ledger.py``, ``alert_buffer.py``,
``canary_results.py``; ``base.py`` is the plumbing they share. Each module's docstring gives its tables' layout."""
