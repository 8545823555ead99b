"""A short run on the real MNIST files (the README's commands, run.py in a process of its own:
tests/short_run.py): every output is written, training resumes in this process, a finished run is
reused without retraining, and samples export in the documented format."""

import csv
import dataclasses
import json
import math
import os
import shutil

import keras
import matplotlib.image
import numpy as np
import pytest
import short_run
import tensorflow as tf

from cgan import data, sampling, scores
from cgan.config import Config
from cgan.context import resolve
from cgan.errors import CganError
from cgan.metrics import frechet_distance, inception_score
from cgan.modes.evaluate import evaluate
from cgan.modes.generate import generate
from cgan.modes.train import train
from cgan.reopen import reopen
from cgan.trainer import GANTrainer

STEPS, BATCH, LOG_EVERY = short_run.STEPS, short_run.BATCH, short_run.LOG_EVERY
MORE_STEPS = 250


def _history(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


JOBS_FIRST = True  # its job is the queue's first: the module runs before the ones with jobs


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The README's commands (processes.AfterJudge): tests/test_front_doors.py names them too."""
    return {short_run.NAME: short_run.job(folder, data_dir, mnist_dir)}


@pytest.fixture(scope="module")
def readme_commands(mnist_judge, after_judge):
    return after_judge.finished(short_run.NAME)


@pytest.fixture(scope="module")
def config(tmp_path_factory, mnist_dir, data_dir, readme_commands):
    """The Config of the README's first command, for a copy of its run: the tests here change
    the run, and the front doors' test reads it."""
    out = tmp_path_factory.mktemp("run") / "cgan"
    shutil.copytree(short_run.folder_of(readme_commands), out)
    return Config(
        arch="cgan",
        digit=7,
        steps=STEPS,
        batch_size=BATCH,
        log_every=LOG_EVERY,
        output_dir=str(out),
        mnist_dir=mnist_dir,
        data_dir=data_dir,
        eval_every=1,
        eval_samples=short_run.EVAL_SAMPLES,
    )


@pytest.fixture(scope="module")
def first_run(config):
    """The grid the README's first command drew."""
    return os.path.join(config.output_dir, "digit_7.png")


@pytest.fixture(scope="module")
def finished(config, first_run):
    """The run's Config once trained on to MORE_STEPS (by the resume test, when it ran first)."""
    finished = dataclasses.replace(config, steps=MORE_STEPS)
    train(finished)
    return finished


def test_a_run_writes_every_output(config, first_run, mnist_judge):
    out = config.output_dir
    grid = matplotlib.image.imread(first_run)
    # 10 x 10 tiles of 28 + 2 px, doubled
    assert grid.shape[:2] == (2 * (10 * 30 + 2), 2 * (10 * 30 + 2))
    assert grid.std() > 0.05  # something was drawn
    assert matplotlib.image.imread(os.path.join(out, "image_at_epoch_0001.png")).shape == grid.shape
    assert matplotlib.image.imread(os.path.join(out, "losses.png")).shape[0] > 100
    assert os.path.exists(os.path.join(out, "checkpoints", f"ckpt-{STEPS}.index"))
    assert os.path.getsize(os.path.join(out, "generator.keras")) > 10_000
    # TensorBoard: the losses and scores as scalars, and the epoch's grid as an image
    summaries = {}
    for name in os.listdir(os.path.join(out, "tensorboard")):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(out, "tensorboard", name)):
            for value in event.summary.value:
                summaries.setdefault(value.tag, []).append((event.step, value))
    assert [step for step, _ in summaries["g_loss"]] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    assert [step for step, _ in summaries["fid"]] == [STEPS]
    ((step, image),) = summaries["samples"]
    picture = tf.io.decode_png(tf.make_ndarray(image.tensor)[2]).numpy()
    assert step == STEPS and picture.shape == (10 * 30 + 2, 10 * 30 + 2, 1)
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["arch"] == "cgan"

    rows = _history(os.path.join(out, "history.csv"))
    assert [int(r["step"]) for r in rows] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    assert all(int(r["images_seen"]) == int(r["step"]) * BATCH for r in rows)
    for name in ("d_loss", "g_loss", "d_accuracy", "seconds"):
        assert all(math.isfinite(float(r[name])) for r in rows), name
    # the discriminator's share of right calls, real and fake: better than chance, as it learns
    assert all(0.5 < float(r["d_accuracy"]) < 1.0 for r in rows)
    # --eval_every: the last row of the (only, partial) epoch carries the judge's scores
    assert [r["fid"] != "" for r in rows] == [False] * (len(rows) - 1) + [True]
    # ... of the generator it exported: scoring that one's samples again gives the same figures.
    context = resolve(config)
    images, labels = sampling.sample_set(
        context, reopen(config.run_dir).model, config.eval_samples, None
    )
    rescored = scores.score(mnist_judge, images, labels)
    for name in ("fid", "inception_score", "accuracy"):
        assert float(rows[-1][name]) == pytest.approx(rescored[name], rel=1e-3), name


