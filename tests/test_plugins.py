"""Plugins on every front door: the worked plugin experiments/sn_cgan.py, outside cgan, registers
an architecture with a layer of its own and a loss term; run.py trains it with --import in a
comparison beside a built-in arm, and new processes draw, score, export and resume it (after a
kill) from the run folder or the .keras file alone, and train and load it through
cgan.import_plugins. The plugin is never imported into this process: its architecture and term
would join every other test's registry."""

import json
import os
import shutil
import subprocess
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, assert_refused, run_cli, run_in_process, snapshot

from cgan import config as config_module
from cgan import modes, plugins, registry
from cgan.config import Config
from cgan.context import from_generator
from cgan.generator import Generator

PLUGIN = os.path.join(REPO, "experiments", "sn_cgan.py")  # the worked plugin, outside cgan
BATCH, BUDGET = 32, 320  # 10 steps an arm
# cgan.import_plugins, cgan.train (resuming a run) and cgan.load in a process of their own.
API_SCRIPT = """
import json, sys
import cgan
from cgan import registry
plugin, folder, mnist_dir, data_dir = sys.argv[1:]
known_before = "sn_cgan" in registry.names()
specs = cgan.import_plugins(plugin)
run = cgan.train(arch="sn_cgan", output_dir=folder, steps=15, batch_size=32, mnist_dir=mnist_dir,
                 data_dir=data_dir, verbose=False)
generator = cgan.load(run.folder)
images = generator.sample(digit=3, n=4, seed=0)
print(json.dumps(dict(known_before=known_before, specs=specs, shape=images.shape,
                      dtype=str(images.dtype), step=generator.step)))
"""


@pytest.fixture(scope="module")
def plugin():
    return PLUGIN


