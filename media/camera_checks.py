"""Camera checks: from a decoded frame to an observation a nurse can act on.

Rules as data: each `CameraRule` names a hint, the sentence the nurse sees and a small
predicate over the frame's measured features and the `CheckLimits`. The first rule that applies
wins, in the order of `CAMERA_RULES` (a dark frame is also flat and blurred; "dark" is the
useful thing to say). `measure` and `observe` are pure; `CameraWatch` adds what needs time (a
picture that stopped changing, nobody seen for a while) and holds a hint until it is seen on
consecutive frames, so one odd frame neither raises nor clears it. Nothing here keeps an image
beyond the previous analysed thumbnail, and nothing is written anywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from media.face_cascade import FaceDetector

Frame = npt.NDArray[np.uint8]  # grey (H, W) or BGR (H, W, 3)

# Frames are measured at this size: enough for a face across a tenth of the picture, cheap.
ANALYSIS_SIZE = (240, 180)
# Frozen is judged on a small blurred thumbnail, so that encoder noise is not "change".
_THUMB_SIZE = (80, 60)


class Hint(enum.StrEnum):
    DARK = "dark"
    COVERED = "covered"
    FROZEN = "frozen"
    BLURRED = "blurred"
    NO_FACE = "no_face"


@dataclass(frozen=True)
class CheckLimits:
    """Thresholds of the rules; luma in 0-255, sharpness as variance of the Laplacian."""

    dark_below: float = 40.0
    flat_below: float = 12.0  # luma standard deviation of a covered or blank picture
    blurred_below: float = 20.0
    still_below: float = 0.6  # mean absolute thumbnail change between analysed frames
    frozen_after_s: float = 4.0
    no_face_after_s: float = 20.0


@dataclass(frozen=True)
class FrameFeatures:
    """What one frame measures, plus the durations a `CameraWatch` tracks (0 for one frame)."""

    brightness: float
    contrast: float
    sharpness: float
    faces: int | None  # None: the face detector did not run on this frame
    change: float | None = None  # vs the previous analysed frame
    still_s: float = 0.0
    faceless_s: float = 0.0


@dataclass(frozen=True)
class CameraRule:
    hint: Hint
    text: str  # "{name}" is the client's first name
    applies: Callable[[FrameFeatures, CheckLimits], bool]


CAMERA_RULES: tuple[CameraRule, ...] = (
    CameraRule(Hint.DARK, "{name}'s camera is too dark", lambda f, k: f.brightness < k.dark_below),
    CameraRule(
        Hint.COVERED, "{name}'s camera looks covered", lambda f, k: f.contrast < k.flat_below
    ),
    CameraRule(
        Hint.FROZEN, "{name}'s picture looks frozen", lambda f, k: f.still_s >= k.frozen_after_s
    ),
    CameraRule(
        Hint.BLURRED, "{name}'s camera looks blurred", lambda f, k: f.sharpness < k.blurred_below
    ),
    CameraRule(
        Hint.NO_FACE,
        "Nobody is in view of {name}'s camera",
        lambda f, k: f.faces == 0 and f.faceless_s >= k.no_face_after_s,
    ),
)
_TEXTS = {rule.hint: rule.text for rule in CAMERA_RULES}


@dataclass(frozen=True)
class Observation:
    hint: Hint | None
    face_seen: bool | None  # None: not looked for on this frame
    features: FrameFeatures


def hint_text(hint: Hint, name: str) -> str:
    """The sentence the nurse sees, e.g. "Aino's camera looks covered"."""
    return _TEXTS[hint].format(name=name)


def to_gray(frame: Frame) -> Frame:
    """Grey at ANALYSIS_SIZE (area-averaged), whatever the frame's size and channels."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    if (gray.shape[1], gray.shape[0]) != ANALYSIS_SIZE:
        gray = cv2.resize(gray, ANALYSIS_SIZE, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray, dtype=np.uint8)


def thumbnail(gray: Frame) -> npt.NDArray[np.float32]:
    small = cv2.resize(gray, _THUMB_SIZE, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (3, 3), 0).astype(np.float32)


