"""Canaries: the rules of testing a coming version on a team's own prompts (shared/services/canary.py runs them).

Pure: which deployment to test against, what a temporary canary deployment looks like (name, SKU within the source's
data boundary, smallest capacity, tags, never upgraded by Azure), when a left-over canary has expired, and the
verdict from the runs. The verdict compares each case on the current and the target version: a regression is a case
that passes on the current version and fails on the target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.deployments import Deployment
from shared.domain.events import JsonValue, LifecycleEvent
from shared.domain.net import is_loopback_host
from shared.domain.policy import Status
from shared.domain.timeutil import parse_instant
from shared.domain.verdict import Verdict

TAG_CANARY_OF = "modelwatch:canary-of"  # the source deployment's resource id
TAG_EXPIRES = "modelwatch:expires"  # ISO-8601 UTC: the sweeper deletes the canary after this
CANARY_SUFFIX = "-mw-canary"
# ARM deployment names: 2-64 characters, letters, digits, '-', '_', '.' (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftcognitiveservices)
NAME_RULE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")

# Azure OpenAI data-plane hosts (public and sovereign clouds): the data-plane token goes to these, or to a loopback
# stand-in, and nowhere else. AIServices accounts also answer on *.services.ai.azure.com (https://learn.microsoft.com/azure/ai-foundry/openai/reference).
DATA_PLANE_HOST_SUFFIXES = (
    ".openai.azure.com",
    ".cognitiveservices.azure.com",
    ".services.ai.azure.com",
    ".openai.azure.us",
    ".cognitiveservices.azure.us",
    ".openai.azure.cn",
    ".cognitiveservices.azure.cn",
)


class CanaryMode(StrEnum):
    """CANARY_MODE: whether canaries run, and against what."""

    OFF = "off"
    EXISTING = "existing"  # side-by-side deployments only
    CREATE = "create"  # modelwatch may create temporary canary deployments


class ErrorKind(StrEnum):
    """Why a canary could not run: the first word of an ``error`` verdict's reason."""

    QUOTA = "quota"
    CAPACITY = "capacity"
    AUTH = "auth"
    NOT_OFFERED = "not offered"
    NO_TARGET = "no target"
    OUT_OF_SCOPE = "out of scope"
    BUDGET = "budget"
    UNAVAILABLE = "unavailable"
    FAILED = "failed"


def endpoint_problem(endpoint: str) -> str | None:
    """Why the data-plane token must not be sent to ``endpoint`` (None: it may): https to an Azure OpenAI host, or
    plain http to a loopback stand-in only."""
    from urllib.parse import urlsplit

    authority = endpoint.split("://", 1)[-1].split("/", 1)[0]
    if any(c.isspace() or not c.isprintable() or c in "\\@%" for c in authority) or "\\" in endpoint:
        return "the account endpoint has characters two URL parsers could read two ways"
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return "the account endpoint is not a URL"
    host = (parts.hostname or "").lower()
    if is_loopback_host(host) and parts.scheme in ("http", "https"):
        return None
    if parts.scheme != "https" or port not in (None, 443):
        return "the account endpoint is not https on port 443"
    if not host.endswith(DATA_PLANE_HOST_SUFFIXES):
        return f"the account endpoint's host {host} is not an Azure OpenAI data-plane host"
    return None


