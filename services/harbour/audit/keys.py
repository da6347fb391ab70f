"""The checkpoint signing key on disk: PEM files, the private one readable by its owner only.

``harbour audit keygen --out KEYFILE`` writes ``KEYFILE`` (PKCS#8, mode 0600) and
``KEYFILE.pub`` (SubjectPublicKeyInfo). Keep the private key away from the database host
and its administrators: whoever holds it can sign a checkpoint of a rewritten history.
Publish the public key (or its ``key_id``) where an auditor can find it independently.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from harbour.audit.proofs import key_id, raw_public_key

PUBLIC_SUFFIX = ".pub"


class KeyFileError(ValueError):
    """A key file that is missing, unreadable or not an Ed25519 key."""


def public_path(private: Path) -> Path:
    return private.with_name(private.name + PUBLIC_SUFFIX)


def generate_key_files(private: Path) -> tuple[Path, str]:
    """A new key pair at ``private`` (0600) and ``private.pub``; returns the public key's
    path and its key id. Refuses to overwrite an existing private key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    private.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL with the mode at creation: the key is never readable by others, even briefly.
        descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{private} exists: refusing to replace a signing key") from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    public = public_path(private)
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return public, key_id(raw_public_key(key.public_key()))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as bad:
        raise KeyFileError(f"cannot read the signing key {path}: {bad}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key, or the public half of a PEM private key."""
    try:
        data = path.read_bytes()
    except OSError as bad:
        raise KeyFileError(f"cannot read the public key {path}: {bad}") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = load_pem_public_key(data)
    except ValueError as bad:
        raise KeyFileError(f"{path} is not a PEM public key: {bad}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key")
    return key
