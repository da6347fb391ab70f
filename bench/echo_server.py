"""A trivial grpc.aio server whose one method echoes its bytes: the gRPC layer's ceiling.

Run as ``python -m bench.echo_server PORT``; it serves until terminated.

``python -m bench.echo_server PORT DATABASE_URL`` also makes ONE ``EventStore.append`` per
call before it answers, through the accounts service's own store (its role, pool and feed
wake-up): one small ``CashDeposited`` with a
request id (so a command-log row too) on the next version of the stream the request names.
Nothing is decided, loaded or cached: it is the ceiling of a command path on this machine —
the gRPC layer plus the one append every command ends in — that ``bench.accounts`` measures
next to DepositCash.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import defaultdict
from typing import Any

import grpc

METHOD = "/bench.Echo/Echo"


async def echo(request: bytes, context: Any) -> bytes:
    return request


async def appending(url: str) -> Any:
    """An echo that appends one event to the stream its request names, then answers."""
    from dataclasses import replace

    from harbour.eventstore.model import NewEvent
    from harbour.runtime.server import open_runtime
    from harbour.runtime.settings import Settings

    # The accounts service's own store: its role, pool, clock and feed wake-up.
    settings = replace(Settings.from_env(), database_url=url)
    store = (await open_runtime(settings, service="accounts")).store
    versions: defaultdict[str, int] = defaultdict(int)
    run = uuid.uuid4().hex[:8]

    async def append(request: bytes, context: Any) -> bytes:
        stream = f"bench-echo-{run}-{request.decode()}"
        versions[stream] += 1  # each caller owns its streams: no two appends race on one
        await store.append(
            stream,
            [NewEvent("CashDeposited", {"amount": "100.00", "asset": "HKD"})],
            expected_version=versions[stream] - 1,
            request_id=uuid.uuid4().hex,
            metadata={"actor": "bench", "service": "accounts"},
        )
        return request

    return append


async def serve(port: int, url: str | None = None) -> None:
    server = grpc.aio.server()
    method = echo if url is None else await appending(url)
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(method)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))
