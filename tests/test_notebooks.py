"""The notebooks of examples/ run from top to bottom, on tiny settings, and are kept
without outputs in git.

Each notebook runs with nbclient in a fresh kernel (this interpreter's ipykernel) in
an empty working folder, with ``SEGNET_NOTEBOOK_TINY=1``, which every notebook reads
to shrink its data, network and training to seconds. A notebook that needs CamVid
says so in ``NEEDS_CAMVID`` and is skipped when CamVid is not found.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
NEEDS_CAMVID = {"evaluate_camvid_preset.ipynb"}
CELL_TIMEOUT_S = 600


def test_there_are_notebooks():
    assert {path.name for path in NOTEBOOKS} >= {
        "train_on_your_folder.ipynb",
        "evaluate_camvid_preset.ipynb",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_kept_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    with_outputs = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not with_outputs, (
        f"{path.name}: cells {with_outputs} hold outputs; clear them before committing "
        "(e.g. jupyter nbconvert --clear-output --inplace)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    if path.name in NEEDS_CAMVID:
        from segnet_tf.data import find_camvid_dir

        camvid = find_camvid_dir()
        if not camvid:
            pytest.skip("CamVid not found")
        monkeypatch.setenv("SEGNET_CAMVID_DIR", os.path.abspath(camvid))
    # The kernel inherits this environment: the checkout's package, tiny settings.
    repo = str(EXAMPLES.parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("SEGNET_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError naming the cell and its traceback
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [output for output in outputs if output.output_type == "error"]
    # Every notebook shows pictures: its figures were drawn, not only its text.
    assert any("image/png" in output.get("data", {}) for output in outputs)
