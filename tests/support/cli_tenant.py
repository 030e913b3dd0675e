"""A command-line user's tenant: one account with four gpt-4o deployments on the ARM stand-in, the environment
pointed at it, run in an empty folder (tests/functional/test_cli_deployments.py, test_cli_operator.py,
test_cli_conventions.py; tests/e2e/test_status_page.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from shared.cli.main import main
from tests.builders import item
from tests.fakes.arm_server import FakeArm

SUB = "00000000-0000-0000-0000-0000000000c1"
CATALOG = [
    item("gpt-4o", "2024-05-13", retires="2026-03-31T00:00:00Z"),
    item("gpt-4o", "2024-08-06", default=True, retires="2026-10-01T00:00:00Z"),
    item("gpt-4o", "2024-11-20", retires="2027-03-01T00:00:00Z"),
]
JAN, APR = "2026-01-10T00:00:00Z", "2026-04-20T00:00:00Z"  # APR: past the grace of Azure's upgrade


class Tenant:
    """One account's deployments: chat (expiry upgrade), legacy (pinned), ptu (provisioned), auto (new default)."""

    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm
        account = arm.add_account(SUB, "rg", "contoso", "eastus")
        self.chat = arm.add_deployment(
            account, "chat", "gpt-4o", "2024-05-13", policy="OnceCurrentVersionExpired"
        )
        self.legacy = arm.add_deployment(account, "legacy", "gpt-4o", "2024-05-13", policy="NoAutoUpgrade")
        self.ptu = arm.add_deployment(account, "ptu", "gpt-4o", "2024-05-13", sku="ProvisionedManaged")
        self.auto = arm.add_deployment(
            account, "auto", "gpt-4o", "2024-08-06", policy="OnceNewDefaultVersionAvailable"
        )
        arm.set_catalog(SUB, "eastus", CATALOG)


def setup_tenant(arm_server: FakeArm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Tenant:
    """A CLI user's environment pointed at the ARM stand-in, in an empty folder."""
    for name in (
        "STATE_STORE",
        "AzureWebJobsStorage",
        "EVENTGRID_TOPIC_ENDPOINT",
        "EVENTGRID_TOPIC_KEY",
        "WATCH_ACCOUNTS",
        "WATCH_SUBSCRIPTION_IDS",
        "POLICY_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WATCH_SUBSCRIPTION_ID", SUB)
    monkeypatch.setenv("WATCH_LOCATIONS", "eastus")
    monkeypatch.setenv("ARM_ENDPOINT", arm_server.endpoint)
    monkeypatch.setenv("ARM_BEARER_TOKEN", "local-token")
    monkeypatch.setenv("ARM_MAX_RETRIES", "0")
    monkeypatch.chdir(tmp_path)
    return Tenant(arm_server)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()
