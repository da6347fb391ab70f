"""``harbour token``: the signing key pair and signed short-lived bearer tokens.

harbour token keygen --out DIR
    an Ed25519 key pair: DIR/token-signing.key (PKCS#8 PEM, mode 0600: the issuer's) and
    DIR/token-signing.key.pub (the services' HARBOUR_TOKEN_PUBLIC_KEY)
harbour token issue --key PRIVATE.pem --sub NAME --roles a+b --audience AUD [--ttl 15m]
    prints one token (harbour.runtime.tokens), to send as ``authorization: Bearer <token>``
(Heavy imports wait for the command that needs them: the CLI starts fast.)
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from harbour.runtime.settings import Settings

KEY_FILE = "token-signing.key"
DEFAULT_TTL = "15m"


def add_arguments(token: argparse.ArgumentParser) -> None:
    token.add_argument("action", choices=("issue", "keygen"))
    token.add_argument("--out", help="keygen: the directory for the key pair")
    token.add_argument("--key", help="issue: the Ed25519 private key (PEM)")
    token.add_argument("--sub", help="issue: who the caller is (the actor of its events)")
    token.add_argument("--roles", help="issue: its roles, e.g. risk+operator")
    token.add_argument("--audience", help="issue: the deployment's HARBOUR_TOKEN_AUDIENCE")
    token.add_argument("--ttl", default=DEFAULT_TTL, help="issue: lifetime, e.g. 15m (max 24h)")


def run(_: Settings, args: argparse.Namespace) -> int:
    if args.action == "keygen":
        return keygen(args.out)
    return issue(args)


def keygen(out: str | None) -> int:
    from harbour.audit.keys import KeyFileError, generate_key_files

    if not out:
        print("harbour: token keygen needs --out DIR", file=sys.stderr)
        return 2
    private = Path(out) / KEY_FILE
    try:
        public, _ = generate_key_files(private)
    except KeyFileError as refused:
        print(f"harbour: {refused}", file=sys.stderr)
        return 2
    print(f"private key {private} (mode 0600): only the token issuer holds it")
    print(f"public key  {public}: every service's HARBOUR_TOKEN_PUBLIC_KEY")
    return 0


def issue(args: argparse.Namespace) -> int:
    from harbour.audit.keys import KeyFileError, load_private_key
    from harbour.runtime.tokens import TokenSetupError, issue_token, parse_ttl

    missing = [f"--{n}" for n in ("key", "sub", "roles", "audience") if not getattr(args, n)]
    if missing:
        print(f"harbour: token issue needs {' '.join(missing)}", file=sys.stderr)
        return 2
    try:
        token = issue_token(
            load_private_key(Path(args.key)),
            subject=args.sub,
            roles=[r for r in args.roles.split("+") if r],
            audience=args.audience,
            ttl=parse_ttl(args.ttl),
            now=datetime.now(UTC),
        )
    except (KeyFileError, TokenSetupError) as refused:
        print(f"harbour: {refused}", file=sys.stderr)
        return 2
    print(token)
    return 0