def frame_change(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Mean absolute luma difference of two thumbnails."""
    return float(np.abs(a - b).mean())


def measure(frame: Frame, detector: FaceDetector | None = None) -> FrameFeatures:
    """Brightness, contrast, sharpness and (with a detector) the number of faces."""
    gray = to_gray(frame)
    faces = len(detector.detect(gray)) if detector is not None else None
    return FrameFeatures(
        brightness=float(gray.mean()),
        contrast=float(gray.std()),
        sharpness=float(cv2.Laplacian(gray, cv2.CV_64F).var()),
        faces=faces,
    )


def observe(features: FrameFeatures, limits: CheckLimits | None = None) -> Observation:
    """The first rule that applies, and whether a face was seen."""
    limits = limits or CheckLimits()
    hint = next((rule.hint for rule in CAMERA_RULES if rule.applies(features, limits)), None)
    face_seen = None if features.faces is None else features.faces > 0
    return Observation(hint, face_seen, features)


def check_frame(
    frame: Frame, detector: FaceDetector | None = None, limits: CheckLimits | None = None
) -> Observation:
    """One frame on its own: measure, then apply the rules (no durations)."""
    return observe(measure(frame, detector), limits)


def check_sequence(
    frames: Sequence[Frame],
    interval_s: float,
    detector: FaceDetector | None = None,
    limits: CheckLimits | None = None,
) -> Observation:
    """Frames `interval_s` apart, as a watch sees them; the observation after the last one."""
    watch = CameraWatch(limits or CheckLimits(), detector, confirm=1, face_every=1)
    observation: Observation | None = None
    for n, frame in enumerate(frames):
        observation = watch.observe(frame, n * interval_s)
    if observation is None:
        raise ValueError("no frames")
    return observation


class CameraWatch:
    """One publisher's camera over time: durations, face sightings, and a steadied hint."""

    def __init__(
        self,
        limits: CheckLimits,
        detector: FaceDetector | None,
        *,
        confirm: int = 2,
        face_every: int = 2,
    ) -> None:
        self.limits = limits
        self._detector = detector
        self._confirm = confirm
        self._face_every = face_every
        self._previous: npt.NDArray[np.float32] | None = None
        self._still_since: float | None = None
        self._faceless_since: float | None = None
        self._frames = 0
        self._candidate: Hint | None = None
        self._candidate_count = 0
        self.hint: Hint | None = None
        self.frames_seen = 0
        self.face_seen = False  # ever, in this watch
        self.last_face_seen: bool | None = None

    def observe(self, frame: Frame, at: float) -> Observation:
        """Analyse one decoded frame taken at monotonic time `at`; updates `hint`."""
        gray = to_gray(frame)
        run_faces = self._detector is not None and self._frames % self._face_every == 0
        self._frames += 1
        features = measure(gray, self._detector if run_faces else None)
        thumb = thumbnail(gray)
        change = None if self._previous is None else frame_change(thumb, self._previous)
        self._previous = thumb
        if change is None or change >= self.limits.still_below or self._still_since is None:
            self._still_since = at
        if features.faces is not None:
            self.last_face_seen = features.faces > 0
            if features.faces > 0:
                self.face_seen = True
                self._faceless_since = None
            elif self._faceless_since is None:
                self._faceless_since = at
        features = replace(
            features,
            # Between face looks, carry the last answer so the no-face rule sees it.
            faces=features.faces
            if features.faces is not None
            else (None if self.last_face_seen is None else int(self.last_face_seen)),
            change=change,
            still_s=at - self._still_since,
            faceless_s=0.0 if self._faceless_since is None else at - self._faceless_since,
        )
        observation = observe(features, self.limits)
        self.frames_seen += 1
        self._steady(observation.hint)
        return observation

    def _steady(self, hint: Hint | None) -> None:
        if hint == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = hint, 1
        if self._candidate_count >= self._confirm:
            self.hint = self._candidate
