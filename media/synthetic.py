"""Synthetic camera and microphone: frames that say who sent them and which frame they are.

Each video frame carries (source_id, frame_counter) as four rows of sixteen large black/white
blocks at the top: a fixed sync word, the source id, the counter (mod 65536) and a check word.
Blocks of 1/16 of the frame width survive VP8 at low bitrates, so a receiver can tell whose
stream it got and whether frames arrive in order, after real encoding, forwarding and decoding;
the check word rejects frames that a decoder mangled (lost packets) instead of misreading them.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

_BITS = 16
_SYNC_WORD = 0xB38F
_VIDEO_CLOCK_RATE = 90_000
_VIDEO_TIME_BASE = fractions.Fraction(1, _VIDEO_CLOCK_RATE)

Image = npt.NDArray[np.uint8]


def _block_geometry(width: int, height: int) -> tuple[int, int]:
    return width // _BITS, max(8, height // 16)


def _draw_word(image: Image, row: int, word: int) -> None:
    block_w, block_h = _block_geometry(image.shape[1], image.shape[0])
    top = row * block_h
    for bit in range(_BITS):
        value = 255 if (word >> (_BITS - 1 - bit)) & 1 else 0
        left = bit * block_w
        image[top : top + block_h, left : left + block_w] = value


def _read_word(gray: Image, row: int) -> int:
    block_w, block_h = _block_geometry(gray.shape[1], gray.shape[0])
    top = row * block_h
    word = 0
    for bit in range(_BITS):
        left = bit * block_w
        # Sample the middle half of the block: edges bleed after lossy coding.
        centre = gray[
            top + block_h // 4 : top + block_h - block_h // 4,
            left + block_w // 4 : left + block_w - block_w // 4,
        ]
        word = (word << 1) | int(float(centre.mean()) > 127.5)
    return word


def _check_word(source_id: int, counter: int) -> int:
    rotated = ((counter << 5) | (counter >> 11)) & 0xFFFF
    return (source_id ^ rotated ^ 0x6D2B) & 0xFFFF


def draw_marks(image: Image, source_id: int, counter: int) -> None:
    """Write the sync word, `source_id`, `counter` (mod 65536) and check word into `image`."""
    source_id &= 0xFFFF
    counter &= 0xFFFF
    _draw_word(image, 0, _SYNC_WORD)
    _draw_word(image, 1, source_id)
    _draw_word(image, 2, counter)
    _draw_word(image, 3, _check_word(source_id, counter))


def read_marks(image: npt.NDArray[Any]) -> tuple[int, int] | None:
    """(source_id, counter) from a decoded frame (grey or BGR), None if it carries no marks."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    gray: Image = np.asarray(image, dtype=np.uint8)
    block_w, block_h = _block_geometry(gray.shape[1], gray.shape[0])
    if block_w < 4 or gray.shape[0] < 4 * block_h:
        return None
    if _read_word(gray, 0) != _SYNC_WORD:
        return None
    source_id, counter = _read_word(gray, 1), _read_word(gray, 2)
    if _read_word(gray, 3) != _check_word(source_id, counter):
        return None
    return source_id, counter


class SyntheticVideoTrack(MediaStreamTrack):
    """A moving test pattern at `fps` with (source_id, frame counter) marks; black: no content."""

    kind = "video"

    def __init__(
        self,
        source_id: int,
        fps: int = 30,
        width: int = 640,
        height: int = 480,
        black: bool = False,
    ) -> None:
        super().__init__()
        if not 0 <= source_id <= 0xFFFF:
            raise ValueError("source_id must fit in 16 bits")
        if width % 2 or height % 2 or width < 64 or height < 64:
            raise ValueError("frame size must be even and at least 64x64")
        self.source_id = source_id
        self.fps = fps
        self.width = width
        self.height = height
        self.black = black
        self.frames_sent = 0
        # What a publish hint asked for (set_limits); the camera's own figures stay above.
        self.max_fps = fps
        self.scale_down = 1.0
        self._start: float | None = None
        self._next_at = 0.0
        # A diagonal gradient that scrolls sideways: motion everywhere, cheap to produce.
        x = np.arange(width * 2, dtype=np.uint16)[None, :]
        y = np.arange(height, dtype=np.uint16)[:, None]
        self._background: Image = ((x + y) % 256).astype(np.uint8)

    def set_limits(self, max_fps: int, scale_down: float) -> None:
        """Apply a publish hint: at most `max_fps`, each side divided by `scale_down`."""
        self.max_fps = max(1, min(self.fps, max_fps))
        self.scale_down = max(1.0, scale_down)

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of the frames now produced: even, at least 64x64."""
        width = max(64, int(self.width / self.scale_down) // 2 * 2)
        height = max(64, int(self.height / self.scale_down) // 2 * 2)
        return width, height

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        counter = self.frames_sent
        now = time.monotonic()
        if self._start is None:
            self._start = self._next_at = now
        elif self._next_at > now:
            await asyncio.sleep(self._next_at - now)
        # Paced from the previous frame's slot, not from the start, so that a new frame rate
        # (publish hint) takes effect at once; pts follow the clock for the same reason.
        slot = self._next_at
        self._next_at = max(slot + 1 / self.max_fps, time.monotonic() - 1.0)
        frame = VideoFrame.from_ndarray(self._draw(counter), format="yuv420p")
        frame.pts = round((slot - self._start) * _VIDEO_CLOCK_RATE)
        frame.time_base = _VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame

    def _draw(self, counter: int) -> Image:
        """One I420 frame: luma pattern and marks, neutral chroma."""
        height, width = self.height, self.width
        out_width, out_height = self.output_size
        yuv: Image = np.full((out_height * 3 // 2, out_width), 128, dtype=np.uint8)
        luma = yuv[:out_height]
        if self.black:
            luma[:] = 16
            return yuv
        shift = (counter * 4) % width
        full = self._background[:, shift : shift + width].copy()
        radius = max(8, height // 8)
        phase = 2 * math.pi * counter / (self.fps * 4)
        centre = (
            int(width / 2 + (width / 3) * math.cos(phase)),
            int(height * 0.6 + (height / 5) * math.sin(phase)),
        )
        cv2.circle(full, centre, radius, 235, thickness=-1)
        if (out_width, out_height) == (width, height):
            luma[:] = full
        else:
            luma[:] = cv2.resize(full, (out_width, out_height), interpolation=cv2.INTER_AREA)
        # Drawn at the output size, so the marks keep their geometry at any scale.
        draw_marks(luma, self.source_id, counter)
        return yuv


class SyntheticAudioTrack(MediaStreamTrack):
    """A sine tone in 20 ms frames of 48 kHz mono s16."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, sample_rate: int = 48_000) -> None:
        super().__init__()
        self.frequency = frequency
        self.sample_rate = sample_rate
        self.frames_sent = 0
        self._samples = sample_rate // 50
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = self.frames_sent
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            delay = self._start + index * 0.02 - now
            if delay > 0:
                await asyncio.sleep(delay)
        first = index * self._samples
        t = np.arange(first, first + self._samples) / self.sample_rate
        samples = (np.sin(2 * math.pi * self.frequency * t) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = first
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self.frames_sent += 1
        return frame
