"""Helpers test modules share, so that no test module imports another: reading infra/ (``bicep``, ``azd``), the
worlds several modules drive (``policy``, ``cli_tenant``, ``function_host``, ``canary``), the function app's
functions indexed once (``app_functions``), the end-to-end replay harness and where the demo history ends
(``replay``, ``demo_history``), the store backends every contract suite runs against (``store_backends``), the
infrastructure-code tests' catalog and fixture repositories (``iac_fixtures``), the diff tests' catalogs (``diff``)
and a recording notifier (``notifiers``). Data builders are in tests/builders.py, stand-ins for Azure's endpoints in
tests/fakes/."""
