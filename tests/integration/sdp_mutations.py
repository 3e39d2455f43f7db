"""Real offers, and hypothesis strategies that break them the way a hostile client would.

An offer is cut into its session part and its m-sections; a mutation deletes, duplicates or
corrupts an m-section or one attribute line. The Chromium offer is a recorded one (Debian's
Chromium 156, audio and video from its fake devices, max-bundle); the aiortc offer is made by
the test itself with the headless client's peer.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdp"
CHROMIUM_OFFER = (FIXTURES / "chromium-156-offer.sdp").read_bytes().decode("ascii")

Offer = tuple[list[str], list[list[str]]]


def split_offer(sdp: str) -> Offer:
    """Session lines, and each m-section's lines (its m-line first)."""
    session: list[str] = []
    sections: list[list[str]] = []
    for line in sdp.split("\r\n"):
        if not line:
            continue
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)
    return session, sections


def join_offer(offer: Offer) -> str:
    session, sections = offer
    return "\r\n".join(session + [line for section in sections for line in section]) + "\r\n"


def without_section(sdp: str, kind: str) -> str:
    """The offer with its `kind` m-section deleted (what issue 12's fuzzer sent)."""
    session, sections = split_offer(sdp)
    return join_offer((session, [s for s in sections if not s[0].startswith(f"m={kind} ")]))


def only_section(sdp: str, kind: str) -> str:
    """The offer with only its `kind` m-section, its BUNDLE group naming just that one (what a
    kiosk's camera-only self-test offers)."""
    session, sections = split_offer(sdp)
    kept = [s for s in sections if s[0].startswith(f"m={kind} ")]
    mids = [line.split(":", 1)[1] for s in kept for line in s if line.startswith("a=mid:")]
    session = [
        f"a=group:BUNDLE {' '.join(mids)}" if line.startswith("a=group:BUNDLE") else line
        for line in session
    ]
    return join_offer((session, kept))


# Values a corrupted attribute may get: empty, absurd, hostile to parsers, not ASCII.
_CORRUPT_VALUES = st.one_of(
    st.just(""),
    st.sampled_from(["-1", "0", "99999999999999999999", "abc", "::::", "\t", " ", "x" * 300]),
    st.sampled_from(["é", "\u202e", "\ufeff", "𐀀", "\u0000", "\x7f"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40),
)


@st.composite
def _mutation(draw: st.DrawFn, offer: Offer) -> Offer:
    session, sections = [list(offer[0])], [list(s) for s in offer[1]]
    lines_session = session[0]
    action = draw(
        st.sampled_from(
            [
                "delete_section",
                "duplicate_section",
                "swap_sections",
                "delete_line",
                "duplicate_line",
                "corrupt_value",
                "corrupt_m_line",
                "truncate_line",
            ]
        )
    )
    if action in ("delete_section", "duplicate_section", "swap_sections") and sections:
        i = draw(st.integers(0, len(sections) - 1))
        if action == "delete_section":
            del sections[i]
        elif action == "duplicate_section":
            sections.insert(draw(st.integers(0, len(sections))), list(sections[i]))
        else:
            j = draw(st.integers(0, len(sections) - 1))
            sections[i], sections[j] = sections[j], sections[i]
        return lines_session, sections
    # A line anywhere: session lines are target 0, section n is target n + 1.
    targets = [lines_session, *sections]
    target = targets[draw(st.integers(0, len(targets) - 1))]
    if not target:
        return lines_session, sections
    k = draw(st.integers(0, len(target) - 1))
    line = target[k]
    match action:
        case "delete_line":
            del target[k]
        case "duplicate_line":
            target.insert(k, line)
        case "corrupt_value":
            key = line.split(":", 1)[0] if ":" in line else line[:2]
            target[k] = (
                f"{key}:{draw(_CORRUPT_VALUES)}" if ":" in line else key + draw(_CORRUPT_VALUES)
            )
        case "corrupt_m_line":
            if sections:
                m_line = sections[k % len(sections)][0].split(" ")
                m_line[draw(st.integers(0, len(m_line) - 1))] = draw(_CORRUPT_VALUES)
                sections[k % len(sections)][0] = " ".join(m_line)
        case _:
            target[k] = line[: draw(st.integers(0, max(0, len(line) - 1)))]
    return lines_session, sections


@st.composite
def mutated_offers(draw: st.DrawFn, offers: list[str]) -> str:
    """One of the real offers with one to three mutations applied."""
    offer = split_offer(draw(st.sampled_from(offers)))
    for _ in range(draw(st.integers(1, 3))):
        offer = draw(_mutation(offer))
    return join_offer(offer)
