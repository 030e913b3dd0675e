"""Settings: one error naming every problem; secrets never printed; endpoint rules."""

from __future__ import annotations

import json

import pytest

from shared.config import UpgradeGate, load_settings, require_arm_catalog, require_function_app
from shared.domain.auth import HttpAuth
from shared.domain.canary import CanaryMode
from shared.domain.policy import PolicyMode
from shared.domain.severity import Severity
from shared.errors import SettingsError
from tests.builders import SUBSCRIPTION as SUB
from tests.builders import account_id


def test_defaults_with_nothing_set() -> None:
    s = load_settings({})
    assert s.arm_endpoint == "https://management.azure.com"
    assert s.arm_api_version == "2025-09-01"
    assert s.retirement_reminder_days == (90, 60, 30, 14, 7, 1)
    assert s.catalog_vanish_guard == 0.2
    assert s.catalog_model_formats is None  # every format's entries kept, its deployments judged by its dates
    assert s.catalog_news_formats == frozenset({"openai"})  # releases and default changes: OpenAI's only
    assert s.state_store is None


def test_every_problem_is_named_in_one_error() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                "WATCH_SUBSCRIPTION_ID": "not-a-guid",
                "WATCH_LOCATIONS": "eastus, East US 2!",
                "ARM_ENDPOINT": "http://arm.example.com",
                "ARM_API_VERSION": "latest",
                "RETIREMENT_REMINDER_DAYS": "90,soon",
                "CATALOG_VANISH_GUARD": "150%",
                "CATALOG_POLL_SCHEDULE": "*/5 * * * *",
                "ARM_MAX_CONCURRENCY": "0",
                "EVENTGRID_TOPIC_ENDPOINT": "ftp://topic",
            }
        )
    text = str(info.value)
    for name in (
        "WATCH_SUBSCRIPTION_ID",
        "WATCH_LOCATIONS",
        "ARM_ENDPOINT",
        "ARM_API_VERSION",
        "RETIREMENT_REMINDER_DAYS",
        "CATALOG_VANISH_GUARD",
        "CATALOG_POLL_SCHEDULE",
        "ARM_MAX_CONCURRENCY",
        "EVENTGRID_TOPIC_ENDPOINT",
    ):
        assert name in text
    assert len(info.value.problems) == 9
    assert "local.settings.json" in text


def test_locations_are_normalised_and_deduplicated() -> None:
    s = load_settings({"WATCH_LOCATIONS": "EastUS, swedencentral,eastus"})
    assert s.watch_locations == ("eastus", "swedencentral")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
        "https://management.azure.com",
        "https://management.usgovcloudapi.net",
        "https://management.chinacloudapi.cn",
    ],
)
def test_loopback_stand_ins_and_azure_management_endpoints_are_accepted(url: str) -> None:
    assert load_settings({"ARM_ENDPOINT": url}).arm_endpoint == url


@pytest.mark.parametrize(
    "url",
    [
        "https://arm.contoso.com",  # the bearer token would go there
        "https://management.azure.com.evil.example",
        "https://management.azure.com:8443",
        "https://evil.example/management.azure.com",
    ],
)
def test_arm_endpoint_must_be_an_azure_management_host(url: str) -> None:
    with pytest.raises(SettingsError, match="ARM_ENDPOINT must be an Azure Resource Manager endpoint"):
        load_settings({"ARM_ENDPOINT": url})


def test_reminder_days_sorted_descending_and_guard_as_fraction() -> None:
    s = load_settings({"RETIREMENT_REMINDER_DAYS": "7, 30,90", "CATALOG_VANISH_GUARD": "35%"})
    assert s.retirement_reminder_days == (90, 30, 7)
    assert s.catalog_vanish_guard == pytest.approx(0.35)