def canary_name(source_name: str) -> str:
    """``<name>-mw-canary`` within ARM's name rules: the source part cut so the whole fits 64 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", source_name)
    head = cleaned[: 64 - len(CANARY_SUFFIX)].rstrip("-_.") or "d"
    name = head + CANARY_SUFFIX
    assert NAME_RULE.match(name)
    return name


# Data boundaries (the SKU names of https://learn.microsoft.com/azure/ai-foundry/openai/how-to/deployment-types): a canary never processes prompts outside the region or zone the
# source keeps them in. Provisioned sources test on the pay-as-you-go type of the same boundary (smallest capacity).
_BOUNDARY = {
    "standard": ("Standard",),
    "provisionedmanaged": ("Standard",),
    "datazonestandard": ("DataZoneStandard",),
    "datazoneprovisionedmanaged": ("DataZoneStandard",),
    "globalstandard": ("GlobalStandard",),
    "globalprovisionedmanaged": ("GlobalStandard",),
}


def canary_skus(source_sku: str, allow_global: bool) -> tuple[str, ...]:
    """The deployment types a canary of a ``source_sku`` deployment may use, narrowest first. Global only when the
    source is global or the suite says ``allow_global: true``."""
    own = _BOUNDARY.get(source_sku.casefold(), ())
    if allow_global and "GlobalStandard" not in own:
        return (*own, "GlobalStandard")
    return own


def offered_skus(
    account_models: Sequence[JsonValue], model: str, version: str
) -> tuple[bool, set[str] | None]:
    """(listed, SKU names) of ``model`` ``version`` in an account's model list (Accounts - List Models). ``listed``
    False when the list names it nowhere; SKU names None when the entry does not list them (unknown)."""
    for item in account_models:
        if not isinstance(item, dict):
            continue
        inner = item.get("model") if isinstance(item.get("model"), dict) else item
        assert isinstance(inner, dict)
        if inner.get("name") == model and inner.get("version") == version:
            skus = inner.get("skus")
            if not isinstance(skus, list):
                return True, None
            return True, {str(s.get("name")).casefold() for s in skus if isinstance(s, dict)}
    return False, None


def smallest_capacity(account_models: Sequence[JsonValue], model: str, version: str, sku: str) -> int:
    """The catalog's minimum capacity of that SKU, else 1 (one unit: 1,000 tokens a minute on Standard)."""
    for item in account_models:
        inner = item.get("model") if isinstance(item, dict) and isinstance(item.get("model"), dict) else item
        if not isinstance(inner, dict) or inner.get("name") != model or inner.get("version") != version:
            continue
        skus = inner.get("skus")
        for s in skus if isinstance(skus, list) else []:
            if isinstance(s, dict) and str(s.get("name")).casefold() == sku.casefold():
                cap = s.get("capacity")
                minimum = cap.get("minimum") if isinstance(cap, dict) else None
                if isinstance(minimum, int) and not isinstance(minimum, bool) and minimum > 0:
                    return minimum
    return 1


