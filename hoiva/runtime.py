"""The care services and the transport of one instance, wired by constructor: built once,
closed once. The one late step is presence, which reads the calls and rooms built after the hub."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from care_services.call_moves import CallMoves
from care_services.call_sweep import CallSweep, OpenCallRows, SweepSettings
from care_services.calls import CallService, FamilyCallPolicy
from care_services.checkins import CheckinService
from care_services.echo import EchoService
from care_services.fleet import FleetService
from care_services.help_desk import HelpDesk
from care_services.insight import InsightService
from care_services.metrics import ServiceMetrics
from care_services.presence import CallPresence
from care_services.room_upkeep import RoomUpkeep
from care_services.rooms import RoomService
from care_sessions.access_log import AccessLog
from care_sessions.auth import AuthService
from care_sessions.checkin_ports import CareRecordStore
from care_sessions.clock import Clock
from care_sessions.consent import ConsentLedger
from care_sessions.fleet_ports import FleetStore
from care_sessions.meal_rooms import RoomStore
from care_sessions.media_records import MediaRecordStore
from care_sessions.ports import CareStore
from care_sessions.presence import Presence
from care_sessions.records import EndReason
from hoiva.config import Config
from hoiva.service_settings import (
    analysis_settings,
    call_settings,
    checkin_settings,
    echo_settings,
    fleet_settings,
    insight_settings,
)
from media.call_insight import CallInsight
from media.server import MediaServer
from protocol.messages import IceServerOut
from signaling.bus import Bus, BusUnavailable
from signaling.bus_local import LocalBus
from signaling.cluster import ClusterLink
from signaling.connection import CloseCode
from signaling.hub import SignalingHub
from signaling.turn import turn_credential
from signaling.ws import SignalingEndpoint
from web import state as web_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InsightParts:
    """What media insight needs beyond signaling: its store, the consents and the metrics."""

    store: MediaRecordStore
    consents: ConsentLedger
    metrics: ServiceMetrics


class SignalingRuntime:
    """The bus, the hub, the care services and the WebSocket endpoint of one instance."""

    def __init__(
        self,
        *,
        config: Config,
        store: CareStore,
        clock: Clock,
        auth: AuthService,
        media: MediaServer,
        care_records: CareRecordStore | None = None,
        room_store: RoomStore | None = None,
        bus: Bus | None = None,
        open_calls: OpenCallRows | None = None,
        family: FamilyCallPolicy | None = None,
        access_log: AccessLog | None = None,
        insight: InsightParts | None = None,
        fleet_store: FleetStore | None = None,
    ) -> None:
        # The bus is the only part that differs between one process and many (scale-out).
        self.bus: Bus = bus or bus_from_config(config)
        self.presence = CallPresence()
        self.hub = SignalingHub(store, clock, self.bus, self.presence)
        self.calls = CallService(
            store=store,
            clock=clock,
            hub=self.hub,
            bus=self.bus,
            media=media,
            settings=call_settings(config),
            family=family,
        )
        self.moves = CallMoves(calls=self.calls, hub=self.hub, bus=self.bus, store=store)
        self.cluster = ClusterLink(hub=self.hub, calls=self.calls, moves=self.moves)
        self.cluster.handle("device.revoke", self._revoke_request)
        ttl_s = config.bus.instance_ttl_s
        # Without a store to read (tools that build signaling alone) nothing is swept.
        self.sweep = (
            CallSweep(
                rows=open_calls,
                calls=self.calls,
                hub=self.hub,
                bus=self.bus,
                clock=clock,
                settings=SweepSettings(every_s=max(ttl_s, 1.0), grace_s=2 * ttl_s),
            )
            if open_calls is not None
            else None
        )
        self.help_desk = HelpDesk(store, clock, self.hub, self.calls)
        # Check-ins need the care-records store; without one (tools that build signaling
        # alone) the care messages answer invalid_state.
        self.checkins = (
            CheckinService(
                store=care_records,
                care=store,
                clock=clock,
                hub=self.hub,
                settings=checkin_settings(config),
                access_log=access_log,
            )
            if care_records is not None
            else None
        )
        # Meal and exercise rooms need their store; tools that build signaling alone run
        # without them and the room messages answer invalid_state.
        self.rooms = (
            RoomService(
                rooms=room_store,
                store=store,
                clock=clock,
                hub=self.hub,
                media=media,
                calls=self.calls,
                drop_grace_s=config.calls.drop_grace_s,
            )
            if room_store is not None
            else None
        )
        self.presence.read_from(self.calls, self.rooms)
        self.room_upkeep = RoomUpkeep(self.rooms) if self.rooms is not None else None
        self._config = config
        self._clock = clock
        self.echo = EchoService(media=media, hub=self.hub, settings=echo_settings(config))
        # Media insight (quality, hints, recordings, /metrics) and the tablet fleet need their
        # stores; tools that build signaling alone run without them.
        self.insight = (
            InsightService(
                calls=self.calls,
                media=CallInsight(media, analysis_settings(config)),
                hub=self.hub,
                store=insight.store,
                consents=insight.consents,
                clock=clock,
                settings=insight_settings(config),
                metrics=insight.metrics,
                checkins=care_records,
            )
            if insight is not None
            else None
        )
        self.fleet = (
            FleetService(
                store=fleet_store,
                care=store,
                hub=self.hub,
                instance_id=self.bus.instance_id,
                clock=clock,
                settings=fleet_settings(config),
                metrics=insight.metrics if insight is not None else None,
            )
            if fleet_store is not None
            else None
        )
        if self.fleet is not None:
            # It hears tablets come and go on this instance.
            self.hub.add_tablet_listener(self.fleet)
        self.endpoint = SignalingEndpoint(
            auth=auth,
            store=store,
            hub=self.hub,
            calls=self.calls,
            help_desk=self.help_desk,
            heartbeat_s=config.signaling.heartbeat_s,
            hello_timeout_s=config.signaling.hello_timeout_s,
            max_frame_bytes=config.signaling.max_frame_bytes,
            messages_per_s=config.signaling.messages_per_s,
            message_burst=config.signaling.message_burst,
            max_connections_per_address=config.signaling.max_connections_per_address,
            flood_penalty_s=config.signaling.flood_penalty_s,
            ice_servers=self.ice_servers_for,
            principal_of=web_state.principal,
            checkins=self.checkins,
            rooms=self.rooms,
            echo=self.echo,
            fleet=self.fleet,
            insight=self.insight,
            probe_token=config.probe.token,
        )

    def ice_servers_for(self, subject_id: str) -> list[IceServerOut]:
        """The configured servers plus TURN with credentials minted for this socket."""
        media = self._config.media
        servers = [
            IceServerOut(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in media.ice_servers
        ]
        if media.turn_urls and media.turn_shared_secret:
            credential = turn_credential(
                media.turn_shared_secret,
                subject_id,
                self._clock.now(),
                media.turn_credential_ttl_s,
            )
            servers.append(
                IceServerOut(
                    urls=list(media.turn_urls),
                    username=credential.username,
                    credential=credential.password,
                )
            )
        return servers

    def presence_of(self, client_id: str) -> Presence:
        return self.hub.presence_of(client_id)

    async def disconnect_device(self, device_id: str) -> None:
        """A revoked tablet loses its calls and its socket at once, on whichever instance."""
        await self._disconnect_device_here(device_id)
        if self.fleet is not None:
            # Once, here: the fleet page's watchers on every instance hear it over the bus.
            await self.fleet.device_revoked(device_id)
        try:
            # With the in-process bus this instance is the only one: nobody else to ask.
            others = [i for i in await self.bus.live_instances() if i != self.bus.instance_id]
        except BusUnavailable:
            log.warning("device %s revoked here only: the bus is unavailable", device_id)
            return
        for instance in others:
            try:
                await self.bus.request(instance, "device.revoke", {"device_id": device_id}, 5.0)
            except BusUnavailable:
                log.warning("instance %s did not confirm revoking device %s", instance, device_id)

    async def _disconnect_device_here(self, device_id: str) -> None:
        for principal in self.hub.principals_of_device(device_id):
            await self.calls.end_calls_of(principal.subject_id, EndReason.REVOKED)
        await self.hub.disconnect_device(device_id)

    async def _revoke_request(self, body: dict[str, Any]) -> dict[str, Any]:
        await self._disconnect_device_here(str(body["device_id"]))
        return {"ok": True}

    async def start(self) -> None:
        """Join the cluster (or, with the in-process bus, nothing to join)."""
        await self.bus.start(self.cluster)
        # A cluster sweeps the records of calls that died with an instance nobody could adopt
        # from; one process closes its earlier runs' records at start instead (hoiva.app).
        if self.sweep is not None:
            self.bus.succession.start_sweep(self.sweep)

    async def drain(self) -> None:
        """SIGTERM: no new sockets or rooms here; calls finish or move to another instance.

        Only where another instance could take them (the bus's Succession says): one process
        ends its calls as it closes."""
        await self.bus.succession.drain(self._hand_over)

    async def _hand_over(self) -> None:
        self.calls.draining = True
        self.endpoint.draining = True
        try:
            await self.bus.set_draining()
        except BusUnavailable:
            log.warning("could not announce draining: the bus is unavailable")
        # Clients reconnect to another instance; their calls keep their media here for now.
        await self.hub.close_all(CloseCode.GOING_AWAY, "server draining; reconnect")
        if not await self.calls.wait_until_idle(self._config.bus.drain_timeout_s):
            moved = await self.moves.hand_off_all()
            log.info("drain: %d call(s) moved to other instances", moved)

    async def close(self) -> None:
        if self.sweep is not None:
            await self.sweep.close()
        if self.room_upkeep is not None:
            await self.room_upkeep.close()
        if self.checkins is not None:
            await self.checkins.close()
        await self.echo.close()
        await self.calls.close()
        await self.hub.close_all(CloseCode.GOING_AWAY, "server shutting down")
        await self.bus.close()


def bus_from_config(config: Config) -> Bus:
    """Redis when a URL is configured, else the in-process bus (the embedded default)."""
    settings = config.bus
    if settings.redis_url is None:
        return LocalBus(settings.instance_id)
    from signaling.bus_redis import RedisBus, RedisBusSettings

    return RedisBus(
        RedisBusSettings(
            url=settings.redis_url,
            instance_id=settings.instance_id,
            heartbeat_s=settings.heartbeat_s,
            instance_ttl_s=settings.instance_ttl_s,
            timeout_s=settings.timeout_s,
        )
    )
