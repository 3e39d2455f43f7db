"""Synthetic camera and microphone: frames that say who sent them and which frame they are.

Each video frame carries (source_id, frame_counter) as four rows of sixteen large black/white
blocks at the top: a fixed sync word, the source id, the counter (mod 65536) and a check word.
Blocks of 1/16 of the frame width survive VP8 at low bitrates, so a receiver can tell whose
stream it got and whether frames arrive in order, after real encoding, forwarding and decoding;
the check word (a hash) rejects frames that a decoder mangled (lost packets, a stale reference)
instead of misreading them.
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
_BIT_WEIGHTS = 1 << np.arange(_BITS - 1, -1, -1, dtype=np.int64)
# Decoded pixel formats whose first plane is the luma, one byte per pixel.
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "gray"})

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


def _read_words_at(gray: Image, block_w: int, block_h: int) -> list[int]:
    """The four words at the top of a grey image, one numpy reduction for all 64 blocks.

    A receiver reads every decoded frame (a headless tablet at a meal decodes a dozen streams
    in the event loop's thread), so this must cost microseconds, not a Python loop of slices.
    """
    blocks = gray[: 4 * block_h, : _BITS * block_w].reshape(4, block_h, _BITS, block_w)
    # Sample the middle half of each block: edges bleed after lossy coding.
    centre = blocks[
        :, block_h // 4 : block_h - block_h // 4, :, block_w // 4 : block_w - block_w // 4
    ]
    bits = centre.mean(axis=(1, 3)) > 127.5
    return [int(word) for word in bits.astype(np.int64) @ _BIT_WEIGHTS]


def _check_word(source_id: int, counter: int) -> int:
    """A hash of (source, counter) in which every input bit moves about half the output bits.

    A frame decoded on a stale reference (after a loss, until the next keyframe) shows some
    blocks of an older frame. With a check word linear in the bits (it was a rotate and XOR),
    such a mix of two frames' rows still passed whenever each stale counter bit came with its
    stale check bit, and the receiver read a wrong, older counter: frames "out of order".
    """
    x = ((source_id & 0xFFFF) << 16 | (counter & 0xFFFF)) ^ 0x6D2B_5A17
    x = (x * 0x9E37_79B1) & 0xFFFF_FFFF
    x ^= x >> 15
    x = (x * 0x85EB_CA77) & 0xFFFF_FFFF
    x ^= x >> 13
    return x & 0xFFFF


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
    sync, source_id, counter, check = _read_words_at(gray, block_w, block_h)
    if sync != _SYNC_WORD or check != _check_word(source_id, counter):
        return None
    return source_id, counter


def read_frame_marks(frame: VideoFrame) -> tuple[int, int] | None:
    """`read_marks` of a decoded frame, reading only the top rows of its luma plane in place.

    Converting the whole frame to grey first (`to_ndarray(format="gray")`, a swscale pass
    over every pixel) cost several times what reading the marks does. Raw luma, not the
    full-range grey of that conversion: a borderline block may read differently, which the
    check word covers.
    """
    width, height = frame.width, frame.height
    block_w, block_h = _block_geometry(width, height)
    if frame.format.name not in _LUMA_FIRST:
        return read_marks(frame.to_ndarray(format="gray"))
    if block_w < 4 or height < 4 * block_h:
        return None
    plane = frame.planes[0]
    rows = 4 * block_h
    luma: Image = np.frombuffer(memoryview(plane), np.uint8, count=rows * plane.line_size).reshape(
        rows, plane.line_size
    )
    # Keep the frame's height in the geometry: the marks' rows depend on it.
    sync, source_id, counter, check = _read_words_at(luma[:, :width], block_w, block_h)
    if sync != _SYNC_WORD or check != _check_word(source_id, counter):
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
