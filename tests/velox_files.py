"""Small Thermo Fisher Velox .emd files written for the tests, in Velox's layout: HDF5 groups
``/Data/Image/<id>`` holding ``Data`` (y, x, frames, one chunk per frame) and ``Metadata``
(for each frame a zero-padded column of the bytes of a JSON text)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import h5py
import numpy as np


def _metadata_columns(metadata: dict, frames: int) -> np.ndarray:
    text = np.frombuffer(json.dumps(metadata).encode("utf-8"), np.uint8)
    columns = np.zeros((text.size + 64, frames), np.uint8)
    columns[:text.size] = text[:, None]
    return columns


def write_velox(path: Path, pixels: np.ndarray, pixel_size: Optional[str] = "2.5e-10", unit: str = "m",
                frames: int = 1, preview: bool = True) -> Path:
    """``pixels`` (y, x) as a Velox image of ``frames`` frames (each ``pixels`` plus its index)
    calibrated at ``pixel_size`` ``unit`` per pixel (None: no calibration), after a smaller
    image of another detector (``preview``) under an id that sorts first."""
    with h5py.File(path, "w") as handle:
        handle.create_dataset("Version", data=np.array([b'{"format": "Velox", "version": "11"}']))
        images = [("0a" * 16, pixels[::4, ::4], "BF")] if preview else []
        images.append(("f3" * 16, pixels, "HAADF"))
        for key, image, detector in images:
            group = handle.create_group(f"Data/Image/{key}")
            stack = np.stack([image + i for i in range(frames)], axis=-1)
            group.create_dataset("Data", data=stack, chunks=image.shape + (1,))
            result = {"Detector": detector, "PixelUnitX": unit, "PixelUnitY": unit}
            if pixel_size is not None:
                result["PixelSize"] = {"width": pixel_size, "height": pixel_size}
            group.create_dataset("Metadata", data=_metadata_columns(
                {"BinaryResult": result, "Scan": {"FrameTime": "0.5"}, "Optics": {},
                 "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1764000000"}},
                 "Instrument": {}, "Stage": {}, "Sample": {}, "Detectors": {}}, frames))
    return path
