"""What a user gets without training: the generator shipped in samples/, drawn from Keras alone,
from the command line (run.py, python -m cgan; the cgan command draws in test_front_doors.py) and
from Python; the README's Python section and the quickstart notebook, executed as written. The
commands run in processes of their own beside the other tests (after_judge_jobs): once the judge
is trained, or at once for those that need no judge when there is none."""

import json
import os
import re
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import COMMAND, REPO, run_in_process
from processes import job

import cgan
from experiments import configs

SHIPPED = os.path.join(REPO, "samples", "cgan_generator.keras")

KERAS_ONLY = """
import sys
import keras
import numpy as np
import pytest

model = keras.models.load_model(sys.argv[1], compile=False)
noise = np.random.default_rng(0).standard_normal((200, 64)).astype(np.float32)
labels = np.full(200, 7, np.int32)
images = model([noise, labels], training=False).numpy()
pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
np.save(sys.argv[2], pixels)
assert not [name for name in sys.modules if name.split(".")[0] == "cgan"]
"""
# Runs the quickstart notebook with the parameters cell replaced, then writes it with its outputs.
NOTEBOOK = """
import sys
import nbclient
import nbformat

source, parameters, folder, target = sys.argv[1:]
notebook = nbformat.read(source, as_version=4)
(cell,) = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
cell.source = parameters
client = nbclient.NotebookClient(
    notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": folder}}
)
client.execute()
nbformat.write(notebook, target)
"""
README_CHECK = (
    "\nimport sys, numpy\nnumpy.save('sevens.npy', sevens)\nprint('fid', metrics['fid'])\n"
    "flags = sys.modules.get('absl.flags')\n"
    "assert 'cgan.cli' not in sys.modules and not (flags and flags.FLAGS.is_parsed())\n"
)  # the library never touches the command line's flags


def draw_sevens(folder):
    """run.py's arguments to draw 7s from the shipped generator into `folder`/out."""
    return ["--mode=generate", "--digit=7", f"--generator={SHIPPED}", f"--output_dir={folder}/out"]


def python_section(readme):
    """The ```python blocks of the README's "## From Python" section, joined."""
    section = readme.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))


