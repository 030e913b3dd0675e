"""Render Adaptive Cards with the real renderer (npm ``adaptivecards``) in headless Chromium; report and screenshot.

Usage:
    python scripts/render_cards.py                 # every sample message kind -> docs/cards/*.png
    python scripts/render_cards.py CARDS_DIR --out OUT_DIR

Each card is parsed with a SerializationContext (parse events), validated (``validateProperties``) and rendered
into a Teams-like width; the page writes its findings into the DOM, which ``chromium --dump-dom`` reads back.
Exit 0 when every card rendered without errors, 1 otherwise, 2 when chromium or node_modules is missing.
Needs: ``apt-get install -y chromium`` and ``npm ci`` (both done by .ci/run / the Makefile).
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RENDERER = ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.min.js"
STYLES = ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.css"
WIDTH = 600  # a Teams channel message is about this wide

# Teams' light theme, close enough to judge how a card reads (font stack, spacing, container styles)
HOST_CONFIG: dict[str, Any] = {
    "fontFamily": "'Segoe UI', system-ui, -apple-system, 'Helvetica Neue', Arial, sans-serif",
    "spacing": {"small": 4, "default": 8, "medium": 16, "large": 20, "extraLarge": 24, "padding": 16},
    "containerStyles": {
        "default": {
            "backgroundColor": "#FFFFFF",
            "foregroundColors": {"default": {"default": "#242424", "subtle": "#616161"}},
        },
        "emphasis": {"backgroundColor": "#F5F5F5"},
        "accent": {
            "backgroundColor": "#E8EBFA",
            "foregroundColors": {"default": {"default": "#242424", "subtle": "#424242"}},
        },
        "attention": {
            "backgroundColor": "#FDE7E9",
            "foregroundColors": {"default": {"default": "#242424", "subtle": "#424242"}},
        },
        "warning": {
            "backgroundColor": "#FFF4CE",
            "foregroundColors": {"default": {"default": "#242424", "subtle": "#424242"}},
        },
        "good": {"backgroundColor": "#DFF6DD"},
    },
    "factSet": {
        "title": {"weight": "Bolder", "wrap": True, "maxWidth": 150},
        "value": {"wrap": True},
        "spacing": 12,
    },
    "actions": {
        "maxActions": 5,
        "buttonSpacing": 8,
        "actionsOrientation": "horizontal",
        "actionAlignment": "left",
    },
}

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #f0f0f0; font-family: 'Segoe UI', system-ui, sans-serif; }}
.card {{ width: {width}px; margin: 12px; background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.2);
        overflow: hidden; }}
{styles}
</style><script>{renderer}</script></head><body>
<div id="cards"></div><pre id="results"></pre>
<script>
const cards = {cards};
const only = {only};
const results = {{}};
for (const [name, json] of Object.entries(cards)) {{
  if (only && name !== only) continue;
  const r = {{errors: [], warnings: [], rendered: false, height: 0}};
  try {{
    const card = new AdaptiveCards.AdaptiveCard();
    card.hostConfig = new AdaptiveCards.HostConfig({host});
    const context = new AdaptiveCards.SerializationContext();
    card.parse(json, context);
    for (let i = 0; i < context.eventCount; i++) {{
      const e = context.getEventAt(i);
      (e.event === 0 ? r.warnings : r.errors).push("parse: " + AdaptiveCards.ValidationEvent[e.event] + ": " + e.message);
    }}
    const validation = card.validateProperties();
    for (const e of validation.validationEvents) {{
      (e.event === 0 ? r.warnings : r.errors).push("validate: " + AdaptiveCards.ValidationEvent[e.event] + ": " + e.message);
    }}
    const element = card.render();
    if (element) {{
      const box = document.createElement("div");
      box.className = "card";
      box.appendChild(element);
      document.getElementById("cards").appendChild(box);
      r.rendered = true;
      r.height = box.offsetHeight;
    }} else {{
      r.errors.push("render: the renderer returned nothing");
    }}
  }} catch (err) {{
    r.errors.push("exception: " + err);
  }}
  results[name] = r;
}}
document.getElementById("results").textContent = JSON.stringify(results);
if (only) document.getElementById("results").style.display = "none";
</script></body></html>"""