def test_training_resumes_from_the_checkpoint(config, first_run, monkeypatch, capsys):
    out = config.output_dir
    before = _history(os.path.join(out, "history.csv"))
    raw = keras.models.load_model(os.path.join(out, "generator_raw.keras"), compile=False)
    started = []  # the step counter and generator weights at the first train call
    real_step = GANTrainer.train_step

    def train_step(self, iterator, steps=1):
        if not started:
            started.append((int(self.step.numpy()), [w.numpy() for w in self.generator.weights]))
        return real_step(self, iterator, steps)

    monkeypatch.setattr(GANTrainer, "train_step", train_step)
    train(dataclasses.replace(config, steps=MORE_STEPS))
    assert started, "the longer budget trained no further"
    checkpoint = os.path.join(out, "checkpoints", f"ckpt-{STEPS}")
    assert f"resuming from step {STEPS} (of {MORE_STEPS} steps), checkpoint {checkpoint}\n" in (
        capsys.readouterr().out
    )
    step, weights = started[0]
    assert step == STEPS  # resumed, not restarted: the step counter and the weights go on from
    for resumed, saved in zip(weights, raw.get_weights(), strict=True):  # the checkpoint
        np.testing.assert_array_equal(resumed, saved)
    rows = _history(os.path.join(out, "history.csv"))
    assert [int(r["step"]) for r in rows] == list(range(LOG_EVERY, MORE_STEPS + 1, LOG_EVERY))
    assert rows[: len(before)] == before  # the first run's rows, as they were
    seconds = [float(r["seconds"]) for r in rows]
    assert seconds == sorted(seconds)  # wall time carries over the resume
    assert os.path.exists(
        os.path.join(config.output_dir, "checkpoints", f"ckpt-{MORE_STEPS}.index")
    )


def test_a_finished_run_is_reused_to_draw_another_digit(config, finished):
    generator = os.path.join(config.output_dir, "generator.keras")
    history = os.path.join(config.output_dir, "history.csv")
    stamps = os.path.getmtime(generator), os.path.getmtime(history)

    path = train(dataclasses.replace(finished, digit=3))

    assert path == os.path.join(config.output_dir, "digit_3.png")
    assert (os.path.getmtime(generator), os.path.getmtime(history)) == stamps  # no retraining
    all_digits = train(dataclasses.replace(finished, digit=None))
    assert all_digits == os.path.join(config.output_dir, "digits.png")


def test_generate_exports_the_digits_in_their_training_shares_in_label_order(
    config, first_run, tmp_path
):
    target = tmp_path / "samples.npz"
    generate(
        dataclasses.replace(config, mode="generate", digit=None, num_samples=50, export=str(target))
    )
    with np.load(target) as samples:
        assert samples["images"].dtype == np.uint8 and samples["images"].shape == (50, 28, 28)
        # 50 x MNIST's shares (4.94 zeros, 5.62 ones, ..., 4.52 fives): the 7 largest
        # remainders round up
        np.testing.assert_array_equal(
            samples["labels"], np.repeat(np.arange(10), [5, 6, 5, 5, 5, 4, 5, 5, 5, 5])
        )
        assert samples["images"].std() > 10  # real pictures, not a blank


def test_a_run_folder_of_another_architecture_is_not_touched(config, first_run):
    with pytest.raises(CganError, match="choose another --output_dir"):
        train(dataclasses.replace(config, arch="dcgan"))


def test_digit_filter_keeps_only_that_digit(mnist_source):
    images, labels = data.load_arrays("train", mnist_source, digit=3)
    _, all_labels = data.load_arrays("train", mnist_source)
    assert set(labels.tolist()) == {3}
    assert len(images) == len(labels) == int((all_labels == 3).sum()) > 5000
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28, 1)


