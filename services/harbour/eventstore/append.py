"""The append statement: one round trip, no stored procedure.

Everything an append must check happens in one SQL statement: the stream head is read in the
statement's snapshot, before the first write takes the transaction's xid (the feed's ordering
rule, DESIGN.md section 2). Events are inserted only when the head is at ``expected_version``;
the hash chain is extended in a recursive CTE, so a batch chains inside the database; the
command log row is written by the same statement. Nothing inserted means "not at the expected
version" (or an idempotent repeat — the store then looks at the command log). A concurrent
writer that passed the same check loses on the unique (stream_id, version) index.

Parameters are scalars: a single event travels as plain parameters, a batch as one JSON text
which PostgreSQL parses in C — cheaper than arrays, whose Python-side dumping cost as much as
the statement itself.
"""

from __future__ import annotations

# The stream head, read in the statement's snapshot: before the first write takes an xid.
_HEAD = """
head AS (
    SELECT coalesce(h.version, 0) AS version, coalesce(h.hash, '\\x'::bytea) AS hash
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
          SELECT e.version, e.hash FROM events e
           WHERE e.stream_id = %(stream_id)s ORDER BY e.version DESC LIMIT 1
      ) AS h ON true
)"""

# The command-log row, written by the same statement when anything was appended.
_LOGGED = """
logged AS (
    INSERT INTO command_log (request_id, fingerprint, stream_id, stream_version,
                             first_position, last_position, response, recorded_at)
    SELECT %(request_id)s, %(fingerprint)s, %(stream_id)s,
           %(expected_version)s + s.appended, s.first_position, s.last_position,
           %(response)s::jsonb, %(recorded_at)s
      FROM span s WHERE %(request_id)s::text IS NOT NULL AND s.appended > 0
)"""

_RESULT = """
SELECT s.first_position, s.last_position, s.appended, (SELECT version FROM head) FROM span s
"""

# One event (the common case): no recursion, no JSON batch to unpack, no LATERAL join and no
# aggregate — the head is read once (a CTE referenced twice is evaluated once) and the
# inserted position is passed straight on. Measured here (pgbench, prepared, one client):
# about 15% less PostgreSQL CPU than the general form with a batch of one.
APPEND_ONE_SQL = """
WITH
head AS (
    SELECT e.version, e.hash FROM events e
     WHERE e.stream_id = %(stream_id)s ORDER BY e.version DESC LIMIT 1
),
inserted AS (
    INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, content)
    SELECT %(stream_id)s, %(expected_version)s + 1, %(type)s, %(schema_version)s,
           %(recorded_at)s,
           sha256(coalesce((SELECT hash FROM head), '\\x'::bytea) || %(content)s), %(content)s
     WHERE coalesce((SELECT version FROM head), 0) = %(expected_version)s
    RETURNING position
),
logged AS (
    INSERT INTO command_log (request_id, fingerprint, stream_id, stream_version,
                             first_position, last_position, response, recorded_at)
    SELECT %(request_id)s, %(fingerprint)s, %(stream_id)s, %(expected_version)s + 1,
           i.position, i.position, %(response)s::jsonb, %(recorded_at)s
      FROM inserted i WHERE %(request_id)s::text IS NOT NULL
)
SELECT r.p, r.p, (r.p IS NOT NULL)::integer, r.head,
       -- The feed's wake-up, when this append carries it (FeedNotifier.claim): sent by this
       -- transaction's commit instead of a commit of its own.
       CASE WHEN %(notify)s::boolean THEN pg_notify(%(channel)s, '') END
  FROM (SELECT (SELECT position FROM inserted) AS p,
               coalesce((SELECT version FROM head), 0) AS head) AS r
"""

# A batch: ``%(events)s`` is ``[[type, schema_version, content_hex], ...]``; the chain
# is extended event by event in a recursive CTE.
APPEND_MANY_SQL = (  # constant text, no input is interpolated
    "WITH RECURSIVE"
    + _HEAD
    + """,
batch AS (
    SELECT b.ord::integer AS ord, b.event
      FROM jsonb_array_elements(%(events)s::jsonb) WITH ORDINALITY AS b(event, ord)
),
chain AS (
    SELECT 0 AS ord, head.hash FROM head WHERE head.version = %(expected_version)s
    UNION ALL
    SELECT b.ord, sha256(c.hash || decode(b.event ->> 2, 'hex'))
      FROM chain c JOIN batch b ON b.ord = c.ord + 1
),
inserted AS (
    INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, content)
    SELECT %(stream_id)s, %(expected_version)s + b.ord, b.event ->> 0,
           (b.event ->> 1)::smallint, %(recorded_at)s, c.hash, decode(b.event ->> 2, 'hex')
      FROM batch b JOIN chain c ON c.ord = b.ord
     ORDER BY b.ord
    RETURNING position
),
span AS (
    SELECT min(position) AS first_position, max(position) AS last_position,
           count(*)::integer AS appended
      FROM inserted
),"""
    + _LOGGED
    + _RESULT
)

