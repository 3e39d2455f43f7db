"""Frontal-face detection with OpenCV's LBP cascade, evaluated in numpy.

OpenCV 5 dropped `cv2.CascadeClassifier` (and `cv2.data.haarcascades`) from the main wheel,
and its `FaceDetectorYN` needs a model file that no wheel ships. The cascade *data* is small
and BSD-licensed, so we ship OpenCV's `lbpcascade_frontalface.xml` (media/data/, from Debian's
opencv-data 4.6) and evaluate it the way OpenCV's `detectMultiScale` does: an image pyramid, a
24x24 window slid in steps of two pixels (one from scale 2), multi-block LBP features read from
an integral image, boosted stumps with a per-stage threshold, and `groupRectangles`
(min neighbours 3, eps 0.2). Every window of one scale is evaluated at once with numpy and
rejected windows drop out stage by stage, so a 320x240 frame takes a few milliseconds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

CASCADE_FILE = Path(__file__).parent / "data" / "lbpcascade_frontalface.xml"

Gray = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True)
class _Stump:
    feature: int
    subset: npt.NDArray[np.uint32]  # 8 words: 256 bits, one per LBP code
    if_set: float
    if_clear: float


@dataclass(frozen=True)
class _Stage:
    threshold: float
    stumps: tuple[_Stump, ...]


@dataclass(frozen=True)
class LbpCascade:
    """A parsed OpenCV LBP cascade (new XML format)."""

    width: int
    height: int
    stages: tuple[_Stage, ...]
    rects: tuple[tuple[int, int, int, int], ...]

    @classmethod
    def load(cls, path: Path = CASCADE_FILE) -> LbpCascade:
        root = ElementTree.parse(path).getroot()
        cascade = root.find("cascade")
        if cascade is None or (cascade.findtext("featureType") or "").strip() != "LBP":
            raise ValueError(f"{path} is not an OpenCV LBP cascade")
        stages = []
        for stage in cascade.findall("stages/_"):
            stumps = []
            for weak in stage.findall("weakClassifiers/_"):
                nodes = [int(v) for v in (weak.findtext("internalNodes") or "").split()]
                leaves = [float(v) for v in (weak.findtext("leafValues") or "").split()]
                subset = np.array(nodes[3:11], dtype=np.int64).astype(np.uint32)
                stumps.append(_Stump(nodes[2], subset, leaves[0], leaves[1]))
            stages.append(_Stage(float(stage.findtext("stageThreshold") or 0), tuple(stumps)))
        rects = []
        for feature in cascade.findall("features/_"):
            x, y, w, h = (int(v) for v in (feature.findtext("rect") or "").split())
            rects.append((x, y, w, h))
        return cls(
            width=int(cascade.findtext("width") or 0),
            height=int(cascade.findtext("height") or 0),
            stages=tuple(stages),
            rects=tuple(rects),
        )


# LBP bit of each outer block of the 3x3 grid (row, column), as OpenCV's LBPEvaluator sets it.
_LBP_BITS = (
    ((0, 0), 128),
    ((0, 1), 64),
    ((0, 2), 32),
    ((1, 2), 16),
    ((2, 2), 8),
    ((2, 1), 4),
    ((2, 0), 2),
    ((1, 0), 1),
)


class FaceDetector:
    """Finds frontal faces in a grey frame; `detect` returns their boxes in frame pixels."""

    def __init__(
        self,
        cascade: LbpCascade | None = None,
        *,
        scale_factor: float = 1.2,
        min_neighbours: int = 3,
        min_size: int = 28,
    ) -> None:
        self.cascade = cascade or LbpCascade.load()
        self.scale_factor = scale_factor
        self.min_neighbours = min_neighbours
        self.min_size = max(min_size, self.cascade.width)
        self._packed: dict[int, list[_PackedStage]] = {}

    def detect(self, gray: Gray) -> list[Box]:
        cascade = self.cascade
        height, width = gray.shape[:2]
        hits: list[Box] = []
        factor = 1.0
        while True:
            win_w = round(cascade.width * factor)
            win_h = round(cascade.height * factor)
            if win_w > width or win_h > height:
                break
            if win_w >= self.min_size:
                hits.extend(self._scan(gray, factor))
            factor *= self.scale_factor
        return group_rectangles(hits, self.min_neighbours, 0.2)

    def _scan(self, gray: Gray, factor: float) -> list[Box]:
        cascade = self.cascade
        height, width = gray.shape[:2]
        size = (round(width / factor), round(height / factor))
        image = gray if factor == 1.0 else cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
        integral = cv2.integral(image, sdepth=cv2.CV_32S).ravel()
        stride = size[0] + 1
        step = 1 if factor >= 2 else 2
        ys = np.arange(0, size[1] - cascade.height + 1, step, dtype=np.int32)
        xs = np.arange(0, size[0] - cascade.width + 1, step, dtype=np.int32)
        if not len(ys) or not len(xs):
            return []
        base = (ys[:, None] * stride + xs[None, :]).ravel()
        for stage in self._stages_for(stride):
            # All stumps of the stage at once: (stumps, 4, 4, windows) integral corners.
            corners = integral[stage.offsets[:, :, :, None] + base[None, None, None, :]]
            blocks = (
                corners[:, :-1, :-1]
                - corners[:, :-1, 1:]
                - corners[:, 1:, :-1]
                + corners[:, 1:, 1:]
            )
            centre = blocks[:, 1, 1]
            code = np.zeros(centre.shape, dtype=np.int32)
            for (row, col), bit in _LBP_BITS:
                code |= (blocks[:, row, col] >= centre).astype(np.int32) * bit
            words = np.take_along_axis(stage.subsets, code >> 5, axis=1)
            bits = (words >> (code & 31).astype(np.uint32)) & 1
            total = np.where(bits != 0, stage.if_set, stage.if_clear).sum(axis=0)
            base = base[total >= stage.threshold]
            if not len(base):
                return []
        found = []
        for index in base.tolist():
            y, x = divmod(int(index), stride)
            found.append(
                (
                    round(x * factor),
                    round(y * factor),
                    round(cascade.width * factor),
                    round(cascade.height * factor),
                )
            )
        return found

    def _stages_for(self, stride: int) -> list[_PackedStage]:
        """The cascade's stages with feature offsets for integral images of this stride."""
        packed = self._packed.get(stride)
        if packed is None:
            packed = self._packed[stride] = [
                _PackedStage.build(stage, self.cascade.rects, stride)
                for stage in self.cascade.stages
            ]
        return packed


