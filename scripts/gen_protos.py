"""Generate Python code (+ .pyi stubs) for every .proto under protos/ into OUTDIR.

    python scripts/gen_protos.py [OUTDIR]      (default: services)

`make protos` runs this; tests/unit/test_protos.py runs it into a temporary directory and
fails if the checked-in code differs. The output depends on the grpcio-tools version (it is
stamped into every file), so regenerate with the version the project pins.

Every proto lives under protos/harbour/api/ and generates <name>_pb2.py, <name>_pb2.pyi and
<name>_pb2_grpc.py next to its import path under OUTDIR (harbour.api.v1.common_pb2, ...).
Generated files under OUTDIR/harbour/api/ that no proto produces any more are deleted, so a
removed or renamed proto leaves nothing stale behind; hand-written files (__init__.py) stay.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PACKAGE = Path("harbour") / "api"
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
    protos = sources()
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
    keep = expected_outputs(protos)
    package_dir = outdir / PACKAGE
    for path in sorted(package_dir.rglob("*")):
        if path.name.endswith(SUFFIXES) and path.relative_to(outdir) not in keep:
            path.unlink()
            print(f"removed stale {path}", file=sys.stderr)
    return protos


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "services"
    generated = generate(target)
    print(f"generated {len(generated)} proto files into {target}")
