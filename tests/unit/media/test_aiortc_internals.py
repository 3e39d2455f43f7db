"""The one door to aiortc's internals: the start-up probe, and nothing touching them elsewhere."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import re

import pytest

from media import MediaServer, MediaSettings, aiortc_internals
from media.aiortc_internals import BUILT_ON, FastPathUnavailable, Requirement, probe

ROOT = pathlib.Path(__file__).resolve().parents[3]
BUILT = dict(BUILT_ON)
DOOR = "media/aiortc_internals.py"
LIBRARIES = ("aiortc", "aioice", "pylibsrtp")


class _SenderWithoutOctetCount:
    """A stand-in for an aiortc sender that renamed one counter (our seam's fake)."""

    _RTCRtpSender__packet_count = 0
    _RTCRtpSender__rtp_history: dict[int, object] = {}


def test_the_probe_names_the_missing_attribute_and_the_changed_version() -> None:
    """An upgrade that drops an internal fails with the package, both versions and the name."""
    problems = probe(
        {"RTCRtpSender": _SenderWithoutOctetCount},
        [
            Requirement("RTCRtpSender", "_RTCRtpSender__packet_count"),
            Requirement("RTCRtpSender", "_RTCRtpSender__octet_count"),
            Requirement("RTCRtpSender", "_RTCRtpSender__rtp_history"),
        ],
        installed={**BUILT, "aiortc": "1.17.0"},
    )
    assert problems == [
        "aiortc 1.17.0 installed; Hoiva's fast path was built on 1.16.0",
        "RTCRtpSender has no _RTCRtpSender__octet_count",
    ]


def test_the_probe_passes_on_the_versions_it_was_built_on() -> None:
    assert probe({"RTCRtpSender": _SenderWithoutOctetCount}, [], installed=BUILT) == []


async def test_the_installed_aiortc_has_everything_the_fast_path_needs() -> None:
    """The real probe (real aiortc objects) passes on the pinned versions."""
    await aiortc_internals.check_fast_path()


async def test_start_refuses_the_fast_path_on_another_aiortc_but_the_public_path_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With an aiortc the fast path was not built on, start() names it; fast_path off runs."""
    monkeypatch.setattr(
        aiortc_internals, "installed_versions", lambda: {**BUILT, "aiortc": "1.17.0"}
    )
    server = MediaServer(MediaSettings(fast_path=True))
    with pytest.raises(FastPathUnavailable, match=r"aiortc 1\.17\.0 installed.*media\.fast_path"):
        await server.start()
    public = MediaServer(MediaSettings(fast_path=False))
    await public.start()
    await public.close()


# -- nothing outside the door touches a library internal -----------------------------------

# Our code (tests included); bench/ keeps its own baselines (MediaRelay, a bare SFU).
_SCANNED = (
    "media",
    "signaling",
    "hoiva",
    "care_sessions",
    "care_services",
    "protocol",
    "store",
    "web",
    "client_kit",
    "tablet_client",
    "netlab",
    "tests/media",
    "tests/unit",
)
_MANGLED = re.compile(r"^_(RTC\w+|HeaderExtensionsMap|StunProtocol|Connection|Session)__\w+")


def _library_private_names() -> set[str]:
    """Every `_name` aiortc, aioice and pylibsrtp define or use (attributes, methods)."""
    names: set[str] = set()
    for library in LIBRARIES:
        package = importlib.import_module(library)
        for path in pathlib.Path(inspect.getfile(package)).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                    names.add(node.attr)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(node.name)
    return {name for name in names if name.startswith("_") and not name.endswith("__")}


def _touches(path: pathlib.Path, private: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute):
            receiver = node.value
            on_self = isinstance(receiver, ast.Name) and receiver.id in ("self", "cls")
            if _MANGLED.match(node.attr) or (node.attr in private and not on_self):
                found.append(f"{where} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LIBRARIES:
            parts = (node.module or "").split(".") + [alias.name for alias in node.names]
            if any(part.startswith("_") for part in parts):
                found.append(f"{where} from {node.module} import ...")
    return found


def _self_touches_in_subclasses(module_name: str) -> list[str]:
    """`self._x` in our subclasses of library classes, where `_x` is the library class's own."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(module, node.name, None)
        if not inspect.isclass(cls):
            continue
        inherited: set[str] = set()
        for base in cls.__mro__:
            if base.__module__.split(".")[0] not in LIBRARIES:
                continue
            for item in ast.walk(ast.parse(inspect.getsource(base))):
                if isinstance(item, ast.Attribute):
                    name = item.attr
                elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = item.name
                else:
                    continue
                if name.startswith("__") and not name.endswith("__"):
                    inherited.add(f"_{base.__name__.lstrip('_')}{name}")
                elif name.startswith("_") and not name.startswith("__"):
                    inherited.add(name)
        for item in ast.walk(node):
            if (
                isinstance(item, ast.Attribute)
                and isinstance(item.value, ast.Name)
                and item.value.id == "self"
                and item.attr in inherited
            ):
                found.append(f"{module_name}.{node.name}:{item.lineno} self.{item.attr}")
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in inherited:
                found.append(f"{module_name}.{node.name}:{item.lineno} overrides {item.name}")
    return found


def test_no_library_internal_is_touched_outside_the_door() -> None:
    """Private and name-mangled aiortc/aioice/pylibsrtp names appear only in the one module
    (media/aiortc_internals.py), so that its start-up probe covers every one of them."""
    private = _library_private_names()
    found: list[str] = []
    for folder in _SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() != DOOR:
                found += _touches(path, private)
    for path in sorted((ROOT / "media").glob("*.py")):
        if path.relative_to(ROOT).as_posix() not in (DOOR, "media/__init__.py"):
            found += _self_touches_in_subclasses(f"media.{path.stem}")
    assert found == []
