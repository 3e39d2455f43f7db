"""Prometheus metrics of one instance: counts and network figures, never any client data.

One registry per process (built by hoiva.app, served by web/routes_metrics.py). Live counts are
read when scraped; quality histograms are fed by care_services.insight every sample. Labels carry
only bounded, non-personal values (participant "staff"/"client", a hint name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _LiveCounts(Collector):
    def __init__(self, readers: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self._readers = readers

    def collect(self) -> Iterable[Metric]:
        for name, (documentation, read) in self._readers.items():
            yield GaugeMetricFamily(name, documentation, value=read())


class ServiceMetrics:
    """The registry and the instruments care_services.insight feeds."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._readers: dict[str, tuple[str, Callable[[], float]]] = {}
        self.registry.register(_LiveCounts(self._readers))
        self.forwarded_bitrate = Gauge(
            "hoiva_forwarded_bitrate_bps",
            "Bits per second the media server sent to subscribers, all rooms, last sample",
            registry=self.registry,
        )
        self.analysed_calls = Gauge(
            "hoiva_analysed_calls", "Calls whose camera is being analysed", registry=self.registry
        )
        self.recordings_active = Gauge(
            "hoiva_recordings_active", "Calls being recorded now", registry=self.registry
        )
        self.loss = Histogram(
            "hoiva_call_packet_loss_percent",
            "Packet loss per participant per sample (worse of up and down)",
            ["participant"],
            buckets=(0.5, 1, 2, 5, 8, 15, 30, 100),
            registry=self.registry,
        )
        self.rtt = Histogram(
            "hoiva_call_rtt_seconds",
            "Round-trip time server <-> participant per sample",
            ["participant"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0),
            registry=self.registry,
        )
        self.jitter = Histogram(
            "hoiva_call_jitter_seconds",
            "Interarrival jitter of the participant's video per sample",
            ["participant"],
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
            registry=self.registry,
        )
        self.fps = Histogram(
            "hoiva_call_video_fps",
            "Frames per second the server received from the participant per sample",
            ["participant"],
            buckets=(1, 5, 10, 15, 20, 25, 30),
            registry=self.registry,
        )
        self.freezes = Counter(
            "hoiva_call_video_freezes",
            "Gaps of more than 600 ms between a participant's video frames",
            ["participant"],
            registry=self.registry,
        )
        self.hints = Counter(
            "hoiva_camera_hints",
            "Camera hints raised to nurses",
            ["hint"],
            registry=self.registry,
        )

    def live(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge read at scrape time (calls, rooms, participants, sockets)."""
        self._readers[name] = (documentation, read)
