"""Section 6: a canary run (#25). A 20-case suite on two versions (the current deployment and a side-by-side one)
against the data-plane stand-in answering each chat completion after 50 ms, through the real openai client and the
composition root's wiring: wall time, requests, and the most calls in flight against the CANARY_CONCURRENCY bound."""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime

from shared import bootstrap
from shared.adapters.suite_files import parse_suite_text
from shared.config import load_settings
from shared.services.canary import CanaryRequest
from tests.fakes.arm_server import FakeArm
from tests.fakes.dataplane_server import FakeDataPlane

SUB = "00000000-0000-0000-0000-0000000000be"
LATENCY = 0.05


def suite_text(cases: int) -> str:
    lines = ["description: benchmark", "defaults: {temperature: 0, max_tokens: 50}", "tests:"]
    for i in range(cases):
        lines += [
            f"  - id: case-{i:02}",
            f'    messages: [{{role: user, content: "Invoice {i}: give {{\\"total\\": number}}"}}]',
            "    assert: [{type: is-json}, {type: contains, value: total}]",
        ]
    return "\n".join(lines) + "\n"


def _run(cases: int, concurrency: int) -> tuple[float, int, int, str]:
    with FakeArm() as arm, FakeDataPlane() as plane:
        account = arm.add_account(SUB, "rg", "bench", "eastus", endpoint=plane.endpoint)
        source = arm.add_deployment(account, "chat", "gpt-4o", "2024-08-06")
        arm.add_deployment(account, "chat-next", "gpt-4o", "2024-11-20")
        plane.link(arm)
        plane.latency = LATENCY
        plane.answer("gpt-4o", "2024-08-06", '{"total": 1}')
        plane.answer("gpt-4o", "2024-11-20", '```json\n{"total": 1}\n```')
        settings = load_settings(
            {
                "ARM_ENDPOINT": arm.endpoint,
                "ARM_BEARER_TOKEN": "bench",
                "DATA_PLANE_BEARER_TOKEN": "bench",
                "WATCH_ACCOUNTS": account,
                "CANARY_CONCURRENCY": str(concurrency),
            }
        )
        service = bootstrap.build_canary_service(settings)
        suite = parse_suite_text(suite_text(cases), name="bench.yaml", source="bench.yaml")
        request = CanaryRequest(source, suite, "gpt-4o", "2024-11-20")
        started = time.perf_counter()
        result = service.run(request, datetime.now(UTC))
        wall = time.perf_counter() - started
        summary = f"{result.verdict.value}, {result.current.passed}/{cases} -> {result.target.passed}/{cases}"
        return wall, len(plane.calls), plane.max_in_flight, summary


def canary_section(quick: bool) -> str:
    cases = 10 if quick else 20
    _run(2, 1)  # warm: the openai import and the first connections are not the run's
    rows = []
    bounds: list[tuple[int, int]] = []
    for concurrency in (1, 4, 8):
        wall, requests, most, summary = _run(cases, concurrency)
        bounds.append((concurrency, most))
        rows.append(
            f"| {concurrency}{' (default)' if concurrency == 4 else ''} | {wall:.2f} s | {requests} | {most} | {summary} |"
        )
    floor = 2 * cases * LATENCY
    within = all(most <= bound for bound, most in bounds)
    text = (
        f"Each case runs once on each version: {2 * cases} chat completions, {floor:.1f} s of answers one after "
        "another. The run keeps at most `CANARY_CONCURRENCY` calls in flight; the stand-in counts them, and the "
        f"most in flight {'stayed within' if within else 'EXCEEDED'} the bound in every row. The wall time is "
        "about that floor divided by the bound, plus the ARM reads before (the source, the account, its "
        "deployments) and the client's own work. The newer version fences its JSON (`is-json` fails), so every "
        "case is a regression, as in the demo's story. Side by side: no canary deployment is created, no ARM "
        f"write. Measured alone (`--only canary`) on {datetime.now(UTC):%Y-%m-%d}, the stand-ins in this process."
    )
    return (
        f"## 6. Canary: a {cases}-case suite on two versions, data-plane stand-in answering after 50 ms\n\n"
        "| `CANARY_CONCURRENCY` | wall time | chat requests | most in flight | verdict |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n" + textwrap.fill(text, 116) + "\n"
    )
