"""Load -> decide -> append: how every service applies a command to a stream.

A command carries a client ``request_id``. A concurrent writer to the same stream makes the
append lose on ``expected_version``; the runner reloads and decides again, so decisions per
stream are serialisable without locks across processes. Within one, commands on the same
stream queue behind each other (harbour.application.stream_locks): a process never loses that
race to itself. The command log is consulted only when the decision
refuses: a retry of a command that was applied may be refused by today's state, and must get
its first answer instead. On the success path the append itself recognises a repeated
request_id (its command-log insert conflicts and the statement rolls back), saving a round
trip.

States are cached per stream (least recently used evicted), and a command decides on the
cached state without reading its stream at all: the append's expected-version check is the
proof that the state was current (a writer elsewhere makes it conflict, and the command
reloads — only the events newer than the cached version — and decides again). A decision
that refuses or changes nothing writes nothing, so nothing checks it: such a decision on a
cached state is confirmed by reading the stream's newer events first. After an append the
cache takes the state the command left, so the next command on the stream reads nothing.

The streams a decision reads but does not write (the policy, the prices) are cached the same
way: a command through a hot stream's group commit or :meth:`CommandRunner.run_reading` takes
them as cached and its append holds each at the version read (``load_many(..., reads=)``,
``CommandWrite.reads``), so a warm draw or withdrawal is one round trip; a price recorded
meanwhile refuses the append and the command reads again.

A retry reads once: every stream the lost decision rested on (its own, the hot one, those it
read) is caught up in one round trip past the version it used, folded into the cache, and the
command decides again on the cache so caught up, as fresh as a read per stream would have
left it. Like any read, the streams it read are then not held by its append; the ones it
writes are, at their expected versions. Under ``make load``, where the accounts and collateral
services move the streams lending decides on, 55% of lending's grouped commands and a third
of the accounts service's commands retried at least once: each retry used to read its own
stream and then the market, two round trips.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from harbour.application.cache import Recent
from harbour.application.group_commit import Decide, GroupCommit, Pending, Verdict
from harbour.application.outcome import Outcome, new_event, nothing
from harbour.application.replay import first_answer
from harbour.application.snapshots import snapshot_off_the_path, snapshot_when_due
from harbour.application.stream_locks import Held, StreamLocks
from harbour.application.streams import StreamKind
from harbour.eventstore.coalesce import CoalescingAppender
from harbour.eventstore.errors import ConcurrencyConflict
from harbour.eventstore.model import CommandWrite, RecordedEvent, StreamWrite
from harbour.eventstore.store import EventStore, request_fingerprint
from harbour.eventstore.streams import Loaded, Wanted, load_stream, load_streams
from harbour.ledger import events as ev
from harbour.ledger.errors import DomainError
from harbour.metrics import COMMAND_RETRIES

S = TypeVar("S")
T = TypeVar("T")
Events = Sequence[ev.Event]
# A decision may need more reads once the states are known (the prices of what an account
# holds): then ``decide`` is a coroutine that reads them and calls the pure decider.
Decided = Sequence[Events] | Awaitable[Sequence[Events]]
MAX_ATTEMPTS = 25
# Why a command was decided again (harbour_command_retries_total): children bound once.
VERSION_CONFLICT = COMMAND_RETRIES.labels("version_conflict")
STREAMS_MOVED = COMMAND_RETRIES.labels("streams_moved")
BEHIND = COMMAND_RETRIES.labels("behind")
UNPREPARED = COMMAND_RETRIES.labels("unprepared")
# Streams not cached yet that load_many reads in one go (a screen of every borrower).
LOAD_CHUNK = 1000


class CommandRunner:
    def __init__(
        self, store: EventStore, *, snapshot_every: int = 100, cached: int = 200_000
    ) -> None:
        self.store = store
        self._snapshot_every = snapshot_every
        self._recent = Recent(cached)
        self._locks = StreamLocks()
        self._groups: dict[str, GroupCommit] = {}
        # Commands on different streams that append at the same moment share a statement.
        self._appender = CoalescingAppender(store)
        # Snapshots being saved in the background (kinds with ``snapshot_in_background``), at
        # most one a stream: a save still running when the next falls due (a slow database)
        # lets that one pass instead of piling up tasks.
        self._snapshotting: dict[str, asyncio.Task[None]] = {}

    async def current(self, kind: StreamKind[S], stream: str, *, trust: bool) -> Loaded[S]:
        """The stream's cached state when ``trust``ed (the append's version check proves it),
        else its state brought up to date by a read."""
        cached: Loaded[S] | None = self._recent.get(stream) if trust else None
        return cached if cached is not None else await self.load(kind, stream)

    async def moved(
        self,
        targets: Sequence[tuple[StreamKind[Any], str]],
        used: Sequence[Loaded[Any]],
        reads: Mapping[str, int] | None = None,
    ) -> bool:
        """Whether any stream has events after the state a decision used, or after the
        version of it the decision read (``reads``): a refusal or a no-op decided on cached
        states is confirmed this way before it is answered (it appends nothing that would).
        What moved is folded into the cache, so deciding again needs no further read."""
        if await self.catch_up(_rested_on(targets, used, reads)):
            BEHIND.inc()
            return True
        return False

    async def catch_up(self, after: Mapping[str, int]) -> bool:
        """Read the events of ``after``'s streams past the version given for each (the one a
        decision used), in one round trip, and fold those newer than the cache into it.
        Returns whether any stream had moved. After a conflict this is the one read before
        deciding again on the cache, whose append checks every stream once more: a retry
        costs one round trip however many streams moved, not a read per stream."""
        fresh = await self.store.read_streams(after)
        for stream, events in fresh.items():
            if events:
                self._fold_cached(stream, events)
        return any(fresh.values())

    async def refresh(self, streams: Iterable[str]) -> None:
        """Bring the cached states of ``streams`` up to date in one round trip (a batch's
        append found them moved); a stream not cached is loaded when next needed."""
        cached = {s: c.version for s in streams if (c := self._recent.get(s)) is not None}
        if cached:
            await self.catch_up(cached)

    def _fold_cached(self, stream: str, events: Sequence[RecordedEvent]) -> None:
        entry = self._recent.entry(stream)
        if entry is None:
            return  # not cached (evicted): the next attempt loads it
        cached, kind = entry
        newer = [event for event in events if event.version > cached.version]
        if not newer:
            return
        if newer[0].version != cached.version + 1:
            self._recent.drop(stream)  # read from an older version than cached: load afresh
            return
        self._recent.put(stream, _folded(kind, cached, newer), kind)

    async def load(
        self, kind: StreamKind[S], stream: str, *, up_to_position: int | None = None
    ) -> Loaded[S]:
        cached: Loaded[S] | None = self._recent.get(stream) if up_to_position is None else None
        if cached is not None:
            newer = await self.store.read_stream(stream, after_version=cached.version)
            loaded = _folded(kind, cached, newer)
        else:
            loaded = await load_stream(
                self.store,
                stream,
                initial=kind.initial(stream),
                evolve=kind.evolve_recorded,
                codec=kind.codec,
                up_to_position=up_to_position,
            )
        if up_to_position is None:
            self._recent.put(stream, loaded, kind)
        return loaded

    async def load_many(
        self,
        wanted: Sequence[tuple[StreamKind[Any], str]],
        seen: Mapping[str, int] | None = None,
        *,
        reads: dict[str, int] | None = None,
    ) -> list[Any]:
        """The current states of several streams: the cached ones brought up to date in one
        round trip, the others loaded LOAD_CHUNK at a time, two round trips a chunk (then
        they are cached too). ``seen``: a version per stream that is recent enough (a
        follower that read a stream's event up to there): a cached state at or past it is
        used as it is — this process's own commands left it there. ``reads``: the cached
        states are used as they are, without a round trip, and each stream's version is
        recorded there for the append to check (``CommandWrite.reads``): the append is then
        the proof they were current, as its expected version is for the streams it writes."""
        seen = seen or {}
        cached = {s: c for _, s in wanted if (c := self._recent.get(s)) is not None}
        behind = (
            {}
            if reads is not None
            else {s: c.version for s, c in cached.items() if c.version < seen.get(s, c.version + 1)}
        )
        newer = await self.store.read_streams(behind) if behind else {}
        cold = {s: k for k, s in wanted if s not in cached}
        current: dict[str, Loaded[Any]] = cached | await self._load_cold(cold)
        for kind, stream in wanted:
            if newer.get(stream):
                current[stream] = _folded(kind, current[stream], newer[stream])
                self._recent.put(stream, current[stream], kind)
        if reads is not None:
            reads.update((stream, current[stream].version) for _, stream in wanted)
        return [current[stream].state for _, stream in wanted]

    async def _load_cold(self, cold: Mapping[str, StreamKind[Any]]) -> dict[str, Loaded[Any]]:
        streams = list(cold)
        loaded: dict[str, Loaded[Any]] = {}
        for start in range(0, len(streams), LOAD_CHUNK):
            chunk = streams[start : start + LOAD_CHUNK]
            wanted = [
                Wanted(s, cold[s].initial(s), cold[s].evolve_recorded, cold[s].codec) for s in chunk
            ]
            loaded |= await load_streams(self.store, wanted)
        for stream in streams:
            self._recent.put(stream, loaded[stream], cold[stream])
        return loaded

    async def run(
        self,
        kind: StreamKind[S],
        stream: str,
        decide: Callable[[S], Events | Awaitable[Events]],
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[S], Mapping[str, Any] | None] = lambda _: None,
    ) -> Outcome:
        """Apply ``decide`` to ``stream`` once. ``request`` is what the caller sent (its
        fingerprint); ``respond`` builds the response kept for a replay from the state after."""
        return await self._run(
            [(kind, stream)],
            lambda states, _: _single(decide(states[0])),
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=respond,
        )

    async def run_reading(
        self,
        kind: StreamKind[S],
        stream: str,
        decide: Callable[[S, dict[str, int] | None], Awaitable[Events]],
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[S], Mapping[str, Any] | None] = lambda _: None,
    ) -> Outcome:
        """Like :meth:`run`, for a decision that also rests on streams it does not write (the
        policy, the prices): ``decide`` reads them through ``load_many(..., reads=)`` with the
        dict it is given — cached, without a round trip, each held at the version read by the
        append — or, given None (a retry after a conflict), reads their newer events first."""
        return await self._run(
            [(kind, stream)],
            lambda states, reads: _single(decide(states[0], reads)),
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=respond,
        )

    async def run_together(
        self,
        first: tuple[StreamKind[S], str],
        second: tuple[StreamKind[T], str],
        decide: Callable[[S, T], Awaitable[tuple[Events, Events]]],
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[S], Mapping[str, Any] | None] = lambda _: None,
    ) -> Outcome:
        """Like :meth:`run`, for a decision that moves two streams at once (an advance moves
        the account and the broker's exposure): both are appended in one statement, or
        neither, and a conflict on either reloads both and decides again."""
        return await self._run(
            [first, second],
            lambda states, _: _listed(decide(states[0], states[1])),
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=respond,
        )

    async def _run(
        self,
        targets: Sequence[tuple[StreamKind[Any], str]],
        decide: Callable[[list[Any], dict[str, int] | None], Decided],
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[Any], Mapping[str, Any] | None],
    ) -> Outcome:
        fingerprint = request_fingerprint(request)
        command = _Command(targets, decide, request_id, fingerprint, metadata, respond)
        for attempt in range(MAX_ATTEMPTS):
            # A command waits for another of this process on the same stream and decides on
            # the state that one left (stream_locks). Ordinary streams are held and loaded
            # first, hot ones after: one order for every command, and no read under a hot lock.
            async with self.holding(sorted(s for k, s in targets if not k.serialised)):
                cold = {
                    s: await self.current(k, s, trust=True) for k, s in targets if not k.serialised
                }
                async with self.holding(sorted(s for k, s in targets if k.serialised)):
                    step = await self._attempt(command, cold, checked_reads=attempt == 0)
            if isinstance(step, Outcome):
                return step
            if step is not None:
                # Another command on one of the streams won: back off a little, then catch up
                # (outside the locks) every stream the decision rested on, and decide again.
                VERSION_CONFLICT.inc()
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                await self.catch_up(step)
        raise ConcurrencyConflict(targets[0][1], -1, None)

    async def _attempt(
        self, command: _Command, cold: Mapping[str, Loaded[Any]], *, checked_reads: bool
    ) -> Outcome | dict[str, int] | None:
        """One decision and its append, on the cache: the first attempt's as it is, a retry's
        once what it rested on was caught up. A hot stream is decided on from the state this
        process last wrote (no read: a writer elsewhere makes the append conflict). Returns
        the outcome; None to decide again (a refusal or no-op found its state behind, now
        caught up); or, when the append lost, the versions its decision rested on."""
        targets = command.targets
        loaded = [
            cold[s] if s in cold else await self.hot_state(k, s, trust=True) for k, s in targets
        ]
        # Streams read as cached (run_reading) are checked by the first attempt's append; a
        # retry's were caught up just before, and are not held, as no read is.
        reads: dict[str, int] = {}
        try:
            decided = command.decide([each.state for each in loaded], reads)
            if inspect.isawaitable(decided):
                decided = await decided
        except DomainError:
            if checked_reads and await self.moved(targets, loaded, reads):
                return None  # refused on a state that was behind: decide again
            replay = await self.replay(command.request_id, command.fingerprint)
            if replay is not None:
                return replay
            raise
        if not any(decided):
            if checked_reads and await self.moved(targets, loaded, reads):
                return None
            return nothing(targets[0][1], loaded[0], command.respond)
        # Each stream's state after the decision, folded once: for the response now, and for
        # the cache once the append stands.
        after = [
            k.grow(each, events)
            for (k, _), each, events in zip(targets, loaded, decided, strict=True)
        ]
        response = command.respond(after[0].state)
        writes = [
            StreamWrite(s, [new_event(e) for e in events], each.version)
            for (_, s), each, events in zip(targets, loaded, decided, strict=True)
            if events
        ]
        # A target's own version check covers it, should the decision have read it too.
        checked = {
            s: v for s, v in reads.items() if checked_reads and all(s != t for _, t in targets)
        }
        write = CommandWrite(
            writes, command.request_id, command.fingerprint, command.metadata, response, checked
        )
        try:
            result = await self._appender.append(write)
        except ConcurrencyConflict:
            return _rested_on(targets, loaded, reads)
        if result.replayed:
            return Outcome(result, result.response)
        for (k, s), grown, events in zip(targets, after, decided, strict=True):
            if events:
                await self.written(k, s, grown)
        return Outcome(result, response)

    async def run_grouped(
        self,
        own: tuple[StreamKind[S], str],
        hot: tuple[StreamKind[T], str],
        prepare: Callable[[S, T, dict[str, int] | None], Awaitable[Decide]],
        *,
        request_id: str,
        request: Mapping[str, Any],
        metadata: Mapping[str, Any],
        respond: Callable[[S], Mapping[str, Any] | None] = lambda _: None,
    ) -> Outcome:
        """Like :meth:`run_together` for a command that moves a hot stream, through the hot
        stream's group commit (see ``harbour.application.group_commit``). ``prepare`` makes the
        reads the decision needs (given its own stream's state and the hot one's as last known
        in this process) and returns the pure decision, which then runs in the batch on the hot
        stream's current state. When its third argument is a dict, ``prepare`` reads through
        ``load_many(..., reads=it)``: cached states without a round trip, each checked by the
        batch's append (a stream that moved sends the command round again, reading); when it is
        None, it reads the streams' newer events first."""
        fingerprint = request_fingerprint(request)
        (own_kind, own_stream), (hot_kind, hot_stream) = own, hot
        group = self._groups.get(hot_stream)
        if group is None:
            group = self._groups[hot_stream] = GroupCommit(self, hot_kind, hot_stream)
        caught_up = False  # the cache holds what the last attempt's read found: decide on it
        for attempt in range(MAX_ATTEMPTS):
            on_cache, checked_reads = attempt == 0 or caught_up, attempt == 0
            caught_up = False
            loaded = await self.current(own_kind, own_stream, trust=on_cache)
            # The hot state only as last known here, never loaded for it: a hint (the decision
            # runs on the current state, in the batch). Loading it here would have every
            # queued command decode a cold hot stream at once.
            known = self._recent.get(hot_stream)
            hint = known.state if known is not None else hot_kind.initial(hot_stream)
            reads: dict[str, int] | None = {} if on_cache else None
            decide = await prepare(loaded.state, hint, reads)
            pending = Pending(
                own_kind,
                own_stream,
                loaded,
                decide,
                respond,
                request_id,
                fingerprint,
                metadata,
                # Held by the batch's append on the first attempt; a retry's were just read.
                reads=(reads or {}) if checked_reads else {},
            )
            verdict, value = await group.submit(pending)
            if verdict is Verdict.DONE:
                if (
                    checked_reads
                    and not value.result.first_position
                    and await self.moved([own], [loaded], reads)
                ):
                    caught_up = True
                    continue  # nothing to do, on states that were behind: decide again
                return value  # type: ignore[no-any-return]
            if verdict is Verdict.REFUSED:
                if checked_reads and await self.moved([own], [loaded], reads):
                    caught_up = True
                    continue  # refused on a state that was behind: decide again
                replay = await self.replay(request_id, fingerprint)
                if replay is not None:
                    return replay
                raise value
            if verdict is Verdict.CAUGHT_UP:
                STREAMS_MOVED.inc()
                caught_up = True  # the batch caught up what moved: decide again on the cache
            elif verdict is Verdict.RETRY:
                UNPREPARED.inc()
            elif verdict is Verdict.FAILED:
                raise value
            elif verdict is Verdict.ALONE:
                break

        async def decide_alone(own_state: S, hot_state: T) -> tuple[Events, Events]:
            return (await prepare(own_state, hot_state, None))(own_state, hot_state)

        return await self.run_together(
            own,
            hot,
            decide_alone,
            request_id=request_id,
            request=request,
            metadata=metadata,
            respond=respond,
        )

    def holding(self, streams: Sequence[str]) -> Held:
        """This process's locks of ``streams``, taken in the order given (see stream_locks)."""
        return self._locks.holding(streams)

    async def hot_state(self, kind: StreamKind[S], stream: str, *, trust: bool) -> Loaded[S]:
        """A hot stream's state: as this process last wrote it when ``trust``ed (a writer
        elsewhere makes the append conflict, and the caller asks again without trust)."""
        cached: Loaded[S] | None = self._recent.get(stream) if trust else None
        return cached if cached is not None else await self.load(kind, stream)

    async def hot_written(self, kind: StreamKind[S], stream: str, loaded: Loaded[S]) -> None:
        """A batch moved a hot stream to ``loaded``: the next batch decides on it."""
        self._recent.put(stream, loaded, kind)
        await self._maybe_snapshot(kind, stream, loaded)

    async def grown(
        self, kind: StreamKind[S], stream: str, loaded: Loaded[S], added: Sequence[ev.Event]
    ) -> None:
        """After a successful append: the cache takes the state this command left (the next
        command decides on it without a read); snapshots when due."""
        if added:
            await self.written(kind, stream, kind.grow(loaded, added))

    async def written(self, kind: StreamKind[S], stream: str, grown: Loaded[S]) -> None:
        """After a successful append that left the stream at ``grown``."""
        self._recent.put(stream, grown, kind)
        await self._maybe_snapshot(kind, stream, grown)

    async def replay(self, request_id: str, fingerprint: bytes) -> Outcome | None:
        """The first answer to ``request_id``, if it was applied; refused if reused."""
        return await first_answer(self.store, request_id, fingerprint)

    async def _maybe_snapshot(self, kind: StreamKind[S], stream: str, loaded: Loaded[S]) -> None:
        """Snapshot a stream that has grown ``snapshot_every`` events past its last one."""
        every = kind.snapshot_every or self._snapshot_every
        if kind.snapshot_in_background and kind.codec is not None and loaded.replayed >= every:
            # Counted again at once, so the commands that follow do not start another.
            self._recent.put(stream, Loaded(loaded.state, loaded.version, 0), kind)
            if stream not in self._snapshotting:
                saving = snapshot_off_the_path(self.store, stream, loaded, kind.codec)
                task = asyncio.create_task(saving)
                self._snapshotting[stream] = task
                task.add_done_callback(lambda _: self._snapshotting.pop(stream, None))
            return
        counted_again = await snapshot_when_due(self.store, stream, loaded, kind.codec, every)
        if counted_again is not None:
            self._recent.put(stream, counted_again, kind)

    async def snapshots_saved(self) -> None:
        """Wait for the snapshots being saved in the background (tests, benchmarks)."""
        while self._snapshotting:
            await asyncio.gather(*self._snapshotting.values(), return_exceptions=True)


@dataclass(frozen=True)
class _Command:
    """What every attempt of one command of :meth:`CommandRunner._run` decides and appends."""

    targets: Sequence[tuple[StreamKind[Any], str]]
    decide: Callable[[list[Any], dict[str, int] | None], Decided]
    request_id: str
    fingerprint: bytes
    metadata: Mapping[str, Any]
    respond: Callable[[Any], Mapping[str, Any] | None]


def _folded(kind: StreamKind[S], loaded: Loaded[S], newer: Sequence[RecordedEvent]) -> Loaded[S]:
    """``loaded`` with ``newer`` (its stream's next events, in order) folded in."""
    state = loaded.state
    for recorded in newer:
        state = kind.evolve_recorded(state, recorded)
    version = newer[-1].version if newer else loaded.version
    return Loaded(state, version, loaded.replayed + len(newer))


def _rested_on(
    targets: Sequence[tuple[StreamKind[Any], str]],
    used: Sequence[Loaded[Any]],
    reads: Mapping[str, int] | None,
) -> dict[str, int]:
    """Every stream a decision rested on, at the version it used: those it read, and its
    targets at the states it was given."""
    versions = dict(reads or {})
    versions |= {stream: each.version for (_, stream), each in zip(targets, used, strict=True)}
    return versions


async def _listed(pair: Awaitable[tuple[Events, Events]]) -> list[Events]:
    return list(await pair)


def _single(decided: Events | Awaitable[Events]) -> Decided:
    if inspect.isawaitable(decided):
        return _awaited_single(decided)
    return [decided]


async def _awaited_single(decided: Awaitable[Events]) -> list[Events]:
    return [await decided]
