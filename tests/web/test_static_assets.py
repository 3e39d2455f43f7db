"""The pages' static side: CSP-safe templates, nothing from a CDN, JS that parses, and
kiosk texts that exist in all three languages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    [*ROOT.glob("web/templates/*.html"), *ROOT.glob("tablet_client/templates/*.html")]
)
SCRIPTS = sorted([*ROOT.glob("web/static/js/*.js"), *ROOT.glob("tablet_client/static/*.js")])
STYLES = sorted([*ROOT.glob("web/static/css/*.css"), *ROOT.glob("tablet_client/static/*.css")])
NODE = shutil.which("node")


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_have_no_inline_code(template: Path) -> None:
    """Our CSP forbids inline scripts, styles and event handlers; they would silently fail."""
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"


@pytest.mark.parametrize("path", [*TEMPLATES, *SCRIPTS, *STYLES], ids=lambda p: p.name)
def test_nothing_is_loaded_from_elsewhere(path: Path) -> None:
    """Everything is served locally: a kiosk must work without the internet."""
    text = path.read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)
    assert not re.search(r"""(?:import|from)\s*["'](?:https?:)?//""", text)
    assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", text)


@pytest.mark.skipif(NODE is None, reason="needs node")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_as_modules(script: Path) -> None:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--input-type=module", "--check"],
        input=script.read_text(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _node_eval(source: str) -> object:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", source],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# The kiosk's texts are checked with every other message in test_i18n_catalogues.py.


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_reconnect_backoff_doubles_to_thirty_seconds_with_jitter() -> None:
    signal = (ROOT / "web/static/js/hoiva-signal.js").as_uri()
    delays = _node_eval(
        f"""import {{ backoffDelay }} from "{signal}";
        const low = [], high = [];
        for (let attempt = 0; attempt < 8; attempt++) {{
          low.push(backoffDelay(attempt, () => 0));
          high.push(backoffDelay(attempt, () => 0.999999));
        }}
        console.log(JSON.stringify({{ low, high }}));"""
    )
    assert isinstance(delays, dict)
    assert delays["low"] == [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]
    assert [round(d) for d in delays["high"]] == [
        1000,
        2000,
        4000,
        8000,
        16000,
        30000,
        30000,
        30000,
    ]
