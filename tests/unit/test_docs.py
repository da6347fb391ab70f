"""The project documents itself: README.md leads to docs/, and every relative link in README.md
and docs/*.md reaches a file of this repository (and, with #anchor, a heading in it); no file
points to a design document the repository does not hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REQUIRED = ("architecture.md", "event-store.md", "domain.md", "runbook.md", "liquidation.md")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:")
# A design document that lived outside the repository: docs/ holds its content now.
GONE_DOCUMENT = "DESIGN" + ".md"  # spelled apart, so this file does not name it
# Where a reference could hide: the protos, the code, the docs, the client, the tests...
SEARCHED = ("protos", "services", "clients", "docs", "migrations", "scripts", "tests", "examples")
SEARCHED_FILES = ("README.md", "Makefile", "pyproject.toml", "alembic.ini")
SKIPPED = {".venv", "node_modules", "__pycache__", "build", "dist", ".git"}


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def links(document: Path) -> list[str]:
    """The link targets of a Markdown file, outside fenced code blocks."""
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    return [match.group(1) for match in LINK.finditer(text)]


def anchors(document: Path) -> set[str]:
    """GitHub's anchor for each heading: lower case, punctuation dropped, spaces to hyphens,
    a repeated one suffixed -1, -2, ..."""
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def test_the_documentation_is_in_the_repository() -> None:
    for name in REQUIRED:
        page = DOCS / name
        assert page.is_file(), f"docs/{name} is missing"
        assert len(page.read_text(encoding="utf-8").split()) > 300, f"docs/{name} is a stub"


def test_the_readme_leads_to_docs_and_nowhere_outside_the_repository() -> None:
    readme_links = links(ROOT / "README.md")
    targets = {target.split("#", 1)[0].rstrip("/") for target in readme_links}
    for name in ("architecture.md", "event-store.md", "domain.md", "runbook.md"):
        assert f"docs/{name}" in targets, f"README.md does not link docs/{name}"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in text, "README.md points outside the repository"


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of ``document`` that leaves ``root``, names no file, or names a
    heading its Markdown target does not have."""
    broken = []
    for target in links(document):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        destination = (document.parent / path_part).resolve() if path_part else document
        if not destination.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.name}")
    return broken


@pytest.mark.parametrize("document", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_to_a_file_in_the_repository(document: Path) -> None:
    broken = broken_links(document)
    assert not broken, f"{document.relative_to(ROOT)}:\n  " + "\n  ".join(broken)


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "other.md").write_text("# Other page\n\n## Other page\n")
    page = repo / "docs" / "page.md"
    page.write_text(
        "# Title `x`\n\n[ok](other.md#other-page-1) [self](#title-x) [gone](missing.md)\n"
        "[bad](other.md#nope) [out](../../elsewhere.md) [web](https://example.com/x.md)\n"
        "```\n[in code](ignored.md)\n```\n"
    )
    assert broken_links(page, repo) == [
        "missing.md: no such file",
        "other.md#nope: no heading #nope in other.md",
        "../../elsewhere.md: outside the repository",
    ]


def references_to_gone_document(root: Path = ROOT) -> list[str]:
    """``path:line`` of every line of a text file under ``root`` that names GONE_DOCUMENT."""
    files = [root / name for name in SEARCHED_FILES]
    for folder in SEARCHED:
        files += [
            path
            for path in (root / folder).rglob("*")
            if path.is_file()
            and not SKIPPED.intersection(path.relative_to(root).parts)
            and not path.parent.name.endswith(".egg-info")
        ]
    found = []
    for path in sorted(files):
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):  # absent, or not text
            continue
        found += [
            f"{path.relative_to(root).as_posix()}:{number}"
            for number, line in enumerate(text.splitlines(), 1)
            if GONE_DOCUMENT.lower() in line.lower()
        ]
    return found


def test_nothing_refers_to_a_design_document_outside_the_repository() -> None:
    found = references_to_gone_document()
    assert not found, f"{GONE_DOCUMENT} is not in the repository; point to docs/ instead:\n  " + (
        "\n  ".join(found)
    )


def test_the_design_document_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "protos").mkdir()
    (tmp_path / "protos" / "a.proto").write_text(f"// as {GONE_DOCUMENT} says\nsyntax;\n")
    (tmp_path / "services" / "pkg").mkdir(parents=True)
    (tmp_path / "services" / "pkg" / "b.py").write_text(f"x = 1\n# see {GONE_DOCUMENT.lower()}\n")
    (tmp_path / "services" / "pkg" / "c.bin").write_bytes(b"\xff\xfe" + GONE_DOCUMENT.encode())
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "d.py").write_text(GONE_DOCUMENT)
    (tmp_path / "README.md").write_text("docs/domain.md\n")
    assert references_to_gone_document(tmp_path) == ["protos/a.proto:1", "services/pkg/b.py:2"]