def canary_body(
    source: Mapping[str, JsonValue],
    *,
    source_id: str,
    model: str,
    version: str,
    sku: str,
    capacity: int,
    expires: datetime,
) -> dict[str, JsonValue]:
    """The PUT body of a canary: the target model and version on ``sku`` with ``capacity``, the source's content
    filter (it answers under the same policy), never upgraded by Azure, tagged so the sweeper finds it."""
    props = source.get("properties") if isinstance(source.get("properties"), dict) else {}
    assert isinstance(props, dict)
    model_fmt = props.get("model", {}).get("format") if isinstance(props.get("model"), dict) else None  # type: ignore[union-attr]
    properties: dict[str, JsonValue] = {
        "model": {"format": model_fmt or "OpenAI", "name": model, "version": version},
        "versionUpgradeOption": "NoAutoUpgrade",
    }
    if isinstance(props.get("raiPolicyName"), str):
        properties["raiPolicyName"] = props["raiPolicyName"]
    return {
        "sku": {"name": sku, "capacity": capacity},
        "properties": properties,
        "tags": {TAG_CANARY_OF: source_id, TAG_EXPIRES: expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def _tags(resource: Mapping[str, JsonValue]) -> dict[str, str]:
    tags = resource.get("tags")
    return {str(k).casefold(): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def canary_of(resource: Mapping[str, JsonValue]) -> str | None:
    """The source a deployment is a canary of (None: not one of ours: a team's deployment, never written)."""
    return _tags(resource).get(TAG_CANARY_OF) or None


def is_expired_canary(resource: Mapping[str, JsonValue], now: datetime) -> bool:
    """A canary of ours whose expiry has passed (an unreadable expiry counts as expired: it is ours, and a run
    always writes a valid one)."""
    if canary_of(resource) is None or not str(resource.get("name", "")).endswith(CANARY_SUFFIX):
        return False
    raw = _tags(resource).get(TAG_EXPIRES)
    try:
        return raw is None or parse_instant(raw) <= now
    except ValueError:
        return True


def model_of(resource: Mapping[str, JsonValue]) -> tuple[str, str] | None:
    props = resource.get("properties")
    model = props.get("model") if isinstance(props, dict) else None
    if (
        isinstance(model, dict)
        and isinstance(model.get("name"), str)
        and isinstance(model.get("version"), str)
    ):
        return str(model["name"]), str(model["version"])
    return None


def side_by_side(
    deployments: Sequence[JsonValue], source_id: str, model: str, version: str
) -> Mapping[str, JsonValue] | None:
    """A deployment of ``model`` ``version`` already in the account (not the source, succeeded): a team's own
    first, else a canary of ours still alive."""
    found = [
        d
        for d in deployments
        if isinstance(d, dict)
        and str(d.get("id", "")).casefold() != source_id.casefold()
        and model_of(d) == (model, version)
        and str((d.get("properties") or {}).get("provisioningState", "Succeeded")).casefold() == "succeeded"  # type: ignore[union-attr]
    ]
    found.sort(key=lambda d: (canary_of(d) is not None, str(d.get("name"))))
    return found[0] if found else None


def expiry(now: datetime, ttl: timedelta) -> datetime:
    return now + ttl


# ---- results


@dataclass(frozen=True)
class ChatReply:
    """One chat completion as the data plane answered it."""

    text: str
    latency_ms: float
    tokens: int
    refusal: str | None = None  # the content filter's refusal: a case failure with that reason


@dataclass(frozen=True)
class RunResult:
    """One run of one case on one version."""

    failures: tuple[str, ...]
    latency_ms: float
    tokens: int
    excerpt: str | None = None  # a failing output's first words
    output: str | None = None  # the whole output, only with CANARY_STORE_OUTPUTS=true

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class CaseOnVersion:
    """A case on one version: passed when at least ``pass_at`` of its runs passed."""

    passed: bool
    failures: tuple[str, ...]  # the failed assertions, deduplicated over the runs
    latency_ms: float  # the slowest run
    runs: int
    excerpt: str | None = None
    outputs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JsonValue]:
        doc: dict[str, JsonValue] = {
            "passed": self.passed,
            "failures": list(self.failures),
            "latencyMs": round(self.latency_ms, 1),
        }
        if self.excerpt is not None:
            doc["excerpt"] = self.excerpt
        if self.outputs:
            doc["outputs"] = list(self.outputs)
        return doc


def combine(runs: Sequence[RunResult], pass_at: int) -> CaseOnVersion:
    failures = tuple(dict.fromkeys(f for r in runs for f in r.failures))
    passed = sum(r.passed for r in runs) >= pass_at
    return CaseOnVersion(
        passed=passed,
        failures=() if passed else failures,
        latency_ms=max((r.latency_ms for r in runs), default=0.0),
        runs=len(runs),
        excerpt=None if passed else next((r.excerpt for r in runs if r.excerpt), None),
        outputs=tuple(r.output for r in runs if r.output is not None),
    )


@dataclass(frozen=True)
class Side:
    """One version under test: the model, version and deployment, and how many cases it passed."""

    model: str
    version: str
    deployment: str
    passed: int = 0
    failed: int = 0

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "model": self.model,
            "version": self.version,
            "deployment": self.deployment,
            "passed": self.passed,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class CaseResult:
    id: str
    current: CaseOnVersion | None
    target: CaseOnVersion | None

    @property
    def regressed(self) -> bool:
        return bool(self.current and self.current.passed and self.target and not self.target.passed)


@dataclass(frozen=True)
class CanaryInfo:
    name: str
    created: bool
    deleted: bool

    def to_json(self) -> dict[str, JsonValue]:
        return {"name": self.name, "created": self.created, "deleted": self.deleted}


@dataclass(frozen=True)
class CanaryResult:
    """A canary run: the JSON of ``canary run --format json`` and of the stored result."""

    deployment: str  # the source deployment's resource id
    suite: str
    verdict: Verdict
    current: Side
    target: Side
    cases: tuple[CaseResult, ...] = ()
    canary: CanaryInfo | None = None
    tokens: int = 0
    reason: str | None = None  # an error verdict: what stopped it, first word the ErrorKind
    at: datetime | None = None
    regressions: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "deployment": self.deployment,
            "suite": self.suite,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "current": self.current.to_json(),
            "target": self.target.to_json(),
            "cases": [
                {
                    "id": c.id,
                    "current": c.current.to_json() if c.current else None,
                    "target": c.target.to_json() if c.target else None,
                }
                for c in self.cases
            ],
            "regressions": list(self.regressions),
            "canary": self.canary.to_json() if self.canary else None,
            "tokens": self.tokens,
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.at else None,
        }


def decide(
    cases: Sequence[CaseResult], threshold: float
) -> tuple[Verdict, tuple[str, ...], int, int, int, int]:
    """(verdict, regressions, current passed, current failed, target passed, target failed) of complete runs."""
    regressions = tuple(c.id for c in cases if c.regressed)
    cur_pass = sum(1 for c in cases if c.current and c.current.passed)
    tgt_pass = sum(1 for c in cases if c.target and c.target.passed)
    cur_fail = sum(1 for c in cases if c.current and not c.current.passed)
    tgt_fail = sum(1 for c in cases if c.target and not c.target.passed)
    share = tgt_pass / len(cases) if cases else 0.0
    verdict = Verdict.PASS if not regressions and share + 1e-9 >= threshold else Verdict.REGRESSION
    return verdict, regressions, cur_pass, cur_fail, tgt_pass, tgt_fail


def first_failure(result: CanaryResult) -> str | None:
    """The first failure reason on the target version (what a team reads first)."""
    for c in result.cases:
        if c.target and not c.target.passed and c.target.failures:
            return f"{c.id}: {c.target.failures[0]}"
    return None


# ---- in the pipeline: once per (deployment, target)


def canary_key(deployment_id: str, model: str, version: str) -> str:
    """The ledger key of a canary: one run per deployment and target, whichever event or redelivery asks."""
    from shared.domain.ids import arm_key, event_id

    return event_id("canary", arm_key(deployment_id), model, version)


def canary_target(
    status: str, target_model: str | None, target_version: str | None
) -> tuple[str, str] | None:
    """The version a canary should test for an assessment (Azure or modelwatch will move the deployment there);
    None when nothing is coming. The pipeline's trigger (item 4 of #25) asks this of every assessment it tells."""
    if (
        status in (Status.UPGRADE_PLANNED, Status.UPGRADE_EXPECTED, Status.AT_RISK)
        and target_model
        and target_version
    ):
        return target_model, target_version
    return None


def canary_event(
    result: CanaryResult, source: Deployment, now: datetime, *, protection: str = ""
) -> LifecycleEvent:
    """CanaryEvaluated for a finished run. The id covers the deployment, its version, the target and the verdict:
    a redelivered run is the same event, a later run with another verdict (a fixed regression) a new one."""
    from shared.domain.deployment_events import deployment_fields
    from shared.domain.events import EventType, LifecycleEvent
    from shared.domain.ids import event_id
    from shared.domain.payloads import CanaryEvaluatedData

    failure = first_failure(result) or ""
    payload = CanaryEvaluatedData(
        **deployment_fields(source),
        suite=result.suite,
        verdict=result.verdict,
        reason=result.reason or "",
        target_model_name=result.target.model,
        target_version=result.target.version,
        target_deployment=result.target.deployment,
        cases=len(result.cases),
        current_passed=result.current.passed,
        target_passed=result.target.passed,
        regressions=result.regressions,
        first_failure=failure if len(failure) <= 200 else failure[:199] + "…",
        tokens=result.tokens,
        canary_created=bool(result.canary and result.canary.created),
        protection=protection,
    )
    kind = EventType.CANARY_EVALUATED
    ident = event_id(
        kind.value,
        source.key,
        source.model_version,
        result.target.model,
        result.target.version,
        result.verdict.value,
    )
    return LifecycleEvent.create(kind, ident, now, payload)


def result_id(result: CanaryResult) -> str:
    """The identity of a stored result: deployment, suite, target and the run's instant to the microsecond (the
    JSON's ``at`` keeps seconds: two CLI runs in one second are two results). The same run saved twice (a retried
    save) is one result; another run, a redelivered one included, is another."""
    from shared.domain.ids import arm_key, event_id

    return event_id(
        "canary-result",
        arm_key(result.deployment),
        result.suite,
        result.target.model,
        result.target.version,
        result.at.isoformat() if result.at else "",
    )


def canary_outcome(result: CanaryResult) -> str:
    """What the ledger keeps of a canary run (its key: ``canary_key``): the verdict first, as the gate reads it."""
    n = len(result.cases)
    return f"{result.verdict.value}: {result.current.passed}/{n} -> {result.target.passed}/{n}"


def verdict_of(outcome: str) -> Verdict | None:
    """The verdict a ledger outcome of a canary records (None: not a verdict, e.g. a permanent failure)."""
    head = outcome.split(":", 1)[0].strip()
    return Verdict(head) if head in {v.value for v in Verdict} else None


ASK_VERSION = 1


@dataclass(frozen=True)
class CanaryAsk:
    """A queue message: run the canary of this deployment for this target (the pipeline's run_canary reads it)."""

    deployment_id: str
    target_model: str
    target_version: str

    def to_json(self) -> str:
        import json

        body = {
            "v": ASK_VERSION,
            "deployment": self.deployment_id,
            "model": self.target_model,
            "version": self.target_version,
        }
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CanaryAsk:
        """Raises MessageFormatError naming what is wrong (never echoing more than a short prefix)."""
        import json

        from shared.errors import MessageFormatError

        try:
            body = json.loads(text)
        except ValueError:
            raise MessageFormatError(f"canary message is not JSON: {text[:80]!r}") from None
        if not isinstance(body, dict) or body.get("v") != ASK_VERSION:
            raise MessageFormatError(f"canary message is not a version {ASK_VERSION} canary ask")
        fields = [body.get(k) for k in ("deployment", "model", "version")]
        if not all(isinstance(f, str) and f for f in fields) or not str(fields[0]).startswith(
            "/subscriptions/"
        ):
            raise MessageFormatError("canary message needs deployment (a resource id), model and version")
        return cls(str(fields[0]), str(fields[1]), str(fields[2]))
