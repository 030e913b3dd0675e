"""The update-policy decision table: policy × SKU family × situation × mode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.catalog import ModelVersion, Replacement, VersionKey
from shared.domain.deployments import Deployment, parse_deployment
from shared.domain.policy import Assessment, PolicyRules, Status, assess, is_newer
from shared.errors import PermanentError
from tests.builders import account_id, deployment

NOW = datetime(2026, 1, 15, tzinfo=UTC)
ONCE_NEW, ONCE_EXP, NO_AUTO = "OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"


def dt(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def mv(
    version: str,
    *,
    default: bool = False,
    retires: str | None = None,
    created: str | None = None,
    status: str = "GenerallyAvailable",
    skus: dict[str, str] | None = None,
    name: str = "gpt-4o",
    replacement: Replacement | None = None,
) -> ModelVersion:
    return ModelVersion(
        "OpenAI",
        name,
        version,
        is_default=default,
        lifecycle_status=status,
        retirement_date=dt(retires) if retires else None,
        sku_retirement_dates=tuple(sorted((k, dt(v)) for k, v in (skus or {}).items())),
        created_at=dt(created) if created else None,
        replacement=replacement,
    )


def catalog(*versions: ModelVersion) -> dict[VersionKey, ModelVersion]:
    return {v.key: v for v in versions}


def dep(
    version: str = "2024-05-13",
    *,
    policy: str | None = ONCE_NEW,
    sku: str = "Standard",
    tags: dict[str, str] | None = None,
    name: str = "gpt-4o",
) -> Deployment:
    return deployment(
        f"{name}-{sku}",
        name,
        version,
        account=account_id("a"),
        sku=sku,
        policy=policy,
        sku_capacity=10,
        provisioning_state="Succeeded",
        tags=tags or {},
    )


# gpt-4o as the 2026 docs show it: 2024-08-06 is the default; 2024-05-13 retires 2026-03-31 for Standard and
# 2026-10-01 for provisioned/global types.
SPLIT = {"Standard": "2026-03-31", "GlobalStandard": "2026-10-01", "ProvisionedManaged": "2026-10-01"}
OLD = mv("2024-05-13", retires="2026-03-31", created="2024-05-13", skus=SPLIT)
DEFAULT = mv("2024-08-06", default=True, retires="2026-10-01", created="2024-08-06")
NEWEST = mv("2024-11-20", retires="2026-10-01", created="2024-11-20")
GPT4O = catalog(OLD, DEFAULT, NEWEST)


def check(
    a: Assessment, status: Status, reason: str, *, target: str | None = "keep", write: bool = False
) -> None:
    assert (a.status, a.reason) == (status, reason), a.summary
    assert a.write is write
    if target != "keep":
        assert a.target_version == target


@pytest.mark.parametrize(
    ("deployment", "status", "reason", "target"),
    [
        # Standard, retiring version, per policy
        (dep(policy=ONCE_NEW), Status.UPGRADE_EXPECTED, "auto-default", "2024-08-06"),
        (dep(policy=ONCE_EXP), Status.UPGRADE_EXPECTED, "upgrade-on-expiry", "2024-08-06"),
        (
            dep(policy=None),
            Status.UPGRADE_EXPECTED,
            "upgrade-on-expiry",
            "2024-08-06",
        ),  # absent = OnceCurrentVersionExpired
        (dep(policy=NO_AUTO), Status.AT_RISK, "no-auto-retiring", "2024-08-06"),
        # provisioned: never auto-upgraded, whatever the policy; its own (later) SKU date applies
        (
            dep(policy=ONCE_NEW, sku="ProvisionedManaged"),
            Status.AT_RISK,
            "provisioned-retiring",
            "2024-08-06",
        ),
        (
            dep(policy=ONCE_EXP, sku="provisionedmanaged"),
            Status.AT_RISK,
            "provisioned-retiring",
            "2024-08-06",
        ),
        (
            dep(policy=NO_AUTO, sku="GlobalProvisionedManaged"),
            Status.AT_RISK,
            "provisioned-retiring",
            "2024-08-06",
        ),
        # tags
        (dep(tags={"modelwatch:policy": "ignore"}), Status.IGNORED, "tag-ignore", None),
        # on the default, nothing scheduled
        (dep("2024-08-06", policy=ONCE_NEW), Status.AT_RISK, "auto-default-no-newer", None),
    ],
)
def test_standard_and_provisioned_before_retirement(
    deployment: Deployment, status: Status, reason: str, target: str | None
) -> None:
    check(assess(deployment, GPT4O, NOW), status, reason, target=target)


def test_sku_specific_dates_are_used() -> None:
    standard = assess(dep(policy=NO_AUTO), GPT4O, NOW)
    provisioned = assess(dep(policy=NO_AUTO, sku="ProvisionedManaged"), GPT4O, NOW)
    assert standard.retirement_date == dt("2026-03-31") and standard.days_left == 75
    assert provisioned.retirement_date == dt("2026-10-01")


def test_after_standard_retirement() -> None:
    after = dt("2026-04-02")
    late = dt("2026-04-20")  # past the 14-day grace of Azure's rolling upgrade
    check(assess(dep(policy=NO_AUTO), GPT4O, after), Status.BROKEN, "no-auto-retired")
    # Azure upgrades these region by region: within the grace they are pending, neither broken nor written
    for policy in (ONCE_EXP, ONCE_NEW):
        pending = assess(dep(policy=policy), GPT4O, after, PolicyRules(enforce=True))
        check(pending, Status.UPGRADE_EXPECTED, "upgrade-pending", target="2024-08-06")
        assert pending.actor == "azure"
    # after the grace, still on the old version: we plan (or do) the move
    check(
        assess(dep(policy=ONCE_EXP), GPT4O, late),
        Status.UPGRADE_PLANNED,
        "expired-not-upgraded",
        target="2024-08-06",
    )
    check(assess(dep(policy=ONCE_NEW), GPT4O, late), Status.UPGRADE_PLANNED, "expired-not-upgraded")
    enforced = assess(dep(policy=ONCE_EXP), GPT4O, late, PolicyRules(enforce=True))
    check(enforced, Status.UPGRADE_PLANNED, "expired-not-upgraded", write=True)
    assert "Azure has not moved it 20 days after retirement" in enforced.summary
    # the provisioned one survives until its own date
    check(
        assess(dep(policy=NO_AUTO, sku="ProvisionedManaged"), GPT4O, after),
        Status.AT_RISK,
        "provisioned-retiring",
    )
    check(
        assess(dep(policy=NO_AUTO, sku="ProvisionedManaged"), GPT4O, dt("2026-10-02")),
        Status.BROKEN,
        "provisioned-retired",
    )


def test_plan_mode_never_writes_and_enforce_does() -> None:
    after = dt("2026-04-20")
    assert not any(assess(dep(policy=p), GPT4O, after).write for p in (ONCE_NEW, ONCE_EXP, None, NO_AUTO))
    assert assess(dep(policy=ONCE_EXP), GPT4O, after, PolicyRules(enforce=True)).write
    assert not assess(dep(policy=NO_AUTO), GPT4O, after, PolicyRules(enforce=True)).write
    # inside Azure's upgrade window, enforcement writes nothing either
    assert not assess(dep(policy=ONCE_EXP), GPT4O, dt("2026-04-02"), PolicyRules(enforce=True)).write


def test_accelerate_default_upgrades_auto_update_deployments_now() -> None:
    a = assess(dep(policy=ONCE_NEW), GPT4O, NOW, PolicyRules(enforce=True, accelerate_default=True))
    check(a, Status.UPGRADE_PLANNED, "accelerate-default", target="2024-08-06", write=True)
    # not for other policies
    b = assess(dep(policy=ONCE_EXP), GPT4O, NOW, PolicyRules(enforce=True, accelerate_default=True))
    check(b, Status.UPGRADE_EXPECTED, "upgrade-on-expiry")


def test_provisioned_written_only_when_enforcement_includes_them_and_near_retirement() -> None:
    near = dt("2026-09-20")
    rules = PolicyRules(enforce=True, enforce_provisioned=True, provisioned_lead_days=14)
    check(
        assess(dep(sku="ProvisionedManaged"), GPT4O, near, rules),
        Status.UPGRADE_PLANNED,
        "provisioned-enforced",
        write=True,
    )
    check(assess(dep(sku="ProvisionedManaged"), GPT4O, NOW, rules), Status.AT_RISK, "provisioned-retiring")
    check(
        assess(dep(sku="ProvisionedManaged"), GPT4O, near, PolicyRules(enforce=True)),
        Status.AT_RISK,
        "provisioned-retiring",
    )


def test_pin_tag_never_upgrades() -> None:
    a = assess(
        dep(policy=ONCE_EXP, tags={"ModelWatch:Policy": "pin"}),
        GPT4O,
        dt("2026-04-02"),
        PolicyRules(enforce=True),
    )
    check(a, Status.UPGRADE_EXPECTED, "upgrade-pending", write=False)  # Azure's move: the tag cannot stop it
    late = assess(
        dep(policy=ONCE_EXP, tags={"ModelWatch:Policy": "pin"}),
        GPT4O,
        dt("2026-04-20"),
        PolicyRules(enforce=True),
    )
    check(late, Status.AT_RISK, "tag-pin", write=False)


def test_auto_upgrade_start_date_is_the_expected_date() -> None:
    old = mv(
        "2024-05-13",
        retires="2026-03-31",
        created="2024-05-13",
        replacement=Replacement("gpt-4o", "2024-08-06", dt("2026-03-09"), None),
    )
    a = assess(dep(policy=ONCE_NEW), catalog(old, DEFAULT), NOW)
    # a start, rolled out region by region: "from", not "by"
    assert a.action_date == dt("2026-03-09") and "from 2026-03-09" in a.summary
    b = assess(dep(policy=ONCE_NEW), catalog(OLD, DEFAULT), NOW, default_changed_at=dt("2026-01-10"))
    assert b.action_date == dt("2026-01-24")


def test_upgrade_on_expiry_lead_days_move_the_date_earlier() -> None:
    old = mv(
        "2024-05-13", retires="2026-03-31", created="2024-05-13", replacement=Replacement(None, None, None, 7)
    )
    a = assess(dep(policy=ONCE_EXP), catalog(old, DEFAULT), NOW)
    assert a.action_date == dt("2026-03-24")


@pytest.mark.parametrize(
    ("cat", "fragment"),
    [
        (catalog(OLD), "Azure names no replacement and no newer default in eastus"),
        (
            catalog(OLD, mv("2024-08-06", default=True, status="Deprecated", created="2024-08-06")),
            "is itself retired",
        ),
        (
            catalog(
                mv("2024-05-13", retires="2026-03-31", created="2024-05-13"),
                mv("2024-01-01", default=True, created="2024-01-01"),
            ),
            "never a downgrade",
        ),
    ],
)
def test_no_usable_target_means_at_risk_with_the_reason(
    cat: dict[VersionKey, ModelVersion], fragment: str
) -> None:
    a = assess(dep(policy=ONCE_EXP), cat, NOW)
    assert a.status == Status.AT_RISK and not a.write
    assert fragment in a.summary


def test_target_not_in_the_region() -> None:
    old = mv(
        "2024-05-13",
        retires="2026-03-31",
        created="2024-05-13",
        replacement=Replacement("gpt-4o", "2024-11-20", None, None),
    )
    a = assess(dep(policy=ONCE_EXP), catalog(old), dt("2026-04-02"))
    assert (
        a.status == Status.UPGRADE_EXPECTED
        and "not offered in eastus yet: Azure upgrades anyway" in a.summary
    )
    late = assess(dep(policy=ONCE_EXP), catalog(old), dt("2026-04-20"))
    assert late.status == Status.AT_RISK and "not offered in eastus" in late.summary


def test_version_gone_from_catalog_counts_as_retired() -> None:
    a = assess(dep("2023-01-01", policy=NO_AUTO), GPT4O, NOW)
    assert a.status == Status.BROKEN and "no longer in the catalog" in a.summary


def test_unknown_policy_is_treated_as_upgrade_when_expired_and_said() -> None:
    a = assess(dep(policy="OnceInABlueMoon"), GPT4O, NOW)
    assert a.reason == "upgrade-on-expiry" and "unknown policy 'OnceInABlueMoon'" in a.summary


def test_month_day_versions_are_ordered_by_creation_not_string() -> None:
    v0613 = mv("0613", name="gpt-35-turbo", created="2023-06-13", retires="2025-02-13")
    v0125 = mv("0125", name="gpt-35-turbo", created="2024-01-25", default=True, retires="2025-09-01")
    assert is_newer(v0125, v0613, "0613") is True
    assert is_newer(v0613, v0125, "0125") is False
    a = assess(
        dep("0613", policy=ONCE_EXP, name="gpt-35-turbo"),
        catalog(v0613, v0125),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert a.target_version == "0125" and a.status == Status.UPGRADE_EXPECTED


def test_parse_deployment_from_arm_shape() -> None:
    raw = {
        "id": f"{account_id('a')}/deployments/chat",
        "name": "chat",
        "sku": {"name": "GlobalStandard", "capacity": 50},
        "tags": {"modelwatch:route": "payments"},
        "properties": {
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"},
            "provisioningState": "Succeeded",
            "raiPolicyName": "Microsoft.DefaultV2",
        },
    }
    d = parse_deployment(raw, account_id="acct", location="eastus")
    assert (d.model_name, d.model_version, d.sku_name, d.sku_capacity) == (
        "gpt-4o",
        "2024-08-06",
        "GlobalStandard",
        50,
    )
    assert d.upgrade_option is None and d.policy == ONCE_EXP
    assert d.route == "payments" and not d.is_provisioned
    with pytest.raises(PermanentError, match=r"chat: properties.model is missing"):
        parse_deployment({**raw, "properties": {}}, account_id="acct", location="eastus")
