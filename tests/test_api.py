"""The Python API (cgan.train, load, export) and the exported generator's contract, on a tiny run
of the synthetic digit folder: nothing here needs MNIST."""

import contextlib
import dataclasses
import io
import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_in_process

import cgan
from cgan import data
from cgan.errors import CganError
from cgan.reopen import reopen

STEPS = 4


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory, synthetic_digits):
    """A finished 4-step cgan_fast run trained through cgan.train with verbose=False, and what it
    printed."""
    out = tmp_path_factory.mktemp("api") / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        run = cgan.train(
            arch="cgan_fast",
            dataset=synthetic_digits,
            steps=STEPS,
            batch_size=16,
            log_every=2,
            checkpoint_every=2,
            output_dir=str(out),
            verbose=False,
        )
    return run, printed.getvalue()


def test_train_returns_the_run_with_its_folder_history_and_picture(quiet_run):
    run, printed = quiet_run
    assert printed == ""  # verbose=False: not even the progress bars
    assert run.picture == os.path.join(run.folder, "digits.png")
    assert os.path.getsize(run.picture) > 1000
    rows = run.history
    assert [row["step"] for row in rows] == [2, 4]
    assert [row["images_seen"] for row in rows] == [32, 64]
    assert all(isinstance(row["g_loss"], float) and np.isfinite(row["g_loss"]) for row in rows)


def test_a_loaded_generator_draws_uint8_digits_by_the_documented_contract(quiet_run):
    run, _ = quiet_run
    generator = run.generator
    assert generator.class_names == tuple(str(label) for label in range(10))
    assert (generator.conditional, generator.latent_dim, generator.step) == (True, 64, STEPS)
    sevens = generator.sample(digit=7, n=5, seed=0)
    assert sevens.shape == (5, 28, 28) and sevens.dtype == np.uint8
    np.testing.assert_array_equal(generator.sample(digit=7, n=5, seed=0), sevens)
    assert not np.array_equal(generator.sample(digit=7, n=5, seed=1), sevens)
    # The README's contract: standard normal float32 noise, int32 labels, output in [-1, 1].
    noise = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    output = generator.model([noise, np.full(5, 7, np.int32)], training=False).numpy()
    assert output.dtype == np.float32 and output.shape == (5, 28, 28, 1)
    # Every value is within half a grey level of its pixel on the scale [-1, 1] -> [0, 255]: the
    # output is in [-1, 1] already (to_uint8 would clip what is not, and miss by more). (Four steps
    # leave it within +-0.07; tests/test_architectures.py bounds it under any pre-activation.)
    np.testing.assert_allclose(output[..., 0], sevens / 127.5 - 1, rtol=0, atol=1 / 255 + 1e-6)
    np.testing.assert_array_equal(data.to_uint8(output)[..., 0], sevens)
    # The folder and its .keras file load the same generator.
    from_file = cgan.load(os.path.join(run.folder, "generator.keras"))
    np.testing.assert_array_equal(from_file.sample(digit=7, n=5, seed=0), sevens)
    with pytest.raises(CganError, match=r"digit must be in 0\.\.9, got 10"):
        generator.sample(digit=10)
    with pytest.raises(CganError, match="n must be at least 1, got 0"):
        generator.sample(digit=7, n=0)
    # An unconditional model trained on one digit draws that digit only, however it is asked.
    threes = dataclasses.replace(generator, conditional=False, train_digit=3)
    np.testing.assert_array_equal(threes.labels(np.array([3, 3]), 2), [3, 3])
    with pytest.raises(CganError, match="draws only digit 3, not 4"):
        threes.labels([3, 4], 2)


