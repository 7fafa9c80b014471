"""Training and inference images/s of SegNet-Basic and SegNet against PyTorch.

The logic lives in `segnet_tf.benchmark.run` (also `segnet benchmark`); see its
docstring or `--help`.

    python scripts/benchmark.py --quick          # < 3 min, 180x240, float32
    python scripts/benchmark.py --precision float32 bfloat16
"""

import sys

from segnet_tf.benchmark.run import main

if __name__ == "__main__":
    sys.exit(main())