@pytest.mark.parametrize(
    ("env", "kept", "news"),
    [
        ({}, None, {"openai"}),  # the default: every format kept, OpenAI's releases told
        ({"CATALOG_MODEL_FORMATS": "*"}, None, None),
        # set explicitly, as before CATALOG_NEWS_FORMATS existed: those formats and every piece of their news
        ({"CATALOG_MODEL_FORMATS": "OpenAI"}, {"openai"}, {"openai"}),
        ({"CATALOG_MODEL_FORMATS": "OpenAI,Meta"}, {"openai", "meta"}, {"openai", "meta"}),
        ({"CATALOG_NEWS_FORMATS": "*"}, None, None),
        ({"CATALOG_NEWS_FORMATS": "OpenAI, Mistral AI"}, None, {"openai", "mistral ai"}),
        ({"CATALOG_MODEL_FORMATS": "*", "CATALOG_NEWS_FORMATS": "OpenAI"}, None, {"openai"}),
        (
            {"CATALOG_MODEL_FORMATS": "OpenAI,Meta", "CATALOG_NEWS_FORMATS": "openai"},
            {"openai", "meta"},
            {"openai"},
        ),
    ],
)
def test_formats_kept_and_formats_told(
    env: dict[str, str], kept: set[str] | None, news: set[str] | None
) -> None:
    s = load_settings(env)
    assert (s.catalog_model_formats, s.catalog_news_formats) == (kept, news)


@pytest.mark.parametrize("news", ["Meta", "*", "OpenAI,Meta"])
def test_news_of_a_format_not_kept_is_refused(news: str) -> None:
    with pytest.raises(
        SettingsError, match=r"CATALOG_NEWS_FORMATS has .*which CATALOG_MODEL_FORMATS does not keep"
    ):
        load_settings({"CATALOG_MODEL_FORMATS": "OpenAI", "CATALOG_NEWS_FORMATS": news})


