"""The status page: one self-contained HTML document (inline CSS and SVG; no CDN, no web fonts, no script).

Made to be read from across a room: the watcher's health first (a banner when it needs a person), then counts,
what is coming on a timeline, every deployment grouped worst first, and the watcher per region.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

from shared.domain.deployments import Deployment
from shared.domain.policy import Assessment, Status
from shared.domain.status import (
    RegionProblem,
    StatusReport,
    WatcherHealth,
    dated_changes,
    pin_line,
    recent_changes,
)

_GROUPS = (
    (Status.BROKEN, "Broken", "#c4314b"),
    (Status.AT_RISK, "At risk", "#d96c00"),
    (Status.UPGRADE_PLANNED, "Upgrade planned", "#6264a7"),
    (Status.UPGRADE_EXPECTED, "Azure will upgrade", "#0f6cbd"),
    (Status.HEALTHY, "Healthy", "#107c10"),
    # shown apart: the catalog cannot speak for these (a fine-tuned model without its own dates; Meta, Mistral)
    (Status.NOT_TRACKED, "Not tracked", "#8a8886"),
    (Status.NOT_WATCHED, "Not watched (other formats)", "#8a8886"),
    (Status.IGNORED, "Ignored", "#8a8886"),
)
# Colours are classes, not style attributes: the page is served with a Content-Security-Policy
# that allows this one stylesheet (by its hash) and nothing else, no inline style attribute, no script.
_STATUS_CLASS = {s: f"s-{s.value}" for s in Status}
_STYLE = """
*{box-sizing:border-box} body{margin:0;background:#f3f2f1;color:#201f1e;
font:15px/1.45 'Segoe UI',system-ui,-apple-system,'Helvetica Neue',Arial,sans-serif}
header{background:#201f1e;color:#fff;padding:18px 32px;display:flex;justify-content:space-between;align-items:baseline}
header h1{margin:0;font-size:26px;font-weight:600} header .meta{color:#c8c6c4}
main{padding:24px 32px} section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);
padding:18px 22px;margin-bottom:22px} h2{margin:0 0 12px;font-size:18px}
.tiles{display:grid;grid-template-columns:repeat(5,1fr);gap:16px;margin-bottom:22px}
.tile{background:#fff;border-radius:8px;padding:16px 20px;border-top:6px solid var(--c);box-shadow:0 1px 3px rgba(0,0,0,.12)}
.tile .n{font-size:44px;font-weight:700;color:var(--c);line-height:1.1} .tile .l{color:#605e5c;font-size:14px}
table{width:100%;border-collapse:collapse} th{text-align:left;color:#605e5c;font-weight:600;font-size:13px;
border-bottom:1px solid #e1dfdd;padding:6px 8px} td{overflow-wrap:normal;word-break:normal;padding:7px 8px;border-bottom:1px solid #f3f2f1;vertical-align:top}
.id{white-space:nowrap} .ft{font-size:12px} .scroll{overflow-x:auto} th.head{border:0;padding:0} .todo{margin-top:4px;color:#a4262c;font-weight:600} .tested{margin-top:4px;font-size:12px} .tested.regression,.tested.error{color:#8a3800;font-weight:600}
.pill{display:inline-block;padding:1px 10px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;background:var(--c)}
.days{font-weight:700} .nowrap{white-space:nowrap} .muted{color:#8a8886} .what{color:#3b3a39;min-width:16em;max-width:520px} code{font-size:12px}
.group h3{margin:16px 0 4px;font-size:15px;color:var(--c)} .group:first-child h3{margin-top:0} .empty{color:#8a8886;font-style:italic}
tr.last td{background:#f0f6ff}
a.button,button{display:inline-block;padding:4px 12px;border-radius:4px;border:1px solid #c4314b;background:#fff;
color:#c4314b;font-weight:600;text-decoration:none;font-size:13px;cursor:pointer} button.confirm{background:#c4314b;color:#fff}
.card{max-width:760px} .card dl{display:grid;grid-template-columns:12em 1fr;gap:6px 12px} .card dt{color:#605e5c}
.warn{border-left:6px solid #d96c00;padding:8px 12px;background:#fff4e5} .bad{border-left:6px solid #c4314b;padding:8px 12px;background:#fde7e9}
.health{padding:12px 22px} .health.ok{border-left:6px solid #107c10} .health h2{margin-bottom:6px}
.health ul{margin:0;padding-left:20px} .health li{margin:6px 0}
input[type=text]{font:inherit;padding:3px 6px;width:22em}
""" + "".join(f".s-{s.value}{{--c:{color}}}" for s, _, color in _GROUPS)
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# what the status page, the rollback confirmation and its result may load: their own stylesheet, and nothing else
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _instant(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _span(delta: timedelta) -> str:
    """A duration to the coarsest useful unit: "45 min", "3 h 20 min", "4 days"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{minutes // 1440} days"


def _id(text: str) -> str:
    """An identifier (a name, a version, a region, a policy), never broken inside: a table too narrow for its
    identifiers scrolls sideways. A fine-tuned model's long id may break before its ".ft-" suffix, nowhere else."""
    head, dot, tail = text.partition(".ft-")
    if not dot:
        return f'<span class="id">{escape(text)}</span>'
    return f'<span class="id">{escape(head)}</span><wbr><span class="id ft">{escape(dot + tail)}</span>'


def _policy(policy: str) -> str:
    """An update policy may break before "Version" (OnceNewDefault|VersionAvailable), a word boundary."""
    head, word, tail = policy.partition("Version")
    return _id(policy) if not head or not word else f"{_id(head)}<wbr>{_id(word + tail)}"


def _ids(text: str) -> str:
    """Words of identifiers ("gpt-4o 2024-08-06", "contoso · eastus"): breaks only between them, never before a
    separator."""
    words: list[str] = []
    for word in text.split(" "):
        if word == "·" and words:
            words[-1] += " ·"
        else:
            words.append(word)
    return " ".join(_id(word) for word in words)


def _prose(text: str) -> str:
    """Sentences that name versions and dates ("migrate to gpt-5.1 2025-11-13"): browsers break after a hyphen, so
    each hyphenated word is kept whole."""
    return " ".join(_id(word) if "-" in word else escape(word) for word in text.split(" "))


def _days(days: int | None) -> str:
    if days is None:
        return ""
    if days < 0:
        return f'retired <span class="id">{-days} day{"" if days == -1 else "s"} ago</span>'
    return "today" if days == 0 else str(days)


def _todo(a: Assessment) -> str:
    """What a person does about a broken deployment: calls to it fail now."""
    if a.reason == "fine-tuned-retired":
        return "Retrain on a current base model and deploy it now; calls fail."
    if a.reason == "batch-retired":  # Batch: side by side (Learn FAQ)
        new = a.target_label or "a supported model"
        return f"Deploy {new} beside it, resubmit the jobs there, then delete this deployment; jobs fail."
    target = a.target_label
    if target is None:
        return "Create or move to a deployment of a supported version now; calls fail."
    if (a.target_model or a.deployment.model_name) == a.deployment.model_name:
        return (
            f"Move to {target} now (set this deployment's version, or create a deployment of it); calls fail."
        )
    # ARM cannot change a deployment's model: another model is a new deployment
    return f"Move to {target} now: create a deployment of it and send the traffic there; calls fail."


def _regions(locations: tuple[str, ...], shown: int = 3) -> str:
    more = len(locations) - shown
    return ", ".join(locations[:shown]) + (f" +{more} more" if more > 0 else "")


def _timeline(report: StatusReport, width: int = 1100) -> str:
    """Twelve months ahead: retirements (red diamonds) and default changes (blue dots), one label per version and
    day with its regions, in as many rows as the labels need not to overlap."""
    start = report.at
    end = start + timedelta(days=365)
    left, right = 40, width - 20

    def x(when: datetime) -> float:
        return left + (right - left) * (when - start).total_seconds() / (end - start).total_seconds()

    marks: list[tuple[float, int, str, str, str, str]] = []  # x, row, anchor, kind, label, full label
    rows: list[float] = []  # the right end of each row's last label
    for c in dated_changes(report.upcoming)[:40]:
        px = x(c.when)
        label = f"{c.model} · {_regions(c.locations)} · {c.deployments} dep. · {c.when:%d %b}"
        full = f"{c.model} {c.kind} on {c.when:%Y-%m-%d}: {', '.join(c.locations)}; {c.deployments} deployment(s)"
        wide = 6.6 * len(label) + 8  # 12px text, average glyph width
        # to the right of its mark, or to the left where it would run off the end
        anchor, first, last = ("start", px, px + wide) if px + wide <= width else ("end", px - wide, px)
        row = next((i for i, end_ in enumerate(rows) if first > end_ + 8), len(rows))
        if row == len(rows):
            rows.append(last)
        rows[row] = max(rows[row], last)
        marks.append((px, row, anchor, c.kind, label, full))
    axis = 50 + 22 * max(len(rows) - 1, 0)
    height = axis + 36
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="coming changes">',
        f'<line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" stroke="#8a8886" stroke-width="2"/>',
    ]
    month = datetime(start.year, start.month, 1, tzinfo=start.tzinfo)
    for _ in range(13):
        if start <= month <= end:
            parts.append(
                f'<line x1="{x(month):.1f}" y1="{axis - 4}" x2="{x(month):.1f}" y2="{axis + 4}" stroke="#8a8886"/>'
            )
            parts.append(
                f'<text x="{x(month):.1f}" y="{axis + 22}" font-size="12" fill="#605e5c" text-anchor="middle">{month:%b %Y}</text>'
            )
        month = datetime(month.year + (month.month // 12), month.month % 12 + 1, 1, tzinfo=start.tzinfo)
    for px, row, anchor, kind, label, full in marks:
        y = axis - 18 - row * 22
        color = "#c4314b" if kind == "retirement" else "#0f6cbd"
        mark = (
            f'<rect x="{px - 6:.1f}" y="{axis - 6}" width="12" height="12" fill="{color}" transform="rotate(45 {px:.1f} {axis})"/>'
            if kind == "retirement"
            else f'<circle cx="{px:.1f}" cy="{axis}" r="7" fill="{color}"/>'
        )
        dx = -4 if anchor == "end" else 4
        parts += [
            f'<line x1="{px:.1f}" y1="{axis}" x2="{px:.1f}" y2="{y + 4}" stroke="{color}" stroke-dasharray="2 2"/>',
            mark,
            f'<text x="{px + dx:.1f}" y="{y}" font-size="12" fill="{color}" text-anchor="{anchor}">'
            f"<title>{escape(full)}</title>{escape(label)}</text>",
        ]
    if not report.upcoming:
        parts.append(
            f'<text x="{left}" y="{axis - 30}" font-size="14" fill="#8a8886">Nothing dated in the next 12 months.</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _grouped(problems: tuple[RegionProblem, ...]) -> list[tuple[str, list[RegionProblem]]]:
    """Regions with the same problem together (one failing credential fails every region alike)."""
    groups: dict[str, list[RegionProblem]] = {}
    for p in problems:
        groups.setdefault(p.detail, []).append(p)
    return list(groups.items())


def _where(group: list[RegionProblem]) -> str:
    return escape(", ".join(p.location for p in group))


def _last_read(group: list[RegionProblem]) -> str:
    if len(group) > 1:
        return "last good reads per region below"
    last = group[0].last_cycle_at
    return f"last good read {_instant(last)}" if last else "never read well"


def _health(h: WatcherHealth) -> str:
    """The banner: what the Azure Monitor alerts would say about the watcher, and what to do for each."""
    window = _span(h.window)
    if h.is_healthy and h.last_cycle_at is not None:
        return (
            f'<section class="health ok"><b>Catalog watcher healthy</b>: last cycle {_instant(h.last_cycle_at)}; '
            f"every region read in the last {window}, no error, no anomaly held.</section>"
        )
    bad: list[str] = []
    warn: list[str] = []
    look = (
        "look at the app's failures in Application Insights (<i>Failures</i>, or <code>AppExceptions</code>)"
    )
    if h.last_cycle_at is None:
        bad.append(
            "<b>No catalog cycle has completed yet.</b> The first <code>catalog_timer</code> run "
            "(<code>CATALOG_POLL_SCHEDULE</code>) takes the baseline; until then no catalog change is seen. "
            f"Deployed more than {window} ago? Check that the function app is running, and {look}."
        )
    elif h.is_overdue:
        bad.append(
            f"<b>No catalog cycle has completed for {_span(h.at - h.last_cycle_at)}</b> (the last at "
            f"{_instant(h.last_cycle_at)}; overdue after {window}, twice <code>CATALOG_POLL_PERIOD_MINUTES</code>). "
            "The watcher is blind: catalog changes are not seen, and this page is not current. Check that the "
            f"function app is running and can reach its storage, and {look}; the missed-run alert fires too."
        )
    for error, group in _grouped(h.failing):
        bad.append(
            f"<b>Last cycle failed in {_where(group)}</b>: {escape(error)} ({_last_read(group)}). The snapshot is "
            "kept and the next cycle retries. If it repeats, fix the cause: a 401 or 403 names the role to grant, "
            "a timeout or 5xx is ARM's side, a budget message means <code>TIMER_BUDGET_SECONDS</code> ran out; "
            "<code>python -m shared settings</code> lists setting problems."
        )
    for a in h.anomalies:
        since = f" since {_instant(a.since)}" if a.since else ""
        command = (
            f"python -m shared check --dry-run --locations {a.location} --app-settings app-settings.json"
        )
        warn.append(
            f"<b>Catalog anomaly held in {escape(a.location)}</b>{since}: {escape(a.detail)}. It clears by itself "
            "at a cycle whose listing looks sane again; until then no retirement is announced there. If it lasts, "
            f"see what ARM lists now: <code>{_ids(command)}</code>."
        )
    for detail, group in _grouped(h.behind):
        if detail == "never read":
            warn.append(
                f"<b>Never read: {_where(group)}</b>. Deployments there are not tracked until the region is in "
                "<code>WATCH_LOCATIONS</code> (a region just added is read at the next cycle)."
            )
        else:
            warn.append(
                f"<b>Not read for more than {window}: {_where(group)}</b>, while other regions were. Taken out "
                "of <code>WATCH_LOCATIONS</code> while deployments remain there, or its cycle could not save its "
                f"state: {look}."
            )
    kind, title = ("bad", "Catalog watcher: act now") if bad else ("warn", "Catalog watcher: needs a look")
    items = "".join(f"<li>{item}</li>" for item in [*bad, *warn])
    return f'<section class="health {kind}"><h2>{title}</h2><ul>{items}</ul></section>'


def _rollback_cell(report: StatusReport, d: Deployment, rollback_links: bool) -> str:
    back = report.rollbacks.get(d.key)
    back_model = back.from_model if back and back.from_model and back.from_model != d.model_name else None
    rollback = (
        f"to {_id(back_model) + ' ' if back_model else ''}{_id(back.from_version)}"
        f"{' (side by side)' if back_model and not d.is_provisioned else ''} until "
        f"{_id(_date(back.available_until)) if back.available_until else 'its retirement'}"
        if back
        else '<span class="muted">-</span>'
    )
    if back and rollback_links:
        link = f"rollback?deploymentId={quote(d.resource_id, safe='')}"
        rollback += f' <a class="button" href="{escape(link)}">Roll back…</a>'
    return rollback


def _deployment_row(report: StatusReport, a: Assessment, label: str, rollback_links: bool) -> str:
    d = a.deployment
    rollback = _rollback_cell(report, d, rollback_links)
    policy = _policy(d.policy) + (' <span class="muted">(provisioned)</span>' if d.is_provisioned else "")
    todo = f'<div class="todo">{_prose(_todo(a))}</div>' if a.status is Status.BROKEN else ""
    tested = report.tested.get(d.key)
    if tested is not None:  # its latest canary (#25): the team's own suite on the coming version
        kind = tested.verdict or ""  # a class of the stylesheet: a verdict, or none
        todo += f'<div class="tested {kind}">{_prose(tested.line)}</div>'
    pin = report.pins.get(d.key)
    if pin is not None:  # Azure will not move it meanwhile: the row's summary reads its live NoAutoUpgrade
        todo += f'<div class="tested pinned">{_prose(pin_line(pin, report.mode))}</div>'
    return (
        f'<tr><td><span class="pill">{escape(label)}</span> <b>{_id(d.name)}</b></td>'
        f"<td>{_ids(d.account_id.rsplit('/', 1)[-1] + ' · ' + d.location)}</td>"
        f"<td>{_id(d.model_name)} {_id(d.model_version)} <span class='muted'>{_id(d.sku_name)}</span></td>"
        f"<td>{policy}</td><td class='nowrap'>{_date(a.retirement_date)}</td>"
        f"<td class='days'>{_days(a.days_left)}</td>"
        f"<td class='what'>{_prose(a.summary)}{todo}</td><td>{rollback}</td></tr>"
    )


def _deployments(report: StatusReport, rollback_links: bool) -> str:
    rows: list[str] = []
    # one table, a body per group: the columns line up from group to group, sized by what they hold
    for status, label, _ in _GROUPS:
        group = [a for a in report.assessments if a.status is status]
        if not group:
            continue
        rows.append(
            f'<tbody class="group {_STATUS_CLASS[status]}"><tr><th colspan="8" class="head">'
            f"<h3>{escape(label)} ({len(group)})</h3></th></tr>"
            "<tr><th>Deployment</th><th>Account · region</th><th>Model</th><th>Policy</th><th>Retires</th>"
            "<th>Days left</th><th>What happens</th><th>Rollback</th></tr>"
        )
        rows.extend(_deployment_row(report, a, label, rollback_links) for a in group)
        rows.append("</tbody>")
    return (
        f'<div class="scroll"><table class="deployments">{"".join(rows)}</table></div>'
        if rows
        else '<p class="empty">No deployments in the inventory yet.</p>'
    )


def _cursor_rows(report: StatusReport) -> str:
    held = {a.location: f"held: {a.detail}" for a in report.health.anomalies}
    return "".join(
        f"<tr><td><b>{escape(c.location)}</b></td><td>{c.last_cycle_at:%Y-%m-%d %H:%M} UTC</td><td>{c.cycles}</td>"
        f"<td>{escape(held.get(c.location, c.anomaly or '')) or '<span class=muted>none</span>'}</td>"
        f"<td>{escape(c.last_error or '') or '<span class=muted>none</span>'}</td></tr>"
        if c.last_cycle_at
        else f"<tr><td><b>{escape(c.location)}</b></td><td class='muted' colspan='4'>never read</td></tr>"
        for c in report.cursors
    )


def _recent(report: StatusReport) -> str:
    last = report.last_cycle_at
    found = len(report.last_cycle_events())
    cycle = (
        f"Last catalog cycle: <b>{last:%Y-%m-%d %H:%M} UTC</b>, {found} catalog event{'' if found == 1 else 's'}"
        f" ({len(report.cursors)} region{'' if len(report.cursors) == 1 else 's'} watched)"
        if last
        else "No catalog cycle has run yet."
    )
    changes, more = recent_changes(report.recent)
    change_rows = "".join(
        f"<tr{' class=last' if c.when == last else ''}><td class='nowrap'>{c.when:%Y-%m-%d %H:%M}</td>"
        f"<td><b>{escape(c.kind)}</b></td><td>{_ids(c.subject)}</td><td class='what'>{_prose(c.what)}</td>"
        f"<td>{_ids(', '.join(c.where))}</td></tr>"
        for c in changes
    )
    more_row = f"<p class='muted'>and {more} more; the JSON view has them all.</p>" if more else ""
    recent = (
        f'<div class="scroll"><table><tr><th>When (UTC)</th><th>Event</th><th>Model or deployment</th><th>What</th>'
        f"<th>Where</th></tr>{change_rows}</table></div>{more_row}"
        if changes
        else f'<p class="empty">No events published in the last {report.recent_days} days.</p>'
    )
    return f"<p>{cycle}</p>{recent}"


def render_status_page(report: StatusReport, *, rollback_links: bool = False) -> str:
    """The page. ``rollback_links``: the viewer is an operator, so each deployment with a way back gets a button
    (a link to the confirmation step; nothing is written by following it)."""
    tiles = "".join(
        f'<div class="tile {_STATUS_CLASS[status]}"><div class="n">{report.count(status)}</div><div class="l">{escape(label)}</div></div>'
        for status, label, _ in _GROUPS[:5]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelwatch status</title><style>{_STYLE}</style></head><body>
<header><h1>Azure OpenAI model lifecycle</h1>
<div class="meta">as of {report.at:%Y-%m-%d %H:%M} UTC · POLICY_MODE={escape(report.mode)} · {len(report.assessments)} deployments</div></header>
<main>
{_health(report.health)}
<div class="tiles">{tiles}</div>
<section><h2>Coming up: the next 12 months</h2>{_timeline(report)}</section>
<section><h2>Deployments</h2>{_deployments(report, rollback_links)}</section>
<section><h2>Recent events: the last {report.recent_days} days</h2>{_recent(report)}</section>
<section><h2>Catalog watcher</h2><div class="scroll"><table><tr><th>Region</th><th>Last cycle</th><th>Cycles</th><th>Anomaly</th><th>Last error</th></tr>{_cursor_rows(report)}</table></div></section>
</main></body></html>
"""


_FORCE_FIELD = '<input type="hidden" name="force" value="true">'


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_STYLE}</style></head><body>
<header><h1>{escape(title)}</h1><div class="meta">modelwatch</div></header>
<main><section class="card">{body}</section><p><a href="status">Back to the status page</a></p></main></body></html>
"""


def render_rollback_confirmation(
    *,
    deployment_id: str,
    facts: list[tuple[str, str]],
    what: str,
    token: str,
    as_new: str | None,
    needs_new_name: bool,
    suggested_name: str,
    force_reason: str | None,
) -> str:
    """The confirmation step of a rollback asked from the status page: what will happen, then one button."""
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    warn = (
        f'<p class="warn">{escape(force_reason)}. Confirming rolls it back anyway.</p>'
        if force_reason
        else ""
    )
    name_field = (
        '<p class="warn">Azure moved this deployment to another model, and ARM cannot change a deployment\'s '
        "model back. The way back is a new deployment beside it, on the previous model and version (same SKU, "
        "capacity and RAI policy); nothing is deleted.</p>"
        f'<p><label>New deployment name <input type="text" name="asNew" required '
        f'pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{{1,63}}" value="{escape(as_new or suggested_name)}"></label></p>'
        if needs_new_name
        else (f'<input type="hidden" name="asNew" value="{escape(as_new)}">' if as_new else "")
    )
    body = (
        f"<h2>Roll back?</h2><dl>{rows}</dl><p>{escape(what)}</p>{warn}"
        '<form method="post" action="rollback">'
        f'<input type="hidden" name="deploymentId" value="{escape(deployment_id)}">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f"{_FORCE_FIELD if force_reason else ''}"
        f"{name_field}"
        '<p><button class="confirm" type="submit">Confirm rollback</button></p></form>'
    )
    return _page("Roll back a deployment", body)


def render_rollback_outcome(title: str, message: str, *, ok: bool) -> str:
    """What a rollback asked from the status page did (or why it was refused)."""
    css = "" if ok else ' class="bad"'
    return _page(title, f"<h2>{escape(title)}</h2><p{css}>{escape(message)}</p>")
