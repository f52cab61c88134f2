"""White or black margins around a micrograph: the frame of a figure panel, the padding an
export or a montage adds, a camera's blank border.

A margin is no sample: the models would segment it (a frame of the particles' own tone becomes
a ring-shaped "particle" along the edge, which also misleads the decision of which way round the
contrast is), and the grey-value size estimate would read its edge. Rows and columns at each
side of the image that are white or black throughout (within :data:`SLACK` grey levels of 255
or 0) are peeled off, a side's margin kept only where it is at least :data:`MIN_MARGIN`
pixels wide (one or two such lines at the edge of an export are harmless, and a saturated
background can fill a line or two by chance). A flat grey edge is left as it is: it may be the
sample's own background. Of the 366 EMPS images, 3 have such margins (11-16 px); none of the 32
TiO2 images has.
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np

__all__ = ["SLACK", "MIN_MARGIN", "Margins", "white_or_black_margins"]

#: A row or column whose grey values all lie within this many levels of 0, or of 255, is margin.
SLACK = 2
#: Margins narrower than this (pixels) are left as they are.
MIN_MARGIN = 4


class Margins(NamedTuple):
    """Widths (pixels) of the white or black margins of an image at each side."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @property
    def any(self) -> bool:
        return any(self)

    def inner(self, shape: Tuple[int, ...]) -> Tuple[slice, slice]:
        """``(rows, columns)`` of the image within the margins, for an image of ``shape``."""
        return slice(self.top, shape[0] - self.bottom), slice(self.left, shape[1] - self.right)

    def describe(self) -> str:
        sides = [f"{name} {width} px" for name, width in zip(self._fields, self) if width]
        return f"a white or black margin cut ({', '.join(sides)}): not sample"


def _leading_white_or_black_lines(lines: np.ndarray) -> int:
    """How many of the first rows of ``lines`` (2-D) in a row are all white or all black."""
    black = lines.max(axis=1) <= SLACK
    white = lines.min(axis=1) >= 255 - SLACK
    not_margin = np.flatnonzero(~(black | white))
    return int(not_margin[0]) if not_margin.size else len(lines)


def white_or_black_margins(grey: np.ndarray, min_side: int = 16) -> Margins:
    """The white or black margins of ``grey`` (2-D): :class:`Margins` of zeros where there are
    none or where cutting them would leave fewer than ``min_side`` rows or columns (a blank
    image)."""
    height, width = grey.shape[:2]
    widths = [_leading_white_or_black_lines(lines) for lines in (grey, grey[::-1], grey.T, grey.T[::-1])]
    widths = [w if w >= MIN_MARGIN else 0 for w in widths]
    if height - widths[0] - widths[1] < min_side or width - widths[2] - widths[3] < min_side:
        return Margins()
    return Margins(*widths)
