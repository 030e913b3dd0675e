"""The catalog diff: previous snapshot + current catalog + now -> lifecycle events + next snapshot.

Pure: no I/O, no clock. The next snapshot carries what has already been announced (reminder thresholds,
retirements) so that running the diff again on its own output at the same instant yields nothing: that is
what makes a re-run after a crash harmless, together with deterministic event ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.domain.catalog import (
    STATUS_RETIRED,
    ModelVersion,
    ParsedCatalog,
    Replacement,
    VersionKey,
    default_versions,
)
from shared.domain.events import REGISTRY, EventType, LifecycleEvent
from shared.domain.ids import event_id
from shared.domain.payloads import (
    AnomalyReason,
    CatalogAnomalyData,
    NotListedReason,
    ReplacementData,
    RetiredReason,
    RetirementChange,
)
from shared.domain.timeutil import days_until, format_instant

# Tokens of what was announced: "remind@<date>@<days>", "retired@<date>", "retired@all", "unlisted@<finding>".
# ISO dates hold ":".
RETIRED_ALL = "retired@all"
UNLISTED = "unlisted@"
# who did not list a version when the watcher was given no other subscription's view
THE_WATCHER = "the watched subscription"
DEFAULT_REMINDER_DAYS = (90, 60, 30, 14, 7, 1)


@dataclass(frozen=True)
class DiffRules:
    """Tunables of the diff, from settings."""

    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    # More than this fraction of known versions vanishing at once is treated as a broken catalog, not news.
    vanish_guard: float = 0.2
    # A version must be missing this many consecutive cycles before it counts as removed (retired).
    removal_confirmations: int = 2
    # CATALOG_NEWS_FORMATS (casefolded; None: every format): whose releases, default changes and status changes are
    # news. Retirement news (scheduled, moved, approaching, retired, not listed) is told for every format kept: a
    # deployment of any format stops on its date.
    news_formats: frozenset[str] | None = frozenset({"openai"})


@dataclass(frozen=True)
class VersionRecord:
    """What the snapshot keeps per version: the version as last seen, plus what was already announced."""

    version: ModelVersion
    notified: frozenset[str] = frozenset()
    missing_cycles: int = 0
    removed: bool = False
    # events announced for this version so far: part of the next ones' ids, so a state that comes back (a date
    # withdrawn then set again, a default moved back) is a new event, not a duplicate of the first announcement
    announced: int = 0


@dataclass(frozen=True)
class Confirmation:
    """A vanished version as the subscriptions holding deployments of it see it (https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements: the Models API
    is subscription-scoped; a Deprecated version is listed only to subscriptions that have deployed it).

    ``listed``: the entry of the first holder whose catalog still lists it (then it is alive, with that holder's
    dates); ``listed_for``, ``not_listed_for``: subscriptions by what their catalog said (the watcher's first);
    ``unread``: holders whose catalog could not be read this cycle (then nothing is concluded)."""

    listed: ModelVersion | None = None
    listed_for: tuple[str, ...] = ()
    not_listed_for: tuple[str, ...] = (THE_WATCHER,)
    unread: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocationSnapshot:
    """The last committed view of one location's catalog."""

    location: str
    records: Mapping[VersionKey, VersionRecord] = field(default_factory=dict)
    # Digest of the vanished set while the vanish guard holds the snapshot; None when the catalog looks sane.
    anomaly: str | None = None


@dataclass(frozen=True)
class DiffResult:
    events: tuple[LifecycleEvent, ...]
    snapshot: LocationSnapshot
    is_anomaly: bool = False

    def changed_records(self, previous: LocationSnapshot | None) -> dict[VersionKey, VersionRecord]:
        """Records that differ from the previous snapshot: the only ones a store needs to write."""
        before = previous.records if previous is not None else {}
        return {k: r for k, r in self.snapshot.records.items() if before.get(k) != r}


def _iso(value: datetime | None) -> str | None:
    return format_instant(value)


def _replacement(r: Replacement | None) -> ReplacementData | None:
    if r is None:
        return None
    return ReplacementData(
        target_model_name=r.target_model_name,
        target_model_version=r.target_model_version,
        auto_upgrade_start_date=r.auto_upgrade_start,
        upgrade_on_expiry_lead_time_days=r.upgrade_on_expiry_lead_days,
    )


def _sku_dates(v: ModelVersion) -> dict[str, datetime | None]:
    return dict(v.sku_retirement_dates)


def _version_facts(location: str, v: ModelVersion, *, baseline: bool) -> dict[str, Any]:
    """The fields of VersionData: every version event's payload starts with them."""
    return {
        "location": location,
        "model_format": v.format,
        "model_name": v.name,
        "model_version": v.version,
        "lifecycle_status": v.lifecycle_status,
        "is_default_version": v.is_default,
        "retirement_date": v.effective_retirement_date,
        "sku_retirement_dates": _sku_dates(v),
        "deprecation_status": v.deprecation_status,
        "fine_tune_retirement_date": v.fine_tune_retirement_date,
        "replacement": _replacement(v.replacement),
        "baseline": baseline,
    }


def _schedule_signature(v: ModelVersion) -> tuple[object, ...]:
    return (v.retirement_date, v.sku_retirement_dates, v.deprecation_status)


def _schedule_text(v: ModelVersion | None) -> str:
    if v is None:
        return "-"
    skus = ",".join(f"{s}={_iso(d)}" for s, d in v.sku_retirement_dates)
    return f"{_iso(v.retirement_date)};{skus};{v.deprecation_status}"


def _upgrade_signature(r: Replacement | None) -> tuple[object, ...] | None:
    if r is None or r.auto_upgrade_start is None:
        return None
    return (r.target_model_name, r.target_model_version, r.auto_upgrade_start)


def _direction(old: ModelVersion | None, new: ModelVersion) -> RetirementChange:
    before = old.effective_retirement_date if old is not None else None
    after = new.effective_retirement_date
    if after is None:
        return RetirementChange.CANCELLED
    if before is None:
        return RetirementChange.NEW
    if after < before:
        return RetirementChange.EARLIER
    if after > before:
        return RetirementChange.LATER
    return RetirementChange.CHANGED  # same headline date: a SKU date or the Planned/Tentative status moved


# Catalog news that changes nothing for a running deployment of a format Azure documents no upgrade for: told
# only for CATALOG_NEWS_FORMATS. Everything else (a retirement scheduled, moved, approaching or past, a version gone
# from the list, or back after its retirement was told, a move into a retirement stage) can stop a running
# deployment of any format, and is told for every format kept.
NEWS_ONLY = frozenset(
    {
        EventType.VERSION_RELEASED,
        EventType.DEFAULT_VERSION_CHANGED,
        EventType.DEFAULT_VERSION_CHANGE_SCHEDULED,
        EventType.LIFECYCLE_STATUS_CHANGED,
    }
)
# the API's retirement stages (https://learn.microsoft.com/rest/api/aiservices/accountmanagement/models/list, ``deprecationStatus``): closed to new customers, then retired
RETIREMENT_STAGES = frozenset({"deprecating", STATUS_RETIRED.casefold()})


def _is_news_only(event_type: EventType, v: ModelVersion, extra: Mapping[str, Any]) -> bool:
    if event_type not in NEWS_ONLY or extra.get("reappeared"):  # back after its retirement was told: undone
        return False
    if event_type == EventType.LIFECYCLE_STATUS_CHANGED:
        return (v.lifecycle_status or "").casefold() not in RETIREMENT_STAGES
    return True


class _Emitter:
    """Collects the events of one location diff, each with its deterministic id."""

    def __init__(
        self,
        location: str,
        now: datetime,
        baseline: frozenset[str] | None,
        announced: Mapping[VersionKey, int] | None = None,
        news_formats: frozenset[str] | None = None,
    ) -> None:
        self.location = location
        self.now = now
        # the formats (casefolded) this diff is a baseline for; None: all of them (the location's first cycle)
        self.baseline_formats = baseline
        self.news_formats = news_formats
        self.announced = dict(announced or {})  # per version, from the previous snapshot
        self.events: list[LifecycleEvent] = []
        self.counts: dict[VersionKey, int] = {}  # events emitted now, per version

    def is_baseline(self, v: ModelVersion) -> bool:
        return self.baseline_formats is None or v.format.casefold() in self.baseline_formats

    def version_event(
        self, event_type: EventType, v: ModelVersion, id_parts: Iterable[str | None], **extra: Any
    ) -> None:
        """An event of a version: its type's payload class, the version's facts, and what this type adds."""
        if (
            self.news_formats is not None
            and v.format.casefold() not in self.news_formats
            and _is_news_only(event_type, v, extra)
        ):
            return  # not news for this format: nothing told, nothing counted (no state depends on it)
        facts = _version_facts(self.location, v, baseline=self.is_baseline(v)) | extra
        payload = REGISTRY[event_type].payload(**facts)
        # the first announcements keep the ids they always had; later ones carry how many came before
        before = self.announced.get(v.key, 0)
        generation = [f"after-{before}"] if before else []
        ident = event_id(event_type.value, self.location, v.format, v.name, v.version, *id_parts, *generation)
        self.events.append(LifecycleEvent.create(event_type, ident, self.now, payload))
        self.counts[v.key] = self.counts.get(v.key, 0) + 1


def _vanish_digest(keys: Iterable[VersionKey]) -> str:
    return hashlib.sha256("\n".join(sorted(str(k) for k in keys)).encode()).hexdigest()[:32]


def _is_unlisted(record: VersionRecord) -> bool:
    """Known to be missing from the watcher's list while alive for Azure (announced as VersionNotListed)."""
    return any(t.startswith(UNLISTED) for t in record.notified)


def _is_retired(record: VersionRecord, now: datetime) -> bool:
    v = record.version
    if v.is_status_retired or RETIRED_ALL in record.notified:
        return True
    windows = v.retirement_windows()
    return bool(windows) and windows[-1].date <= now


def _guard_holds(
    present: Mapping[VersionKey, VersionRecord], unexpected: Iterable[VersionKey], rules: DiffRules
) -> bool:
    """Whether too many versions vanished at once for a real removal, counted per format: every format's entries
    are kept by default, and a region's partner catalog is large; a share of the whole would let a listing that
    lost most of OpenAI's versions pass as news. One version leaving is what a real removal looks like (and
    removal needs confirmations anyway)."""
    gone: dict[str, int] = {}
    for k in unexpected:
        gone[k.format.casefold()] = gone.get(k.format.casefold(), 0) + 1
    known: dict[str, int] = {}
    for k in present:
        known[k.format.casefold()] = known.get(k.format.casefold(), 0) + 1
    return any(n >= 2 and n > rules.vanish_guard * known.get(f, 0) for f, n in gone.items())


def _check_vanish_guard(
    previous: LocationSnapshot, current: ParsedCatalog, now: datetime, rules: DiffRules
) -> DiffResult | None:
    present = {k: r for k, r in previous.records.items() if not r.removed}
    listed = {v.key for v in current.versions} | current.unreadable
    # a version already known to be missing from this list (subscription-scoped visibility) is not news
    vanished = [k for k in present if k not in listed and not _is_unlisted(present[k])]
    # A version that was already retired is expected to leave the catalog: not suspicious.
    unexpected = sorted(k for k in vanished if not _is_retired(present[k], now))
    if not _guard_holds(present, unexpected, rules):
        return None
    digest = _vanish_digest(unexpected)
    snapshot = replace(previous, anomaly=digest)
    if previous.anomaly == digest:
        return DiffResult((), snapshot, is_anomaly=True)  # same anomaly as last cycle: already announced
    anomaly = CatalogAnomalyData(
        location=previous.location,
        reason=AnomalyReason.VERSIONS_VANISHED,
        vanished_count=len(unexpected),
        known_count=len(present),
        vanish_guard=rules.vanish_guard,
        vanished_versions=tuple(str(k) for k in unexpected[:50]),
        action="snapshot kept; no retirement events until the catalog looks sane again",
    )
    ident = event_id(EventType.CATALOG_ANOMALY.value, previous.location, digest)
    event = LifecycleEvent.create(EventType.CATALOG_ANOMALY, ident, now, anomaly)
    return DiffResult((event,), snapshot, is_anomaly=True)


def _time_based(
    emit: _Emitter, v: ModelVersion, notified: set[str], rules: DiffRules, *, status_retired: bool
) -> None:
    """Reminders at thresholds, and retirement when a date passes or the status says retired."""
    if RETIRED_ALL in notified:
        return
    windows = v.retirement_windows()
    passed = [w for w in windows if w.date <= emit.now]
    fully = status_retired or (bool(windows) and len(passed) == len(windows))
    if fully:
        reason = RetiredReason.LIFECYCLE_STATUS if status_retired else RetiredReason.DATE_PASSED
        emit.version_event(
            EventType.VERSION_RETIRED,
            v,
            ["all"],
            reason=reason,
            fully_retired=True,
        )
        notified.add(RETIRED_ALL)
        notified.update(f"retired@{_iso(w.date)}" for w in windows)
        return
    for window in windows:
        date = _iso(window.date)
        skus = tuple(window.skus) if window.skus is not None else None
        if window.date <= emit.now:
            token = f"retired@{date}"
            if token not in notified:
                emit.version_event(
                    EventType.VERSION_RETIRED,
                    v,
                    [date],
                    reason=RetiredReason.DATE_PASSED,
                    fully_retired=False,
                    affected_skus=skus,
                )
                notified.add(token)
            continue
        days = days_until(window.date, emit.now)
        crossed = [t for t in rules.reminder_days if days <= t]
        if not crossed:
            continue
        threshold = min(crossed)
        token = f"remind@{date}@{threshold}"
        if token not in notified:
            emit.version_event(
                EventType.RETIREMENT_APPROACHING,
                v,
                [date, str(threshold)],
                retirement_date=window.date,
                days_remaining=days,
                threshold=threshold,
                affected_skus=skus,
            )
        # crossing 30 also settles 60 and 90: never announce a wider threshold after a narrower one
        notified.update(f"remind@{date}@{t}" for t in crossed)


def _prune(notified: set[str], v: ModelVersion) -> frozenset[str]:
    """Forget tokens of dates no longer scheduled, so the set cannot grow without bound."""
    dates = {_iso(w.date) for w in v.retirement_windows()}
    kept = {t for t in notified if t == RETIRED_ALL or t.split("@")[1] in dates}
    return frozenset(kept)


def next_due(snapshot: LocationSnapshot, rules: DiffRules, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which the same catalog would yield an event (a reminder threshold or a
    retirement date); ``now`` itself when a pending removal still needs confirming; None when nothing is due."""
    due: list[datetime] = []
    for record in snapshot.records.values():
        if record.removed:
            continue
        if record.missing_cycles and not _is_unlisted(record):
            return now
        if RETIRED_ALL in record.notified:
            continue
        for window in record.version.retirement_windows():
            if window.date <= now:
                continue
            due.append(window.date)
            date = _iso(window.date)
            due.extend(
                window.date - timedelta(days=t)
                for t in rules.reminder_days
                if f"remind@{date}@{t}" not in record.notified
            )
    return min(due) if due else None


def to_confirm(
    previous: LocationSnapshot | None, current: ParsedCatalog, now: datetime, rules: DiffRules | None = None
) -> tuple[VersionKey, ...]:
    """The versions this cycle would conclude something about because they left the list: missing for
    ``removal_confirmations`` cycles (or already known to be missing). The watcher asks the subscriptions holding
    deployments of them before the diff concludes (``Confirmation``); nothing when the vanish guard holds."""
    rules = rules or DiffRules()
    if previous is None or not previous.records:
        return ()
    listed = {v.key for v in current.versions} | current.unreadable
    vanished = [k for k, r in previous.records.items() if not r.removed and k not in listed]
    # the vanish guard's own count (_check_vanish_guard): when it holds, the diff concludes nothing
    unexpected = [
        k
        for k in vanished
        if not _is_unlisted(previous.records[k]) and not _is_retired(previous.records[k], now)
    ]
    present = {k: r for k, r in previous.records.items() if not r.removed}
    if _guard_holds(present, unexpected, rules):
        return ()  # the guard holds the snapshot: nothing is concluded, nothing needs asking
    return tuple(sorted(k for k in vanished if _due(previous.records[k], rules)))


def _due(record: VersionRecord, rules: DiffRules) -> bool:
    """Whether a missing version's absence is concluded on this cycle (it was sighted missing often enough)."""
    return record.missing_cycles + 1 >= rules.removal_confirmations or _is_unlisted(record)


def diff_location(
    previous: LocationSnapshot | None,
    current: ParsedCatalog,
    now: datetime,
    rules: DiffRules | None = None,
    *,
    location: str | None = None,
    confirmations: Mapping[VersionKey, Confirmation] | None = None,
) -> DiffResult:
    """Compare one location's previous snapshot with its current catalog as of ``now``.

    The first cycle (no previous records) is a baseline: it announces only what is actionable (retirements
    scheduled, approaching or past, upcoming default changes), not a release for every existing version; so is
    the first cycle that lists a format the snapshot holds no record of, for that format's versions.
    Releases, default and status changes are told only for ``rules.news_formats`` (retirement news for all).
    A version that left the list is retired only when no subscription asked (``confirmations``, per version;
    none given: the watcher's own list only) still lists it and all its dates have passed; otherwise it is kept,
    with its dates, and announced once as VersionNotListed: never a retirement, never a write.
    """
    rules = rules or DiffRules()
    name = location or (previous.location if previous is not None else "")
    if not name:
        raise ValueError("diff_location needs a location (from the previous snapshot or the argument)")
    baseline = previous is None or not previous.records
    if previous is not None and not baseline:
        guarded = _check_vanish_guard(previous, current, now, rules)
        if guarded is not None:
            return guarded
    prev_records = previous.records if previous is not None else {}
    cur = current.by_key()
    emit = _Emitter(
        name,
        now,
        None if baseline else _new_formats(prev_records, cur),
        {k: r.announced for k, r in prev_records.items() if r.announced},
        rules.news_formats,
    )
    next_records: dict[VersionKey, VersionRecord] = {}

    for key in sorted(set(prev_records) | set(cur)):
        old_record = prev_records.get(key)
        if key in current.unreadable:
            if old_record is not None:
                next_records[key] = old_record  # unknown this cycle: keep as it was
            continue
        new = cur.get(key)
        confirmation = (confirmations or {}).get(key, Confirmation())
        if (
            new is None
            and old_record is not None
            and confirmation.listed is not None
            and _due(old_record, rules)
        ):
            # listed for a subscription that runs it: alive, with that subscription's facts
            next_records[key] = _listed_elsewhere(emit, old_record, confirmation, rules)
            continue
        if new is None:
            assert old_record is not None
            next_records[key] = _absent(emit, old_record, rules, confirmation)
            continue
        notified = set(old_record.notified) if old_record is not None else set()
        old = old_record.version if old_record is not None else None
        if old_record is not None and old_record.removed and not new.is_status_retired:
            # listed again after we announced its removal: say so, and let its dates count again
            notified.discard(RETIRED_ALL)
            emit.version_event(EventType.VERSION_RELEASED, new, ["reappeared"], reappeared=True)
        _compare(emit, old, new, is_new=old_record is None)
        _time_based(emit, new, notified, rules, status_retired=new.is_status_retired)
        announced = old_record.announced if old_record is not None else 0
        next_records[key] = VersionRecord(new, _prune(notified, new), 0, False, announced)

    if not baseline:
        _default_changes(emit, prev_records, cur)  # a format new to the snapshot has no default before: none
    for key, count in emit.counts.items():
        if key in next_records:
            next_records[key] = replace(next_records[key], announced=next_records[key].announced + count)
    snapshot = LocationSnapshot(name, next_records, None)
    return DiffResult(tuple(emit.events), snapshot)


def _new_formats(
    prev_records: Mapping[VersionKey, VersionRecord], cur: Mapping[VersionKey, ModelVersion]
) -> frozenset[str]:
    """Formats listed now of which the snapshot holds no record at all: their first sighting, a baseline for them
    as a location's first cycle is for it. That is the cycle after CATALOG_MODEL_FORMATS starts keeping a format
    (every format by default, where an older installation kept OpenAI only): its versions are not releases, and
    hundreds of "released" events would be a burst of news about nothing new. A format Azure adds to a region is
    seen the same way (its retirement dates are told, its first versions are not announced as released)."""
    known = {k.format.casefold() for k in prev_records}
    return frozenset(f for f in (k.format.casefold() for k in cur) if f not in known)


def within_formats(
    records: Mapping[VersionKey, VersionRecord], formats: frozenset[str] | None
) -> dict[VersionKey, VersionRecord]:
    """The records of the formats CATALOG_MODEL_FORMATS keeps (None: all). A format taken out of the setting
    leaves the list the diff is given, not the catalog: its records must not look vanished (a vanish guard held
    for good, or retirements of versions that are alive). They stay stored, untouched, until it is kept again; the
    diff then resumes from them, and what changed meanwhile is told as changes."""
    if formats is None:
        return dict(records)
    return {k: r for k, r in records.items() if k.format.casefold() in formats}


def _works_until(v: ModelVersion) -> datetime | None:
    """The last of its retirement dates: until then some deployment type of it still answers."""
    windows = v.retirement_windows()
    return windows[-1].date if windows else None


def _not_listed(
    emit: _Emitter, v: ModelVersion, notified: set[str], confirmation: Confirmation, finding: NotListedReason
) -> frozenset[str]:
    """Announce VersionNotListed once per finding (who lists it, who does not, until when); the tokens to keep."""
    until = _works_until(v)
    facts = (
        finding,
        ",".join(sorted(confirmation.not_listed_for)),
        ",".join(sorted(confirmation.listed_for)),
        _iso(until) or "-",
    )
    token = UNLISTED + hashlib.sha256("|".join(facts).encode()).hexdigest()[:16]
    if token not in notified:
        emit.version_event(
            EventType.VERSION_NOT_LISTED,
            v,
            [UNLISTED, *facts],
            reason=finding,
            not_listed_for=tuple(sorted(confirmation.not_listed_for)),
            listed_for=tuple(sorted(confirmation.listed_for)),
            works_until=until,
        )
    # one finding at a time: the previous one's token goes
    return frozenset({t for t in notified if not t.startswith(UNLISTED)} | {token})


def _listed_elsewhere(
    emit: _Emitter, record: VersionRecord, confirmation: Confirmation, rules: DiffRules
) -> VersionRecord:
    """Missing from the watcher's list, listed for a subscription that runs it: the Deprecated stage ("existing
    customers" only). Its dates are that subscription's; reminders and date-based retirement go on as usual."""
    assert confirmation.listed is not None
    new = confirmation.listed
    notified = set(record.notified)
    if record.removed:
        notified.discard(RETIRED_ALL)
    _compare(emit, record.version, new, is_new=False)
    _time_based(emit, new, notified, rules, status_retired=new.is_status_retired)
    kept = set(_prune(notified, new)) | {t for t in notified if t.startswith(UNLISTED)}
    tokens = _not_listed(emit, new, kept, confirmation, NotListedReason.LISTED_ELSEWHERE)
    return VersionRecord(new, tokens, 0, False, record.announced)


def _absent(
    emit: _Emitter, record: VersionRecord, rules: DiffRules, confirmation: Confirmation
) -> VersionRecord:
    if record.removed:
        return record
    # capped: a version known to be unlisted stays missing for months; its record must not change every cycle
    missing = min(record.missing_cycles + 1, rules.removal_confirmations)
    if missing < rules.removal_confirmations and not _is_unlisted(record):
        return replace(record, missing_cycles=missing)
    if confirmation.unread:
        # a subscription that runs it could not be asked: conclude nothing this cycle (the watcher says why)
        return replace(record, missing_cycles=missing)
    if not _is_retired(record, emit.now):
        # gone from every list asked, but Azure's own dates say it still works: at most at risk, never retired
        notified = set(record.notified)
        _time_based(emit, record.version, notified, rules, status_retired=False)
        tokens = _not_listed(
            emit, record.version, notified, confirmation, NotListedReason.GONE_BEFORE_RETIREMENT
        )
        return replace(record, missing_cycles=missing, notified=tokens)
    if RETIRED_ALL not in record.notified:
        emit.version_event(
            EventType.VERSION_RETIRED,
            record.version,
            ["all"],
            reason=RetiredReason.REMOVED,
            fully_retired=True,
        )
    return replace(record, missing_cycles=missing, removed=True, notified=record.notified | {RETIRED_ALL})


def _compare(emit: _Emitter, old: ModelVersion | None, new: ModelVersion, *, is_new: bool) -> None:
    baseline = emit.is_baseline(new)
    if is_new and not baseline:
        emit.version_event(EventType.VERSION_RELEASED, new, [])
    if old is not None and (old.lifecycle_status or None) != (new.lifecycle_status or None):
        emit.version_event(
            EventType.LIFECYCLE_STATUS_CHANGED,
            new,
            [old.lifecycle_status, new.lifecycle_status],
            previous_lifecycle_status=old.lifecycle_status,
        )
    old_schedule = _schedule_signature(old) if old is not None else None
    has_schedule = bool(new.retirement_windows())
    # once the status says retired, dates are history: VersionRetired says it all
    if (
        old_schedule != _schedule_signature(new)
        and (has_schedule or old is not None)
        and not new.is_status_retired
    ):
        upcoming = [w for w in new.retirement_windows() if w.date > emit.now]
        # On a baseline only what still lies ahead is news; a past date is reported as VersionRetired.
        if not (baseline and not upcoming):
            emit.version_event(
                EventType.RETIREMENT_SCHEDULED,
                new,
                [_schedule_text(new), _schedule_text(old)],
                previous_retirement_date=old.effective_retirement_date if old else None,
                previous_sku_retirement_dates=_sku_dates(old) if old else None,
                previous_deprecation_status=old.deprecation_status if old else None,
                change=_direction(old, new),
            )
    new_upgrade = _upgrade_signature(new.replacement)
    old_upgrade = _upgrade_signature(old.replacement) if old is not None else None
    if new_upgrade is not None and new_upgrade != old_upgrade:
        assert new.replacement is not None and new.replacement.auto_upgrade_start is not None
        start = new.replacement.auto_upgrade_start
        if not (baseline and start <= emit.now):
            previous_start = old.replacement.auto_upgrade_start if old and old.replacement else None
            emit.version_event(
                EventType.DEFAULT_VERSION_CHANGE_SCHEDULED,
                new,
                [new.replacement.target_model_name, new.replacement.target_model_version, _iso(start)],
                scheduled_for=start,
                previous_scheduled_for=previous_start,
                target_model_name=new.replacement.target_model_name,
                target_model_version=new.replacement.target_model_version,
                upgrade_on_expiry_lead_time_days=new.replacement.upgrade_on_expiry_lead_days,
            )


def _default_changes(
    emit: _Emitter, prev_records: Mapping[VersionKey, VersionRecord], cur: Mapping[VersionKey, ModelVersion]
) -> None:
    # Only versions listed last cycle count: a default missing from one listing must not look like a change.
    before = default_versions(
        r.version
        for r in prev_records.values()
        if not r.removed and r.missing_cycles == 0 and not _is_unlisted(r)
    )
    after = default_versions(cur.values())
    for model, new_default in sorted(after.items()):
        old_default = before.get(model)
        if old_default is None or old_default == new_default:
            continue  # unknown before (new model, or flag absent: the API often omits it), or unchanged
        v = cur[VersionKey(model[0], model[1], new_default)]
        emit.version_event(
            EventType.DEFAULT_VERSION_CHANGED,
            v,
            [old_default],
            previous_default_version=old_default,
        )
