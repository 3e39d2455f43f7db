"""Fixtures for tests/web: a Chromium browser for the tests marked `browser`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from tests.web.browser import chromium, require_browser_environment


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_browser_environment()
    async with chromium() as launched:
        yield launched
