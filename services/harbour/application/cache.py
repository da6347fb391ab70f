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
    """The most recently used streams' states, least recently used evicted first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, Loaded[Any]] = OrderedDict()

    def get(self, stream: str) -> Loaded[Any] | None:
        loaded = self._items.get(stream)
        if loaded is not None:
            self._items.move_to_end(stream)
        return loaded

    def put(self, stream: str, loaded: Loaded[Any]) -> None:
        current = self._items.get(stream)
        if current is not None and current.version > loaded.version:
            return  # a concurrent command already cached a newer state
        self._items[stream] = loaded
        self._items.move_to_end(stream)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
