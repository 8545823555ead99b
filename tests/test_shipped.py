"""What a user gets without training: the generator shipped in samples/, drawn from Keras alone,
from the command line (run.py, python -m cgan, the cgan command) and from Python; the README's
Python section and the quickstart notebook, executed as written."""

import json
import os
import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import REPO, run_in_process

import cgan
from experiments import configs

SHIPPED = os.path.join(REPO, "samples", "cgan_generator.keras")
COMMAND = os.path.join(os.path.dirname(sys.executable), "cgan")  # installed by setup.cfg

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


def test_the_shipped_generator_draws_a_requested_digit_with_keras_alone(tmp_path, mnist_judge):
    target = tmp_path / "sevens.npy"
    done = subprocess.run(
        [sys.executable, "-c", KERAS_ONLY, SHIPPED, str(target)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: cgan is not importable by accident
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    sevens = np.load(target)
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


def test_every_front_door_draws_the_same_digits_from_the_shipped_generator(tmp_path, capfd):
    args = ["--mode=generate", "--digit=7", f"--generator={SHIPPED}"]
    drawn = run_in_process(capfd, *args, f"--output_dir={tmp_path / 'run_py'}")
    assert drawn.returncode == 0, drawn.stderr
    picture = (tmp_path / "run_py" / "digit_7.png").read_bytes()
    for name, command in (("module", [sys.executable, "-m", "cgan"]), ("command", [COMMAND])):
        done = subprocess.run(
            command + args + [f"--output_dir={tmp_path / name}"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == f"wrote {tmp_path / name / 'digit_7.png'}"
        assert (tmp_path / name / "digit_7.png").read_bytes() == picture
    grid = matplotlib.image.imread(tmp_path / "run_py" / "digit_7.png")
    assert grid.shape[:2] == (2 * (10 * 30 + 2), 2 * (10 * 30 + 2))


def test_the_cgan_command_knows_the_named_experiments_from_any_folder(tmp_path):
    done = subprocess.run(
        [COMMAND, "--experiment=nope"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2
    known = ", ".join(configs.names())
    assert done.stderr.strip() == f"error: unknown experiment 'nope'; known: {known}"


def python_section(readme):
    """The ```python blocks of the README's "## From Python" section, joined."""
    section = readme.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The folder the README's code runs in; the notebook draws on the run it leaves in
    runs/demo (its budget is the same), so that the two train once between them."""
    return tmp_path_factory.mktemp("demo")


def test_the_readme_python_section_runs_as_written(demo, data_dir, mnist_judge):
    tmp_path = demo
    with open(os.path.join(REPO, "README.md")) as handle:
        code = python_section(handle.read())
    assert "cgan.load(" in code and "cgan.train(" in code and "cgan.evaluate(" in code
    os.symlink(os.path.join(REPO, "samples"), tmp_path / "samples")
    check = (
        "\nimport sys, numpy\nnumpy.save('sevens.npy', sevens)\nprint('fid', metrics['fid'])\n"
        "flags = sys.modules.get('absl.flags')\n"
        "assert 'cgan.cli' not in sys.modules and not (flags and flags.FLAGS.is_parsed())\n"
    )  # the library never touches the command line's flags
    done = subprocess.run(
        [sys.executable, "-c", code + check],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # its runs/ go here; samples/ is the repository's
        env=dict(os.environ, TFDS_DATA_DIR=data_dir),  # MNIST as prepared for the session
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0] == f"{tuple(map(str, range(10)))} (16, 28, 28)"
    sevens = np.load(tmp_path / "sevens.npy")
    assert (mnist_judge.probabilities(sevens[..., None]).argmax(axis=1) == 7).all()
    with open(tmp_path / "runs" / "demo" / "metrics.json") as handle:
        fid = json.load(handle)["fid"]
    assert done.stdout.splitlines()[-1] == f"fid {fid}"
    assert done.stdout.splitlines()[-2].startswith(f"FID {fid:.3f}, real digits ")


def test_the_quickstart_notebook_runs_and_shows_its_results(
    tmp_path, demo, monkeypatch, data_dir, mnist_judge
):
    import nbclient
    import nbformat

    notebook = nbformat.read(os.path.join(REPO, "experiments", "quickstart.ipynb"), as_version=4)
    (parameters,) = [
        cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])
    ]
    parameters.source = (
        "INSTALL = False\n"
        "BUDGET = dict(steps=20)  # the README's run: reused when that test ran first\n"
        "EVAL_SAMPLES = 500\n"
        f"OUTPUT_DIR = {str(demo / 'runs' / 'demo')!r}"
    )
    monkeypatch.setenv("TFDS_DATA_DIR", data_dir)  # the kernel's MNIST: as prepared for the session
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
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