LOOKUP_COMMAND_SQL = """
SELECT request_id, fingerprint, stream_id, stream_version, first_position, last_position,
       response
  FROM command_log WHERE request_id = %(request_id)s
"""


def _gated_inserts(streams: int, returning: str) -> list[str]:
    """The CTEs shared by the multi-stream statements: each head read in the statement's
    snapshot, the gate (every head at its expected version), and per stream the batch, its
    chain and its insert — which writes nothing unless the gate opened; ``returning`` what
    the insert returns."""
    parts = [
        f"""
head_{i} AS (
    SELECT coalesce(h.version, 0) AS version, coalesce(h.hash, '\\x'::bytea) AS hash
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
          SELECT e.version, e.hash FROM events e
           WHERE e.stream_id = %(stream_id_{i})s ORDER BY e.version DESC LIMIT 1
      ) AS h ON true
)"""
        for i in range(streams)
    ]
    gate = " AND ".join(
        f"(SELECT version FROM head_{i}) = %(expected_version_{i})s" for i in range(streams)
    )
    parts.append(f"\ngate AS (SELECT {gate} AS ok)")
    parts += [
        f"""
batch_{i} AS (
    SELECT b.ord::integer AS ord, b.event
      FROM jsonb_array_elements(%(events_{i})s::jsonb) WITH ORDINALITY AS b(event, ord)
),
chain_{i} AS (
    SELECT 0 AS ord, head_{i}.hash FROM head_{i}, gate WHERE gate.ok
    UNION ALL
    SELECT b.ord, sha256(c.hash || decode(b.event ->> 2, 'hex'))
      FROM chain_{i} c JOIN batch_{i} b ON b.ord = c.ord + 1
),
inserted_{i} AS (
    INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, content)
    SELECT %(stream_id_{i})s, %(expected_version_{i})s + b.ord, b.event ->> 0,
           (b.event ->> 1)::smallint, %(recorded_at)s, c.hash, decode(b.event ->> 2, 'hex')
      FROM batch_{i} b JOIN chain_{i} c ON c.ord = b.ord
     ORDER BY b.ord
    RETURNING {returning}
)"""
        for i in range(streams)
    ]
    return parts


def append_together_sql(streams: int) -> str:
    """One statement appending to ``streams`` streams at once, all or nothing.

    Every head is read in the statement's snapshot before its first write, exactly like a
    single-stream append (so the feed's ordering rule holds for each stream), and nothing is
    inserted unless *every* head is at its expected version. The command log row names the
    first stream. Parameters carry a suffix per stream: ``stream_id_0``, ``events_0``, ...
    """
    if streams < 2:
        raise ValueError("use APPEND_ONE_SQL / APPEND_MANY_SQL for one stream")
    parts = _gated_inserts(streams, "position")
    heads = ", ".join(f"(SELECT version FROM head_{i})" for i in range(streams))
    return "WITH RECURSIVE" + ",".join(parts) + "," + _together_tail(streams, heads)


def append_together_one_each_sql(streams: int) -> str:
    """:func:`append_together_sql` for one event per stream (an advance: the account's event
    and the exposure's): no recursion and no JSON batch, like ``APPEND_ONE_SQL``.

    Parameters per stream: ``stream_id_i``, ``expected_version_i``, ``type_i``,
    ``schema_version_i``, ``content_i``.
    """
    heads = [
        f"""
head_{i} AS (
    SELECT e.version, e.hash FROM events e
     WHERE e.stream_id = %(stream_id_{i})s ORDER BY e.version DESC LIMIT 1
)"""
        for i in range(streams)
    ]
    gate = " AND ".join(
        f"coalesce((SELECT version FROM head_{i}), 0) = %(expected_version_{i})s"
        for i in range(streams)
    )
    inserts = [
        f"""
inserted_{i} AS (
    INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, content)
    SELECT %(stream_id_{i})s, %(expected_version_{i})s + 1, %(type_{i})s,
           %(schema_version_{i})s, %(recorded_at)s,
           sha256(coalesce((SELECT hash FROM head_{i}), '\\x'::bytea) || %(content_{i})s),
           %(content_{i})s
     WHERE (SELECT ok FROM gate)
    RETURNING position
)"""
        for i in range(streams)
    ]
    head_versions = ", ".join(
        f"coalesce((SELECT version FROM head_{i}), 0)" for i in range(streams)
    )
    return (
        "WITH"
        + ",".join(heads)
        + f",\ngate AS (SELECT {gate} AS ok),"
        + ",".join(inserts)
        + ","
        + _together_tail(streams, head_versions)
    )


