"""Which services exist and how each registers its servicers (the only list of them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc

from harbour.runtime.supervisor import Loop

if TYPE_CHECKING:
    from harbour.application.runner import CommandRunner
    from harbour.runtime.server import Runtime

# A service's background work: named loops, each run (and restarted) by a Supervisor.
Background = Loop


@dataclass(frozen=True)
class Registered:
    names: tuple[str, ...]  # the full gRPC service names
    background: tuple[Background, ...] = field(default=())  # supervised while it serves


def register_service(service: str, server: grpc.aio.Server, runtime: Runtime) -> Registered:
    """Add ``service``'s servicers to ``server``; returns their names and background work."""
    return Registered(*_register(service, server, runtime))


def _register(
    service: str, server: grpc.aio.Server, runtime: Runtime
) -> tuple[tuple[str, ...], tuple[Background, ...]]:
    if service == "accounts":
        from harbour.accounts.handlers import AccountHandlers
        from harbour.accounts.service import register as register_accounts

        handlers = AccountHandlers(
            runtime.store,
            clock=runtime.clock,
            snapshot_every=runtime.settings.snapshot_every,
            cached=runtime.settings.state_cache,
        )
        return register_accounts(server, runtime.store, handlers), ()
    if service == "collateral":
        from harbour.collateral.handlers import CollateralHandlers, watch_price_feeds
        from harbour.collateral.service import register as register_collateral

        collateral = CollateralHandlers(_runner(runtime), clock=runtime.clock)
        names = register_collateral(server, runtime.store, collateral)
        watchdog = Loop("price-feed-watchdog", lambda beat: watch_price_feeds(collateral, beat))
        return names, (watchdog,)
    if service == "lending":
        from harbour.lending.handlers import LendingHandlers
        from harbour.lending.limits import run_limit_monitor
        from harbour.lending.monitor import run_background, run_interest_scheduler
        from harbour.lending.service import register as register_lending

        lending = LendingHandlers(_runner(runtime), clock=runtime.clock)
        names = register_lending(server, runtime.store, lending)
        pace = runtime.settings.follow_pace
        return names, (
            Loop("risk-monitor", lambda beat: run_background(lending, pace=pace, heartbeat=beat)),
            Loop(
                "limit-monitor",
                lambda beat: run_limit_monitor(
                    lending.runner, clock=runtime.clock, pace=pace, heartbeat=beat
                ),
            ),
            Loop(
                "interest-scheduler", lambda beat: run_interest_scheduler(lending, heartbeat=beat)
            ),
        )
    if service == "liquidation":
        return _liquidation(server, runtime)
    if service == "audit":
        from harbour.audit.service import register

        audit: tuple[str, ...] = register(
            server,
            runtime.store,
            clock=runtime.clock,
            signing_key_path=runtime.settings.audit_signing_key,
        )
        if not runtime.settings.checkpoint_every_s:
            return audit, ()
        return audit, (_checkpoint_publisher(runtime),)
    if service == "feed":
        from harbour.feed.service import register as register_feed

        return register_feed(server, runtime.store), ()
    raise ValueError(f"unknown service {service!r}")


def _liquidation(
    server: grpc.aio.Server, runtime: Runtime
) -> tuple[tuple[str, ...], tuple[Background, ...]]:
    from harbour.liquidation.engine import LiquidationEngine
    from harbour.liquidation.handlers import LiquidationHandlers
    from harbour.liquidation.service import register
    from harbour.liquidation.venues import cached_marks, default_venues

    runner = _runner(runtime)
    handlers = LiquidationHandlers(runner, clock=runtime.clock)

    venues = default_venues(runtime.store.engine, cached_marks(handlers.mark), runtime.clock)
    engine = LiquidationEngine(handlers, venues)
    names = register(server, runtime.store, handlers)
    pace = runtime.settings.follow_pace
    loop = Loop("liquidation-engine", lambda beat: engine.run_forever(pace=pace, heartbeat=beat))
    return names, (loop,)


def _checkpoint_publisher(runtime: Runtime) -> Background:
    """The audit service's signed checkpoint every HARBOUR_CHECKPOINT_EVERY_S seconds."""
    from harbour.audit.keys import load_private_key
    from harbour.audit.publisher import publish_checkpoints
    from harbour.runtime.settings import SettingsError

    settings = runtime.settings
    if settings.audit_signing_key is None:
        raise SettingsError(
            "HARBOUR_CHECKPOINT_EVERY_S needs HARBOUR_AUDIT_SIGNING_KEY to sign the checkpoints"
        )
    key = load_private_key(settings.audit_signing_key)
    folder, every = settings.checkpoints_folder, settings.checkpoint_every_s
    return Loop(
        "checkpoint-publisher",
        lambda beat: publish_checkpoints(
            runtime.store, key, folder, every_s=every, clock=runtime.clock, heartbeat=beat
        ),
    )


def _runner(runtime: Runtime) -> CommandRunner:
    from harbour.application.runner import CommandRunner

    settings = runtime.settings
    return CommandRunner(
        runtime.store, snapshot_every=settings.snapshot_every, cached=settings.state_cache
    )
