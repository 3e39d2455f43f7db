"""A pairing code as a QR code: the kiosk URL with the code, drawn as inline SVG.

Inline SVG because our CSP allows no inline styles or scripts, and segno's SVG uses neither
(only presentation attributes); and inline rather than a separate image URL, because the
code would then travel in a request line and end up in access logs.
"""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from markupsafe import Markup


def kiosk_pairing_url(base_url: str, code: str) -> str:
    """What the QR encodes: opening it on the tablet pairs it (tablet_client kiosk.js)."""
    return f"{base_url.rstrip('/')}/tablet?{urlencode({'pair': code})}"


def qr_svg(text: str, title: str) -> Markup:
    """Safe to place in a template as it is: segno escapes the title."""
    code = segno.make(text, error="m", micro=False)
    # segno writes the whole element; only the title is ours, and segno escapes it.
    return Markup(
        code.svg_inline(
            scale=6, border=4, dark="#0d2236", light="#ffffff", title=title, omitsize=True
        )
    )