def _together_tail(streams: int, heads: str) -> str:
    """The end of a multi-stream append: the span over every stream's inserts (read-your-
    writes covers all of them), the command-log row naming the first stream, and the result:
    first and last position, events appended per stream, each stream's head as read."""
    everything = " UNION ALL ".join(f"SELECT position FROM inserted_{i}" for i in range(streams))
    appended = ", ".join(f"(SELECT count(*)::integer FROM inserted_{i})" for i in range(streams))
    return f"""
span AS (
    SELECT min(a.position) AS first_position, max(a.position) AS last_position,
           (SELECT count(*)::integer FROM inserted_0) AS appended
      FROM ({everything}) AS a
),
logged AS (
    INSERT INTO command_log (request_id, fingerprint, stream_id, stream_version,
                             first_position, last_position, response, recorded_at)
    SELECT %(request_id)s, %(fingerprint)s, %(stream_id_0)s,
           %(expected_version_0)s + s.appended, s.first_position, s.last_position,
           %(response)s::jsonb, %(recorded_at)s
      FROM span s WHERE %(request_id)s::text IS NOT NULL AND s.appended > 0
)
SELECT s.first_position, s.last_position, {appended}, {heads} FROM span s
"""


# One statement applying several *commands* at once: a group commit of a hot stream, or a
# bulk run (a day's interest for a thousand accounts). Set-based: the streams are rows of
# one JSON parameter, not a CTE each, so the statement is the same text for any number of
# streams (prepared once) and plans in constant time — with a CTE per stream, planning grew
# with the square of the streams (measured: 0.4 s for 100 streams, 29 s for 1,000).
#
# Like the multi-stream append: every head read in the statement's snapshot, nothing written
# unless every stream is at its expected version; but a stream's events may come from several
# commands (each starting where the previous ended) and each event carries its own command's
# metadata (inside its content). ``streams``: ``[[i, stream_id, expected_version], ...]``;
# ``events``: ``[[i, ord, type, schema_version, content_hex], ...]`` (``ord`` 1-based per stream);
# ``owned``: ``[[k, i, version], ...]``; ``commands``: one object per command ``k``. Returns
# one row: whether the gate opened, each head as read (by ``i``), and each command's span as
# ``[[k, first, last], ...]``.
APPEND_BATCH_SQL = """
WITH RECURSIVE
wanted AS (
    SELECT (w ->> 0)::integer AS i, w ->> 1 AS stream_id, (w ->> 2)::integer AS expected
      FROM jsonb_array_elements(%(streams)s::jsonb) AS s(w)
),
head AS (
    SELECT w.i, w.stream_id, w.expected, coalesce(h.version, 0) AS version,
           coalesce(h.hash, '\\x'::bytea) AS hash
      FROM wanted w
      LEFT JOIN LATERAL (
          SELECT e.version, e.hash FROM events e
           WHERE e.stream_id = w.stream_id ORDER BY e.version DESC LIMIT 1
      ) AS h ON true
),
gate AS (SELECT coalesce(bool_and(version = expected), false) AS ok FROM head),
batch AS (
    SELECT (b ->> 0)::integer AS i, (b ->> 1)::integer AS ord, b AS event
      FROM jsonb_array_elements(%(events)s::jsonb) AS x(b)
),
chain AS (
    SELECT h.i, 0 AS ord, h.hash FROM head h, gate WHERE gate.ok
    UNION ALL
    SELECT c.i, b.ord, sha256(c.hash || decode(b.event ->> 4, 'hex'))
      FROM chain c JOIN batch b ON b.i = c.i AND b.ord = c.ord + 1
),
inserted AS (
    INSERT INTO events (stream_id, version, type, schema_version, recorded_at, hash, content)
    SELECT h.stream_id, h.expected + b.ord, b.event ->> 2, (b.event ->> 3)::smallint,
           %(recorded_at)s, c.hash, decode(b.event ->> 4, 'hex')
      FROM batch b
      JOIN chain c ON c.i = b.i AND c.ord = b.ord
      JOIN head h ON h.i = b.i
     ORDER BY b.i, b.ord
    RETURNING stream_id, version, position
),
written AS MATERIALIZED (
    SELECT h.i, n.version, n.position FROM inserted n JOIN head h ON h.stream_id = n.stream_id
),
owns AS MATERIALIZED (
    SELECT (o.ref ->> 0)::integer AS k, (o.ref ->> 1)::integer AS i,
           (o.ref ->> 2)::integer AS version
      FROM jsonb_array_elements(%(owned)s::jsonb) AS o(ref)
),
spans AS (
    -- Joined on both keys at once: joined on the version first, a thousand streams of one
    -- event each made a million rows.
    SELECT o.k, min(w.position) AS first_position, max(w.position) AS last_position
      FROM owns o JOIN written w ON w.i = o.i AND w.version = o.version
     GROUP BY 1
),
logged AS (
    INSERT INTO command_log (request_id, fingerprint, stream_id, stream_version,
                             first_position, last_position, response, recorded_at)
    SELECT c.request_id, decode(c.fingerprint, 'hex'), c.stream_id, c.stream_version,
           s.first_position, s.last_position, c.response, %(recorded_at)s
      FROM jsonb_to_recordset(%(commands)s::jsonb)
           AS c(k integer, request_id text, fingerprint text, stream_id text,
                stream_version bigint, response jsonb)
      JOIN spans s ON s.k = c.k
)
SELECT (SELECT ok FROM gate), (SELECT array_agg(version ORDER BY i) FROM head),
       (SELECT coalesce(jsonb_agg(jsonb_build_array(k, first_position, last_position)),
                        '[]'::jsonb) FROM spans)
"""
