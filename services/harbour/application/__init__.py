"""The application layer: how a command becomes events, and how the read side folds them back.

One job per module, listed from the outermost (may import those below it) inward
(``lint-imports`` holds them to this order, see pyproject.toml):

* ``market`` — the market inputs a decision rests on (the policy in force, last prices, the
  market calendar) and an account's state, read through the runner's cache;
* ``wire`` — proto <-> value conversions every servicer shares (request ids, amounts, pages,
  the command result, the ``Subscribe`` stream);
* ``folded_readmodels`` — the read side: read models that fold each client's stream into its
  margin account (``accounts``, ``loans``); reads through the store, never the runner;
* ``runner`` — ``CommandRunner``: load -> decide -> append for one or two streams, retried on a
  concurrency conflict, a hot stream handed to its group commit;
* ``group_commit`` — batches of commands on one hot stream (the broker's exposure), decided
  in memory and appended in one statement;
* ``cache`` — the per-process cache of recent stream states (least recently used evicted);
* ``replay`` — a repeated command's first answer, from the command log;
* ``streams`` — every kind of stream the services decide on (what it folds into, how it is
  snapshotted, whether it is hot) and how each stream is named: the one registry;
* ``snapshots`` — when a stream's state is snapshotted, and the snapshot codecs;
* ``outcome`` — what a command answers (``Outcome``), domain events as stored ones
  (``new_event``) and the answer of a decision that changes nothing (``nothing``);
* ``decoding`` — a stored event as a domain event, through the vocabulary and the upcasters
  (shared by the write and the read side);
* ``caller`` — who is calling and on whose behalf (bound by the runtime's interceptor).
"""
