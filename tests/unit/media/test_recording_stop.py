"""A recording that captured nothing fails at stop(), promptly: its writer thread must never
wait for a second end marker (that once held the event loop's shutdown for ever)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from media.errors import MediaError
from media.recording import CallRecorder


def test_stopping_an_empty_recording_fails_at_once(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path / "empty.webm", None, [])
    recorder.start()
    outcome: list[BaseException | None] = []

    def stop() -> None:
        try:
            recorder.stop()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    stopper = threading.Thread(target=stop, daemon=True)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive(), "stop() hung waiting for the writer thread"
    [error] = outcome
    assert isinstance(error, MediaError)
    with pytest.raises(MediaError, match="nothing was recorded"):
        raise error