@pytest.fixture(scope="module")
def compared(plugin, mnist_judge, mnist_dir, data_dir, tmp_path_factory):
    """A comparison of cgan_fast and the plugin's arm, trained by run.py with --import on
    MNIST."""
    folder = tmp_path_factory.mktemp("compared")
    result = run_cli(
        f"--import={plugin}",
        "--mode=compare",
        "--archs=cgan_fast,sn_cgan",
        f"--budget_images={BUDGET}",
        f"--batch_size={BATCH}",
        "--eval_samples=100",
        f"--mnist_dir={mnist_dir}",
        f"--data_dir={data_dir}",
        f"--output_dir={folder}",
        "--verbose=false",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return types.SimpleNamespace(folder=folder, arm=folder / "sn_cgan-seed0", stdout=result.stdout)


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_compare_trains_the_plugins_arm_beside_a_built_in_one_and_records_the_plugin(
    compared, plugin
):
    with open(compared.folder / "comparison.csv") as f:
        arms = [line.split(",")[0] for line in f.read().splitlines()[1:]]
    assert arms == [
        "cgan_fast",
        "cgan_fast (raw G)",
        "sn_cgan",
        "sn_cgan (raw G)",
        "real mnist test images",
    ]
    assert "| sn_cgan | 1 |" in compared.stdout
    saved = _json(compared.arm / "run.json")
    assert (saved["arch"], saved["imports"]) == ("sn_cgan", [plugin])
    assert saved["recipe"]["terms"] == "consistency=10"  # the plugin's own term, on
    assert _json(compared.arm / "generator.json")["imports"] == [plugin]
    assert _json(compared.folder / "compare.json")["imports"] == [plugin]
    assert _json(compared.arm / "metrics.json")["num_images"] == 100


def test_generate_and_evaluate_work_from_the_run_folder_alone(compared, tmp_path):
    drawn = run_cli("--mode=generate", f"--output_dir={compared.arm}", "--digit=7",
                    "--num_samples=12", f"--export={tmp_path / 'sevens.npz'}")  # fmt: skip
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert f"wrote {compared.arm / 'digit_7.png'}" in drawn.stdout
    samples = np.load(tmp_path / "sevens.npz")
    assert samples["images"].shape == (12, 28, 28) and samples["images"].dtype == np.uint8
    assert samples["labels"].tolist() == [7] * 12

    scored = run_cli("--mode=evaluate", f"--output_dir={compared.arm}", "--eval_samples=120",
                     "--verbose=false")  # fmt: skip
    assert scored.returncode == 0, scored.stderr[-3000:]
    metrics = _json(compared.arm / "metrics.json")
    assert metrics["num_images"] == 120 and np.isfinite(metrics["fid"])
    assert np.asarray(metrics["confusion_matrix"]).shape == (10, 10)


def test_a_generator_file_exports_without_its_builder_flag_or_import(compared, tmp_path):
    keras_file = tmp_path / "mine.keras"
    for name in ("generator.keras", "generator.json"):  # the file moved away from its run
        shutil.copy(compared.arm / name, tmp_path / name.replace("generator", "mine"))
    exported = run_cli("--mode=export", f"--generator={keras_file}", f"--output_dir={tmp_path}")
    assert exported.returncode == 0, exported.stderr[-3000:]
    serving = tf.saved_model.load(str(tmp_path / "saved_model"))
    images = serving.serve(labels=tf.constant([1, 7], tf.int32), seed=tf.constant(0, tf.int64))
    images = next(iter(images.values())) if isinstance(images, dict) else images
    assert images.shape == (2, 28, 28, 1) and images.dtype == tf.uint8
    assert os.path.getsize(tmp_path / "generator.tflite") > 1000


def test_the_python_api_imports_the_plugin_resumes_the_run_and_loads_it_in_a_new_process(
    compared, plugin, tmp_path, mnist_dir, data_dir
):
    folder = tmp_path / "sn_cgan"
    shutil.copytree(compared.arm, folder)
    env = dict(os.environ, PYTHONPATH=REPO)
    done = subprocess.run(
        [sys.executable, "-c", API_SCRIPT, plugin, str(folder), mnist_dir, data_dir],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts == dict(known_before=False, specs=[plugin], shape=[4, 28, 28], dtype="uint8",
                         step=15)  # fmt: skip
    with open(folder / "history.csv") as f:
        steps = [int(line.split(",")[0]) for line in f.read().splitlines()[1:]]
    assert steps[-1] == 15 and BUDGET // BATCH in steps  # resumed after the arm's 10 steps
    assert _json(folder / "run.json")["imports"] == [plugin]


@pytest.mark.parametrize(
    "module, expected",
    [
        ("no_such_plugin_module", "--import no_such_plugin_module: No module named"),
        ("raising.py", "raising.py: RuntimeError: the plugin broke"),
        ("missing.py", "missing.py: no such file"),
    ],
)
def test_a_plugin_missing_or_raising_on_import_is_refused_in_one_line(
    module, expected, tmp_path, capfd
):
    (tmp_path / "raising.py").write_text('raise RuntimeError("the plugin broke")\n')
    spec = str(tmp_path / module) if module.endswith(".py") else module
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    result = run_in_process(capfd, f"--import={spec}", "--arch=sn_cgan", f"--output_dir={out}")
    assert_refused(result, tmp_path, before, expected)
    assert "sn_cgan" not in registry.names()


def test_a_plugin_gone_since_training_is_named_in_one_line(compared, tmp_path, capfd):
    folder = tmp_path / "mine"
    shutil.copytree(compared.arm, folder)
    gone = str(tmp_path / "deleted" / "sn_cgan.py")  # where the run's plugin was
    saved = _json(folder / "run.json")
    with open(folder / "run.json", "w") as f:
        json.dump(dict(saved, imports=[gone]), f)
    before = snapshot(tmp_path)
    for mode in ("generate", "evaluate", "export", "train"):  # train: a resume
        result = run_in_process(capfd, f"--mode={mode}", "--arch=sn_cgan", f"--output_dir={folder}")
        assert_refused(result, tmp_path, before, f"made with the plugin {gone}", "no such file")


def test_a_generator_of_an_unregistered_architecture_is_drawn_from_its_file_facts():
    z, labels = keras.Input((4,)), keras.Input((), dtype="int32")
    model = keras.Model([z, labels], keras.layers.Reshape((2, 2, 1))(z))
    found = Generator(model, "nobody_registered_this", "mnist", True, 4, (2, 2, 1), tuple("ab"))
    context = from_generator(Config(mode="generate"), found)
    assert context.conditional and context.config.latent_dim == 4
    assert context.spec.class_names == ("a", "b") and context.num_classes == 2


def test_plugins_are_recorded_by_absolute_path_or_name():
    assert plugins.spec_of("some.module") == "some.module"
    assert plugins.spec_of("here/p.py") == os.path.join(os.getcwd(), "here", "p.py")


def test_the_modes_table_holds_every_mode_config_offers():
    assert tuple(modes.MODES) == config_module.MODES


def test_a_plugins_run_killed_mid_training_resumes_from_the_folder_with_run_py(
    compared, tmp_path, mnist_dir, data_dir
):
    from test_reliability import (
        finish,
        history_steps,
        listed_checkpoints,
        start,
        wait_for_checkpoint,
    )

    folder = tmp_path / "sn_cgan"
    shutil.copytree(compared.arm, folder)
    resume = [f"--import={PLUGIN}", "--arch=sn_cgan", f"--output_dir={folder}", "--steps=30",
              "--checkpoint_every=5", "--log_every=5", f"--batch_size={BATCH}",
              f"--mnist_dir={mnist_dir}", f"--data_dir={data_dir}"]  # fmt: skip
    first = start(resume)
    wait_for_checkpoint(first, folder, 15)
    first.kill()
    assert finish(first)[0] == -9 and not (folder / "checkpoints" / "ckpt-30.index").exists()
    code, stderr = finish(start(resume[1:]))  # no --import: run.json names the plugin
    assert code == 0, stderr[-3000:]
    assert listed_checkpoints(folder)[-1] == 30
    steps = history_steps(folder)
    assert steps[-1] == 30 and len(steps) == len(set(steps))  # resumed, no row twice
    assert _json(folder / "generator.json")["step"] == 30
