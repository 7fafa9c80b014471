"""Write a tiny fake CamVid folder (SegNet tutorial layout) of procedural scenes.

Usage:
    python scripts/make_fake_camvid.py OUT_DIR [--train 3 --val 2 --test 2 --seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# The generator is test data and lives with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_camvid import make_fake_camvid  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=3)
    parser.add_argument("--val", type=int, default=2)
    parser.add_argument("--test", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    counts = {"train": args.train, "validation": args.val, "test": args.test}
    print(make_fake_camvid(args.out_dir, counts=counts, seed=args.seed))


if __name__ == "__main__":
    main()