def test_state_store_forms() -> None:
    assert load_settings({"STATE_STORE": "sqlite:///x/state.db"}).state_store.kind == "sqlite"  # type: ignore[union-attr]
    dev = load_settings({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).state_store
    assert dev is not None and dev.kind == "connection-string"
    ident = load_settings({"AzureWebJobsStorage__accountName": "mwstore"}).state_store
    assert ident is not None and ident.kind == "endpoint"
    assert ident.value.reveal() == "https://mwstore.table.core.windows.net"


def test_bad_connection_string_is_not_echoed() -> None:
    secret = "AccountKey=fake-key-for-tests-only"
    with pytest.raises(SettingsError) as info:
        load_settings({"STATE_STORE": f"Foo=bar;{secret}"})
    assert secret not in str(info.value)
    assert "STATE_STORE" in str(info.value)


def test_secrets_are_masked_in_repr() -> None:
    s = load_settings(
        {
            "ARM_BEARER_TOKEN": "tok-123456",
            "EVENTGRID_TOPIC_KEY": "key-abcdef",
            "STATE_STORE": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k3y-xyz",
        }
    )
    text = repr(s) + str(s)
    for secret in ("tok-123456", "key-abcdef", "k3y-xyz"):
        assert secret not in text
    assert s.arm_bearer_token is not None and s.arm_bearer_token.reveal() == "tok-123456"


def test_requirements_name_missing_settings() -> None:
    with pytest.raises(SettingsError) as info:
        require_arm_catalog(load_settings({}))
    assert {p.split()[0] for p in info.value.problems} == {"WATCH_SUBSCRIPTION_ID", "WATCH_LOCATIONS"}
    with pytest.raises(SettingsError) as info2:
        require_function_app(load_settings({"WATCH_SUBSCRIPTION_ID": SUB, "WATCH_LOCATIONS": "eastus"}))
    assert {p.split()[0] for p in info2.value.problems} == {"STATE_STORE", "EVENTGRID_TOPIC_ENDPOINT"}


ACCOUNT = account_id("aoai-1", SUB)


def test_policy_defaults_are_plan_mode_and_conservative() -> None:
    s = load_settings({"WATCH_SUBSCRIPTION_ID": SUB})
    assert s.policy_mode == "plan" and not s.enforce
    assert not s.policy_accelerate_default and not s.policy_enforce_provisioned
    assert s.policy_provisioned_lead_days == 14
    assert s.watch_accounts == ()
    assert s.watch_subscription_ids == (SUB,)  # the inventory defaults to the catalog's subscription


def test_a_setting_with_a_vocabulary_is_its_member_as_written_in_any_case() -> None:
    s = load_settings(
        {
            "WATCH_ACCOUNTS": ACCOUNT,
            "POLICY_MODE": "Enforce",
            "HTTP_AUTH": "LOOPBACK",
            "CANARY_MODE": "create",
            "UPGRADE_GATE": "Canary",
            "ALERT_MIN_SEVERITY": " Warning ",
        }
    )
    assert s.policy_mode is PolicyMode.ENFORCE and s.enforce and s.http_auth is HttpAuth.LOOPBACK
    assert (s.canary_mode, s.upgrade_gate) == (CanaryMode.CREATE, UpgradeGate.CANARY)
    assert s.alert_min_severity is Severity.WARNING and s.routes["default"].min_severity is Severity.WARNING
    defaults = load_settings({})
    assert (defaults.policy_mode, defaults.http_auth, defaults.canary_mode, defaults.upgrade_gate) == (
        PolicyMode.PLAN,
        HttpAuth.ENTRA,
        CanaryMode.EXISTING,
        UpgradeGate.NONE,
    )
    assert defaults.alert_min_severity is Severity.INFO


def test_policy_and_inventory_settings_are_read() -> None:
    other = "00000000-0000-0000-0000-0000000000AB"
    s = load_settings(
        {
            "WATCH_SUBSCRIPTION_ID": SUB,
            "WATCH_SUBSCRIPTION_IDS": f"{other}, {SUB}",
            "WATCH_ACCOUNTS": f"{ACCOUNT},{ACCOUNT.upper()}",
            "POLICY_MODE": "Enforce",
            "POLICY_ACCELERATE_DEFAULT": "true",
            "POLICY_ENFORCE_PROVISIONED": "1",
            "POLICY_PROVISIONED_LEAD_DAYS": "30",
        }
    )
    assert s.enforce
    assert s.watch_subscription_ids == (other.lower(), SUB)
    assert s.watch_accounts == (ACCOUNT,)  # ARM ids are case-insensitive: one entry
    assert s.policy_accelerate_default and s.policy_enforce_provisioned
    assert s.policy_provisioned_lead_days == 30


def test_bad_policy_settings_are_each_named_and_never_fall_back_to_enforce() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                "WATCH_ACCOUNTS": "aoai-1",
                "WATCH_SUBSCRIPTION_IDS": "nope",
                "POLICY_MODE": "yolo",
                "POLICY_ACCELERATE_DEFAULT": "maybe",
                "POLICY_PROVISIONED_LEAD_DAYS": "-1",
            }
        )
    text = str(info.value)
    for name in (
        "WATCH_ACCOUNTS",
        "WATCH_SUBSCRIPTION_IDS",
        "POLICY_MODE",
        "POLICY_ACCELERATE_DEFAULT",
        "POLICY_PROVISIONED_LEAD_DAYS",
    ):
        assert name in text, name
    assert len(info.value.problems) == 5


def test_enforce_without_named_accounts_is_refused_unless_said_outright() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({"WATCH_SUBSCRIPTION_ID": SUB, "POLICY_MODE": "enforce"})
    assert "WATCH_ACCOUNTS" in str(info.value) and "POLICY_ENFORCE_ALL_ACCOUNTS" in str(info.value)
    every = load_settings(
        {"WATCH_SUBSCRIPTION_ID": SUB, "POLICY_MODE": "enforce", "POLICY_ENFORCE_ALL_ACCOUNTS": "true"}
    )
    assert every.enforce and every.policy_enforce_all_accounts
    named = load_settings({"WATCH_SUBSCRIPTION_ID": SUB, "POLICY_MODE": "enforce", "WATCH_ACCOUNTS": ACCOUNT})
    assert named.enforce and not named.policy_enforce_all_accounts
    # plan mode reads every account and writes nothing: no opt-in needed
    assert not load_settings({"WATCH_SUBSCRIPTION_ID": SUB}).enforce


