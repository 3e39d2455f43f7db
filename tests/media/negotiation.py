"""Random header-extension negotiations for the RTP parse and serialize tests."""

from __future__ import annotations

import random
from collections.abc import Iterable

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters


def random_extensions(
    rng: random.Random, uris: Iterable[str], *, present: float, one_byte: float
) -> list[RTCRtpHeaderExtensionParameters]:
    """Each URI negotiated with chance `present`, under an id unique within the negotiation:
    with chance `one_byte` one of the one-byte form (1-14), else one that forces the two-byte
    form."""
    extensions = []
    used: set[int] = set()
    for uri in uris:
        if rng.random() < present:
            ext_id = 0
            while ext_id == 0 or ext_id in used:
                ext_id = rng.randint(1, 14) if rng.random() < one_byte else rng.randint(15, 255)
            used.add(ext_id)
            extensions.append(RTCRtpHeaderExtensionParameters(id=ext_id, uri=uri))
    return extensions
