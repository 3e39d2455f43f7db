"""The house rules of docs/architecture.md: which package may import which library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level modules it must never import
FORBIDDEN = {
    "care_sessions": {
        "aiohttp",
        "aiortc",
        "aioice",
        "av",
        "cv2",
        "sqlalchemy",
        "redis",
        "msgspec",
        "signaling",
        "media",
        "web",
        "hoiva",
        "tablet_client",
    },
    "signaling": {"aiortc", "aioice", "av", "cv2", "sqlalchemy", "web"},
    "media": {"aiohttp", "sqlalchemy", "redis", "signaling", "web", "hoiva", "care_sessions"},
    "web": {"aiortc", "aioice", "av", "cv2", "sqlalchemy", "media"},
    "tablet_client": {"aiortc", "aioice", "av", "cv2", "sqlalchemy", "web", "hoiva"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_to_its_imports(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offences, "\n".join(offences)
