"""Entry point of the `segnet` command (`[project.scripts]` in pyproject.toml).

It lives beside the `segnet_tf` package rather than in it so that it runs before
`segnet_tf/__init__.py`, and tells that file to leave out the public API, which would
import TensorFlow: `segnet --help` and argument errors then answer at once.
`segnet_tf.cli.main` imports the API before it runs a subcommand.
"""

import sys

# Read by segnet_tf/__init__.py: True once `main` has started importing the command line.
api_deferred = False


def main() -> int:
    """Run `segnet` with `sys.argv`; returns the process exit code."""
    global api_deferred
    api_deferred = True
    from segnet_tf.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
