"""/metrics: Prometheus text that prometheus-client's own parser reads, for allowed scrapers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunningServer, make_config, serving

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
async def metrics_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serving(make_config(tmp_path, **{"insight.metrics_token": TOKEN})) as running:
        yield running


async def scrape(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.text()


def samples(text: str) -> dict[str, float]:
    """name{labels} -> value, through prometheus-client's parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


async def test_metrics_parse_and_count_what_is_live(metrics_server: RunningServer) -> None:
    status, text = await scrape(f"{metrics_server.url}/metrics")
    assert status == 200
    values = samples(text)
    for name in (
        "hoiva_calls_active",
        "hoiva_media_rooms_active",
        "hoiva_media_participants",
        "hoiva_signaling_connections",
        "hoiva_forwarded_bitrate_bps",
        "hoiva_recordings_active",
    ):
        assert values[name] == 0.0, name
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families["hoiva_call_packet_loss_percent"] == "histogram"
    assert families["hoiva_call_rtt_seconds"] == "histogram"
    assert families["hoiva_call_video_fps"] == "histogram"


async def test_metrics_are_for_this_host_or_the_token(metrics_server: RunningServer) -> None:
    """Through a proxy (even one on this host) a scraper needs the token; anonymous pages
    are not enough."""
    url = f"{metrics_server.url}/metrics"
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert (await scrape(url, proxied))[0] == 403
    assert (await scrape(url, {**proxied, "X-Metrics-Token": "wrong"}))[0] == 403
    status, text = await scrape(url, {**proxied, "X-Metrics-Token": TOKEN})
    assert status == 200 and "hoiva_calls_active" in text
