"""The house rules of docs/architecture.md: the import contracts in .importlinter hold.

import-linter checks every arrow (our packages and the libraries each may use); a broken
contract fails here with the import chain that broke it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout, result.stdout[-4000:]


def test_every_package_of_ours_is_under_contract() -> None:
    """A new top-level package must get its arrows in .importlinter, or nothing checks it."""
    config = (ROOT / ".importlinter").read_text()
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"}
    }
    roots = config.split("[importlinter:contract")[0]
    unlisted = {p for p in packages if f"\n    {p}\n" not in roots}
    assert not unlisted, f"packages missing from .importlinter's root_packages: {sorted(unlisted)}"
