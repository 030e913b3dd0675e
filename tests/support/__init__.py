"""Helpers test modules share, so that no test module imports another: reading infra/ (``bicep``, ``azd``), the
worlds several modules drive (``policy``, ``cli_tenant``, ``function_host``, ``canary``), the diff tests' catalogs
(``diff``) and a recording notifier (``notifiers``). Data builders are in tests/builders.py, stand-ins for Azure's
endpoints in tests/fakes/."""
