"""The composition root: builds every service from the configuration and wires the edges."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

import tablet_client
from care_services.metrics import ServiceMetrics
from care_sessions.access_log import AccessLog
from care_sessions.auth import AuthService
from care_sessions.clock import Clock, SystemClock
from care_sessions.consent import ConsentLedger
from care_sessions.family import FamilyCircle
from hoiva.config import Config
from hoiva.runtime import InsightParts, SignalingRuntime
from hoiva.services import Services
from media.ice import IceServerConfig, use_host_addresses
from media.server import MediaServer, MediaSettings
from store import SqlStore, create_store_engine, migrate
from store.checkin_store import SqlCheckinStore
from store.family_store import SqlFamilyStore
from store.fleet_store import SqlFleetStore
from store.insight_store import InsightStore
from store.room_store import SqlRoomStore
from store.session_sweep import SqlOpenCalls
from store.trust_store import TrustStore
from web.deps import WebDeps, WebSettings

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)


async def build_services(config: Config, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    engine = create_store_engine(config.database.url)
    await migrate(engine)
    store = SqlStore(engine)
    # Several instances share one database: an instance starting must not close the records
    # of calls that live on the others (a survivor adopts a dead instance's calls instead).
    interrupted = (
        await store.mark_open_sessions_interrupted(clock.now())
        if config.bus.redis_url is None
        else 0
    )
    if interrupted:
        log.warning(
            "%d session records left open by a previous run marked interrupted", interrupted
        )
    use_host_addresses(config.media.bind_addresses)
    media = MediaServer(
        MediaSettings(
            bind_addresses=tuple(config.media.bind_addresses),
            announce_address=config.media.announce_address,
            fast_path=config.media.fast_path,
            ice_servers=tuple(
                IceServerConfig(urls=tuple(s.urls), username=s.username, credential=s.credential)
                for s in config.media.ice_servers
            ),
        )
    )
    await media.start()
    trust = TrustStore(engine)
    consents = ConsentLedger(trust, clock)
    family = FamilyCircle(SqlFamilyStore(engine), consents, clock)
    access_log = AccessLog(trust, clock)
    auth = AuthService(store, clock, family=family)
    signaling = SignalingRuntime(
        config=config,
        store=store,
        clock=clock,
        auth=auth,
        media=media,
        care_records=SqlCheckinStore(engine),
        room_store=SqlRoomStore(engine),
        open_calls=SqlOpenCalls(engine),
        family=family,
        access_log=access_log,
        insight=InsightParts(
            store=InsightStore(engine), consents=consents, metrics=ServiceMetrics()
        ),
        fleet_store=SqlFleetStore(engine),
    )
    return Services(
        config=config,
        clock=clock,
        store=store,
        auth=auth,
        media=media,
        signaling=signaling,
        access_log=access_log,
        consents=consents,
        family=family,
        insight=signaling.insight,
        fleet=signaling.fleet,
    )


async def close_services(services: Services) -> None:
    # First: recordings of calls still open are finished and sealed while media is up.
    if services.insight is not None:
        await services.insight.close()
    if services.fleet is not None:
        await services.fleet.close()
    await services.signaling.close()
    await services.media.close()
    store = services.store
    if isinstance(store, SqlStore):
        await store.close()


def web_deps(services: Services) -> WebDeps:
    """The pages' view of the services: the application layer, never the transport."""
    config = services.config
    return WebDeps(
        settings=WebSettings(
            secure_cookies=config.secure_cookies,
            public_url=config.server.public_url,
            behind_tls_proxy=config.server.behind_tls_proxy,
            metrics_token=config.insight.metrics_token,
            km_per_visit=config.care.km_per_visit,
            emission_g_per_km=config.care.emission_g_per_km,
            tablet_dir=Path(tablet_client.__file__).resolve().parent,
        ),
        clock=services.clock,
        store=services.store,
        auth=services.auth,
        access_log=services.access_log,
        consents=services.consents,
        family=services.family,
        live=services.signaling,
        checkins=services.signaling.checkins,
        rooms=services.signaling.rooms,
        insight=services.insight,
        fleet=services.fleet,
    )


async def build_app(config: Config, *, clock: Clock | None = None) -> web.Application:
    """The aiohttp application with its services started; they stop with the app."""
    from web.setup import setup_web

    services = await build_services(config, clock)
    app = web.Application(client_max_size=64 * 1024)
    app[SERVICES] = services
    app.router.add_get("/ws", services.signaling.endpoint.handle, name="ws")
    setup_web(app, web_deps(services))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # Join the cluster (a no-op with the in-process bus) before any socket arrives.
        await services.signaling.start()
        # The check-in scheduler runs with the served app only, not with CLI tools that
        # build services for a moment (migrate, create-staff).
        if services.signaling.checkins is not None:
            await services.signaling.checkins.start()
        # Likewise the rooms' schedule and upkeep.
        if services.signaling.room_upkeep is not None:
            await services.signaling.room_upkeep.start()
        if services.insight is not None:
            await services.insight.start()
        # Offline alerts and the daily self-test round.
        if services.fleet is not None:
            await services.fleet.start()
        yield
        await close_services(services)

    app.cleanup_ctx.append(lifecycle)
    # Open WebSockets would hold the shutdown for aiohttp's whole grace period; say goodbye.
    app.on_shutdown.append(lambda _app: services.signaling.close())
    return app
