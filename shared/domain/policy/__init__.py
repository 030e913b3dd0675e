"""The update-policy engine: for one deployment and the current catalog, what Azure will do, when, and what we do.

Pure. It assesses the deployment's whole situation against the *current* catalog rather than reacting to one
event's payload, so an old event delivered late can never undo a newer state (Event Grid does not keep order);
events only decide which deployments are assessed. What Azure does (Learn's working-with-models and
model-retirements pages, the Models - List REST reference; docs/predictions.md has the whole table with sources):
- Azure's target is ``replacementConfig`` (often a *different model*: gpt-4o -> gpt-5.1), else a newer default of
  the same model, else (preview versions) a newer preview. Azure moves deployments across the model-name change.
- OnceNewDefaultVersionAvailable: moved from ``autoUpgradeStartDate`` (a start, rolled out region by region),
  whether or not the target is flagged default; to a new default within two weeks of the change; to a newer
  preview from two weeks after its release.
- OnceCurrentVersionExpired (also an absent or unknown value): moved at retirement minus
  ``upgradeOnExpiryLeadTimeDays``; with no target the deployment stops working.
- NoAutoUpgrade, and every provisioned SKU: never moved; they stop at retirement.
- Azure upgrades even where the target is not offered in the deployment's region.
- Retirement dates are per deployment type: the catalog SKU entry matching the deployment's SKU (exact name, then
  family), else the model's date.
modelwatch's own writes are narrower than Azure's moves: only a target offered in the region, not retired, newer,
and of the same model name, except provisioned deployments, whose documented in-place migration may change the
model family (a Standard deployment's model name cannot change: CannotChangeDeploymentModel).
Deployments the location catalog cannot speak for are never called broken: fine-tuned models use their own
deprecation from Accounts - List Models (else "not tracked"); other formats (every one by default) are told their
catalog dates, never an upgrade; formats outside an explicit CATALOG_MODEL_FORMATS are "not watched".

``engine.py`` is the entry point (``assess``); ``assessment.py`` the decision, its statuses and the engine's settings;
``targets.py`` where a deployment goes (Azure's target, and what modelwatch may write); ``situation.py`` and
``options.py`` the OpenAI rules, by SKU and upgrade option; ``own_dates.py`` what only its own dates decide (partner
formats, fine-tuned models, the Developer tier); ``news.py`` whether news or a change concerns a deployment.
"""

from shared.domain.policy.assessment import (
    CANNOT_CHANGE_MODEL,
    PREVIEW_NOTICE_DAYS,
    Actor,
    Assessment,
    PolicyMode,
    PolicyRules,
    Status,
    worst_first,
)
from shared.domain.policy.engine import assess
from shared.domain.policy.news import concerns, explains_azure_move
from shared.domain.policy.targets import is_newer

__all__ = [
    "CANNOT_CHANGE_MODEL",
    "PREVIEW_NOTICE_DAYS",
    "Actor",
    "Assessment",
    "PolicyMode",
    "PolicyRules",
    "Status",
    "assess",
    "concerns",
    "explains_azure_move",
    "is_newer",
    "worst_first",
]
