"""How news and observed changes relate to a deployment: whether catalog news concerns it, and whether a version
change modelwatch did not make is Azure's documented upgrade."""

from __future__ import annotations

from collections.abc import Mapping

from shared.domain.catalog import ModelVersion, VersionKey
from shared.domain.deployments import Deployment, UpgradeOption
from shared.domain.policy.assessment import OPENAI_FORMAT
from shared.domain.policy.targets import is_newer, is_preview


def explains_azure_move(
    before: Deployment,
    after_model: str,
    after_version: str,
    before_entry: ModelVersion | None,
    catalog: Mapping[VersionKey, ModelVersion],
) -> bool:
    """Whether a version change modelwatch did not make is what Azure's documented upgrade does: to the
    replacement the catalog names for the old version, or to a newer default (or preview) of the same model,
    never a downgrade, and never for a deployment Azure does not move (NoAutoUpgrade, provisioned, fine-tuned).
    Anything else was changed outside modelwatch: a person, a pipeline, an infrastructure template."""
    if (
        before.is_provisioned
        or before.is_batch
        or before.is_fine_tuned
        or before.model_format.casefold() != OPENAI_FORMAT
    ):
        return False
    preview = before_entry is not None and before_entry.is_preview
    if (
        before.policy == UpgradeOption.NO_AUTO and not preview
    ):  # a preview is force-upgraded, whatever its policy
        return False
    replacement = before_entry.replacement if before_entry is not None else None
    if (
        replacement is not None
        and replacement.target_model_version == after_version
        and (replacement.target_model_name or before.model_name) == after_model
    ):
        return True
    if after_model != before.model_name:
        return False
    after_entry = catalog.get(VersionKey(before.model_format, after_model, after_version))
    if after_entry is None:
        return False
    newer = is_newer(after_entry, before_entry, before.model_version)
    return bool(newer) and (after_entry.is_default or is_preview(after_entry))


def concerns(d: Deployment, fmt: str, name: str, version: str | None) -> bool:
    """Whether news of this model (and version) concerns ``d``: its own model, or the base of its fine-tune
    (a fine-tuned model lives by its own dates, but its base model's news is when people ask about it)."""
    if d.model_format.casefold() == fmt.casefold() and d.model_name == name:
        return version is None or d.model_version == version
    if any(
        f.casefold() == fmt.casefold() and n == name and (version is None or v == version)
        for f, n, v in d.routing_models
    ):
        return True  # a model-router routing to it
    ft = d.fine_tune
    return ft is not None and ft.base_model == name and (version is None or ft.base_version == version)
