"""Signaling as the rest of the process sees it: built once, closed once."""

from __future__ import annotations

from care_sessions.auth import AuthService
from care_sessions.checkin_ports import CareRecordStore
from care_sessions.clock import Clock
from care_sessions.meal_rooms import RoomStore
from care_sessions.ports import CareStore
from care_sessions.presence import Presence
from care_sessions.records import EndReason
from hoiva.config import Config
from media.server import MediaServer
from signaling.calls import CallService
from signaling.checkins import CheckinService
from signaling.connection import CloseCode
from signaling.help_desk import HelpDesk
from signaling.hub import SignalingHub
from signaling.protocol import IceServerOut
from signaling.room_upkeep import RoomUpkeep
from signaling.rooms import RoomService
from signaling.turn import turn_credential
from signaling.ws import SignalingEndpoint


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
    ) -> None:
        self.hub = SignalingHub(store, clock)
        self.calls = CallService(
            store=store, clock=clock, hub=self.hub, media=media, settings=config.calls
        )
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
        """A revoked tablet loses its calls and its socket at once."""
        for principal in self.hub.principals_of_device(device_id):
            await self.calls.end_calls_of(principal.subject_id, EndReason.REVOKED)
        await self.hub.disconnect_device(device_id)

    async def close(self) -> None:
        if self.room_upkeep is not None:
            await self.room_upkeep.close()
        if self.checkins is not None:
            await self.checkins.close()
        await self.calls.close()
        await self.hub.close_all(CloseCode.GOING_AWAY, "server shutting down")
