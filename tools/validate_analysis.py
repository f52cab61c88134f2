"""PaddleSeg-style script for ``hru2net-validate-analysis`` (``paddleseg_hru2net.cli.validate_analysis``)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddleseg_hru2net.cli.validate_analysis import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
