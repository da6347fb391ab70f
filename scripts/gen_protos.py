"""Generate Python code (+ .pyi stubs) for every .proto under protos/ into OUTDIR.

    python scripts/gen_protos.py [OUTDIR]      (default: services)

`make protos` runs this; tests/unit/test_protos.py runs it into a temporary directory and
fails if the checked-in code differs.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"


def generate(outdir: Path) -> list[Path]:
    sources = sorted(PROTOS.rglob("*.proto"))
    well_known = resources.files("grpc_tools") / "_proto"
    outdir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={outdir}",
        f"--pyi_out={outdir}",
        f"--grpc_python_out={outdir}",
        *(str(path.relative_to(PROTOS)) for path in sources),
    ]
    # protoc resolves relative source names against the -I paths, so run from protos/.
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    return sources


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "services"
    generated = generate(target)
    print(f"generated {len(generated)} proto files into {target}")
