"""`harbour demo` runs in the suite: every service on loopback, one real PostgreSQL, the story
told over gRPC exactly as against `make up`; and it is the README's first example."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from harbour.runtime.demo import BORROWERS, Targets, run_demo, summary
from harbour.runtime.demo_cli import told_the_whole_story, write_reports
from harbour.runtime.server import Runtime, start_server, system_clock

ROOT = Path(__file__).resolve().parents[2]


async def test_the_demo_shows_warnings_a_call_a_cure_a_sale_and_a_deficit(
    runtime: Runtime, tmp_path: Path
) -> None:
    names = ("accounts", "collateral", "lending", "liquidation", "audit")
    servers = {name: await start_server(name, runtime, port=0, host="127.0.0.1") for name in names}
    said: list[str] = []
    try:
        targets = Targets(**{name: f"127.0.0.1:{s.port}" for name, s in servers.items()})
        outcome = await run_demo(targets, said.append, settle_seconds=60)
    finally:
        for server in servers.values():
            await server.stop(0)

    print("\n".join(said))
    assert outcome.states_after_crash == {
        "warned": "warning",
        "cured": "margin_call",
        "sold": "liquidating",
        "deficit": "margin_call",
    }
    assert outcome.liquidations["sold"] == "completed/target_reached"
    assert outcome.liquidations["deficit"] == "deficit/shortfall"
    assert Decimal(outcome.shortfall) > 0
    assert outcome.final_states == {
        "warned": "healthy",
        "cured": "healthy",
        "sold": "healthy",
        "deficit": "written_off",
    }
    assert outcome.chains_intact and outcome.events_verified > 0
    assert outcome.decisions_rederived > 0 and outcome.discrepancies == 0
    assert told_the_whole_story(outcome)
    table = summary(outcome)
    assert len(table) == 1 + len(BORROWERS)
    assert any("deficit (shortfall)" in line for line in said), said

    written = await write_reports(runtime.store, outcome, tmp_path, system_clock())
    assert sorted(p.name for p in written) == sorted(
        [f"{c}.html" for c in outcome.clients.values()] + ["book.html"]
    )
    deficit_page = (tmp_path / f"{outcome.clients['deficit']}.html").read_text()
    assert f"{Decimal(outcome.shortfall):,}" in deficit_page and "<svg" in deficit_page


def test_the_demo_is_the_readmes_first_example() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert first_block is not None
    commands = [line.strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert any(c.startswith("make up") for c in commands), commands
    assert any("harbour demo" in c for c in commands), commands
