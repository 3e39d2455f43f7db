"""Driving Debian's Chromium through Playwright, inside the loopback-only test namespace."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    # What a kiosk deployment sets too: an auto-answered call must play sound untouched.
    "--autoplay-policy=no-user-gesture-required",
]
# Set to a directory (e.g. docs/screenshots) to keep screenshots of every page state.
SCREENSHOT_DIR = os.environ.get("HOIVA_SCREENSHOT_DIR")
DASHBOARD_VIEWPORT = ViewportSize(width=1440, height=900)
KIOSK_LANDSCAPE = ViewportSize(width=1280, height=800)
KIOSK_PORTRAIT = ViewportSize(width=800, height=1280)


def require_browser_environment() -> None:
    """Skip unless Chromium exists and only loopback is reachable (WEBRTC-NOTES.md)."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    others = [name for _, name in socket.if_nameindex() if name != "lo"]
    if others:
        # Chromium would pair its network address too and send media off the machine.
        pytest.skip(f"needs a loopback-only network namespace, found {', '.join(others)}")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> None:
    # Playwright creates missing directories itself.
    if SCREENSHOT_DIR:
        await page.screenshot(path=os.path.join(SCREENSHOT_DIR, f"{name}.png"))


async def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()


async def wait_for_decoded_frames(page: Page, app: str, frames: int, timeout_ms: int) -> None:
    """Wait until the page's RTCPeerConnection.getStats() shows `frames` decoded video frames."""
    await page.wait_for_function(
        f"""async (wanted) => {{
            const stats = await window.{app}.videoStats();
            return stats !== null && stats.framesDecoded >= wanted;
        }}""",
        arg=frames,
        polling=100,
        timeout=timeout_ms,
    )


async def video_stats(page: Page, app: str) -> dict[str, int]:
    stats: dict[str, int] = await page.evaluate(f"() => window.{app}.videoStats()")
    return stats
