"""Signaling as the rest of the process sees it: built once, closed once."""

from __future__ import annotations

import logging
from typing import Any

from care_sessions.auth import AuthService
from care_sessions.checkin_ports import CareRecordStore
from care_sessions.clock import Clock
from care_sessions.meal_rooms import RoomStore
from care_sessions.ports import CareStore
from care_sessions.presence import Presence
from care_sessions.records import EndReason
from hoiva.config import Config
from media.server import MediaServer
from signaling.bus import Bus, BusUnavailable
from signaling.bus_local import LocalBus
from signaling.call_moves import CallMoves
from signaling.calls import CallService
from signaling.checkins import CheckinService
from signaling.cluster import ClusterLink
from signaling.connection import CloseCode
from signaling.echo import EchoService
from signaling.fleet import FleetService
from signaling.help_desk import HelpDesk
from signaling.hub import SignalingHub
from signaling.insight import InsightService
from signaling.protocol import IceServerOut
from signaling.room_upkeep import RoomUpkeep
from signaling.rooms import RoomService
from signaling.turn import turn_credential
from signaling.ws import SignalingEndpoint

log = logging.getLogger(__name__)


class SignalingRuntime:
    """The hub, the call service, the help desk and the WebSocket endpoint of one instance."""

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
    ) -> None:
        # The bus is the only part that differs between one process and many (scale-out).
        self.bus: Bus = bus or bus_from_config(config)
        self.hub = SignalingHub(store, clock, self.bus)
        self.calls = CallService(
            store=store, clock=clock, hub=self.hub, media=media, settings=config.calls
        )
        self.moves = CallMoves(calls=self.calls, hub=self.hub, store=store)
        self.cluster = ClusterLink(hub=self.hub, calls=self.calls, moves=self.moves)
        self.cluster.handle("device.revoke", self._revoke_request)
        self.help_desk = HelpDesk(store, clock, self.hub, self.calls)
        # Check-ins need the care-records store; without one (tools that build signaling
        # alone) the care messages answer invalid_state.
        self.checkins = (
            CheckinService(
                store=care_records, care=store, clock=clock, hub=self.hub, settings=config.care
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
        self.room_upkeep = RoomUpkeep(self.rooms) if self.rooms is not None else None
        self._config = config
        self._clock = clock
        self.insight: InsightService | None = None
        self.echo = EchoService(media=media, hub=self.hub, settings=config.probe)
        self.fleet: FleetService | None = None
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
            checkins=self.checkins,
            rooms=self.rooms,
            echo=self.echo,
            probe_token=config.probe.token,
        )

    def use_insight(self, insight: InsightService) -> None:
        """Route call.record_* and check-in face evidence to media insight (hoiva.app)."""
        self.insight = insight
        # The endpoint builds its dispatcher; insight is wired in after both exist.
        self.endpoint.dispatcher.insight = insight

    def use_fleet(self, fleet: FleetService) -> None:
        """Route the fleet's messages and tell it about tablets coming and going (hoiva.app)."""
        self.fleet = fleet
        self.endpoint.dispatcher.fleet = fleet
        self.hub.add_tablet_listener(fleet)

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
        if not self.bus.clustered:
            return
        try:
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

    async def drain(self) -> None:
        """SIGTERM: no new sockets or rooms here; calls finish or move to another instance."""
        if not self.bus.clustered:
            return
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
