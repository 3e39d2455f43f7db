"""Every server process the suite starts is stopped, even when the run itself is cut short.

Servers that stay our children (redis-server, nginx, Hoiva instances, Playwright's driver and
its Chromium) are found by walking the process tree down from this process. Servers that
detach themselves (pg_ctl starts PostgreSQL in a session of its own, so it is nobody's child
once pg_ctl returns) are registered here by pid. `stop_everything()` kills both; the suite calls
it at exit, on SIGTERM/SIGHUP, and from the watchdog before it ends a hung run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from pathlib import Path
from types import FrameType

_lock = threading.Lock()
# pid -> what it is; each is the leader of its own process group (it called setsid).
_registered: dict[int, str] = {}


def register_group(pid: int, what: str) -> None:
    """Remember a detached server (a process-group leader) to kill if the run ends early."""
    with _lock:
        _registered[pid] = what


def unregister_group(pid: int) -> None:
    with _lock:
        _registered.pop(pid, None)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name may hold spaces and parentheses: split after the last ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def descendants(pid: int | None = None) -> list[int]:
    """Every live process below `pid` (default: this process), parents before children."""
    tree = _children()
    found: list[int] = []
    stack = [os.getpid() if pid is None else pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def stop_everything() -> list[str]:
    """SIGKILL every registered server's group and every descendant; what was killed."""
    killed: list[str] = []
    with _lock:
        groups = dict(_registered)
        _registered.clear()
    for pid, what in groups.items():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
            killed.append(f"{what} (group {pid})")
    # Children first would let their parents restart them; kill top-down in one pass.
    for pid in descendants():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(f"pid {pid}")
    return killed


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_everything()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_installed = False


def install() -> None:
    """Stop everything at interpreter exit and on SIGTERM/SIGHUP (once; main thread only)."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(stop_everything)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _on_signal)
