"""Anchored proofs: a signed checkpoint of every stream head, and what a store owes it.

The per-stream hash chains prove that nothing *inside* a stream was altered, but they have
no anchor outside the database: someone with the table owner's rights can delete a stream's
last events, or rewrite a whole stream and hash it again, and every chain still verifies.
A checkpoint fixes the heads at a moment — each stream's id, version and chain hash — in a
document signed with an Ed25519 key kept away from the database, and a later verification
checks the store still holds exactly those heads (extending them is fine; cutting or
rewriting them is not).

Pure: no I/O and no clock (the instant is an argument). Keys are ``cryptography`` objects.

**The document** (``harbour.audit.checkpoint.v1``) is one JSON object::

    {"format": "harbour.audit.checkpoint.v1",
     "created_at": "2026-05-01T08:00:00.000000+00:00",
     "global_position": 123456,          # the newest event the heads cover
     "streams": 3, "events": 120,       # how many heads, and the events behind them
     "heads": [["account-C1", 42, "<64 hex>"], ...],   # sorted by stream id
     "merkle_root": "<64 hex>",
     "signer": {"algorithm": "Ed25519", "public_key": "<64 hex>", "key_id": "<16 hex>"},
     "signature": "<128 hex>"}

The signature covers the canonical JSON (sorted keys, no whitespace, UTF-8) of the document
without its ``signature`` member.

**The Merkle root** lets a head be proven without the whole list (RFC 6962, section 2.1):

* leaves are the heads ordered by stream id, bytewise ascending (stream ids are ASCII);
* ``leaf = SHA-256(0x00 || stream_id as UTF-8 || 0x00 || version as 8-byte big-endian ||
  the 32-byte chain hash of that version)`` (stream ids never contain NUL);
* ``node = SHA-256(0x01 || left || right)``, where a list of n > 1 leaves splits at the
  largest power of two below n; the root of no streams is ``SHA-256("")``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "harbour.audit.checkpoint.v1"
ALGORITHM = "Ed25519"
_LEAF, _NODE = b"\x00", b"\x01"


class CheckpointRefused(ValueError):
    """A checkpoint that must not be relied on: unreadable, badly signed or inconsistent."""


@dataclass(frozen=True, order=True)
class StreamHead:
    """Where a stream stood: its last version and that event's chain hash."""

    stream_id: str
    version: int
    hash: bytes


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    global_position: int
    heads: tuple[StreamHead, ...]
    merkle_root: bytes
    public_key: bytes  # the raw 32-byte Ed25519 key that signed it
    signature: bytes
    document: Mapping[str, Any]

    @property
    def events(self) -> int:
        return sum(head.version for head in self.heads)


# --------------------------------------------------------------------------------- Merkle


def leaf_hash(head: StreamHead) -> bytes:
    return hashlib.sha256(
        _LEAF
        + head.stream_id.encode("utf-8")
        + b"\x00"
        + head.version.to_bytes(8, "big")
        + head.hash
    ).digest()


def merkle_root(heads: Sequence[StreamHead]) -> bytes:
    """The RFC 6962 tree hash of the heads, in stream-id order (see the module docstring)."""
    ordered = sorted(heads)
    return _tree([leaf_hash(head) for head in ordered])


def _tree(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # the largest power of two below n
    return hashlib.sha256(_NODE + _tree(leaves[:split]) + _tree(leaves[split:])).digest()


def inclusion_proof(heads: Sequence[StreamHead], stream_id: str) -> list[bytes]:
    """The sibling hashes, leaf to root, that prove ``stream_id``'s head is in the tree."""
    ordered = sorted(heads)
    index = next((i for i, h in enumerate(ordered) if h.stream_id == stream_id), None)
    if index is None:
        raise KeyError(stream_id)
    return _path(index, [leaf_hash(head) for head in ordered])


def _path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_path(index, leaves[:split]), _tree(leaves[split:])]
    return [*_path(index - split, leaves[split:]), _tree(leaves[:split])]