def test_a_run_stopped_before_its_end_is_drawn_from_its_latest_checkpoint(
    quiet_run, tmp_path, capfd, synthetic_digits
):
    run, _ = quiet_run
    stopped = tmp_path / "stopped"
    shutil.copytree(run.folder, stopped)
    for name in ("generator.keras", "generator.json", "generator_raw.keras"):
        os.remove(stopped / name)  # what a run stopped before its end has: checkpoints only
    expected = run.generator.sample(digit=3, n=4, seed=2)
    np.testing.assert_array_equal(cgan.load(stopped).sample(digit=3, n=4, seed=2), expected)
    # The generator before weight averaging, from the same checkpoint.
    raw = keras.models.load_model(os.path.join(run.folder, "generator_raw.keras"), compile=False)
    noise, labels = run.generator.noise(4, seed=2), np.full(4, 3, np.int32)
    np.testing.assert_array_equal(
        reopen(str(stopped), raw=True).model([noise, labels]), raw([noise, labels])
    )
    drawn = run_in_process(
        capfd,
        "--mode=generate",
        "--arch=cgan_fast",
        "--ema=0",  # the run's own recipe rebuilds its checkpoint, whatever the flags say
        f"--dataset={synthetic_digits}",
        f"--output_dir={stopped}",
        "--digit=3",
    )
    assert drawn.returncode == 0, drawn.stderr
    assert (
        f"{stopped} was stopped before its end: drawing from its latest checkpoint, "
        f"ckpt-{STEPS} (step {STEPS})"
    ) in drawn.stdout
    assert os.path.exists(stopped / "digit_3.png")
    # An export older than the latest checkpoint: a finished run resumed, then stopped.
    resumed = tmp_path / "resumed"
    shutil.copytree(run.folder, resumed)
    facts = json.loads((resumed / "generator.json").read_text())
    (resumed / "generator.json").write_text(json.dumps(dict(facts, step=STEPS - 2)))
    assert cgan.load(resumed).step == STEPS  # drawn from ckpt-4, not the export of step 2


def test_options_are_checked_as_flags_are(tmp_path):
    with pytest.raises(CganError, match="unknown option.* epoch; see help"):
        cgan.train(epoch=3)
    with pytest.raises(CganError, match="--batch_size must be positive, got 0"):
        cgan.train(batch_size=0, output_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_a_generator_file_without_its_description_or_cut_short_is_refused(quiet_run, tmp_path):
    run, _ = quiet_run
    with pytest.raises(CganError, match="no generator file .*missing.keras"):
        cgan.load(tmp_path / "missing.keras")
    alone = tmp_path / "alone.keras"
    shutil.copy(os.path.join(run.folder, "generator.keras"), alone)
    with pytest.raises(CganError, match="has no alone.json beside it"):
        cgan.load(alone)
    shutil.copy(os.path.join(run.folder, "generator.json"), tmp_path / "alone.json")
    assert cgan.load(alone).step == STEPS
    alone.write_bytes(alone.read_bytes()[:1000])
    with pytest.raises(CganError, match="not a whole .keras .zip. file, truncated"):
        cgan.load(alone)


def test_export_gives_the_keras_pixels_from_the_saved_model_and_tflite(quiet_run):
    run, _ = quiet_run
    paths = cgan.export(run)
    assert paths == dict(
        saved_model=os.path.join(run.folder, "saved_model"),
        tflite=os.path.join(run.folder, "generator.tflite"),
    )
    generator = run.generator
    noise, labels = generator.noise(10, seed=3), np.arange(10, dtype=np.int32)
    expected = generator.sample(digit=labels, n=10, seed=3).astype(int)

    served = tf.saved_model.load(paths["saved_model"])
    from_noise = served.from_noise(tf.constant(noise), tf.constant(labels)).numpy()
    assert from_noise.dtype == np.uint8 and from_noise.shape == (10, 28, 28, 1)
    assert np.abs(from_noise[..., 0].astype(int) - expected).max() <= 1
    # The serving signature draws its own noise from the seed: tf.random.stateless_normal.
    signature = served.signatures["serving_default"]
    images = signature(labels=tf.constant(labels), seed=tf.constant(5, tf.int64))
    (images,) = images.values()
    own = tf.random.stateless_normal([10, 64], seed=[5, 0]).numpy()
    again = served.from_noise(tf.constant(own), tf.constant(labels)).numpy()
    np.testing.assert_array_equal(images.numpy(), again)

    interpreter = tf.lite.Interpreter(model_path=paths["tflite"])
    runner = interpreter.get_signature_runner("from_noise")
    (lite,) = runner(noise=noise, labels=labels).values()
    assert lite.dtype == np.uint8
    assert np.abs(lite[..., 0].astype(int) - expected).max() <= 1
