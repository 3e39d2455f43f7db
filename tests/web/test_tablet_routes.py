"""The kiosk's HTTP side: the page shell, pairing input checks and the rate limit."""

from __future__ import annotations

import aiohttp

from tests.conftest import RunningServer
from web.setup import PAIR_ATTEMPTS_PER_MINUTE


async def test_the_kiosk_page_is_a_shell_without_data(server: RunningServer) -> None:
    await server.add_client("Aino")
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{server.url}/tablet")
        assert response.status == 200
        html = await response.text()
        assert "Aino" not in html
        assert "/static/tablet/kiosk.js" in html
        assert "<script>" not in html  # the CSP allows no inline script


async def test_pairing_input_is_checked(server: RunningServer) -> None:
    url = f"{server.url}/api/tablet/pair"
    async with aiohttp.ClientSession() as http:
        cases: list[tuple[dict[str, object], int, str]] = [
            ({"data": "code=K7PM3QXR"}, 415, "unsupported_media_type"),
            (
                {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
                400,
                "bad_message",
            ),
            ({"json": ["K7PM-3QXR"]}, 400, "bad_message"),
            ({"json": {"code": 12345678}}, 400, "bad_message"),
            ({"json": {"code": ""}}, 400, "bad_message"),
            ({"json": {"code": "K" * 33}}, 400, "bad_message"),
            ({"json": {"code": "K7PM-3QXR", "label": "x" * 81}}, 400, "bad_message"),
            ({"json": {"code": "K7PM-3QXR"}}, 400, "pairing_failed"),
        ]
        for kwargs, status, code in cases:
            response = await http.post(url, **kwargs)  # type: ignore[arg-type]
            assert response.status == status, kwargs
            body = await response.json()
            assert body["error"] == code, kwargs
            assert body["message"], kwargs


async def test_pairing_attempts_are_rate_limited(server: RunningServer) -> None:
    """Pairing codes are short; guessing them must be slow."""
    url = f"{server.url}/api/tablet/pair"
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(PAIR_ATTEMPTS_PER_MINUTE + 1):
            response = await http.post(url, json={"code": "AAAA-AAAA"})
            statuses.append(response.status)
        assert statuses[:-1] == [400] * PAIR_ATTEMPTS_PER_MINUTE
        assert statuses[-1] == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert (await response.json())["error"] == "rate_limited"


async def test_tablet_me_needs_a_tablet(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        response = await http.get(f"{server.url}/api/tablet/me")
        assert response.status == 401
        malformed = await http.get(
            f"{server.url}/api/tablet/me", headers={"Authorization": "Basic YTpi"}
        )
        assert malformed.status == 401
