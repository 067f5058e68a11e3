"""experiments/colab.ipynb runs top to bottom on CPU with few epochs, in a kernel of this Python."""

import json
import os
import shutil
import sys
import wave
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jazz_flax import parallel
from jazz_flax.music import render

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "experiments" / "colab.ipynb"
EPOCHS = 5
RUN = Path("runs/baseline")  # the notebook's WORKDIR, under its working directory


def with_parameters(notebook, source: str):
    """Inserts a cell of `source` after the cell tagged `parameters`, as papermill does."""
    (index,) = [
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    ]
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook


def cell(notebook, cell_id: str):
    (found,) = [c for c in notebook.cells if c.get("id") == cell_id]
    return found


@pytest.fixture(scope="module")
def executed(metheny, metheny_path, tmp_path_factory):
    """(working directory, executed notebook). `metheny` puts the corpus in the tests' cache, which
    the kernel inherits, so it does not parse the file again."""
    workdir = tmp_path_factory.mktemp("colab")
    (workdir / "data").mkdir()
    shutil.copy(metheny_path, workdir / "data")
    notebook = with_parameters(nbformat.read(NOTEBOOK, as_version=4), f"EPOCHS = {EPOCHS}")
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix, end='')"))
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": workdir}}
    )
    # The kernel imports jazz_flax and experiments from this checkout, on the CPU.
    client.execute(env=dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu"))
    return workdir, notebook


def test_the_kernel_is_this_interpreter(executed):
    _, notebook = executed
    assert notebook.cells[-1].outputs[0].text == sys.prefix


def test_trains_the_baseline_for_the_injected_epochs(executed):
    workdir, _ = executed
    run = workdir / RUN
    assert (run / "loss.png").stat().st_size > 0
    assert (run / "checkpoint.msgpack").stat().st_size > 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == EPOCHS
    assert summary["devices"] == parallel.cpu_devices(0, 32)  # a device per core, as make train


def test_generates_a_solo_and_shows_it(executed):
    workdir, notebook = executed
    for suffix in ("mid", "wav", "png"):
        assert (workdir / RUN / "output" / f"my_music.{suffix}").stat().st_size > 0
    assert "measures" in cell(notebook, "generate").outputs[0].text
    for image in ("loss", "piano-roll"):
        assert "image/png" in cell(notebook, image).outputs[0].data


def test_plays_the_audio(executed):
    _, notebook = executed
    (output,) = cell(notebook, "audio").outputs
    assert "<audio" in output.data["text/html"]


@pytest.mark.skipif(
    render.find_renderer().soundfont is None,
    reason="FluidSynth or a soundfont is absent: make audio",
)
def test_the_audio_is_fluidsynths(executed):
    workdir, notebook = executed
    assert "; audio: FluidSynth (" in cell(notebook, "generate").outputs[0].text
    with wave.open(str(workdir / RUN / "output" / "my_music.wav")) as w:
        assert w.getframerate() == render.FLUIDSYNTH_RATE
