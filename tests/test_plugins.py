"""Plugins on every front door: the worked plugin experiments/sn_cgan.py, outside cgan, registers
an architecture with a layer of its own and a loss term; run.py trains it with --import in a
comparison beside a built-in arm, and new processes draw, export and resume it from the run
folder or the .keras file alone, and train and load it through cgan.import_plugins (a kill
and its resume are tests/test_reliability.py's). The plugin is never imported into this process:
its architecture and term would join every other test's registry."""

import json
import os
import shutil
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, assert_refused, run_in_process, snapshot
from processes import job

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


def _step(name, *command):
    """A shell step: `command`, its output in <name>.out and <name>.err."""
    return " ".join(f"'{part}'" for part in command) + f" > {name}.out 2> {name}.err"


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The plugin's commands, one after another in new processes (processes.AfterJudge): a
    comparison trains and scores it with --import; the rest reuse its arm: generate from the
    folder alone (evaluate reopens a folder as generate does), export from the moved .keras
    file, the Python API on a copy, and run.py without --import resuming another copy."""
    run_py, mnist = (
        os.path.join(REPO, "run.py"),
        [f"--mnist_dir={mnist_dir}", f"--data_dir={data_dir}"],
    )
    compared, arm = folder / "chain" / "compared", folder / "chain" / "compared" / "sn_cgan-seed0"
    moved, copy, resumed = (
        folder / "chain" / "moved",
        folder / "chain" / "api",
        folder / "chain" / "resumed",
    )
    python, api = sys.executable, folder / "api.py"
    api.write_text(API_SCRIPT)  # a file: the shell's quotes would cut it short
    steps = [
        _step("compare", python, run_py, f"--import={PLUGIN}", "--mode=compare",
              "--archs=cgan_fast,sn_cgan", f"--budget_images={BUDGET}", f"--batch_size={BATCH}",
              "--eval_samples=100", *mnist, f"--output_dir={compared}", "--verbose=false"),
        _step("generate", python, run_py, "--mode=generate", f"--output_dir={arm}", "--digit=7",
              "--num_samples=12", f"--export={folder / 'chain' / 'sevens.npz'}"),
        f"mkdir '{moved}' && cp '{arm}/generator.keras' '{moved}/mine.keras'"
        f" && cp '{arm}/generator.json' '{moved}/mine.json'",
        _step("export", python, run_py, "--mode=export", f"--generator={moved / 'mine.keras'}",
              f"--output_dir={moved}"),
        f"cp -r '{arm}' '{copy}' && cp -r '{arm}' '{resumed}'",
        _step("api", python, api, PLUGIN, str(copy), mnist_dir, data_dir),
        _step("resumed", python, run_py, "--arch=sn_cgan", f"--output_dir={resumed}",
              "--steps=20", "--checkpoint_every=5", "--log_every=5", f"--batch_size={BATCH}",
              "--verbose=false", *mnist),
    ]  # fmt: skip
    env = dict(PYTHONPATH=REPO)
    return {"plugin_chain": job(["sh", "-c", " && ".join(steps)], env_extra=env, timeout=900)}


@pytest.fixture(scope="module")
def plugin():
    return PLUGIN


@pytest.fixture(scope="module")
def plugin_chain(mnist_judge, after_judge):
    return after_judge.finished("plugin_chain")


@pytest.fixture(scope="module")
def compared(plugin_chain):
    """The chain's folder: a comparison of cgan_fast and the plugin's arm, trained by run.py with
    --import on MNIST, and what the later steps made of the arm."""
    run = plugin_chain
    chain = run.folder.parent / "chain"
    outputs = {
        name: ((run.folder / f"{name}.out").read_text(), (run.folder / f"{name}.err").read_text())
        for name in ("compare", "generate", "export", "api", "resumed")
    }
    return types.SimpleNamespace(
        folder=chain / "compared", arm=chain / "compared" / "sn_cgan-seed0", chain=chain,
        stdout=outputs["compare"][0], outputs=outputs,
    )  # fmt: skip


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
    assert _json(compared.folder / "cgan_fast-seed0" / "metrics.json")["num_images"] == 100
    metrics = _json(compared.arm / "metrics.json")  # the plugin's arm, scored by the judge
    assert metrics["num_images"] == 100 and np.isfinite(metrics["fid"])
    assert np.asarray(metrics["confusion_matrix"]).shape == (10, 10)


def _done(compared, name):
    """What chain step `name` printed, after checking it ended well: (stdout, stderr)."""
    stdout, stderr = compared.outputs[name]
    assert "Traceback" not in stderr, stderr[-3000:]
    return stdout, stderr


def test_generate_works_from_the_run_folder_alone(compared):
    drawn, _ = _done(compared, "generate")
    assert f"wrote {compared.arm / 'digit_7.png'}" in drawn
    samples = np.load(compared.chain / "sevens.npz")
    assert samples["images"].shape == (12, 28, 28) and samples["images"].dtype == np.uint8
    assert samples["labels"].tolist() == [7] * 12


def test_a_generator_file_exports_without_its_builder_flag_or_import(compared):
    _done(compared, "export")
    moved = compared.chain / "moved"  # the file moved away from its run
    serving = tf.saved_model.load(str(moved / "saved_model"))
    images = serving.serve(labels=tf.constant([1, 7], tf.int32), seed=tf.constant(0, tf.int64))
    images = next(iter(images.values())) if isinstance(images, dict) else images
    assert images.shape == (2, 28, 28, 1) and images.dtype == tf.uint8
    assert os.path.getsize(moved / "generator.tflite") > 1000


def test_the_python_api_imports_the_plugin_resumes_the_run_and_loads_it_in_a_new_process(
    compared, plugin
):
    printed, _ = _done(compared, "api")
    facts = json.loads(printed.strip().splitlines()[-1])
    assert facts == dict(known_before=False, specs=[plugin], shape=[4, 28, 28], dtype="uint8",
                         step=15)  # fmt: skip
    folder = compared.chain / "api"
    with open(folder / "history.csv") as f:
        steps = [int(line.split(",")[0]) for line in f.read().splitlines()[1:]]
    assert steps[-1] == 15 and BUDGET // BATCH in steps  # resumed after the arm's 10 steps
    assert _json(folder / "run.json")["imports"] == [plugin]


def test_a_plugins_run_resumes_from_the_folder_with_run_py_without_import(compared, plugin):
    from test_reliability import history_steps, listed_checkpoints

    printed, _ = _done(compared, "resumed")
    folder = compared.chain / "resumed"
    assert printed == f"wrote {folder / 'digits.png'}\n"
    assert listed_checkpoints(folder)[-2:] == [15, 20]
    steps = history_steps(folder)  # the arm's 10 steps, then resumed: no row twice
    assert steps[-1] == 20 and BUDGET // BATCH in steps and len(steps) == len(set(steps))
    assert _json(folder / "generator.json")["step"] == 20
    assert _json(folder / "run.json")["imports"] == [plugin]  # what the resume imported


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
