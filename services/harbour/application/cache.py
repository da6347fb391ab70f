"""The per-process cache of recent stream states, least recently used evicted first.

A command decides on a cached state without reading its stream: the append's expected-version
check proves it was current (see ``harbour.application.runner``). A state older than the one
cached never replaces it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from harbour.eventstore.streams import Loaded


class Recent:
    """The most recently used streams' states, least recently used evicted first. Each is
    kept with its stream's kind, so events read later (a conflict's catch-up) fold into it."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, tuple[Loaded[Any], Any]] = OrderedDict()

    def get(self, stream: str) -> Loaded[Any] | None:
        entry = self._items.get(stream)
        if entry is None:
            return None
        self._items.move_to_end(stream)
        return entry[0]

    def entry(self, stream: str) -> tuple[Loaded[Any], Any] | None:
        """The cached state and the kind it was cached with."""
        return self._items.get(stream)

    def put(self, stream: str, loaded: Loaded[Any], kind: Any) -> None:
        current = self._items.get(stream)
        if current is not None and current[0].version > loaded.version:
            return  # a concurrent command already cached a newer state
        self._items[stream] = (loaded, kind)
        self._items.move_to_end(stream)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def drop(self, stream: str) -> None:
        self._items.pop(stream, None)
