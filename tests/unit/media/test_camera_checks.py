"""Camera checks on fixture frames: each picture gives exactly the observation a nurse needs.

face.png is NASA's public-domain portrait of astronaut Eileen Collins and no_face.png a cup of
coffee (both from scikit-image's sample data, grey, 320x240); the other fixtures are made from
them here.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from media.camera_checks import (
    CheckLimits,
    Hint,
    Observation,
    check_frame,
    check_sequence,
    hint_text,
)
from media.face_cascade import FaceDetector
from media.synthetic import SyntheticVideoTrack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "camera"
Image = npt.NDArray[np.uint8]
# Single frames: "nobody in view" needs no waiting here.
AT_ONCE = CheckLimits(no_face_after_s=0.0)


def _load(name: str) -> Image:
    image = cv2.imread(str(FIXTURES / name), cv2.IMREAD_GRAYSCALE)
    assert image is not None, name
    return np.asarray(image, dtype=np.uint8)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def face() -> Image:
    return _load("face.png")


@pytest.fixture(scope="module")
def no_face() -> Image:
    return _load("no_face.png")


def _covered() -> Image:
    """A hand over the lens in a lit room: a flat skin tone with a soft gradient and noise."""
    rng = np.random.default_rng(7)
    gradient = np.linspace(120, 140, 320)[None, :].repeat(240, axis=0)
    noisy = gradient + rng.normal(0, 2.0, (240, 320))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _synthetic(counter: int) -> Image:
    yuv = SyntheticVideoTrack(3, width=320, height=240)._draw(counter)
    return np.ascontiguousarray(yuv[:240])


def test_face_is_found_where_it_is(detector: FaceDetector, face: Image) -> None:
    """The LBP cascade finds the one face, at the astronaut's head (320x240 coordinates)."""
    boxes = detector.detect(face)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert 95 <= x <= 125 and 25 <= y <= 55 and 50 <= w <= 80 and w == h


def test_face_frame_is_fine(detector: FaceDetector, face: Image) -> None:
    observation = check_frame(face, detector, AT_ONCE)
    assert observation.hint is None
    assert observation.face_seen is True
    assert observation.features.faces == 1


def test_frame_without_face_says_nobody_in_view(detector: FaceDetector, no_face: Image) -> None:
    observation = check_frame(no_face, detector, AT_ONCE)
    assert observation.hint is Hint.NO_FACE
    assert observation.face_seen is False
    assert hint_text(Hint.NO_FACE, "Aino") == "Nobody is in view of Aino's camera"


def test_no_face_waits_for_its_time_by_default(detector: FaceDetector, no_face: Image) -> None:
    """Leaning out of view for a moment is no problem: by default it takes 20 s."""
    assert check_frame(no_face, detector).hint is None


def test_dim_room_is_dark(detector: FaceDetector, face: Image) -> None:
    dim = (face.astype(np.float32) * 0.12).astype(np.uint8)
    observation = check_frame(dim, detector, AT_ONCE)
    assert observation.hint is Hint.DARK
    assert hint_text(Hint.DARK, "Aino") == "Aino's camera is too dark"


def test_black_feed_is_dark(detector: FaceDetector) -> None:
    black = np.full((240, 320), 16, dtype=np.uint8)
    assert check_frame(black, detector, AT_ONCE).hint is Hint.DARK


def test_covered_lens(detector: FaceDetector) -> None:
    observation = check_frame(_covered(), detector, AT_ONCE)
    assert observation.hint is Hint.COVERED
    assert observation.face_seen is False
    assert hint_text(Hint.COVERED, "Aino") == "Aino's camera looks covered"


def test_blurred(detector: FaceDetector, face: Image) -> None:
    observation = check_frame(cv2.GaussianBlur(face, (0, 0), 3), None, AT_ONCE)
    assert observation.hint is Hint.BLURRED
    assert observation.face_seen is None  # no detector: not looked for


def test_bgr_frames_of_any_size_are_measured_the_same(detector: FaceDetector, face: Image) -> None:
    bgr = cv2.cvtColor(cv2.resize(face, (640, 480)), cv2.COLOR_GRAY2BGR)
    observation = check_frame(bgr, detector, AT_ONCE)
    assert (observation.hint, observation.face_seen) == (None, True)


def test_frozen_sequence(detector: FaceDetector, face: Image) -> None:
    """The same picture (with sensor noise) for 4.5 s is frozen; a moving one never is."""
    rng = np.random.default_rng(1)
    frames = [
        np.clip(face + rng.normal(0, 1.5, face.shape), 0, 255).astype(np.uint8) for _ in range(10)
    ]
    frozen = check_sequence(frames, 0.5, detector)
    assert frozen.hint is Hint.FROZEN
    assert frozen.face_seen is True
    assert frozen.features.still_s == pytest.approx(4.5)
    assert check_sequence(frames[:8], 0.5, detector).hint is None  # 3.5 s: not yet

    moving = check_sequence([_synthetic(n * 15) for n in range(10)], 0.5, None)
    assert moving.hint is None
    assert moving.features.still_s == 0.0


def test_no_face_after_its_time_in_a_sequence(detector: FaceDetector, no_face: Image) -> None:
    limits = CheckLimits(no_face_after_s=3.0, frozen_after_s=60.0)
    early: Observation = check_sequence([no_face] * 6, 0.5, detector, limits)
    assert early.hint is None  # 2.5 s without a face
    late = check_sequence([no_face] * 8, 0.5, detector, limits)
    assert late.hint is Hint.NO_FACE
    assert late.features.faceless_s == pytest.approx(3.5)
