"""The `segnet` command line: one subcommand a module in this package.

Each subcommand module defines `HELP` (one line), `add_arguments(parser)` and
`run(args) -> int`, and imports TensorFlow only inside `run`. `import segnet_tf` loads
no TensorFlow either (its API loads on first use), so `segnet --help` answers at
once; before running a subcommand, `main` imports `segnet_tf`'s API with
TensorFlow's start-up logs hidden (see `segnet_tf.cli.tf_logs`).
"""

import argparse
import importlib
import sys

from segnet_tf import __version__, onednn
from segnet_tf.cli import tf_logs

# Subcommand name -> module. Add a line here to add a subcommand.
COMMANDS = {
    "predict": "segnet_tf.cli.predict",
    "export": "segnet_tf.cli.export",
    "train": "segnet_tf.cli.train",
    "evaluate": "segnet_tf.cli.evaluate",
    "adjust": "segnet_tf.cli.adjust",
    "calibrate": "segnet_tf.cli.calibrate",
    "demo": "segnet_tf.cli.demo",
}
# Subcommands that only run trained networks: they get the oneDNN settings of
# `segnet_tf.onednn` (faster inference on AVX2-only CPUs), set before TensorFlow loads.
INFERENCE_ONLY = ("predict", "evaluate", "demo", "calibrate")


def add_verbose_argument(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help=f"show TensorFlow's start-up logs and warnings (or set {tf_logs.VERBOSE_ENV}=1)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segnet", description="SegNet-family semantic segmentation for Keras 3."
    )
    parser.add_argument("--version", action="version", version=f"segnet_tf {__version__}")
    add_verbose_argument(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        subparser = subparsers.add_parser(name, help=module.HELP, description=module.__doc__)
        # Also after the subcommand (`segnet demo -v`); SUPPRESS keeps a `segnet -v demo`.
        add_verbose_argument(subparser, default=argparse.SUPPRESS)
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


def main(argv=None) -> int:
    """Entry point of `segnet`; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command in INFERENCE_ONLY:
        onednn.prepare_inference_process()
    try:
        tf_logs.import_api(verbose=args.verbose)
        return args.run(args)
    except (ValueError, OSError) as error:
        # Bad input from the user: one clear line, no traceback, non-zero exit.
        print(f"segnet {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C: one line and the shell's code for SIGINT. Every file is written
        # atomically, so what was written is whole; a rerun removes the temporary
        # files of the interrupted one. (`segnet train` says how to resume.)
        print(
            f"\nsegnet {args.command}: interrupted; no file was left half-written. Rerun the "
            "same command to do it again.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
