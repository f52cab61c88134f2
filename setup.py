"""paddleseg-hru2net: HRU2-Net† for nanoparticle SEM segmentation, as a PaddleSeg plugin."""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent

# PaddleSeg 2.8.0 is the newest release; it needs opencv-python <= 4.6, whose wheels are built
# against numpy < 2, and visualdl pulls pandas (pandas 3 needs numpy 2).
REQUIREMENTS = [
    "paddleseg==2.8.0",
    "numpy>=1.23,<2",
    "opencv-python>=4.5,<=4.6.0.66",
    "pandas<3",
    "scipy>=1.10",
    "scikit-image>=0.21",
    "tifffile>=2023.1.1",
    "Pillow>=9",
    "PyYAML>=6",
    "tqdm>=4.60",
    "matplotlib>=3.7",
]

EXTRAS = {
    # The CPU build is the default; GPU users install paddlepaddle-gpu themselves (README).
    "cpu": ["paddlepaddle>=3.0"],
    "onnx": ["paddle2onnx>=2.0", "onnxruntime>=1.17"],
    "test": ["pytest>=7"],
}

COMMANDS = {
    "hru2net-train": "paddleseg_hru2net.cli.train:main",
    "hru2net-val": "paddleseg_hru2net.cli.val:main",
    "hru2net-predict": "paddleseg_hru2net.cli.predict:main",
    "hru2net-export": "paddleseg_hru2net.cli.export:main",
    "hru2net-synth": "paddleseg_hru2net.cli.synth:main",
    "hru2net": "paddleseg_hru2net.cli.analyze:hru2net",
    "hru2net-benchmark": "paddleseg_hru2net.cli.benchmark:main",
    "hru2net-prepare-tio2": "paddleseg_hru2net.cli.prepare_tio2:main",
    "hru2net-prepare-generalist": "paddleseg_hru2net.cli.prepare_generalist:main",
}

setup(
    name="paddleseg-hru2net",
    version="0.1.0",
    description=__doc__,
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["paddleseg_hru2net", "paddleseg_hru2net.*"]),
    include_package_data=True,
    package_data={"paddleseg_hru2net": ["weights/*/*"]},
    install_requires=REQUIREMENTS,
    extras_require=EXTRAS,
    entry_points={"console_scripts": [f"{name}={target}" for name, target in COMMANDS.items()]},
)
