"""Which services exist and how each registers its servicers (the only list of them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

if TYPE_CHECKING:
    from harbour.runtime.server import Runtime


def register_service(service: str, server: grpc.aio.Server, runtime: Runtime) -> tuple[str, ...]:
    """Add ``service``'s servicers to ``server``; returns the full gRPC service names."""
    if service == "accounts":
        from harbour.accounts.handlers import AccountHandlers
        from harbour.accounts.service import register as register_accounts

        handlers = AccountHandlers(
            runtime.store, clock=runtime.clock, snapshot_every=runtime.settings.snapshot_every
        )
        return register_accounts(server, runtime.store, handlers)
    if service == "audit":
        from harbour.audit.service import register

        names: tuple[str, ...] = register(server, runtime.store)
        return names
    raise ValueError(f"unknown service {service!r}")
