"""Where the demo history (shared/data/timeline.json) ends, replayed through the whole pipeline, as the documented
rules say: what tests/e2e/test_pipeline_replay.py asserts of the fault-free replay."""

from __future__ import annotations

# every deployment's (model, version, versionUpgradeOption) at the end of the demo history, as the documented
# rules say
DEMO_END_VERSIONS: dict[str, tuple[str, str, str | None]] = {
    # rolled back by the team after Azure's 2025-03-17 move to 2024-08-06; pinned, so broken on 2026-03-31
    "chat-prod": ("gpt-4o", "2024-05-13", "NoAutoUpgrade"),
    # 0613 retired 2025-02-13: Azure moved it to the default 0125 three days later (upgrade pending
    # meanwhile: no modelwatch write, never broken); on 0125's retirement Azure moved it to the replacement
    # the docs name, another model
    "fraud-scoring": ("gpt-4.1-mini", "2025-04-14", "OnceCurrentVersionExpired"),
    # NoAutoUpgrade: left on 0301, which is retired (broken, and alerted as such)
    "legacy-batch": ("gpt-35-turbo", "0301", "NoAutoUpgrade"),
    # auto-update to default: Azure moved it to 0125 (2025-01-21), then to gpt-4.1-mini at 0125's retirement
    "assistant": ("gpt-4.1-mini", "2025-04-14", "OnceNewDefaultVersionAvailable"),
    # provisioned: never auto-upgraded, caught by gpt-4 0613's retirement (2025-06-06), no target to write
    "ptu-ranker": ("gpt-4", "0613", None),
    # upgrade when expired, GlobalStandard: alive past the Standard date, moved to gpt-5.1 at 2026-10-01
    "summarizer": ("gpt-5.1", "2025-11-13", "OnceCurrentVersionExpired"),
    # provisioned with POLICY_ENFORCE_PROVISIONED: refused for quota at 11 days, migrated in place across
    # the model family at the 7-day reminder, once
    "ptu-chat": ("gpt-5.1", "2025-11-13", None),
    # fine-tuned and Meta: never moved, never written (the Meta one told its own retirement, below)
    "support-ft": ("gpt-4o-2024-08-06.ft-0e208cf33a6a466994aff31a08aba678", "1", None),
    "llama-tagger": ("Llama-3.2-90B-Vision-Instruct", "2", None),
    # Standard auto-update, moved by Azure to another model from 2026-03-09, then rolled back side by side
    "chat-eu": ("gpt-5.1", "2025-11-13", "OnceNewDefaultVersionAvailable"),
    "chat-eu-gpt4o": ("gpt-4o", "2024-08-06", "NoAutoUpgrade"),
    # GlobalStandard auto-update: its own date (2026-10-01), not the Standard start, moved then by Azure
    "search-global": ("gpt-5.1", "2025-11-13", "OnceNewDefaultVersionAvailable"),
    # a preview on NoAutoUpgrade: force-upgraded by Azure at its retirement all the same
    "voice-agent": ("gpt-4o-realtime-preview", "2024-12-17", "NoAutoUpgrade"),
    # GlobalBatch: never upgraded; the team deployed gpt-5.1 beside it and deleted nightly-batch
    "nightly-gpt51": ("gpt-5.1", "2025-11-13", "OnceNewDefaultVersionAvailable"),
    # another subscription's deployment of a version the watched subscription stops seeing (its Deprecated
    # stage, from 2026-04-01): never called retired, never written
    "reports": ("gpt-4.1", "2025-04-14", "OnceCurrentVersionExpired"),
    # the payments team's suite covers both (UPGRADE_GATE=canary, CANARY_PROTECT=true): auto-update, pinned
    # by modelwatch when its canary of gpt-4o 2024-08-06 regressed (so Azure's 2025-02-13 move passed it
    # by), its policy put back when gpt-5.1 passed, then moved by Azure from 2026-03-09
    "invoice-reader": ("gpt-5.1", "2025-11-13", "OnceNewDefaultVersionAvailable"),
    # provisioned: modelwatch's migration to gpt-4o 2024-08-06 held by the gate (2025-09-05), its migration
    # to gpt-5.1, whose canary passed, done at the provisioned date's reminder (2026-09-20)
    "invoice-ptu": ("gpt-5.1", "2025-11-13", None),
}
# the version changes recorded (deployment, from, to, by whom), sorted
DEMO_CHANGES = (
    ("assistant", "0125", "2025-04-14", "azure"),
    ("assistant", "0301", "0125", "azure"),
    ("chat-eu", "2024-08-06", "2025-11-13", "azure"),
    ("chat-eu", "2025-11-13", "2024-08-06", "rollback"),
    ("chat-prod", "2024-05-13", "2024-08-06", "azure"),
    ("chat-prod", "2024-08-06", "2024-05-13", "rollback"),
    ("fraud-scoring", "0125", "2025-04-14", "azure"),
    ("fraud-scoring", "0613", "0125", "azure"),
    ("invoice-ptu", "2024-05-13", "2025-11-13", "modelwatch"),
    ("invoice-reader", "2024-05-13", "2024-05-13", "protect"),  # a policy change: pinned, then put back
    ("invoice-reader", "2024-05-13", "2024-05-13", "unprotect"),
    ("invoice-reader", "2024-05-13", "2025-11-13", "azure"),
    ("ptu-chat", "2024-08-06", "2025-11-13", "modelwatch"),
    ("search-global", "2024-08-06", "2025-11-13", "azure"),
    ("summarizer", "2024-05-13", "2025-11-13", "azure"),
    ("voice-agent", "2024-10-01", "2024-12-17", "azure"),
)
