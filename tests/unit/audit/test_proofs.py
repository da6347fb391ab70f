"""Signed checkpoints of stream heads: the Merkle tree, the signature, the comparison."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harbour.audit.proofs import (
    Checkpoint,
    CheckpointRefused,
    FoundHead,
    StreamHead,
    canonical,
    compare,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    open_checkpoint,
    root_from_proof,
    sign_checkpoint,
)

AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def head(n: int, version: int = 3) -> StreamHead:
    return StreamHead(f"account-C{n:03d}", version, hashlib.sha256(f"{n}".encode()).digest())


def signed(heads: list[StreamHead], key: Ed25519PrivateKey) -> dict[str, object]:
    return sign_checkpoint(heads, global_position=99, created_at=AT, key=key)


def test_the_leaf_encoding_is_the_documented_one() -> None:
    one = head(1, version=258)
    expected = hashlib.sha256(
        b"\x00" + b"account-C001" + b"\x00" + (258).to_bytes(8, "big") + one.hash
    ).digest()
    assert leaf_hash(one) == expected


def test_the_root_is_rfc6962_over_heads_in_stream_order() -> None:
    a, b, c = head(1), head(2), head(3)
    node = lambda left, right: hashlib.sha256(b"\x01" + left + right).digest()  # noqa: E731
    assert merkle_root([]) == hashlib.sha256(b"").digest()
    assert merkle_root([a]) == leaf_hash(a)
    # Three leaves split at two: (a b) c. The order given does not matter.
    assert merkle_root([c, a, b]) == node(node(leaf_hash(a), leaf_hash(b)), leaf_hash(c))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_an_inclusion_proof_leads_to_the_root(size: int) -> None:
    heads = [head(n) for n in range(size)]
    root = merkle_root(heads)
    for index, one in enumerate(heads):
        proof = inclusion_proof(heads, one.stream_id)
        assert root_from_proof(one, index, size, proof) == root
        forged = StreamHead(one.stream_id, one.version + 1, one.hash)
        assert root_from_proof(forged, index, size, proof) != root


def test_a_signed_checkpoint_opens_with_the_signers_key() -> None:
    key = Ed25519PrivateKey.generate()
    document = signed([head(2), head(1)], key)
    checkpoint = open_checkpoint(json.dumps(document), key.public_key())
    assert [h.stream_id for h in checkpoint.heads] == ["account-C001", "account-C002"]
    assert checkpoint.global_position == 99 and checkpoint.events == 6
    # Whitespace and key order are not part of what is signed.
    assert open_checkpoint(json.dumps(document, indent=2), key.public_key()).heads


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["heads"][0].__setitem__(1, 2),  # a head lowered to hide a truncation
        lambda d: d.__setitem__("global_position", 98),
        lambda d: d.__setitem__("signature", "00" * 64),
        lambda d: d["heads"].pop(),  # a stream dropped from the list
    ],
)
def test_an_altered_checkpoint_is_refused(tamper: object) -> None:
    key = Ed25519PrivateKey.generate()
    document = signed([head(1), head(2)], key)
    tamper(document)  # type: ignore[operator]
    with pytest.raises(CheckpointRefused):
        open_checkpoint(json.dumps(document), key.public_key())


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    document = signed([head(1)], theirs)  # e.g. re-signed after rewriting history
    with pytest.raises(CheckpointRefused, match="not by the trusted key"):
        open_checkpoint(json.dumps(document), ours.public_key())
    # Without a trusted key it opens: it proves only that it was not altered since.
    assert open_checkpoint(json.dumps(document), None).heads


def test_a_root_that_does_not_match_the_heads_is_refused_even_if_signed() -> None:
    key = Ed25519PrivateKey.generate()
    document = signed([head(1), head(2)], key)
    document["merkle_root"] = "00" * 32
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    document["signature"] = key.sign(canonical(unsigned)).hex()
    with pytest.raises(CheckpointRefused, match="Merkle root"):
        open_checkpoint(json.dumps(document), key.public_key())


@pytest.mark.parametrize(
    "text", ["", "[]", '{"format": "other"}', '{"format": "harbour.audit.checkpoint.v1"}']
)
def test_malformed_documents_are_refused(text: str) -> None:
    with pytest.raises(CheckpointRefused):
        open_checkpoint(text, None)


def test_compare_names_every_departure_and_tolerates_growth() -> None:
    key = Ed25519PrivateKey.generate()
    heads = [head(1), head(2), head(3), head(4)]
    checkpoint: Checkpoint = open_checkpoint(json.dumps(signed(heads, key)), None)
    found = {
        "account-C001": FoundHead(5, heads[0].hash),  # grew since: fine
        "account-C002": FoundHead(2, None),  # its last event deleted
        "account-C003": FoundHead(3, b"\x01" * 32),  # rewritten and re-hashed
        # account-C004 is gone
    }
    breaks = compare(checkpoint, found, newest_position=120)
    assert [(b.stream_id, b.kind) for b in breaks] == [
        ("account-C002", "truncated"),
        ("account-C003", "rewritten"),
        ("account-C004", "missing_stream"),
    ]
    assert "version 3" in breaks[0].expected and "version 2" in breaks[0].found
    assert heads[2].hash.hex() in breaks[1].expected and ("01" * 32) in breaks[1].found
    assert compare(checkpoint, {h.stream_id: FoundHead(3, h.hash) for h in heads}, 99) == []
    assert [b.kind for b in compare(checkpoint, {}, 50)][-1] == "log_truncated"
