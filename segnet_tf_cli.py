"""Entry point of the `segnet` command (`[project.scripts]` in pyproject.toml).

`import segnet_tf` imports no TensorFlow (the package loads its API on first use), so
`segnet --help` and argument errors answer at once; `segnet_tf.cli.main` imports the
API before it runs a subcommand.
"""

import sys


def main() -> int:
    """Run `segnet` with `sys.argv`; returns the process exit code."""
    from segnet_tf.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
