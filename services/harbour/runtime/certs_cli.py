"""``harbour certs dev --out DIR [--name DNS]... [--if-missing]``: a development PKI for mTLS.

Writes a CA, a server certificate (localhost, 127.0.0.1, ::1 and each --name) and a client
certificate per role plus an all-roles ``admin`` pair (harbour.runtime.certs), then prints the
variables that turn mTLS on. ``--if-missing`` keeps a directory that already holds a CA (so a
compose stack makes its certificates once and keeps them across restarts). An --out that is a
file, or a directory it cannot write, is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from harbour.runtime.settings import Settings


def add_arguments(certs: argparse.ArgumentParser) -> None:
    certs.add_argument("action", choices=("dev",))
    certs.add_argument("--out", required=True, help="the directory to write them to")
    certs.add_argument(
        "--name",
        action="append",
        default=[],
        help="another DNS name the server certificate is for (repeatable)",
    )
    certs.add_argument(
        "--if-missing", action="store_true", help="keep a directory that already holds a CA"
    )


def run(_: Settings, args: argparse.Namespace) -> int:
    from harbour.runtime.certs import make_development_pki

    out = Path(args.out)
    if args.if_missing and (out / "ca.pem").exists():
        print(f"{out} already holds a development CA: kept")
        return 0
    if out.exists() and not out.is_dir():
        print(f"harbour: --out {out} is a file: certs dev writes a directory", file=sys.stderr)
        return 2
    try:
        pki = make_development_pki(out, now=datetime.now(UTC), server_names=args.name)
    except OSError as failed:  # not writable, or under a file: one line, not a traceback
        print(
            f"harbour: cannot write the certificates to {out}: {failed.strerror}", file=sys.stderr
        )
        return 2
    print(f"development CA and certificates in {out} (keys mode 0600; development only)")
    print(f"  clients: {', '.join(pki.clients)} (CN = name, OU = each role)")
    print("serve with mTLS:")
    print(f"  HARBOUR_TLS_CERT={pki.server_cert} HARBOUR_TLS_KEY={pki.server_key}")
    print(f"  HARBOUR_TLS_CLIENT_CA={pki.ca}")
    print(f"call as a role: trust {pki.ca}, present {pki.client_cert('admin')} and its .key")
    return 0
