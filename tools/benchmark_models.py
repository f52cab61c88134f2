"""PaddleSeg-style script for ``hru2net-benchmark-models`` (``paddleseg_hru2net.cli.benchmark_models``)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_hru2net.cli.benchmark_models import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
