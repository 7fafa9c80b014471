"""The code blocks of README.md and of the documentation (docs/**/*.md) run as written,
in order, on a fresh clone.

The documents run one after the other in `DOCUMENTS` order (README.md, then the
documentation pages in the order of the site's navigation, then any other page), so a
page may use what an earlier one wrote (the Evaluation page scores the run that the
Training page trained). Every fenced block is run unless the line just above it
(blank lines aside) is one of these HTML comments, which neither GitHub nor the
documentation site renders:

    <!-- snippet: skip (reason) -->    never run; the reason says why (installs, servers,
                                       hour-long runs, program output, HTTP requests)
    <!-- snippet: needs camvid -->     run only when CamVid is found
                                       (segnet_tf.data.find_camvid_dir), else skipped

``python`` blocks run with this interpreter, each in a fresh namespace; ``bash``
blocks run with ``bash -euo pipefail``. One worker process (tests/readme_worker.py)
imports TensorFlow once and runs the python blocks and, for bash blocks, every
``segnet`` command: the ``segnet`` first on bash's PATH hands its arguments, working
folder, environment and standard streams to the worker, which runs the command's
entry point with them and returns its exit code (commands stay exactly as the documents
write them, pipes and redirections included; Keras' global state is reset after
each command, as a new process would have it). A block
in any other language must be marked skip. All blocks share one empty working
folder, so a block may read what an earlier block wrote. That folder's parent holds
``shared/camvid``, a link to the CamVid found, so that the documents' ``../shared/camvid``
resolves as it does from a checkout beside the data (the CI layout).

Keep blocks quick (tiny widths, image sizes and epochs where the point survives):
all the documents are one test run.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
# Pages that use what an earlier page wrote come after it (the site's navigation order).
DOCS_ORDER = [
    "getting-started.md",
    "how-segnet-works.md",
    "guide/models.md",
    "guide/data.md",
    "guide/training.md",
    "guide/evaluation.md",
    "guide/inference.md",
    "guide/presets.md",
    "guide/photos.md",
    "guide/export.md",
    "guide/demo.md",
    "models/camvid_segnet.md",
]


def documentation_pages() -> list[Path]:
    """Every Markdown page of docs/ (linked folders included, as the site builds them)."""
    pages = []
    for folder, _, names in os.walk(DOCS, followlinks=True):
        pages += [Path(folder) / name for name in names if name.endswith(".md")]
    rank = {name: index for index, name in enumerate(DOCS_ORDER)}
    return sorted(pages, key=lambda p: (rank.get(p.relative_to(DOCS).as_posix(), len(rank)), p))


DOCUMENTS = [README, *documentation_pages()]
RUNNABLE = ("python", "bash")
BLOCK_TIMEOUT_S = 300

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_MARKER = re.compile(r"^<!--\s*snippet:\s*(.*?)\s*-->\s*$")
_SKIP = re.compile(r"^skip \((.+)\)$")
_NEEDS_CAMVID = "needs camvid"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document.

    Attributes:
        document: The Markdown file.
        line: Line number (1-based) of the opening fence.
        language: The fence's info string (``python``, ``bash``, or ``""``).
        code: The text between the fences.
        marker: The ``snippet:`` directive above the block, or None.
    """

    document: Path
    line: int
    language: str
    code: str
    marker: str | None

    @property
    def first_line(self) -> str:
        lines = [text for text in self.code.splitlines() if text.strip()]
        return lines[0].strip() if lines else "(empty block)"

    @property
    def skip_reason(self) -> str | None:
        match = _SKIP.match(self.marker or "")
        return match.group(1) if match else None

    @property
    def name(self) -> str:
        """The document's path in the repository and the line, e.g. ``docs/index.md:12``."""
        return f"{self.document.relative_to(REPO).as_posix()}:{self.line}"

    @property
    def file_stem(self) -> str:
        """A file name for the block's scratch files."""
        return re.sub(r"[^\w]+", "_", self.name)

    def describe(self) -> str:
        return f"{self.name}, {self.language or 'plain'} block `{self.first_line}`"


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (CommonMark's rule)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def parse_blocks(text: str, document: Path = README) -> list[Block]:
    """The fenced blocks of a Markdown text, in order, with their snippet markers."""
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.group(1), opening.group(2)
        start = index
        index += 1
        body = []
        while index < len(lines) and not _closes(lines[index], fence):
            body.append(lines[index])
            index += 1
        index += 1  # past the closing fence
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        marker = _MARKER.match(lines[above].strip()) if above >= 0 else None
        blocks.append(
            Block(
                document,
                start + 1,
                language,
                "\n".join(body) + "\n",
                marker.group(1) if marker else None,
            )
        )
    return blocks


BLOCKS = [
    block
    for document in DOCUMENTS
    for block in parse_blocks(document.read_text(encoding="utf-8"), document)
]


def test_documents_cover_readme_and_every_page():
    on_disk = {p.resolve() for p in DOCS.rglob("*.md")}
    assert on_disk <= {p.resolve() for p in DOCUMENTS}
    assert DOCUMENTS[0] == README and len(DOCUMENTS) == len(set(DOCUMENTS))
    listed = {(DOCS / name) for name in DOCS_ORDER}
    assert listed <= set(DOCUMENTS), f"DOCS_ORDER names missing pages: {listed - set(DOCUMENTS)}"


def test_every_block_is_run_or_marked_skipped():
    assert len([b for b in BLOCKS if b.language in RUNNABLE]) >= 10, "blocks not parsed"
    problems = []
    for block in BLOCKS:
        if block.marker is not None and block.marker != _NEEDS_CAMVID and not block.skip_reason:
            problems.append(
                f"{block.describe()}: unknown marker {block.marker!r}; expected "
                "'skip (reason)' or 'needs camvid'"
            )
        elif block.language not in RUNNABLE and block.skip_reason is None:
            problems.append(
                f"{block.describe()}: a {block.language or 'plain'} block is not run; mark it "
                "with <!-- snippet: skip (reason) --> on the line above"
            )
    assert not problems, "\n".join(problems)


class _Worker:
    """One interpreter (tests/readme_worker.py) that imports TensorFlow once and runs the
    python blocks in turn, and the `segnet` commands of bash blocks."""

    def __init__(self, cwd: Path, env: dict, scratch: Path, socket_path: Path):
        self.scratch = scratch
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("readme_worker.py")), str(socket_path)],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if not self._answer():
            raise RuntimeError("the README test's worker process did not start")

    def _answer(self) -> dict | None:
        ready, _, _ = select.select([self.process.stdout], [], [], BLOCK_TIMEOUT_S)
        answer = self.process.stdout.readline() if ready else ""
        if not answer:
            self.process.kill()
            return None
        return json.loads(answer)

    def run(self, block: Block) -> tuple[bool, str]:
        path = self.scratch / f"{block.file_stem}.py"
        log = self.scratch / f"{block.file_stem}.log"
        path.write_text(block.code, encoding="utf-8")
        self.process.stdin.write(json.dumps({"path": str(path), "log": str(log)}) + "\n")
        self.process.stdin.flush()
        answer = self._answer()
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        if answer is None:
            return False, output + f"\n(python worker died or timed out after {BLOCK_TIMEOUT_S} s)"
        return answer["ok"], output

    def kill(self) -> None:
        self.process.kill()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _run_bash(block: Block, cwd: Path, env: dict, scratch: Path, worker: _Worker):
    path = scratch / f"{block.file_stem}.sh"
    path.write_text(block.code, encoding="utf-8")
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", str(path)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as err:
        worker.kill()  # it may be stuck in the block's `segnet` command
        return False, f"{err.output or ''}\n(timed out after {BLOCK_TIMEOUT_S} s)"
    return done.returncode == 0, done.stdout + f"\n(exit code {done.returncode})"


