"""One contract for every DeploymentStore + VersionChangeStore: in memory (the reference), SQLite, and Table
Storage on Azurite. (The ledger has its own: test_ledger_contract.py.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.adapters.backends import Port
from shared.adapters.memory import InMemoryDeploymentStore
from shared.adapters.sqlite.catalog_state import SqliteCatalogStateStore
from shared.adapters.sqlite.deployments import SqliteDeploymentStore
from shared.adapters.tables.deployments import TableDeploymentStore
from shared.domain.changes import (
    APPLIED_BY_AZURE,
    APPLIED_BY_MODELWATCH,
    APPLIED_BY_ROLLBACK,
    VersionChange,
)
from shared.domain.cursor import Cursor
from shared.domain.deployments import Deployment, FineTune
from shared.errors import PermanentError
from shared.ports import DeploymentStores
from tests import builders
from tests.fakes.azurite import connection_string
from tests.support.store_backends import BACKENDS, store_factories

T0 = datetime(2025, 3, 12, 6, 30, 15, 123456, tzinfo=UTC)
TTL = timedelta(minutes=10)
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
ACCOUNT = f"{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-east"
SUBSCRIBER = "policy"

StoreFactory = Callable[[], DeploymentStores]

# Deployment names that are legal in ARM ids or at least plausible in stored text, and need key encoding.
AWKWARD_NAMES = (
    "gpt-4o",
    "a#b",
    "what?",
    "100%",
    "%2F-already-escaped",
    "back\\slash",
    "ünïcødé-模型-🚀",
    "ctl\x01\x7f\x85",
    "space name",
    "n" * 300,
)


@pytest.fixture(params=BACKENDS)
def make_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreFactory]:
    """Builds stores over one shared backing state (several instances: several workers or processes)."""
    factories: Iterator[StoreFactory] = store_factories(
        request,
        tmp_path_factory,
        port=Port.DEPLOYMENTS,
        memory=InMemoryDeploymentStore,
    )
    yield from factories


@pytest.fixture
def store(make_store: StoreFactory) -> DeploymentStores:
    return make_store()


def deployment(name: str = "gpt-4o-prod", account: str = ACCOUNT, **changes: Any) -> Deployment:
    """A deployment with every field set."""
    d = builders.deployment(
        name,
        "gpt-4o",
        "2024-11-20",
        account=account,
        sku="GlobalStandard",
        sku_capacity=150,
        provisioning_state="Succeeded",
        tags={"modelwatch:policy": "pin", "modelwatch:route": "team-a"},
        last_seen=T0,
        last_modified_by="pipeline@contoso.example",
        last_modified_by_type="User",
        fine_tune=FineTune(
            True,
            "gpt-4o",
            "2024-08-06",
            datetime(2027, 10, 1, tzinfo=UTC),
            "GenerallyAvailable",
            why="Accounts - List Models failed: 404",
        ),
        created_at=datetime(
            2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC
        ),  # a Developer-tier lifetime counts from it
    )
    return replace(d, **changes)


def rollback(
    deployment_id: str = f"{ACCOUNT}/deployments/gpt-4o-prod",
    *,
    changed_at: datetime = T0,
    reference: str = "evt-1",
    **changes: Any,
) -> VersionChange:
    """A rollback record with every field set."""
    r = VersionChange(
        deployment_id=deployment_id,
        from_version="2024-08-06",
        to_version="2024-11-20",
        changed_at=changed_at,
        applied_by=APPLIED_BY_MODELWATCH,
        available_until=datetime(2026, 2, 27, 0, 0, 0, 1, tzinfo=UTC),
        original_policy="OnceCurrentVersionExpired",
        reference=reference,
        from_model="gpt-4o",
        to_model="gpt-4.1",
        changed_by="alice@contoso.example",
        sibling_id=f"{ACCOUNT}/deployments/gpt-4o-prod-previous",
    )
    return replace(r, **changes)


# inventory


def test_no_deployments_at_first(store: DeploymentStores) -> None:
    assert store.list_deployments() == []


def test_deployments_are_listed_sorted_by_key(store: DeploymentStores) -> None:
    c, a, b = deployment("Charlie"), deployment("alpha"), deployment("BRAVO")
    store.save_deployments([c])
    store.save_deployments([a, b])
    assert store.list_deployments() == [a, b, c]
    assert [d.key for d in store.list_deployments()] == sorted(d.key for d in (a, b, c))


def test_save_upserts_by_key(store: DeploymentStores) -> None:
    a, b = deployment("a"), deployment("b")
    store.save_deployments([a, b])
    a2 = replace(a, model_version="2025-04-14", sku_capacity=None, tags={}, last_seen=T0 + timedelta(hours=1))
    # the same deployment with its id in another case: one key, so it replaces the first
    b2 = replace(b, resource_id=b.resource_id.upper(), provisioning_state="Updating")
    store.save_deployments([a2, b2])
    assert store.list_deployments() == [a2, b2]


def test_the_last_copy_of_a_key_in_one_save_wins(store: DeploymentStores) -> None:
    first = deployment("dup", sku_capacity=1)
    last = replace(first, resource_id=first.resource_id.upper(), sku_capacity=2)
    store.save_deployments([first, last])
    assert store.list_deployments() == [last]


def test_saving_the_same_deployments_again_is_harmless(store: DeploymentStores) -> None:
    deployments = [deployment("a"), deployment("b")]
    store.save_deployments(deployments)
    store.save_deployments(deployments)
    store.save_deployments([])
    assert store.list_deployments() == deployments


def test_delete_is_case_insensitive_and_ignores_absent_keys(store: DeploymentStores) -> None:
    a, b, c = deployment("a"), deployment("b"), deployment("c")
    store.save_deployments([a, b, c])
    store.delete_deployments([a.resource_id.upper(), f"{ACCOUNT}/deployments/absent", "x" * 2000])
    assert store.list_deployments() == [b, c]
    store.delete_deployments([])
    store.delete_deployments([b.key, b.key, a.key])
    assert store.list_deployments() == [c]


def test_every_deployment_field_round_trips(store: DeploymentStores) -> None:
    odd_tags = {
        "modelwatch:policy": "Pin",
        "ModelWatch:Route": "team/ä #1?",
        "odd/key#?%\\": 'välue "quoted" \x01 \t\n 🚀',
        "empty": "",
        "lone\ud800surrogate": "\udfff",
    }
    full = deployment(
        "full",
        tags=odd_tags,
        sku_capacity=0,
        upgrade_option="SomethingNew",  # a value this product does not know yet is kept raw
        last_seen=datetime(2025, 3, 12, 8, 30, 15, 999999, tzinfo=timezone(timedelta(hours=2))),
    )
    bare = builders.deployment("bare", "gpt-4o-mini", "2024-07-18", account=ACCOUNT, policy=None)
    store.save_deployments([full, bare])
    loaded = {d.key: d for d in store.list_deployments()}
    assert loaded == {full.key: full, bare.key: bare}
    assert loaded[full.key].fine_tune == full.fine_tune and loaded[full.key].last_modified_by_type == "User"
    assert loaded[bare.key].fine_tune is None and loaded[bare.key].last_modified_by is None
    assert dict(loaded[full.key].tags) == odd_tags
    assert loaded[full.key].last_seen == full.last_seen
    got = loaded[bare.key]
    assert (got.sku_capacity, got.upgrade_option, got.provisioning_state, dict(got.tags), got.last_seen) == (
        None,
        None,
        None,
        {},
        None,
    )


def test_resource_ids_that_need_key_encoding(store: DeploymentStores) -> None:
    deployments = [deployment(name) for name in AWKWARD_NAMES]
    deployments.append(deployment("x", account=f"{SUB}/resourceGroups/rg#1?/providers/a/accounts/a%b"))
    store.save_deployments(deployments)
    assert store.list_deployments() == sorted(deployments, key=lambda d: d.key)
    store.delete_deployments([d.resource_id.upper() for d in deployments[1::2]])
    assert store.list_deployments() == sorted(deployments[0::2], key=lambda d: d.key)


def test_hundreds_of_deployments_across_batches(store: DeploymentStores) -> None:
    deployments = [deployment(f"d-{i:03d}") for i in range(250)]
    store.save_deployments(deployments)
    assert store.list_deployments() == deployments
    store.delete_deployments(
        [d.key for d in deployments[:180]] + [f"{ACCOUNT}/deployments/gone-{i}" for i in range(30)]
    )
    assert store.list_deployments() == deployments[180:]


# one model's slice: list_deployments_of


def plain(name: str, model: str = "gpt-4o", location: str = "eastus", **changes: Any) -> Deployment:
    """A deployment of ``model`` in ``location``, not fine-tuned."""
    return deployment(name, location=location, model_name=model, **{"fine_tune": None, **changes})


def tuned(name: str, base: str = "gpt-4o", location: str = "eastus") -> Deployment:
    """A fine-tuned deployment whose base model is ``base``."""
    model = f"{base}-2024-08-06.ft-0123abcd"
    return deployment(
        name,
        location=location,
        model_name=model,
        model_version="1",
        fine_tune=FineTune(True, base, "2024-08-06", datetime(2027, 1, 1, tzinfo=UTC), "GenerallyAvailable"),
    )


def test_no_deployments_of_a_model_at_first(store: DeploymentStores) -> None:
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == []


def test_a_model_s_deployments_are_its_slice_only(store: DeploymentStores) -> None:
    mine = [plain("b"), plain("a", model_version="2024-05-13", sku_name="ProvisionedManaged")]
    others = [
        plain("other-model", model="gpt-4.1"),
        plain("other-region", location="westus"),
        plain("other-format", model_format="Meta"),  # same name, another format: not this model
        plain("prefix", model="gpt-4o-mini"),
    ]
    store.save_deployments([*others, *mine])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == sorted(mine, key=lambda d: d.key)
    assert store.list_deployments_of("westus", "OpenAI", "gpt-4o") == [others[1]]
    assert store.list_deployments_of("eastus", "Meta", "gpt-4o") == [others[2]]
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o-mini") == [others[3]]
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-5") == []
    assert store.list_deployments_of("eastus2", "OpenAI", "gpt-4o") == []  # a location is not a prefix
    assert len(store.list_deployments()) == len(mine) + len(others)


def test_location_and_format_compare_case_insensitively(store: DeploymentStores) -> None:
    upper = plain("upper", location="EastUS", model_format="OPENAI")
    store.save_deployments([upper, plain("lower")])
    assert [d.name for d in store.list_deployments_of("eastus", "openai", "gpt-4o")] == ["lower", "upper"]
    assert [d.name for d in store.list_deployments_of("EASTUS", "OpenAI", "gpt-4o")] == ["lower", "upper"]
    # model names are compared as the catalog spells them, as the policy does
    assert store.list_deployments_of("eastus", "OpenAI", "GPT-4o") == []


def test_fine_tunes_are_found_by_their_base_model_and_their_own(store: DeploymentStores) -> None:
    ft, base, other_base = tuned("ft"), plain("base"), tuned("ft-41", base="gpt-4.1")
    store.save_deployments([ft, base, other_base, tuned("ft-west", location="westus")])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == [base, ft]
    assert store.list_deployments_of("eastus", "OpenAI", ft.model_name) == [ft]
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == [other_base]
    # a fine-tune of a model so named is found by any format's news of it, as the policy's _concerns says
    assert store.list_deployments_of("eastus", "Meta", "gpt-4o") == [ft]
    # a fine-tune whose base is its own name (it is the same model twice) is listed once
    same = plain("same", fine_tune=FineTune(False, "gpt-4o", "2024-08-06"))
    store.save_deployments([same])
    assert [d.name for d in store.list_deployments_of("eastus", "OpenAI", "gpt-4o")] == ["base", "ft", "same"]


def test_deleting_removes_a_deployment_from_every_slice(store: DeploymentStores) -> None:
    ft, base = tuned("ft"), plain("base")
    store.save_deployments([ft, base])
    store.delete_deployments([ft.resource_id.upper()])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == [base]
    assert store.list_deployments_of("eastus", "OpenAI", ft.model_name) == []
    store.delete_deployments([base.key, f"{ACCOUNT}/deployments/absent"])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == []
    assert store.list_deployments() == []


def test_a_resave_on_another_model_moves_it_and_leaves_no_stale_copy(make_store: StoreFactory) -> None:
    store = make_store()
    chat, stays = plain("chat", sku_name="ProvisionedManaged"), plain("stays")
    store.save_deployments([chat, stays])
    moved = replace(
        chat, model_name="gpt-4.1", model_version="2025-04-14"
    )  # Azure's or our in-place migration
    store.save_deployments([moved])
    for reader in (store, make_store()):  # another worker sees the same
        assert reader.list_deployments_of("eastus", "OpenAI", "gpt-4o") == [stays]
        assert reader.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == [moved]
        assert reader.list_deployments() == sorted([moved, stays], key=lambda d: d.key)
    # back again, and a fine-tune whose base model changes moves from one base's slice to the other
    store.save_deployments([chat])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == []
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == sorted(
        [chat, stays], key=lambda d: d.key
    )
    ft = tuned("ft")
    store.save_deployments([ft])
    rebased = replace(ft, fine_tune=replace(ft.fine_tune, base_model="gpt-4.1") if ft.fine_tune else None)
    store.save_deployments([rebased])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == [rebased]
    assert ft.key not in {d.key for d in store.list_deployments_of("eastus", "OpenAI", "gpt-4o")}
    # and to another location (a re-created account): the old location's slice forgets it
    west = replace(stays, location="westus")
    store.save_deployments([west])
    assert stays.key not in {d.key for d in store.list_deployments_of("eastus", "OpenAI", "gpt-4o")}
    assert store.list_deployments_of("westus", "OpenAI", "gpt-4o") == [west]


def test_hundreds_of_a_model_across_batches(store: DeploymentStores) -> None:
    many = [plain(f"d-{i:03d}") for i in range(250)]
    tunes = [tuned(f"ft-{i:03d}") for i in range(120)]
    elsewhere = [plain(f"w-{i:03d}", location="westus") for i in range(30)]
    store.save_deployments([*many, *tunes, *elsewhere])
    expected = sorted([*many, *tunes], key=lambda d: d.key)
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == expected
    upgraded = [replace(d, model_name="gpt-4.1", model_version="2025-04-14") for d in many[:150]]
    store.save_deployments(upgraded)  # more than POINT_READS: the records are read with one scan
    store.delete_deployments([d.key for d in tunes[:100]])
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == sorted(
        [*many[150:], *tunes[100:]], key=lambda d: d.key
    )
    assert store.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == upgraded
    assert len(store.list_deployments()) == 250 + 20 + 30


def test_reading_a_slice_reads_only_its_deployments(store: DeploymentStores) -> None:
    """entities_read counts what reads returned (Table: entities of each page, a point read's one): the cost
    of one catalog event is its model's deployments, whatever the size of the inventory."""
    noise = [
        plain(f"n-{i:03d}", model=f"model-{i % 7}", location=("eastus", "westus")[i % 2]) for i in range(140)
    ]
    mine = [plain("a"), plain("b"), tuned("ft")]
    store.save_deployments([*noise, *mine])
    store.list_deployments_of("eastus", "OpenAI", "nothing")  # the first call of a store may check its layout
    before = store.entities_read
    assert len(store.list_deployments_of("eastus", "OpenAI", "gpt-4o")) == 3
    assert store.entities_read - before == 3
    before = store.entities_read
    store.list_deployments()
    assert store.entities_read - before == len(noise) + len(mine)


# one subscription's deployments: list_deployments_in (a fanned-out refresh part)


def in_subscription(sub: str, name: str, group: str = "rg-ai") -> Deployment:
    account = (
        f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/aoai"
    )
    return plain(name, account=account)


def test_a_subscription_s_deployments_are_its_range_only(store: DeploymentStores) -> None:
    a, b = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    mine = [in_subscription(a, "x"), in_subscription(a, "y", group="RG-Other"), in_subscription(a, "n" * 300)]
    # a neighbour whose id the subscription's is a prefix of, and ids that sort around it
    others = [
        in_subscription(a + "0", "prefix"),
        in_subscription(b, "x"),
        in_subscription("00000000-0000-0000-0000-000000000009", "x"),
    ]
    store.save_deployments([*others, *mine])
    store.list_deployments_in([])  # the first call of a store may check its layout
    before = store.entities_read
    assert store.list_deployments_in([a]) == sorted(mine, key=lambda d: d.key)
    assert store.entities_read - before == len(mine)  # its range, not the inventory
    # any case, with or without the /subscriptions/ path; several at once
    assert store.list_deployments_in([a.upper()]) == sorted(mine, key=lambda d: d.key)
    assert store.list_deployments_in([f"/subscriptions/{b}", a]) == sorted(
        [*mine, others[1]], key=lambda d: d.key
    )
    assert store.list_deployments_in(["00000000-0000-0000-0000-00000000000c"]) == []
    assert store.list_deployments_in([]) == []


def test_a_subscription_s_range_holds_ids_too_long_for_a_key(store: DeploymentStores) -> None:
    """An id over 1 KiB once encoded is stored under a readable head and a hash (id_key): still in its range."""
    sub = "00000000-0000-0000-0000-0000000000ee"
    long = in_subscription(sub, "d", group="ü" * 120)  # 720 characters once percent-encoded, with the rest
    store.save_deployments([long, in_subscription(sub, "short")])
    assert sorted(d.name for d in store.list_deployments_in([sub])) == ["d", "short"]


# rollbacks


def test_no_rollbacks_at_first(store: DeploymentStores) -> None:
    assert store.list_changes() == []
    assert store.list_changes(f"{ACCOUNT}/deployments/none") == []


def test_add_rollback_is_idempotent_by_id_first_writer_wins(store: DeploymentStores) -> None:
    first = rollback()
    retried = replace(first, changed_at=T0 + timedelta(minutes=1), available_until=None)
    assert retried.id == first.id
    store.add_change(first)
    store.add_change(retried)
    store.add_change(first)
    assert store.list_changes() == [first]
    assert store.list_changes(first.deployment_id) == [first]


def test_rollbacks_are_listed_newest_first(store: DeploymentStores) -> None:
    old = rollback(changed_at=T0, reference="a")
    new = rollback(changed_at=T0 + timedelta(days=1), reference="b")
    newest = rollback(f"{ACCOUNT}/deployments/other", changed_at=T0 + timedelta(days=2), reference="c")
    tie = [rollback(changed_at=T0 + timedelta(microseconds=1), reference=f"tie-{i}") for i in range(3)]
    for r in (new, *tie, old, newest):
        store.add_change(r)
    ties = sorted(tie, key=lambda r: r.id, reverse=True)
    assert store.list_changes() == [newest, new, *ties, old]
    assert store.list_changes(old.deployment_id) == [new, *ties, old]


def test_rollbacks_are_filtered_by_deployment_case_insensitively(store: DeploymentStores) -> None:
    mine = rollback(f"{ACCOUNT}/deployments/Mine", reference="1")
    mine_too = rollback(f"{ACCOUNT}/deployments/MINE", changed_at=T0 + timedelta(hours=1), reference="2")
    other = rollback(f"{ACCOUNT}/deployments/mine-2", reference="3")
    for r in (mine, mine_too, other):
        store.add_change(r)
    assert store.list_changes(f"{ACCOUNT.upper()}/deployments/mine") == [mine_too, mine]
    assert store.list_changes(other.deployment_id.upper()) == [other]
    assert store.list_changes(f"{ACCOUNT}/deployments/absent") == []
    assert store.list_changes("x" * 2000) == []


def test_every_rollback_field_round_trips(store: DeploymentStores) -> None:
    full = rollback(
        f"{ACCOUNT}/deployments/a#b?c%d\\ü",
        changed_at=datetime(2025, 3, 12, 8, 30, 15, 654321, tzinfo=timezone(timedelta(hours=2))),
        reference="rollback-req/1#?",
        applied_by=APPLIED_BY_ROLLBACK,
    )
    bare = rollback(
        reference="",
        applied_by=APPLIED_BY_AZURE,
        available_until=None,
        original_policy=None,
        from_model=None,
        to_model=None,
    )
    store.add_change(full)
    store.add_change(bare)
    assert store.list_changes(full.deployment_id) == [full]
    (loaded,) = store.list_changes(bare.deployment_id)
    assert loaded == bare
    assert (loaded.available_until, loaded.original_policy, loaded.from_model, loaded.to_model) == (None,) * 4
    assert loaded.id == bare.id


# corrupt stored rows


def _sqlite_garbage(path: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO deployments (key, body) VALUES (?, ?)", ("broken-deployment", '{"resourceId": 1}')
        )
        conn.execute(
            "INSERT INTO rollbacks VALUES (?, ?, ?, ?)", ("broken-rollback", "x", "2025", "{not json")
        )
    conn.close()


def _table_garbage(made: TableDeploymentStore) -> None:
    made._table(made.deployments_table).upsert_entity(
        {"PartitionKey": "deployment", "RowKey": "broken-deployment", "Body": '{"resourceId": 1}'}
    )
    made._table(made.rollbacks_table).upsert_entity(
        {"PartitionKey": "x", "RowKey": "broken-rollback", "Body": "{not json"}
    )


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("table", marks=pytest.mark.azurite)])
def test_corrupt_stored_rows_are_permanent_errors_naming_the_row(
    kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    made: SqliteDeploymentStore | TableDeploymentStore
    if kind == "sqlite":
        path = str(tmp_path_factory.mktemp("corrupt") / "state.db")
        made = SqliteDeploymentStore(path)
        _sqlite_garbage(path)
    else:
        made = TableDeploymentStore.from_connection_string(
            request.getfixturevalue("azurite_connection_string"),
            table_prefix=request.getfixturevalue("table_prefix"),
        )
        _table_garbage(made)
    try:
        with pytest.raises(PermanentError, match="deployment 'broken-deployment' is unreadable"):
            made.list_deployments()
        with pytest.raises(PermanentError, match="rollback record 'broken-rollback' is unreadable"):
            made.list_changes()
    finally:
        made.close()


# SQLite specifics


def test_sqlite_deployment_and_catalog_stores_share_one_file(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = str(tmp_path_factory.mktemp("shared") / "state.db")
    catalog = SqliteCatalogStateStore(path)
    deployments = SqliteDeploymentStore(path)
    again = SqliteCatalogStateStore(path)  # reopening finds every table in place
    try:
        committed = catalog.commit_cursor(Cursor("eastus", cycles=1), expected_etag=None)
        deployments.save_deployments([deployment()])
        assert again.get_cursor("eastus") == committed
        assert SqliteDeploymentStore(path).list_deployments() == [deployment()]
    finally:
        for opened in (catalog, deployments, again):
            opened.close()


def test_an_id_too_long_for_a_table_key_is_stored_and_found_like_any_other(store: DeploymentStores) -> None:
    # a 90-character non-ASCII resource group encodes to ~1,000 characters: over Table Storage's 512
    group = "ресурсная-группа-для-моделей-" * 3
    account = f"{SUB}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/a"
    long_one = deployment("chat", account=account)
    store.save_deployments([long_one, deployment("plain")])  # one odd id never fails the batch
    assert {d.resource_id for d in store.list_deployments()} == {
        long_one.resource_id,
        deployment("plain").resource_id,
    }
    store.add_change(rollback(long_one.resource_id))
    assert [
        r.deployment_id for r in store.list_changes(long_one.resource_id.replace("providers", "PROVIDERS"))
    ] == [long_one.resource_id]
    store.delete_deployments([long_one.resource_id])
    assert [d.name for d in store.list_deployments()] == ["plain"]


def test_table_prefix_too_long_for_the_deployment_tables_is_permanent() -> None:
    # "Deployments" is the longest suffix: 63 - 11 = 52 characters of prefix at most
    TableDeploymentStore.from_connection_string(connection_string(1), table_prefix="p" * 52).close()
    with pytest.raises(PermanentError, match="at most 52 characters"):
        TableDeploymentStore.from_connection_string(connection_string(1), table_prefix="p" * 53)


# inventories saved before model slices existed


@pytest.mark.azurite
def test_a_table_inventory_of_the_old_layout_gets_its_slices(
    azurite_connection_string: str, table_prefix: str
) -> None:
    """Before slices, every deployment was one entity (PartitionKey "deployment", Body only). A store finds
    them by model at once: its first read checks the layout marker, and gives the old records their copies."""
    from azure.data.tables import UpdateMode

    from shared.adapters.storage.keys import id_key
    from shared.adapters.storage.records import deployment_to_json

    old = [plain("a"), plain("b", model="gpt-4.1"), tuned("ft")]
    writer = TableDeploymentStore.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    table = writer._table(writer.deployments_table)
    for d in old:
        table.upsert_entity(
            {"PartitionKey": "deployment", "RowKey": id_key(d.key), "Body": deployment_to_json(d)}
        )
    store = TableDeploymentStore.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    try:
        assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == [old[0], old[2]]
        assert store.list_deployments() == sorted(old, key=lambda d: d.key)
        moved = replace(old[0], model_name="gpt-4.1")
        store.save_deployments([moved])
        assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == [old[2]]
        assert store.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == sorted(
            [moved, old[1]], key=lambda d: d.key
        )
        # an old instance (a rollout) rewriting a record in the old form: the next full read gives it back its
        # slices, and what it says now is what its slices say
        renamed = replace(old[1], model_version="2025-04-14")
        table.upsert_entity(  # as the old code wrote: REPLACE, so the record loses its Slices
            {
                "PartitionKey": "deployment",
                "RowKey": id_key(renamed.key),
                "Body": deployment_to_json(renamed),
            },
            mode=UpdateMode.REPLACE,
        )
        assert renamed in store.list_deployments()
        assert renamed in store.list_deployments_of("eastus", "OpenAI", "gpt-4.1")
    finally:
        store.close()
        writer.close()


@pytest.mark.azurite
def test_giving_slices_loses_to_a_save_made_in_between(
    azurite_connection_string: str, table_prefix: str
) -> None:
    """A first read gives an old record its copies from what it read; a save of the same deployment lands in
    between (the record's ETag moved): the copies follow the record as it is now, none stays behind."""
    from azure.data.tables import UpdateMode

    from shared.adapters.storage.keys import id_key
    from shared.adapters.storage.records import deployment_to_json

    old = plain("a")
    store = TableDeploymentStore.from_connection_string(azurite_connection_string, table_prefix=table_prefix)
    try:
        store.list_deployments()  # an empty inventory: the layout is checked and marked
        table = store._table(store.deployments_table)
        row = id_key(old.key)
        table.upsert_entity(
            {"PartitionKey": "deployment", "RowKey": row, "Body": deployment_to_json(old)},
            mode=UpdateMode.REPLACE,
        )
        read = table.get_entity("deployment", row)  # what the migrating reader saw
        moved = replace(old, model_name="gpt-4.1", model_version="2025-04-14")
        store.save_deployments([moved])  # the save in between
        store._give_slices([(old, read)])
        assert store.list_deployments_of("eastus", "OpenAI", "gpt-4o") == []
        assert store.list_deployments_of("eastus", "OpenAI", "gpt-4.1") == [moved]
        assert store.list_deployments() == [moved]
    finally:
        store.close()


def test_a_sqlite_file_from_before_the_model_columns_is_upgraded_in_place(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from shared.adapters.storage.records import deployment_to_json

    path = str(tmp_path_factory.mktemp("old") / "state.db")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE deployments (key TEXT PRIMARY KEY, body TEXT NOT NULL)")
        for d in (plain("a"), tuned("ft"), plain("b", model="gpt-4.1")):
            conn.execute("INSERT INTO deployments VALUES (?, ?)", (d.key, deployment_to_json(d)))
    conn.close()
    stores = [SqliteDeploymentStore(path), SqliteDeploymentStore(path)]  # a second opener finds it done
    try:
        for store in stores:
            assert [d.name for d in store.list_deployments_of("eastus", "OpenAI", "gpt-4o")] == ["a", "ft"]
            assert [d.name for d in store.list_deployments_of("eastus", "OpenAI", "gpt-4.1")] == ["b"]
    finally:
        for store in stores:
            store.close()
