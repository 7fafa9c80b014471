"""Training and inference images/s of SegNet-Basic and SegNet, side by side with
the same networks in PyTorch (when installed: pip install 'segnet_tf[bench]'),
with the share of the machine's matmul peak that every row reaches.

    segnet benchmark --quick
    segnet benchmark --precision float32 bfloat16 --json results.json
"""

import argparse

HELP = "training and inference throughput against PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from segnet_tf.benchmark.run import build_parser

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    build_parser(parser)


def run(args) -> int:
    from segnet_tf.benchmark.run import run as run_benchmark

    return run_benchmark(args)