@dataclass(frozen=True)
class _PackedStage:
    threshold: float
    offsets: npt.NDArray[np.int32]  # (stumps, 4, 4): corner offsets from a window's origin
    subsets: npt.NDArray[np.uint32]  # (stumps, 8)
    if_set: npt.NDArray[np.float64]  # (stumps, 1)
    if_clear: npt.NDArray[np.float64]

    @classmethod
    def build(
        cls, stage: _Stage, rects: tuple[tuple[int, int, int, int], ...], stride: int
    ) -> _PackedStage:
        offsets = np.zeros((len(stage.stumps), 4, 4), dtype=np.int32)
        for n, stump in enumerate(stage.stumps):
            fx, fy, fw, fh = rects[stump.feature]
            for j in range(4):
                for i in range(4):
                    offsets[n, j, i] = (fy + j * fh) * stride + fx + i * fw
        return cls(
            threshold=stage.threshold,
            offsets=offsets,
            subsets=np.stack([s.subset for s in stage.stumps]),
            if_set=np.array([[s.if_set] for s in stage.stumps]),
            if_clear=np.array([[s.if_clear] for s in stage.stumps]),
        )


def group_rectangles(boxes: list[Box], min_neighbours: int, eps: float) -> list[Box]:
    """OpenCV's groupRectangles: cluster similar boxes, keep clusters of > min_neighbours."""
    parent = list(range(len(boxes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i):
            if _similar(a, boxes[j], eps):
                parent[find(i)] = find(j)
    clusters: dict[int, list[Box]] = {}
    for i, box in enumerate(boxes):
        clusters.setdefault(find(i), []).append(box)
    grouped = []
    for members in clusters.values():
        if len(members) <= min_neighbours:
            continue
        n = len(members)
        grouped.append(
            (
                round(sum(b[0] for b in members) / n),
                round(sum(b[1] for b in members) / n),
                round(sum(b[2] for b in members) / n),
                round(sum(b[3] for b in members) / n),
            )
        )
    return grouped


def _similar(a: Box, b: Box, eps: float) -> bool:
    delta = eps * (min(a[2], b[2]) + min(a[3], b[3])) * 0.5
    return (
        abs(a[0] - b[0]) <= delta
        and abs(a[1] - b[1]) <= delta
        and abs(a[0] + a[2] - b[0] - b[2]) <= delta
        and abs(a[1] + a[3] - b[1] - b[3]) <= delta
    )
