"""experiments/colab.ipynb top to bottom on CPU with few epochs, as on a fresh runtime: its own
install cell installs jazz_flax from a local repository URL (this checkout's working tree) into a
fresh virtual environment, whose other packages are this interpreter's as a runtime's are
preinstalled, and a kernel of that environment runs the rest."""

import json
import shutil
import wave

import nbformat
import pytest
from nbclient import NotebookClient

from jazz_flax import parallel
from jazz_flax.music import render
from tests import venvs
from tests.commands import ROOT

NOTEBOOK = ROOT / "experiments" / "colab.ipynb"
EPOCHS = 5
RUN = "runs/baseline"  # the notebook's WORKDIR, under its working directory
REPORT = "import sys, jazz_flax\nprint(sys.prefix, jazz_flax.__file__)"


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


def kernel_of(venv, folder) -> str:
    """A kernel spec in `folder` (to put on $JUPYTER_PATH) that runs `venv`'s Python."""
    spec = folder / "kernels" / "fresh"
    spec.mkdir(parents=True)
    argv = [venvs.python(venv), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(dict(argv=argv, display_name="fresh venv")))
    return "fresh"


@pytest.fixture(scope="module")
def executed(metheny, metheny_path, tmp_path_factory):
    """(venv, working directory, executed notebook). `metheny` puts the corpus in the tests'
    cache, which the kernel inherits, so it does not parse the file again."""
    scratch = tmp_path_factory.mktemp("colab")
    url = venvs.snapshot_repository(scratch / "repository")
    venv = venvs.fresh_venv(scratch / "venv")
    workdir = scratch / "content"
    (workdir / "data").mkdir(parents=True)  # the data root of a runtime: ./data
    shutil.copy(metheny_path, workdir / "data")
    parameters = f"REPOSITORY = {url!r}\nINSTALL = True\nEPOCHS = {EPOCHS}"
    notebook = with_parameters(nbformat.read(NOTEBOOK, as_version=4), parameters)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(scratch / "jupyter"))
        name = kernel_of(venv, scratch / "jupyter")
        client = NotebookClient(
            notebook, kernel_name=name, timeout=600, resources={"metadata": {"path": workdir}}
        )
        path = f"{venv / 'bin'}:{venvs.environment()['PATH']}"
        client.execute(env=venvs.environment(PATH=path, VIRTUAL_ENV=str(venv)))
    return venv, workdir, notebook


def test_the_install_cell_installs_jazz_flax_from_the_repository(executed):
    venv, _, notebook = executed
    prefix, package = notebook.cells[-1].outputs[0].text.split()
    assert prefix == str(venv) and package.startswith(str(venv))  # not this checkout's
    (record,) = venv.glob("lib/python*/site-packages/jazz_flax-*.dist-info/direct_url.json")
    assert json.loads(record.read_text())["url"].startswith("file://")
    assert "ERROR" not in "".join(o.get("text", "") for o in cell(notebook, "install").outputs)


def test_trains_the_baseline_for_the_injected_epochs(executed):
    _, workdir, _ = executed
    run = workdir / RUN
    assert (run / "loss.png").stat().st_size > 0
    assert (run / "checkpoint.msgpack").stat().st_size > 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == EPOCHS
    assert summary["devices"] == parallel.cpu_devices(0, 32)  # a device per core, as make train


def test_generates_a_solo_and_shows_it(executed):
    _, workdir, notebook = executed
    for suffix in ("mid", "wav", "png"):
        assert [p for p in (workdir / RUN / "output").glob(f"*.{suffix}") if p.stat().st_size]
    assert "measures" in cell(notebook, "generate").outputs[0].text
    for image in ("loss", "piano-roll"):
        assert "image/png" in cell(notebook, image).outputs[0].data


def test_plays_the_audio(executed):
    _, _, notebook = executed
    (output,) = cell(notebook, "audio").outputs
    assert "<audio" in output.data["text/html"]


@pytest.mark.skipif(
    render.find_renderer().soundfont is None,
    reason="FluidSynth or a soundfont is absent: make audio",
)
def test_the_audio_is_fluidsynths(executed):
    _, workdir, notebook = executed
    assert "; audio: FluidSynth (" in cell(notebook, "generate").outputs[0].text
    (solo,) = (workdir / RUN / "output").glob("*.wav")
    with wave.open(str(solo)) as w:
        assert w.getframerate() == render.FLUIDSYNTH_RATE


def test_the_install_cell_updates_apt_first_and_hides_no_errors():
    source = cell(nbformat.read(NOTEBOOK, as_version=4), "install").source
    assert -1 < source.find("apt-get update") < source.find("apt-get install -y")
    assert "/dev/null" not in source and "{REPOSITORY}" in source
