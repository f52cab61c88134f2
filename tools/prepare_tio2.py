"""PaddleSeg-style `tools/prepare_tio2.py`; the work is done by `paddleseg_hru2net.cli.prepare_tio2`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_hru2net.cli.prepare_tio2 import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
