"""The route table is the one declaration of every client message type."""

from __future__ import annotations

import typing
from pathlib import Path

from protocol.messages import ClientMessage
from signaling.routes import ROUTE_BY_TYPE, ROUTES, Feature, Handlers, markdown_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


def test_every_client_message_has_exactly_one_route() -> None:
    assert {route.message for route in ROUTES} == set(typing.get_args(ClientMessage))
    assert len(ROUTE_BY_TYPE) == len(ROUTES)


def test_the_protocol_doc_shows_the_route_table() -> None:
    """docs/protocol.md's client table is rendered from the routes: run
    `python -m signaling.routes` and paste it when this fails."""
    assert markdown_table() in DOC.read_text()


def test_a_feature_this_process_lacks_is_reported_missing() -> None:
    handlers = Handlers(calls=object(), help_desk=object())  # type: ignore[arg-type]
    assert handlers.has(Feature.CALLS)
    assert handlers.has(Feature.CORE)
    assert not handlers.has(Feature.ROOMS)
    assert not handlers.has(Feature.FLEET)
    assert not handlers.has(Feature.RECORDING)
