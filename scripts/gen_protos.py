"""Generate Python code (+ .pyi stubs) for every .proto under protos/ into OUTDIR, and the
client package's copy of the same stubs.

    python scripts/gen_protos.py [OUTDIR]      (default: services, and clients/python/src)

`make protos` runs this; tests/unit/test_protos.py runs it into a temporary directory and
fails if the checked-in code differs. The output depends on the grpcio-tools version (it is
stamped into every file), so regenerate with the version the project pins.

Every proto lives under protos/harbour/api/ and generates <name>_pb2.py, <name>_pb2.pyi and
<name>_pb2_grpc.py next to its import path under OUTDIR (harbour.api.v1.common_pb2, ...).
Generated files under OUTDIR/harbour/api/ that no proto produces any more are deleted, so a
removed or renamed proto leaves nothing stale behind; hand-written files (__init__.py) stay.

The client package (clients/python, `harbour-ledger-client`) ships the same stubs as
``harbour_client.api.v1``, so that it installs beside the server's ``harbour`` package, or
without it. protoc names modules after the proto's path, so the client copy is the server's
output with its imports moved into ``harbour_client``: only the ``from harbour.api.v1 import``
lines and the module name handed to the message builder change. The serialized descriptors are
byte for byte the server's (same file names, same ``harbour.api.v1`` package), so both copies
load into one process and share message classes, and the wire is the same. With OUTDIR given,
the client copy goes to OUTDIR/harbour_client/api (tests/unit/test_client_package.py compares).
"""

from __future__ import annotations

import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

try:
    from grpc_tools import protoc
except ImportError:  # only codegen needs it: it is no runtime dependency of the services
    raise SystemExit(
        "grpcio-tools is not installed: pip install -e '.[codegen]' (or '.[dev]')"
    ) from None

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PACKAGE = Path("harbour") / "api"
CLIENT_PACKAGE = Path("harbour_client") / "api"
CLIENT_SOURCES = ROOT / "clients" / "python" / "src"
# The two places a generated module names its package: its imports of sibling modules
# (line-anchored, so the serialized descriptor's ".harbour.api.v1.Amount" is never touched)
# and the module name the builder gives the message classes.
SERVER_IMPORT = re.compile(r"^from harbour\.api\.v1 import ", re.MULTILINE)
SERVER_MODULE = re.compile(r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')harbour\.api\.v1\.")
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def sources() -> list[Path]:
    """Every .proto, relative to protos/, in a fixed order."""
    found = sorted(path.relative_to(PROTOS) for path in PROTOS.rglob("*.proto"))
    misplaced = [str(path) for path in found if not path.is_relative_to(PACKAGE)]
    if misplaced:
        raise SystemExit(f"protos must live under protos/{PACKAGE}/: {', '.join(misplaced)}")
    if not found:
        raise SystemExit(f"no .proto files under {PROTOS}")
    return found


def expected_outputs(protos: list[Path]) -> set[Path]:
    """The files protoc writes for these protos, relative to OUTDIR."""
    return {proto.with_name(proto.stem + suffix) for proto in protos for suffix in SUFFIXES}


def generate(outdir: Path) -> list[Path]:
    """The server's stubs under outdir/harbour/api."""
    protos = sources()
    _protoc(protos, outdir)
    _remove_stale(outdir, PACKAGE, expected_outputs(protos))
    return protos


def generate_client(outdir: Path) -> list[Path]:
    """The client package's stubs under outdir/harbour_client/api (see the module docstring)."""
    protos = sources()
    with tempfile.TemporaryDirectory(prefix="harbour-client-protos-") as scratch:
        _protoc(protos, Path(scratch))
        for generated in sorted(expected_outputs(protos)):
            text = (Path(scratch) / generated).read_text(encoding="utf-8")
            target = outdir / CLIENT_PACKAGE / generated.relative_to(PACKAGE)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(client_copy(text), encoding="utf-8")
    keep = {CLIENT_PACKAGE / p.relative_to(PACKAGE) for p in expected_outputs(protos)}
    _remove_stale(outdir, CLIENT_PACKAGE, keep)
    return protos


def client_copy(generated: str) -> str:
    """A generated module of the server's package, importing from ``harbour_client``."""
    moved = SERVER_IMPORT.sub("from harbour_client.api.v1 import ", generated)
    return SERVER_MODULE.sub(r"\1harbour_client.api.v1.", moved)


def _protoc(protos: list[Path], outdir: Path) -> None:
    well_known = resources.files("grpc_tools") / "_proto"
    outdir.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={outdir}",
        f"--pyi_out={outdir}",
        f"--grpc_python_out={outdir}",
        *(str(proto) for proto in protos),
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")


def _remove_stale(outdir: Path, package: Path, keep: set[Path]) -> None:
    for path in sorted((outdir / package).rglob("*")):
        if path.name.endswith(SUFFIXES) and path.relative_to(outdir) not in keep:
            path.unlink()
            print(f"removed stale {path}", file=sys.stderr)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "services"
    client_target = Path(sys.argv[1]) if len(sys.argv) > 1 else CLIENT_SOURCES
    generated = generate(target)
    generate_client(client_target)
    print(f"generated {len(generated)} proto files into {target} and {client_target}")