def test_http_auth_status_url_deployment_api_and_credential_settings() -> None:
    s = load_settings({})
    assert s.http_auth == "entra"  # sign-in is the default: never open by omission
    assert s.arm_deployment_api_version == "2026-03-01" and s.arm_api_version == "2025-09-01"
    assert s.status_page_url is None and s.azure_token_credentials is None
    s = load_settings(
        {
            "HTTP_AUTH": "Loopback",
            "STATUS_PAGE_URL": "https://app.example.net/api/status",
            "ARM_DEPLOYMENT_API_VERSION": "2025-09-01",
            "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
        }
    )
    assert (s.http_auth, s.status_page_url, s.arm_deployment_api_version) == (
        "loopback",
        "https://app.example.net/api/status",
        "2025-09-01",
    )
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                "HTTP_AUTH": "none",
                "STATUS_PAGE_URL": "http://example.net/status",
                "ARM_DEPLOYMENT_API_VERSION": "latest",
                "AZURE_TOKEN_CREDENTIALS": "SharedKey",
            }
        )
    text = str(info.value)
    for name in ("HTTP_AUTH", "STATUS_PAGE_URL", "ARM_DEPLOYMENT_API_VERSION", "AZURE_TOKEN_CREDENTIALS"):
        assert name in text, name
    assert len(info.value.problems) == 4


def test_secrets_misplaced_in_settings_are_never_quoted_back() -> None:
    hook = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                # a webhook URL pasted where the route name goes, as a key, and as a severity
                "ALERT_ROUTES": json.dumps(
                    {hook: {"slack": hook}, "ok": {"slack": hook, hook: 1, "minSeverity": hook}}
                )
            }
        )
    text = str(info.value)
    assert "SECRETSECRET" not in text and "not shown" in text
    assert len(info.value.problems) == 3


def test_a_sas_token_in_a_table_endpoint_is_masked() -> None:
    s = load_settings({"STATE_STORE": "https://acct.table.core.windows.net/?sv=2024&sig=SASSECRET%3D"})
    assert s.state_store is not None
    shown = s.state_store.describe()
    assert "SASSECRET" not in shown and shown == "https://acct.table.core.windows.net/?<SAS masked>"


def test_the_function_app_refuses_sqlite_state_in_app_service() -> None:
    base = {
        "WATCH_SUBSCRIPTION_ID": SUB,
        "WATCH_LOCATIONS": "eastus",
        "EVENTGRID_TOPIC_ENDPOINT": "https://topic.eastus-1.eventgrid.azure.net/api/events",
        "STATE_STORE": "sqlite:///state.db",
    }
    require_function_app(load_settings(base))  # func start on a laptop: one process, one file
    with pytest.raises(SettingsError, match="every instance has its own disk"):
        require_function_app(load_settings({**base, "WEBSITE_SITE_NAME": "modelwatch-prod"}))
    table = {
        **base,
        "STATE_STORE": "https://acct.table.core.windows.net",
        "WEBSITE_SITE_NAME": "modelwatch-prod",
    }
    require_function_app(load_settings(table))


def test_arm_event_grid_and_tables_share_one_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import bootstrap

    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential")  # what infra sets in Azure
    bootstrap.azure_credential.cache_clear()
    settings = load_settings(
        {
            "WATCH_SUBSCRIPTION_ID": SUB,
            "EVENTGRID_TOPIC_ENDPOINT": "https://topic.eastus-1.eventgrid.azure.net/api/events",
            "STATE_STORE": "https://acct.table.core.windows.net",
        }
    )
    arm = bootstrap.build_arm_client(settings)
    publisher = bootstrap.build_publisher(settings)
    store = bootstrap.build_state_store(settings.state_store)
    shared_one = bootstrap.azure_credential()
    assert arm.tokens._credential is shared_one
    assert publisher._credential is shared_one  # type: ignore[attr-defined]
    assert store._service.credential is shared_one  # type: ignore[attr-defined]
    bootstrap.azure_credential.cache_clear()


