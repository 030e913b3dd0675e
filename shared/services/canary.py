"""Run a canary: a team's suite on its current deployment and on a deployment of the coming version, side by side.

The crash story. The only write a canary run makes is its own temporary deployment (``<name>-mw-canary``), and
only when CANARY_MODE=create and the account is in WATCH_ACCOUNTS' scope, checked at that moment. It is tagged
with its source and an expiry *in the PUT itself*, so a run that dies after creating it leaves a deployment the
sweeper recognises and deletes once expired; a run that ends (pass, regression or error) deletes it in ``finally``.
A redelivered run finds its own canary by name and reuses it (a PUT of the same body). A name already taken by a
deployment that is not a canary of ours is never written: the run ends in ``error``. The team's deployments are
only read and called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.domain.canary import (
    CANARY_SUFFIX,
    CanaryAsk,
    CanaryInfo,
    CanaryMode,
    CanaryResult,
    CaseResult,
    ErrorKind,
    RunResult,
    Side,
    canary_body,
    canary_event,
    canary_key,
    canary_name,
    canary_of,
    canary_outcome,
    canary_skus,
    canary_target,
    combine,
    decide,
    is_expired_canary,
    model_of,
    offered_skus,
    side_by_side,
    smallest_capacity,
)
from shared.domain.deployments import Deployment, parse_deployment
from shared.domain.evals import Case, SchemaChecker, Suite, excerpt, judge, suite_for
from shared.domain.events import JsonValue
from shared.domain.ids import arm_key, subscription_of
from shared.domain.policy import Assessment
from shared.domain.scope import Scope
from shared.domain.verdict import Verdict
from shared.errors import ArmError, DataPlaneError, ModelWatchError, PermanentError, TransientError
from shared.ports import (
    CanaryQueue,
    CanaryResults,
    CatalogStateStore,
    ChatApi,
    DeploymentApi,
    DeploymentStore,
    EventPublisher,
    Ledger,
)
from shared.services.canary_tally import RunStoppedError, Tally
from shared.services.idempotency import Once, Processed, process_once
from shared.services.outbox import drain_outbox
from shared.services.protect import CanaryProtect
from shared.services.rubric import grade_rubrics

log = logging.getLogger(__name__)

SUBSCRIBER = "run_canary"  # the ledger partition of canary runs


@dataclass(frozen=True)
class CanaryRequest:
    deployment_id: str
    suite: Suite
    target_model: str | None = None  # None: the model of ``against``
    target_version: str | None = None
    against: str | None = None  # a deployment name in the same account to test against
    mode: CanaryMode = CanaryMode.EXISTING  # CANARY_MODE
    keep: bool = False  # leave a created canary for the sweeper instead of deleting it now


@dataclass(frozen=True)
class CanaryLimits:
    max_tokens: int = 200_000  # CANARY_MAX_TOKENS: the run stops starting calls once this many were used
    concurrency: int = 4  # CANARY_CONCURRENCY: chat calls in flight at once, both versions together
    store_outputs: bool = False  # CANARY_STORE_OUTPUTS: keep whole outputs, not only a failure's excerpt
    ttl: timedelta = timedelta(hours=2)  # CANARY_TTL_MINUTES: a created canary's expiry tag


class CanaryService:
    def __init__(
        self,
        api: DeploymentApi,
        chat_for: Callable[[str], ChatApi],
        scope: Scope,
        schemas: SchemaChecker,
        limits: CanaryLimits | None = None,
        *,
        any_account: bool = False,
    ) -> None:
        self.api = api
        # POLICY_ENFORCE_ALL_ACCOUNTS: an empty WATCH_ACCOUNTS means every account of the watched subscriptions
        self.any_account = any_account
        self.chat_for = (
            chat_for  # the ChatApi of an account endpoint (checked there: the token goes nowhere else)
        )
        self.scope = scope
        self.schemas = schemas
        self.limits = limits or CanaryLimits()

    # ---- the run
    def run(self, request: CanaryRequest, now: datetime) -> CanaryResult:
        """Resolve the target deployment (side by side, else a created canary), run the suite on both, judge.
        Never raises for what the verdict can say (error with its reason); ArmError on reading the source does."""
        source = self.api.get_deployment(request.deployment_id)
        account_id = request.deployment_id.split("/deployments/", 1)[0]
        account = self.api.get_account(account_id)
        location = str(account.get("location") or "")
        current = model_of(source) or ("?", "?")
        source_name = str(source.get("name") or request.deployment_id.rsplit("/", 1)[-1])
        cur_side = Side(current[0], current[1], source_name)
        target_model = request.target_model or current[0]

        def error(kind: ErrorKind, why: str, target: Side, info: CanaryInfo | None = None) -> CanaryResult:
            return CanaryResult(
                request.deployment_id,
                request.suite.name,
                Verdict.ERROR,
                cur_side,
                target,
                canary=info,
                reason=f"{kind.value}: {why}",
                at=now,
            )

        deployments = self.api.list_deployments(account_id)
        target_dep: Mapping[str, JsonValue] | None
        if request.against:
            target_dep = next(
                (d for d in deployments if isinstance(d, dict) and d.get("name") == request.against), None
            )
            if target_dep is None:
                return error(
                    ErrorKind.NO_TARGET,
                    f"no deployment {request.against} in the account",
                    Side(target_model, request.target_version or "?", request.against),
                )
            got = model_of(target_dep) or ("?", "?")
            if request.target_version and got != (target_model, request.target_version):
                return error(
                    ErrorKind.NO_TARGET,
                    f"{request.against} runs {got[0]} {got[1]}, not {target_model} {request.target_version}",
                    Side(got[0], got[1], request.against),
                )
            target_model, target_version = got
        else:
            if not request.target_version:
                return error(
                    ErrorKind.NO_TARGET, "no target version given or predicted", Side(target_model, "?", "")
                )
            target_version = request.target_version
            target_dep = side_by_side(deployments, request.deployment_id, target_model, target_version)
            if target_dep is not None and canary_of(target_dep) and request.mode == CanaryMode.CREATE:
                # a canary an earlier attempt left (a crash, a redelivery): put again (the same body) and delete it
                target_dep = None
        info: CanaryInfo | None = None
        created_id: str | None = None
        if target_dep is None:
            tgt = Side(target_model, target_version, "")
            if request.mode != CanaryMode.CREATE:
                return error(
                    ErrorKind.NO_TARGET,
                    f"no deployment of {target_model} {target_version} in the account to test against; deploy one "
                    "side by side (then --against NAME), or allow a temporary canary (CANARY_MODE=create, or "
                    "--create-canary)",
                    tgt,
                )
            made = self._create(
                request,
                source,
                account_id=account_id,
                location=location,
                model=target_model,
                version=target_version,
                now=now,
            )
            if isinstance(made, CanaryResult):
                return made
            created_id, target_name = made
            info = CanaryInfo(target_name, created=True, deleted=False)
        else:
            target_name = str(target_dep.get("name"))
        tgt_side = Side(target_model, target_version, target_name)
        deleted = False
        try:
            result = self._run_on(
                request, account=account, cur=cur_side, tgt=tgt_side, info=info, now=now, error=error
            )
        finally:
            if created_id is not None and not request.keep:
                try:
                    self.api.delete_deployment(created_id)
                    deleted = True
                except ArmError as exc:  # the sweeper deletes it once expired
                    log.warning("canary %s not deleted (%s); the sweeper will", target_name, exc)
        if info is not None and deleted:
            result = replace(result, canary=CanaryInfo(info.name, created=True, deleted=True))
        return result

    def _run_on(
        self,
        request: CanaryRequest,
        *,
        account: Mapping[str, JsonValue],
        cur: Side,
        tgt: Side,
        info: CanaryInfo | None,
        now: datetime,
        error: Callable[[ErrorKind, str, Side, CanaryInfo | None], CanaryResult],
    ) -> CanaryResult:
        props = account.get("properties")
        endpoint = props.get("endpoint") if isinstance(props, dict) else None
        if not isinstance(endpoint, str) or not endpoint:
            return error(
                ErrorKind.FAILED, "the account has no properties.endpoint (not an OpenAI account?)", tgt, info
            )
        try:
            chat = self.chat_for(endpoint)
        except DataPlaneError as exc:
            return error(ErrorKind.AUTH, str(exc), tgt, info)
        judge, grader = (
            request.suite.judge,
            chat,
        )  # llm-rubric's judge: in this account, or at its own endpoint
        if judge is not None and judge.endpoint:
            try:
                grader = self.chat_for(judge.endpoint)
            except DataPlaneError as exc:
                return error(ErrorKind.AUTH, f"the judge {judge.name}: {exc}", tgt, info)
        return self._judge(request, chat, grader, cur=cur, tgt=tgt, info=info, now=now)

    def _create(
        self,
        request: CanaryRequest,
        source: Mapping[str, JsonValue],
        *,
        account_id: str,
        location: str,
        model: str,
        version: str,
        now: datetime,
    ) -> tuple[str, str] | CanaryResult:
        """PUT the canary (or find ours from an earlier attempt). The id and name, or an error result."""
        cur = model_of(source) or ("?", "?")
        name = canary_name(str(source.get("name")))
        side = Side(model, version, name)
        cur_side = Side(cur[0], cur[1], str(source.get("name")))

        def error(kind: ErrorKind, why: str) -> CanaryResult:
            return CanaryResult(
                request.deployment_id,
                request.suite.name,
                Verdict.ERROR,
                cur_side,
                side,
                canary=CanaryInfo(name, created=False, deleted=False),
                reason=f"{kind.value}: {why}",
                at=now,
            )

        source_dep = parse_deployment(source, account_id=account_id, location=location)
        refusal = self.scope.write_refusal(source_dep)
        if refusal is None and not self.scope.accounts and not self.any_account:
            refusal = (
                "canaries are created only in accounts named in WATCH_ACCOUNTS, which is empty (or with "
                "POLICY_ENFORCE_ALL_ACCOUNTS=true, in every account of the watched subscriptions)"
            )
        if refusal:
            return error(ErrorKind.OUT_OF_SCOPE, f"no canary is created: {refusal}")
        canary_id = f"{account_id}/deployments/{name}"
        existing = self.api.find_deployment(canary_id)
        if (
            existing is not None
            and (canary_of(existing) or "").casefold() != request.deployment_id.casefold()
        ):
            return error(
                ErrorKind.FAILED,
                f"the name {name} is taken by a deployment that is not this canary; it is never written",
            )
        models = self.api.list_account_models(account_id)
        listed, skus = offered_skus(models, model, version)
        allowed = canary_skus(source_dep.sku_name, request.suite.allow_global)
        if not allowed:
            return error(
                ErrorKind.NOT_OFFERED,
                f"no canary deployment type keeps the data boundary of {source_dep.sku_name}",
            )
        if models and not listed:
            return error(
                ErrorKind.NOT_OFFERED, f"{model} {version} is not offered to this account in {location}"
            )
        choices = [s for s in allowed if skus is None or s.casefold() in skus]
        if not choices:
            widen = (
                ""
                if request.suite.allow_global
                else "; a suite may allow GlobalStandard with allow_global: true"
            )
            return error(
                ErrorKind.NOT_OFFERED,
                f"{model} {version} is not offered as {' or '.join(allowed)} in {location} (the data boundary of "
                f"{source_dep.sku_name}){widen}",
            )
        sku = choices[0]
        body = canary_body(
            source,
            source_id=request.deployment_id,
            model=model,
            version=version,
            sku=sku,
            capacity=smallest_capacity(models, model, version, sku),
            expires=now + self.limits.ttl,
        )
        try:
            self.api.put_deployment(canary_id, body)
        except ArmError as exc:
            text = f"{exc.code} {exc}".casefold()
            kind = (
                ErrorKind.AUTH
                if exc.status in (401, 403)
                else ErrorKind.QUOTA
                if "quota" in text
                else ErrorKind.CAPACITY
                if "capacity" in text
                else ErrorKind.NOT_OFFERED
                if exc.status == 400
                else ErrorKind.FAILED
            )
            return error(kind, f"creating canary {name} failed: {exc}")
        return canary_id, name

    def _judge(
        self,
        request: CanaryRequest,
        chat: ChatApi,
        grader: ChatApi,
        *,
        cur: Side,
        tgt: Side,
        info: CanaryInfo | None,
        now: datetime,
    ) -> CanaryResult:
        suite = request.suite
        jobs = [
            (case, side, r)
            for case in suite.tests
            for side in (cur.deployment, tgt.deployment)
            for r in range(suite.repeat)
        ]
        tally = Tally(self.limits.max_tokens)

        def one(job: tuple[Case, str, int]) -> None:
            case, deployment, _ = job
            try:
                tally.check()
                reply = chat.complete(deployment, case.messages, suite.defaults)
                tally.spend(reply.tokens)
                rubric = not reply.refusal and any(a.is_rubric for a in case.asserts)
                graded = (
                    grade_rubrics(case, reply.text, grader, suite.judge, tally)
                    if rubric and suite.judge is not None  # parse_suite requires a judge for llm-rubric
                    else {}
                )
            except DataPlaneError as exc:
                tally.stop(exc)
                return
            except RunStoppedError:
                return
            if reply.refusal:
                failures: tuple[str, ...] = (reply.refusal,)
            else:
                failures = judge(case, reply.text, reply.latency_ms, self.schemas, graded)
            tally.add(
                (case.id, deployment),
                RunResult(
                    failures,
                    reply.latency_ms,
                    reply.tokens,
                    excerpt=excerpt(reply.text) if failures and reply.text else None,
                    output=reply.text if self.limits.store_outputs else None,
                ),
            )

        with ThreadPoolExecutor(max_workers=self.limits.concurrency) as pool:
            list(pool.map(one, jobs))
        results = tally.results
        cases = tuple(
            CaseResult(
                case.id,
                combine(results[(case.id, cur.deployment)], suite.pass_at)
                if (case.id, cur.deployment) in results
                else None,
                combine(results[(case.id, tgt.deployment)], suite.pass_at)
                if (case.id, tgt.deployment) in results
                else None,
            )
            for case in suite.tests
        )
        verdict, regressions, cp, cf, tp, tf = decide(cases, suite.threshold)
        reason = None
        if tally.stopped:
            verdict, reason = Verdict.ERROR, tally.stopped[0]
        return CanaryResult(
            request.deployment_id,
            suite.name,
            verdict,
            Side(cur.model, cur.version, cur.deployment, cp, cf),
            Side(tgt.model, tgt.version, tgt.deployment, tp, tf),
            cases=cases,
            canary=info,
            tokens=tally.used,
            reason=reason,
            at=now,
            regressions=regressions,
        )

    # ---- once per (deployment, target): the queue-run canary of the pipeline
    def run_once(
        self,
        ledger: Ledger,
        request: CanaryRequest,
        now: datetime,
        *,
        results: CanaryResults | None = None,
        claim_ttl: timedelta = timedelta(minutes=30),
        then: Callable[[CanaryResult], None] | None = None,
    ) -> Processed[CanaryResult]:
        """Run the canary of (deployment, target) once, whatever redelivers the request; store the result. An error
        verdict that a later attempt may not meet (quota, unavailable) releases the claim: TransientError, the
        queue redelivers. Any other verdict is done: a redelivery is a duplicate and runs nothing."""
        model = request.target_model or ""
        key = canary_key(request.deployment_id, model, request.target_version or request.against or "")

        def work() -> CanaryResult:
            result = self.run(request, now)
            if results is not None:
                results.save(result)
            kind = (result.reason or "").split(":", 1)[0]
            if result.verdict == Verdict.ERROR and kind in (
                ErrorKind.QUOTA.value,
                ErrorKind.UNAVAILABLE.value,
            ):
                raise TransientError(f"canary of {request.deployment_id.rsplit('/', 1)[-1]}: {result.reason}")
            if then is not None:  # inside the claim: what must be published is recorded before it completes
                then(result)
            return result

        return process_once(
            ledger,
            SUBSCRIBER,
            key,
            work,
            now=now,
            ttl=claim_ttl,
            outcome=canary_outcome,
        )

    # ---- the sweeper (see below)
    def sweep(self, account_ids: Sequence[str], now: datetime) -> list[str]:
        """Delete the expired canaries of these accounts (a crashed run's); the ids deleted. Only deployments
        tagged as our canaries, named ``*-mw-canary`` and inside the write scope are touched."""
        deleted: list[str] = []
        for account_id in account_ids:
            account = self.api.get_account(account_id)
            location = str(account.get("location") or "")
            for d in self.api.list_deployments(account_id):
                if not isinstance(d, dict) or not is_expired_canary(d, now):
                    continue
                if self.scope.write_refusal(parse_deployment(d, account_id=account_id, location=location)):
                    continue
                self.api.delete_deployment(str(d["id"]))
                deleted.append(str(d["id"]))
        return deleted


class CanaryPipeline:
    """In the pipeline: a deployment covered by a suite that will move (Azure's default change, a replacement, an
    upgrade modelwatch plans, a retirement with a target) gets its canary once per (deployment, target), and the
    result is published as CanaryEvaluated through the outbox (the timer's drain publishes what a crash left).

    ``asks`` is pure over the assessments the caller already has (the policy subscriber's, or the status report's);
    ``run`` is one queue message's work. The event is recorded in the outbox inside the ledger's claim, before the
    claim completes: a worker dying after the run republishes the same event id (same verdict), never loses it.
    """

    def __init__(
        self,
        runner: CanaryService,
        ledger: Ledger,
        state: CatalogStateStore,
        publisher: EventPublisher,
        suites: Sequence[Suite] | Callable[[], Sequence[Suite]],
        *,
        mode: CanaryMode,
        results: CanaryResults | None = None,
        queue: CanaryQueue | None = None,
        deployments: DeploymentStore | None = None,
        protect: CanaryProtect | None = None,
    ) -> None:
        self.protect = protect  # CANARY_PROTECT in enforce mode, else None
        self.runner = runner
        self.ledger = ledger
        self.state = state
        self.publisher = publisher
        # read on first use in the function app: a malformed suite must not stop the app starting
        self._suites = suites
        self.mode = mode
        self.results = results
        self.queue = queue  # where ``ask`` sends the asks (the function app: CANARY_QUEUE_NAME)
        self.deployments = deployments  # the inventory: what a queued ask's deployment is

    @property
    def suites(self) -> Sequence[Suite]:
        return self._suites() if callable(self._suites) else self._suites

    def asks(self, assessments: Sequence[Assessment]) -> list[tuple[Deployment, CanaryRequest]]:
        """The canaries these assessments call for: a target is coming and a suite covers the deployment (by its
        ``modelwatch:evals`` tag or a glob); none with CANARY_MODE=off."""
        if self.mode == CanaryMode.OFF:
            return []
        out: list[tuple[Deployment, CanaryRequest]] = []
        for a in assessments:
            d = a.deployment
            target = canary_target(a.status.value, a.target_model or d.model_name, a.target_version)
            suite = (
                suite_for(self.suites, d.account_id.rsplit("/", 1)[-1], d.name, d.tags) if target else None
            )
            if target is None or suite is None or d.name.endswith(CANARY_SUFFIX):
                continue
            out.append((d, CanaryRequest(d.resource_id, suite, target[0], target[1], mode=self.mode)))
        return out

    def ask(self, assessments: Sequence[Assessment], now: datetime | None = None) -> int:
        """Queue the canaries these assessments call for (the policy subscriber, inside its ledger claim: a failed
        send retries the event). A malformed suite is logged and asks nothing; the number of asks sent."""
        if self.queue is None or self.mode == CanaryMode.OFF:
            return 0
        if self.protect is not None and now is not None:
            # a deployment modelwatch pinned (CANARY_PROTECT) is still Azure's to move once a target passes: its
            # canaries are asked as if it had its own policy back, or no later canary would ever lift the pin
            assessments = [self.protect.unpinned(a, now) for a in assessments]
        try:
            asks = self.asks(assessments)
        except PermanentError as exc:
            log.error("%s: the evaluation suites cannot be read: %s", SUBSCRIBER, exc)
            return 0
        self.queue.enqueue(
            [CanaryAsk(r.deployment_id, r.target_model or "", r.target_version or "") for _, r in asks]
        )
        return len(asks)

    def handle_message(self, text: str, now: datetime) -> CanaryResult | None:
        """One queued ask (run_canary): the deployment as the inventory has it, the suite covering it, the canary
        run once. None when there is nothing to run (no longer covered, gone, or run before). Raises
        MessageFormatError for a malformed message (the platform moves it to the poison queue)."""
        ask = CanaryAsk.from_json(text)
        if self.deployments is None:
            raise PermanentError("run_canary needs the deployment inventory")
        subscription = subscription_of(ask.deployment_id) or ""
        found = self.deployments.list_deployments_in(
            [subscription]
        )  # that subscription's slice, not the inventory
        d = next((x for x in found if x.key == arm_key(ask.deployment_id)), None)
        if d is None:
            log.info(
                "%s: %s is not in the inventory (any more): nothing to run", SUBSCRIBER, ask.deployment_id
            )
            return None
        suite = suite_for(self.suites, d.account_id.rsplit("/", 1)[-1], d.name, d.tags)
        if suite is None:
            log.info("%s: no suite covers %s (any more): nothing to run", SUBSCRIBER, d.name)
            return None
        request = CanaryRequest(d.resource_id, suite, ask.target_model, ask.target_version, mode=self.mode)
        return self.run(d, request, now)

    def upkeep(self, account_ids: Sequence[str], now: datetime) -> list[str]:
        """The catalog timer's chores (services' canary_upkeep): the expired canaries of these accounts deleted,
        the protections whose retirement is near lifted. One account's failure does not stop the others; what
        was done. The timer is a singleton: no two sweeps meet, and a delete of a deleted canary is a 404 nothing."""
        done: list[str] = []
        for account_id in account_ids:
            try:
                done += [f"deleted expired canary {i}" for i in self.runner.sweep([account_id], now)]
            except ModelWatchError as exc:  # the next timer run tries again
                log.warning("%s: sweeping %s failed: %s", SUBSCRIBER, account_id, exc)
        if self.protect is not None:
            done += self.protect.expire(now)
        return done

    def _protect(self, deployment: Deployment, result: CanaryResult, now: datetime) -> str:
        """CANARY_PROTECT: pin the deployment after a regression, unpin it after a pass (services/protect.py).
        Inside the run's claim: a transient failure releases it (the run is redelivered); a refusal (the
        deployment changed meanwhile) is told in the verdict's message and never loses the verdict itself."""
        if self.protect is None:
            return ""
        try:
            done = self.protect.after(deployment, result, now)
        except PermanentError as exc:
            log.warning("%s: %s not protected: %s", SUBSCRIBER, deployment.resource_id, exc)
            return f"modelwatch did not pin it: {exc}" if result.verdict is Verdict.REGRESSION else ""
        return done.text if done is not None else ""

    def run(self, deployment: Deployment, request: CanaryRequest, now: datetime) -> CanaryResult | None:
        """Run one canary once; its event goes to the outbox, then out. None when it ran before (a redelivery)
        or another attempt holds it. Raises TransientError when a later attempt may succeed."""

        def publish(result: CanaryResult) -> None:
            protection = self._protect(deployment, result, now)
            self.state.add_pending([canary_event(result, deployment, now, protection=protection)])

        done = self.runner.run_once(self.ledger, request, now, results=self.results, then=publish)
        if done.status is not Once.DONE or done.value is None:
            return None
        drain = drain_outbox(self.state, self.publisher, who=SUBSCRIBER)
        if drain.error:
            log.warning("%s: the CanaryEvaluated event stays in the outbox: %s", SUBSCRIBER, drain.error)
        return done.value