@dataclass
class CardResult:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rendered: bool = False
    height: int = 0
    screenshot: str | None = None

    @property
    def ok(self) -> bool:
        return self.rendered and not self.errors


class MissingTool(RuntimeError):
    pass


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise MissingTool("chromium is not installed: apt-get install -y chromium")


def unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    """The card inside a Teams Workflows message, or the card itself."""
    if payload.get("type") == "message":
        content = payload["attachments"][0]["content"]
        assert isinstance(content, dict)
        return content
    return payload


def _run(browser: str, profile: Path, args: list[str]) -> str:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return done.stdout


def render_cards(
    cards: dict[str, dict[str, Any]],
    out_dir: Path | None = None,
    width: int = WIDTH,
    *,
    browser: str | None = None,
) -> dict[str, CardResult]:
    """Parse, validate and render each card in Chromium (``browser``, default: the one installed); with
    ``out_dir``, a PNG per card and results.json."""
    if not RENDERER.is_file():
        raise MissingTool(f"{RENDERER.relative_to(ROOT)} is missing: run npm ci")
    browser = browser or chromium()
    renderer = RENDERER.read_text(encoding="utf-8").replace("</script>", "<\\/script>")
    styles = STYLES.read_text(encoding="utf-8") if STYLES.is_file() else ""
    bodies = {name: unwrap(card) for name, card in cards.items()}
    with tempfile.TemporaryDirectory(prefix="cards-") as tmp:
        work = Path(tmp)

        def page(only: str | None) -> Path:
            path = work / (f"card-{abs(hash(only))}.html" if only else "all.html")
            path.write_text(
                PAGE.format(
                    width=width,
                    renderer=renderer,
                    styles=styles,
                    cards=json.dumps(bodies),
                    only=json.dumps(only),
                    host=json.dumps(HOST_CONFIG),
                ),
                encoding="utf-8",
            )
            return path

        dom = _run(browser, work / "profile", ["--dump-dom", page(None).as_uri()])
        start, end = dom.find('<pre id="results">'), dom.find("</pre>")
        if start < 0 or end < 0:
            raise RuntimeError("chromium produced no results: " + dom[:300])
        raw = json.loads(html.unescape(dom[start + len('<pre id="results">') : end]) or "{}")
        results = {
            name: CardResult(**raw.get(name, {"errors": ["not rendered: the page did not reach it"]}))
            for name in cards
        }
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name, result in results.items():
                if not result.rendered:
                    continue
                target = out_dir / f"{name}.png"
                height = max(200, result.height + 24)
                _run(
                    browser,
                    work / "profile",
                    [f"--screenshot={target}", f"--window-size={width + 24},{height}", page(name).as_uri()],
                )
                result.screenshot = str(target) if target.is_file() else None
            summary = {
                name: {**vars(r), "screenshot": Path(r.screenshot).name if r.screenshot else None}
                for name, r in results.items()
            }
            (out_dir / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return results


def sample_cards() -> dict[str, dict[str, Any]]:
    """The Teams card of every sample message kind (what `alerts preview` prints)."""
    sys.path.insert(0, str(ROOT))
    from shared.presentation.alert_samples import sample_messages
    from shared.presentation.teams import teams_payload

    cards: dict[str, dict[str, Any]] = {}
    for name, messages in sample_messages().items():
        for i, message in enumerate(messages):
            cards[name if i == 0 else f"{name}-{i}"] = dict(teams_payload(message))
    return cards


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "cards", nargs="?", help="a folder of card JSON files (default: every sample message kind)"
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "cards"), help="where PNGs and results.json go")
    parser.add_argument("--width", type=int, default=WIDTH)
    args = parser.parse_args(argv)
    if args.cards:
        cards = {
            p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(args.cards).glob("*.json"))
        }
    else:
        cards = sample_cards()
    try:
        results = render_cards(cards, Path(args.out), args.width)
    except MissingTool as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, r in results.items():
        state = "ok" if r.ok else "FAILED"
        print(f"{state:6} {name}: {len(r.errors)} error(s), {len(r.warnings)} warning(s), {r.height}px")
        for e in r.errors:
            print(f"       ! {e}")
    return 0 if all(r.ok for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