def _segnet_client(scratch: Path) -> Path:
    """A folder holding a `segnet` that runs each invocation in the worker."""
    from readme_worker import CLIENT

    folder = scratch / "bin"
    folder.mkdir()
    client = folder / "segnet"
    client.write_text(f"#!{sys.executable} -IS\n{CLIENT}", encoding="utf-8")
    client.chmod(0o755)
    return folder


@dataclass
class _Outcome:
    status: str  # "passed", "failed", "skipped" or "not run"
    detail: str = ""
    seconds: float = 0.0


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Runs every runnable block once, in order; returns (outcomes by block name, work
    folder)."""
    from segnet_tf.data import find_camvid_dir

    root = tmp_path_factory.mktemp("readme")
    work, scratch = root / "clone", root / "scratch"
    work.mkdir()
    scratch.mkdir()
    # A short folder for the worker's socket (Unix socket paths are limited to ~100 bytes).
    socket_folder = Path(tempfile.mkdtemp(prefix="segnet-readme-"))
    socket_path = socket_folder / "worker.sock"
    camvid = find_camvid_dir()
    env = dict(os.environ)
    env["PATH"] = f"{_segnet_client(scratch)}{os.pathsep}{env.get('PATH', '')}"
    env["SEGNET_README_WORKER"] = str(socket_path)
    # The checkout's package, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["MPLBACKEND"] = "Agg"
    if camvid:
        (root / "shared").mkdir()
        (root / "shared" / "camvid").symlink_to(os.path.abspath(camvid))
        env["SEGNET_CAMVID_DIR"] = os.path.abspath(camvid)

    outcomes: dict[str, _Outcome] = {}
    worker = _Worker(work, env, scratch, socket_path)
    failed = None
    try:
        for block in BLOCKS:
            if block.skip_reason is not None or block.language not in RUNNABLE:
                continue
            if failed is not None:
                outcomes[block.name] = _Outcome("not run", f"after the failure of {failed}")
                continue
            if block.marker == _NEEDS_CAMVID and not camvid:
                outcomes[block.name] = _Outcome("skipped", "CamVid not found")
                continue
            start = time.monotonic()
            if block.language == "python":
                ok, output = worker.run(block)
            else:
                ok, output = _run_bash(block, work, env, scratch, worker)
            seconds = time.monotonic() - start
            outcomes[block.name] = _Outcome("passed" if ok else "failed", output, seconds)
            if not ok:
                failed = block.describe()
    finally:
        worker.close()
        shutil.rmtree(socket_folder, ignore_errors=True)
    timings = ", ".join(f"{name} {o.seconds:.1f}s" for name, o in outcomes.items())
    print(f"Blocks: {timings}")
    yield outcomes, work
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    "block",
    [b for b in BLOCKS if b.language in RUNNABLE and b.skip_reason is None],
    ids=lambda b: f"{b.name}-{b.language}",
)
def test_block_runs(readme_run, block):
    outcomes, _ = readme_run
    outcome = outcomes[block.name]
    if outcome.status == "skipped":
        pytest.skip(f"{block.describe()}: {outcome.detail}")
    if outcome.status == "not run":
        pytest.fail(f"{block.describe()}: not run, {outcome.detail}")
    assert outcome.status == "passed", f"{block.describe()} failed:\n{outcome.detail[-4000:]}"


def test_docker_line_serves_what_the_export_wrote(readme_run):
    """The documented `docker run` mounts the folder the export block writes, under the
    model name the REST examples call."""
    _, work = readme_run
    text = "\n".join(document.read_text(encoding="utf-8") for document in DOCUMENTS)
    mount = re.search(r"-v \$PWD/(\S+):/models/(\S+) -e MODEL_NAME=(\S+) ", text)
    assert mount, "no `docker run -v $PWD/...:/models/... -e MODEL_NAME=...` line in the docs"
    folder, served_as, model_name = mount.groups()
    assert served_as == model_name
    assert set(re.findall(r"POST /v1/models/([^:\s]+):predict", text)) == {model_name}
    versions = sorted((work / folder).glob("*/saved_model.pb"))
    assert versions, f"the export blocks wrote no SavedModel version under {folder}/"
    assert all(path.parent.name.isdigit() for path in versions)