def readme_code():
    with open(os.path.join(REPO, "README.md")) as handle:
        return python_section(handle.read())


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The module's commands (processes.AfterJudge). The README's code runs in `demo`, with the
    repository's samples/ beside it; the notebook draws on the run it leaves in runs/demo (its
    budget is the same), so that the two train once between them."""
    demo = folder / "demo"
    demo.mkdir()
    os.symlink(os.path.join(REPO, "samples"), demo / "samples")
    session_mnist = dict(TFDS_DATA_DIR=data_dir)  # MNIST as prepared for the session
    parameters = (
        "INSTALL = False\n"
        "BUDGET = dict(steps=20)  # the README's run: reused when that test ran first\n"
        "EVAL_SAMPLES = 500\n"
        f"OUTPUT_DIR = {str(demo / 'runs' / 'demo')!r}"
    )
    notebook = os.path.join(REPO, "experiments", "quickstart.ipynb")
    return {
        "keras_alone": job(  # in its own folder, not the repository: cgan not importable
            [sys.executable, "-c", KERAS_ONLY, SHIPPED, "sevens.npy"], timeout=120
        ),
        # the shipped generator from each front door: no judge, no MNIST needed
        "module_draws": job(
            [sys.executable, "-m", "cgan", *draw_sevens(folder / "module_draws")],
            timeout=120,
            needs_judge=False,
        ),
        "unknown_experiment": job([COMMAND, "--experiment=nope"], timeout=120, needs_judge=False),
        "readme_run": job(  # its runs/ go in demo; samples/ is the repository's
            [sys.executable, "-c", readme_code() + README_CHECK], cwd=demo, env_extra=session_mnist
        ),
        "notebook_run": job(
            [sys.executable, "-c", NOTEBOOK, notebook, parameters, ".", "executed.ipynb"],
            env_extra=session_mnist,  # the kernel's MNIST too
            timeout=900,  # it trains when the README's run is not there
            after="readme_run",
        ),
    }


@pytest.fixture(scope="module")
def keras_alone(mnist_judge, after_judge):
    return after_judge.finished("keras_alone")


@pytest.fixture(scope="module")
def module_draws(after_judge):
    return after_judge.result("module_draws")


@pytest.fixture(scope="module")
def unknown_experiment(after_judge):
    return after_judge.result("unknown_experiment")


@pytest.fixture(scope="module")
def readme_run(mnist_judge, after_judge):
    return after_judge.finished("readme_run")


@pytest.fixture(scope="module")
def notebook_run(mnist_judge, after_judge):
    return after_judge.finished("notebook_run")


def test_the_shipped_generator_draws_a_requested_digit_with_keras_alone(keras_alone, mnist_judge):
    sevens = np.load(keras_alone.folder / "sevens.npy")
    assert sevens.shape == (200, 28, 28, 1) and sevens.dtype == np.uint8
    judged = mnist_judge.probabilities(sevens).argmax(axis=1)
    assert np.mean(judged == 7) >= 0.97  # measured 1.0


def test_the_shipped_generator_scores_near_its_recorded_figures(tmp_path, data_dir, mnist_judge):
    metrics = cgan.evaluate(
        SHIPPED, judge=mnist_judge, eval_samples=2000, output_dir=str(tmp_path), data_dir=data_dir
    )  # data_dir: the training labels' shares, from the session's MNIST
    with open(tmp_path / "metrics.json") as handle:
        assert json.load(handle)["fid"] == metrics["fid"]
    assert metrics["num_images"] == 2000
    assert metrics["accuracy"] >= 0.98
    assert metrics["fid"] < 3 * metrics["floor"]["fid"] + 0.5  # 2,000 samples bias FID upwards


def test_python_m_cgan_draws_run_pys_digits_from_the_shipped_generator(
    tmp_path, capfd, module_draws
):
    drawn = run_in_process(capfd, *draw_sevens(tmp_path))
    assert drawn.returncode == 0, drawn.stderr
    picture = (tmp_path / "out" / "digit_7.png").read_bytes()
    done = module_draws  # python -m cgan; the cgan command draws in test_front_doors.py
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"wrote {done.folder / 'out' / 'digit_7.png'}"
    assert (done.folder / "out" / "digit_7.png").read_bytes() == picture
    grid = matplotlib.image.imread(tmp_path / "out" / "digit_7.png")
    assert grid.shape[:2] == (2 * (10 * 30 + 2), 2 * (10 * 30 + 2))


def test_the_cgan_command_knows_the_named_experiments_from_any_folder(unknown_experiment):
    done = unknown_experiment  # run in a folder of its own, not the repository
    assert done.returncode == 2
    known = ", ".join(configs.names())
    assert done.stderr.strip() == f"error: unknown experiment 'nope'; known: {known}"


def test_the_readme_python_section_runs_as_written(readme_run, mnist_judge):
    code = readme_code()
    assert "cgan.load(" in code and "cgan.train(" in code and "cgan.evaluate(" in code
    done = readme_run
    demo = done.folder.parent / "demo"  # where it ran
    assert done.stdout.splitlines()[0] == f"{tuple(map(str, range(10)))} (16, 28, 28)"
    sevens = np.load(demo / "sevens.npy")
    assert (mnist_judge.probabilities(sevens[..., None]).argmax(axis=1) == 7).all()
    with open(demo / "runs" / "demo" / "metrics.json") as handle:
        fid = json.load(handle)["fid"]
    assert done.stdout.splitlines()[-1] == f"fid {fid}"
    assert done.stdout.splitlines()[-2].startswith(f"FID {fid:.3f}, real digits ")


def test_the_quickstart_notebook_runs_and_shows_its_results(notebook_run):
    import nbformat

    notebook = nbformat.read(notebook_run.folder / "executed.ipynb", as_version=4)
    demo = notebook_run.folder.parent / "demo"
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [output for output in outputs if output.output_type == "error"]
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pictures) == 2  # the run's grid, and the eight sevens
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "(8, 28, 28) uint8" in text
    with open(demo / "runs" / "demo" / "metrics.json") as handle:
        metrics = json.load(handle)
    assert metrics["num_images"] == 500
    assert f"      fid: {metrics['fid']:.4f}   real digits: {metrics['floor']['fid']:.4f}" in text