def test_read_concurrency_and_the_fan_out_have_defaults_and_named_bounds() -> None:
    s = load_settings({})
    assert (s.arm_read_concurrency, s.arm_max_concurrency) == (64, 8)  # reads and writes apart
    assert (s.inventory_fanout_threshold, s.inventory_queue_name) == (20, "modelwatch-inventory")
    assert s.delivery_queue_name == "modelwatch-deliveries"
    s = load_settings(
        {"ARM_READ_CONCURRENCY": "250", "INVENTORY_FANOUT_THRESHOLD": "1", "INVENTORY_QUEUE_NAME": "mw-inv-2"}
    )
    assert (s.arm_read_concurrency, s.inventory_fanout_threshold, s.inventory_queue_name) == (
        250,
        1,
        "mw-inv-2",
    )
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                "ARM_READ_CONCURRENCY": "251",
                "INVENTORY_FANOUT_THRESHOLD": "0",
                "INVENTORY_QUEUE_NAME": "Bad--Name",
            }
        )
    problems = "\n".join(info.value.problems)
    assert len(info.value.problems) == 3
    assert "ARM_READ_CONCURRENCY=251 is out of range (1..250)" in problems
    assert "INVENTORY_FANOUT_THRESHOLD=0 is out of range" in problems
    assert "INVENTORY_QUEUE_NAME='Bad--Name'" in problems


@pytest.mark.parametrize("name", ["ab", "-abc", "abc-", "a--b", "x" * 57, "UPPER", "under_score"])
def test_queue_names_the_storage_service_or_its_poison_queue_would_refuse(name: str) -> None:
    with pytest.raises(SettingsError, match="INVENTORY_QUEUE_NAME"):
        load_settings({"INVENTORY_QUEUE_NAME": name})
    with pytest.raises(SettingsError, match="DELIVERY_QUEUE_NAME"):
        load_settings({"DELIVERY_QUEUE_NAME": name})


def test_a_fanned_out_refresh_needs_the_queue_where_the_trigger_reads() -> None:
    subs = ",".join(f"00000000-0000-0000-0000-0000000000{i:02d}" for i in range(3))
    host = (
        "DefaultEndpointsProtocol=https;AccountName=hoststore;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    )
    elsewhere = {
        "WATCH_SUBSCRIPTION_IDS": subs,
        "INVENTORY_FANOUT_THRESHOLD": "2",
        "AzureWebJobsStorage": host,
        "STATE_STORE": "https://statestore.table.core.windows.net",
    }
    with pytest.raises(SettingsError) as info:
        load_settings(elsewhere)
    (problem,) = info.value.problems
    assert "statestore" in problem and "hoststore" in problem and "a2V5" not in problem
    # one account (or no fan-out at this size, or identity-based host storage naming the same account): fine
    load_settings({**elsewhere, "STATE_STORE": "https://hoststore.table.core.windows.net"})
    load_settings({**elsewhere, "INVENTORY_FANOUT_THRESHOLD": "3"})
    load_settings(
        {
            "WATCH_SUBSCRIPTION_IDS": subs,
            "INVENTORY_FANOUT_THRESHOLD": "2",
            "AzureWebJobsStorage__accountName": "stmw",
            "STATE_STORE": "https://stmw.table.core.windows.net",
        }
    )
    s = load_settings({"WATCH_ACCOUNTS": ",".join(account_id(f"a{i}", SUB) for i in range(21))})
    assert s.inventory_parts == 21 and s.inventory_fans_out


def test_problems_are_listed_in_the_order_the_settings_are_read() -> None:
    """load_settings reads in steps (shared/config/load.py); the one error keeps a stable order across them."""
    with pytest.raises(SettingsError) as info:
        load_settings(
            {
                "CANARY_MAX_TOKENS": "1",  # read last, with the settings checked on their own
                "UPGRADE_GATE": "open",
                "HTTP_AUTH": "none",
                "POLICY_MODE": "yolo",
                "CATALOG_POLL_SCHEDULE": "hourly",
                "ARM_ENDPOINT": "https://arm.example.com",
                "ARM_MAX_CONCURRENCY": "0",
                "ALERT_MIN_SEVERITY": "loud",
            }
        )
    named = [p.split("=")[0].split(" ")[0] for p in info.value.problems]
    assert named == [
        "ARM_ENDPOINT",
        "CATALOG_POLL_SCHEDULE",
        "POLICY_MODE",
        "HTTP_AUTH",
        "UPGRADE_GATE",
        "ARM_MAX_CONCURRENCY",
        "ALERT_MIN_SEVERITY",
        "CANARY_MAX_TOKENS",
    ]
