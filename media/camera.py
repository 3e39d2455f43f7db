"""A real camera as a video source for the headless tablet (V4L2 through aiortc's MediaPlayer)."""

from __future__ import annotations

from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet

from media.errors import CameraUnavailable


class CameraVideoSource(MediaStreamTrack):
    """Frames from a V4L2 device such as /dev/video0; untested here (no camera on CI)."""

    kind = "video"

    def __init__(
        self, device: str = "/dev/video0", *, width: int = 640, height: int = 480, fps: int = 30
    ) -> None:
        super().__init__()
        try:
            self._player = MediaPlayer(
                device,
                format="v4l2",
                options={"video_size": f"{width}x{height}", "framerate": str(fps)},
            )
        except (av.FFmpegError, OSError) as exc:
            raise CameraUnavailable(f"cannot open camera {device}: {exc}") from exc
        if self._player.video is None:
            raise CameraUnavailable(f"{device} has no video stream")
        self._track: MediaStreamTrack = self._player.video

    async def recv(self) -> Frame | Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        return await self._track.recv()

    def stop(self) -> None:
        # Stopping the player's track ends its reader thread and releases the device.
        self._track.stop()
        super().stop()
