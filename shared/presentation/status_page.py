"""The status page: one self-contained HTML document (inline CSS and SVG; no CDN, no web fonts, no script).

Made to be read from across a room: counts first, then what is coming on a timeline, then every deployment
grouped worst first, then the watcher's health per region.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

from shared.domain.policy import Status
from shared.domain.status import StatusReport, recent_changes

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
# Colours and column widths are classes, not style attributes: the page is served with a Content-Security-Policy
# that allows this one stylesheet (by its hash) and nothing else, no inline style attribute, no script.
_STATUS_CLASS = {s: f"s-{s.value}" for s in Status}
_COLUMNS = (14, 10, 13, 19, 8, 5, 21, 10)
_STYLE = (
    """
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
border-bottom:1px solid #e1dfdd;padding:6px 8px} td{overflow-wrap:anywhere;padding:7px 8px;border-bottom:1px solid #f3f2f1;vertical-align:top}
.pill{display:inline-block;padding:1px 10px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;background:var(--c)}
.days{font-weight:700} .nowrap{white-space:nowrap} .group table{table-layout:fixed} .muted{color:#8a8886} .what{color:#3b3a39;max-width:520px} code{font-size:12px}
.group h3{margin:16px 0 4px;font-size:15px;color:var(--c)} .empty{color:#8a8886;font-style:italic}
tr.last td{background:#f0f6ff}
a.button,button{display:inline-block;padding:4px 12px;border-radius:4px;border:1px solid #c4314b;background:#fff;
color:#c4314b;font-weight:600;text-decoration:none;font-size:13px;cursor:pointer} button.confirm{background:#c4314b;color:#fff}
.card{max-width:760px} .card dl{display:grid;grid-template-columns:12em 1fr;gap:6px 12px} .card dt{color:#605e5c}
.warn{border-left:6px solid #d96c00;padding:8px 12px;background:#fff4e5} .bad{border-left:6px solid #c4314b;padding:8px 12px;background:#fde7e9}
input[type=text]{font:inherit;padding:3px 6px;width:22em}
"""
    + "".join(f".s-{s.value}{{--c:{color}}}" for s, _, color in _GROUPS)
    + "".join(f".w{i}{{width:{w}%}}" for i, w in enumerate(_COLUMNS))
)
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# what the status page, the rollback confirmation and its result may load: their own stylesheet, and nothing else
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _date(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _timeline(report: StatusReport, width: int = 1100, height: int = 120) -> str:
    """Twelve months ahead: retirements (red diamonds) and default changes (blue dots), labelled."""
    start = report.at
    end = start + timedelta(days=365)
    left, right, axis = 40, width - 20, 84

    def x(when: datetime) -> float:
        return left + (right - left) * (when - start).total_seconds() / (end - start).total_seconds()

    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="coming changes">',
             f'<line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" stroke="#8a8886" stroke-width="2"/>']  # fmt: skip
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
    lanes: list[float] = []
    for u in report.upcoming[:40]:
        px = x(u.when)
        lane = next((i for i, last in enumerate(lanes) if px - last > 150), len(lanes))
        if lane == len(lanes):
            lanes.append(px)
        lanes[lane] = px
        y = axis - 18 - (lane % 3) * 22
        color = "#c4314b" if u.kind == "retirement" else "#0f6cbd"
        mark = (f'<rect x="{px - 6:.1f}" y="{axis - 6}" width="12" height="12" fill="{color}" transform="rotate(45 {px:.1f} {axis})"/>'
                if u.kind == "retirement" else f'<circle cx="{px:.1f}" cy="{axis}" r="7" fill="{color}"/>')  # fmt: skip
        label = escape(f"{u.model} · {u.location} · {u.deployments} dep. · {u.when:%d %b}")
        anchor, dx = ("end", -4) if px > left + (right - left) * 0.7 else ("start", 4)
        parts += [f'<line x1="{px:.1f}" y1="{axis}" x2="{px:.1f}" y2="{y + 4}" stroke="{color}" stroke-dasharray="2 2"/>', mark,
                  f'<text x="{px + dx:.1f}" y="{y}" font-size="12" fill="{color}" text-anchor="{anchor}">{label}</text>']  # fmt: skip
    if not report.upcoming:
        parts.append(
            f'<text x="{left}" y="{axis - 30}" font-size="14" fill="#8a8886">Nothing dated in the next 12 months.</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_status_page(report: StatusReport, *, rollback_links: bool = False) -> str:
    """The page. ``rollback_links``: the viewer is an operator, so each deployment with a way back gets a button
    (a link to the confirmation step; nothing is written by following it)."""
    rows: list[str] = []
    columns = "".join(f"<col class='w{i}'>" for i in range(len(_COLUMNS)))
    for status, label, _ in _GROUPS:
        group = [a for a in report.assessments if a.status is status]
        if not group:
            continue
        rows.append(f'<div class="group {_STATUS_CLASS[status]}"><h3>{escape(label)} ({len(group)})</h3><table>'
                    f"<colgroup>{columns}</colgroup>"
                    "<tr><th>Deployment</th><th>Account · region</th><th>Model</th><th>Policy</th><th>Retires</th>"
                    "<th>Days left</th><th>What happens</th><th>Rollback</th></tr>")  # fmt: skip
        for a in group:
            d = a.deployment
            back = report.rollbacks.get(d.key)
            back_model = (
                back.from_model if back and back.from_model and back.from_model != d.model_name else None
            )
            rollback = (f"to {escape(back_model + ' ' if back_model else '')}{escape(back.from_version)}"
                        f"{' (side by side)' if back_model and not d.is_provisioned else ''} until "
                        f"{_date(back.available_until) or 'its retirement'}"
                        if back else '<span class="muted">-</span>')  # fmt: skip
            if back and rollback_links:
                link = f"rollback?deploymentId={quote(d.resource_id, safe='')}"
                rollback += f' <a class="button" href="{escape(link)}">Roll back…</a>'

            policy = escape(d.policy) + (
                ' <span class="muted">(provisioned)</span>' if d.is_provisioned else ""
            )
            days = "" if a.days_left is None else str(a.days_left)
            rows.append(
                f'<tr><td><span class="pill">{escape(label)}</span> <b>{escape(d.name)}</b></td>'
                f"<td>{escape(d.account_id.rsplit('/', 1)[-1])} · {escape(d.location)}</td>"
                f"<td>{escape(d.model_name)} {escape(d.model_version)} <span class='muted'>{escape(d.sku_name)}</span></td>"
                f"<td>{policy}</td><td class='nowrap'>{_date(a.retirement_date)}</td><td class='days'>{days}</td>"
                f"<td class='what'>{escape(a.summary)}</td><td>{rollback}</td></tr>"
            )
        rows.append("</table></div>")
    tiles = "".join(
        f'<div class="tile {_STATUS_CLASS[status]}"><div class="n">{report.count(status)}</div><div class="l">{escape(label)}</div></div>'
        for status, label, _ in _GROUPS[:5]
    )
    regions = "".join(
        f"<tr><td><b>{escape(c.location)}</b></td><td>{c.last_cycle_at:%Y-%m-%d %H:%M} UTC</td><td>{c.cycles}</td>"
        f"<td>{escape(c.anomaly or '') or '<span class=muted>none</span>'}</td>"
        f"<td>{escape(c.last_error or '') or '<span class=muted>none</span>'}</td></tr>"
        if c.last_cycle_at
        else f"<tr><td><b>{escape(c.location)}</b></td><td class='muted' colspan='4'>never read</td></tr>"
        for c in report.cursors
    )
    deployments = "".join(rows) or '<p class="empty">No deployments in the inventory yet.</p>'
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
        f"<td><b>{escape(c.kind)}</b></td><td>{escape(c.subject)}</td><td class='what'>{escape(c.what)}</td>"
        f"<td>{escape(', '.join(c.where))}</td></tr>"
        for c in changes
    )
    more_row = f"<p class='muted'>and {more} more; the JSON view has them all.</p>" if more else ""
    recent = (
        f"<table><tr><th>When (UTC)</th><th>Event</th><th>Model or deployment</th><th>What</th><th>Where</th></tr>"
        f"{change_rows}</table>{more_row}"
        if changes
        else f'<p class="empty">No events published in the last {report.recent_days} days.</p>'
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelwatch status</title><style>{_STYLE}</style></head><body>
<header><h1>Azure OpenAI model lifecycle</h1>
<div class="meta">as of {report.at:%Y-%m-%d %H:%M} UTC · POLICY_MODE={escape(report.mode)} · {len(report.assessments)} deployments</div></header>
<main>
<div class="tiles">{tiles}</div>
<section><h2>Coming up: the next 12 months</h2>{_timeline(report)}</section>
<section><h2>Deployments</h2>{deployments}</section>
<section><h2>Recent events: the last {report.recent_days} days</h2><p>{cycle}</p>{recent}</section>
<section><h2>Catalog watcher</h2><table><tr><th>Region</th><th>Last cycle</th><th>Cycles</th><th>Anomaly</th><th>Last error</th></tr>{regions}</table></section>
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
