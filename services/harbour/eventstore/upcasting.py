"""Schema evolution on read: stored events are never rewritten, old shapes are upcast.

An upcaster turns ``data`` of (type, version n) into the shape of version n + 1. Reading applies
the chain until the current version. The hash chain always covers the stored bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Upcasters:
    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}
        self._current: dict[str, int] = {}

    def register(self, event_type: str, from_version: int, step: Upcaster) -> None:
        if (event_type, from_version) in self._steps:
            raise ValueError(f"{event_type} v{from_version} already has an upcaster")
        self._steps[(event_type, from_version)] = step
        self._current[event_type] = max(self._current.get(event_type, 1), from_version + 1)

    def current_version(self, event_type: str) -> int:
        return self._current.get(event_type, 1)

    def __call__(
        self, event_type: str, schema_version: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        version = schema_version
        while (step := self._steps.get((event_type, version))) is not None:
            data = step(data)
            version += 1
        return data

    def __bool__(self) -> bool:
        return bool(self._steps)