def root_from_proof(head: StreamHead, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``head`` at ``index`` of ``size`` leaves
    (RFC 9162 section 2.1.3.2): equal to the checkpoint's root iff the head is in it."""
    node = leaf_hash(head)
    first, last = index, size - 1
    for sibling in proof:
        if first % 2 == 1 or first == last:
            node = hashlib.sha256(_NODE + sibling + node).digest()
            while first % 2 == 0 and first != 0:
                first, last = first >> 1, last >> 1
        else:
            node = hashlib.sha256(_NODE + node + sibling).digest()
        first, last = first >> 1, last >> 1
    return node


# --------------------------------------------------------------------------------- signing


def canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def sign_checkpoint(
    heads: Iterable[StreamHead],
    *,
    global_position: int,
    created_at: datetime,
    key: Ed25519PrivateKey,
) -> dict[str, Any]:
    """The signed checkpoint document of ``heads`` (see the module docstring)."""
    ordered = sorted(heads)
    public = raw_public_key(key.public_key())
    document: dict[str, Any] = {
        "format": FORMAT,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "global_position": global_position,
        "streams": len(ordered),
        "events": sum(head.version for head in ordered),
        "heads": [[h.stream_id, h.version, h.hash.hex()] for h in ordered],
        "merkle_root": merkle_root(ordered).hex(),
        "signer": {"algorithm": ALGORITHM, "public_key": public.hex(), "key_id": key_id(public)},
    }
    document["signature"] = key.sign(canonical(document)).hex()
    return document


def open_checkpoint(text: str | bytes, trusted: Ed25519PublicKey | None) -> Checkpoint:
    """The checkpoint in ``text`` once its signature and Merkle root check out.

    ``trusted`` is the public key the verifier relies on; the document must be signed by it.
    With none, the key the document names is used — which proves only that the document was
    not altered after signing, not who signed it (callers say so). Raises CheckpointRefused.
    """
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as bad:
        raise CheckpointRefused(f"not a checkpoint document: {bad}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointRefused(f"not a {FORMAT} document")
    try:
        signer = document["signer"]
        named = bytes.fromhex(signer["public_key"])
        signature = bytes.fromhex(document["signature"])
        heads = tuple(
            StreamHead(str(stream_id), int(version), bytes.fromhex(digest))
            for stream_id, version, digest in document["heads"]
        )
        root = bytes.fromhex(document["merkle_root"])
        position = int(document["global_position"])
        created_at = str(document["created_at"])
    except (KeyError, TypeError, ValueError) as bad:
        raise CheckpointRefused(f"malformed checkpoint: {bad!r}") from None
    if signer.get("algorithm") != ALGORITHM:
        raise CheckpointRefused(f"signed with {signer.get('algorithm')!r}, not {ALGORITHM}")
    key = trusted if trusted is not None else _public_key(named)
    if trusted is not None and raw_public_key(trusted) != named:
        raise CheckpointRefused(
            f"signed by key {key_id(named)}, not by the trusted key "
            f"{key_id(raw_public_key(trusted))}"
        )
    unsigned = {name: value for name, value in document.items() if name != "signature"}
    try:
        key.verify(signature, canonical(unsigned))
    except InvalidSignature:
        raise CheckpointRefused(
            "the signature does not match the document: it was altered after signing"
        ) from None
    if merkle_root(heads) != root:
        raise CheckpointRefused("the heads listed do not hash to the signed Merkle root")
    return Checkpoint(created_at, position, heads, root, named, signature, document)


def _public_key(raw: bytes) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise CheckpointRefused("the signer's public key is not an Ed25519 key") from None


# --------------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class AnchorBreak:
    """A checkpointed head the store no longer holds, and what it holds instead."""

    stream_id: str
    version: int  # the checkpointed version
    kind: str  # missing_stream | truncated | rewritten | log_truncated
    expected: str
    found: str

    def describe(self) -> str:
        what = {
            "missing_stream": "the stream is gone",
            "truncated": "events after the checkpointed head were removed",
            "rewritten": "the chain was rewritten",
            "log_truncated": "the newest events of the log are gone",
        }[self.kind]
        return (
            f"{self.kind.upper()} {self.stream_id} v{self.version}: {what} "
            f"(expected {self.expected}, found {self.found})"
        )


@dataclass(frozen=True)
class FoundHead:
    """What the store holds now for a checkpointed stream: its last version (0 when it has no
    events) and the chain hash at the checkpointed version (None when that version is gone)."""

    version: int
    hash_at_checkpoint: bytes | None


def compare(
    checkpoint: Checkpoint, found: Mapping[str, FoundHead], newest_position: int
) -> list[AnchorBreak]:
    """Every way the store departs from ``checkpoint``, in stream-id order.

    Streams the checkpoint does not name (created since) are not its business, and a stream
    that grew past its checkpointed head is fine as long as the head is still there.
    """
    breaks: list[AnchorBreak] = []
    for head in checkpoint.heads:
        now = found.get(head.stream_id, FoundHead(0, None))
        expected = f"version {head.version} hash {head.hash.hex()}"
        if now.version == 0:
            breaks.append(
                AnchorBreak(head.stream_id, head.version, "missing_stream", expected, "no events")
            )
        elif now.version < head.version:
            breaks.append(
                AnchorBreak(
                    head.stream_id,
                    head.version,
                    "truncated",
                    expected,
                    f"the stream ends at version {now.version}",
                )
            )
        elif now.hash_at_checkpoint != head.hash:
            shown = now.hash_at_checkpoint.hex() if now.hash_at_checkpoint else "no such version"
            breaks.append(
                AnchorBreak(head.stream_id, head.version, "rewritten", expected, f"hash {shown}")
            )
    if newest_position < checkpoint.global_position:
        breaks.append(
            AnchorBreak(
                "*",
                0,
                "log_truncated",
                f"an event at position {checkpoint.global_position}",
                f"the log ends at position {newest_position}",
            )
        )
    return breaks