def test_evaluate_scores_the_run_beside_the_real_floor(config, finished, capsys, mnist_judge):
    metrics, written = evaluate(dataclasses.replace(config, mode="evaluate", eval_samples=1000))
    bars = capsys.readouterr().out  # generating, then judging, the samples of each generator
    assert bars.count("1000/1000") == 2  # the images drawn, for each generator
    assert "2/2" in bars  # the judge's batches of 500
    metrics_path = os.path.join(config.output_dir, "metrics.json")
    assert written == [metrics_path, os.path.join(config.output_dir, "confusion_matrix.png")]
    with open(metrics_path) as f:
        stored = json.load(f)
    for key in (
        "fid",
        "inception_score",
        "kid",
        "precision",
        "recall",
        "accuracy",
        "judge_accuracy",
        "floor",
    ):
        assert key in stored, key
    assert stored["judge_accuracy"] >= 0.993
    assert stored["floor"] == scores.real_floor(mnist_judge)  # the real test digits' own figures
    # The figures are those of the run's 1000 samples, from the weight-averaged generator and, under
    # "raw", the raw one, figured here from the judge's outputs for them.
    context = resolve(dataclasses.replace(config, mode="evaluate", eval_samples=1000))
    for figures, raw in ((stored, False), (stored["raw"], True)):
        images, labels = sampling.sample_set(
            context, reopen(config.run_dir, raw=raw).model, 1000, None
        )
        probabilities, features = mnist_judge.predict_both(images)
        fid = frechet_distance(mnist_judge.reference_features, features)
        assert figures["fid"] == pytest.approx(fid, rel=1e-6), raw
        assert figures["inception_score"] == pytest.approx(inception_score(probabilities), rel=1e-6)
        assert figures["accuracy"] == pytest.approx(np.mean(probabilities.argmax(axis=1) == labels))
    # 250 steps draw the digits asked for better than chance (0.1)
    assert stored["accuracy"] > 0.2
    assert np.array(stored["confusion_matrix"]).sum() == 1000
    assert "real images" in scores.metrics_table(metrics)


def test_evaluate_scores_an_exported_file(config, first_run, tmp_path, mnist_judge):
    target = tmp_path / "mine.npz"
    generate(
        dataclasses.replace(
            config, mode="generate", digit=None, num_samples=200, export=str(target)
        )
    )
    beside = dataclasses.replace(config, mode="evaluate", samples=str(target), output_dir=None)
    metrics, written = evaluate(beside)  # without --output_dir: beside the file
    assert written[0] == str(tmp_path / "mine.metrics.json")
    elsewhere = tmp_path / "scores"  # --output_dir, when given, gets the scores
    again, written = evaluate(
        dataclasses.replace(config, mode="evaluate", samples=str(target), output_dir=str(elsewhere))
    )
    assert written == [
        str(elsewhere / "mine.metrics.json"),
        str(elsewhere / "mine.confusion_matrix.png"),
    ]
    assert again["fid"] == metrics["fid"]
    assert metrics["num_images"] == 200
    with np.load(target) as samples:  # the file's own labels, judged afresh
        hits = mnist_judge.probabilities(samples["images"]).argmax(axis=1) == samples["labels"]
    assert metrics["accuracy"] == pytest.approx(hits.mean())


def test_an_unconditional_model_trained_on_one_digit_gets_its_own_folder(
    tmp_path, monkeypatch, mnist_dir, data_dir
):
    monkeypatch.chdir(tmp_path)  # the default run folder is relative: runs/<arch>-digit<k>
    config = Config(
        arch="dense",
        digit=3,
        steps=20,
        batch_size=32,
        log_every=10,
        mnist_dir=mnist_dir,
        data_dir=data_dir,
    )
    path = train(config)
    assert path == os.path.join("runs", "dense-digit3", "samples.png")
    assert matplotlib.image.imread(path).std() > 0.01
    with open(os.path.join("runs", "dense-digit3", "run.json")) as f:
        assert json.load(f)["train_digit"] == 3
    with pytest.raises(CganError, match="trained on digit 3"):
        train(dataclasses.replace(config, output_dir=os.path.join("runs", "dense-digit3"), digit=5))
