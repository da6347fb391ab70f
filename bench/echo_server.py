"""A trivial grpc.aio server whose one method echoes its bytes: the gRPC layer's ceiling.

Run as ``python -m bench.echo_server PORT``; it serves until terminated.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import grpc

METHOD = "/bench.Echo/Echo"


async def echo(request: bytes, context: Any) -> bytes:
    return request


async def serve(port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
