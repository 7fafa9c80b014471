"""The process that runs the python blocks and `segnet` commands of README.md and docs/
for their test.

Importing TensorFlow takes seconds, so tests/test_readme_snippets.py starts this one
interpreter and lets it do the work that needs TensorFlow:

- python blocks arrive on standard input as ``{"path", "log"}`` lines; each runs in a
  fresh namespace with stdout and stderr (file descriptors too, for TensorFlow's C++
  logs) sent to the log, and one ``{"ok": bool}`` line answers it on standard output;
- `segnet` commands of bash blocks arrive on a Unix socket (the path given as the only
  argument) from `CLIENT`, the `segnet` that the test puts first on bash's PATH. The
  client passes its standard input, output and error (the descriptors themselves), its
  arguments, working folder and environment; this process runs `segnet`'s entry point
  with them, as the installed command would, and answers the exit code.

Usage: python readme_worker.py SOCKET_PATH
"""

from __future__ import annotations

import json
import os
import runpy
import select
import socket
import sys
import traceback

# The `segnet` command seen by bash blocks: forwards one invocation to this worker.
# Run with `python -I -S` (no site, no PYTHON* variables): it starts in milliseconds.
CLIENT = """\
import json, os, socket, sys

request = {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
    connection.connect(os.environ["SEGNET_README_WORKER"])
    body = json.dumps(request).encode()
    socket.send_fds(connection, [body[:1]], [0, 1, 2])
    connection.sendall(body[1:])
    connection.shutdown(socket.SHUT_WR)
    answer = b""
    while chunk := connection.recv(64):
        answer += chunk
if not answer:
    sys.exit("segnet: the README test's worker process ended during this command")
sys.exit(int(answer))
"""


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def _exit_code(exit: SystemExit) -> int:
    """The process exit code that `sys.exit(exit.code)` would give."""
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code
    print(exit.code, file=sys.stderr)
    return 1


class _Redirected:
    """Standard descriptors 0-2 pointed elsewhere for one job, then put back."""

    def __init__(self, targets: list[int]):
        self.targets = targets

    def __enter__(self):
        _flush()
        self.saved = [os.dup(fd) for fd in range(len(self.targets))]
        for fd, target in enumerate(self.targets):
            os.dup2(target, fd)
        return self

    def __exit__(self, *exc_info):
        _flush()
        for fd, saved in enumerate(self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def run_python_block(path: str, log_path: str) -> bool:
    """Run one python block's file as `__main__`; whether it succeeded."""
    with open(log_path, "w") as log, open(os.devnull) as null:
        with _Redirected([null.fileno(), log.fileno(), log.fileno()]):
            return _run_path(path)


def _run_path(path: str) -> bool:
    try:
        runpy.run_path(path, run_name="__main__")
        return True
    except SystemExit as exit:
        return _exit_code(exit) == 0
    except BaseException:
        traceback.print_exc()
        return False


def _reset_keras_state(dtype_policy) -> None:
    """Leave no global Keras state from one command to the next, as separate processes do."""
    import keras

    keras.config.set_dtype_policy(dtype_policy)
    keras.utils.clear_session()


def run_segnet(argv: list[str], cwd: str, env: dict, fds: list[int]) -> int:
    """Run `segnet argv` as its entry point does, with the caller's descriptors,
    folder and environment; returns the exit code."""
    import keras

    import segnet_tf_cli

    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    dtype_policy = keras.config.dtype_policy()
    with _Redirected(fds):
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = ["segnet", *argv]
        try:
            code = segnet_tf_cli.main()
            code = _exit_code(SystemExit(code))
        except SystemExit as exit:
            code = _exit_code(exit)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            os.chdir(saved_cwd)
            sys.argv = saved_argv
            _reset_keras_state(dtype_policy)
    return code


def _serve_segnet(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        first, fds, _, _ = socket.recv_fds(connection, 1, 3)
        body = [first]
        while chunk := connection.recv(1 << 16):
            body.append(chunk)
        request = json.loads(b"".join(body))
        try:
            code = run_segnet(request["argv"], request["cwd"], request["env"], fds)
        finally:
            for fd in fds:
                os.close(fd)
        connection.sendall(str(code).encode())


def main(socket_path: str) -> None:
    # Requests and answers keep their own descriptors; blocks get /dev/null as stdin.
    requests = os.fdopen(os.dup(0), "r")
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    # TensorFlow once, before the first job, so that no job pays for it.
    import segnet_tf

    segnet_tf.import_api()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen()
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    while True:
        ready, _, _ = select.select([requests, listener], [], [])
        if listener in ready:
            _serve_segnet(listener)
        if requests in ready:
            line = requests.readline()
            if not line:
                return
            request = json.loads(line)
            ok = run_python_block(request["path"], request["log"])
            answers.write(json.dumps({"ok": ok}) + "\n")
            answers.flush()


if __name__ == "__main__":
    main(sys.argv[1])
