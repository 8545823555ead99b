"""Your own data from Python: cgan.train(dataset=...) on in-memory arrays and tf.data Datasets
(four classes of flat colours, so a drawn image's class is told by its colour), the checks that
refuse bad data in one line, the fingerprint in run.json, and drawing later without the data."""

import dataclasses
import json
import os
import sys

import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, snapshot
from processes import job
from test_datasets import COLOURS, row_colours

import cgan
from cgan import arrays, data, judge, runfolder
from cgan.datasource import DataSource
from cgan.errors import CganError
from cgan.modes import generate

PER_CLASS, SIDE, STEPS = 160, 16, 200
PALETTE = np.array(list(COLOURS.values()))


def colour_data(per_class=PER_CLASS, seed=0):
    """uint8 images (4 * per_class, SIDE, SIDE, 3), a flat colour per class with some noise, and
    their int64 labels, classes interleaved."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(len(PALETTE)), per_class)
    noise = rng.integers(-15, 16, (len(labels), SIDE, SIDE, 3))
    return np.clip(PALETTE[labels][:, None, None] + noise, 0, 255).astype(np.uint8), labels


def judged(images):
    """The class of each image by the nearest of the four colours to its mean: this data's judge."""
    means = images.reshape(len(images), -1, 3).mean(axis=1)
    return np.argmin(np.abs(means[:, None] - PALETTE[None]).sum(axis=2), axis=1)


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    """A cgan_fast run trained by cgan.train on the colour arrays (~10 s), and the arrays."""
    images, labels = colour_data()
    run = cgan.train(
        dataset=(images, labels),
        class_names=list(COLOURS),
        arch="cgan_fast",
        steps=STEPS,
        batch_size=16,
        log_every=100,
        output_dir=str(tmp_path_factory.mktemp("own") / "run"),
        verbose=False,
    )
    return run, images, labels


def assert_draws_the_asked_classes(generator):
    for label in range(len(COLOURS)):
        drawn = judged(generator.sample(digit=label, n=32, seed=label))
        assert (drawn == label).mean() >= 0.9, (label, np.bincount(drawn, minlength=4))


def test_arrays_train_and_draw_the_asked_classes(colour_run):
    run, _, _ = colour_run
    assert run.config.dataset.startswith("arrays:")
    assert_draws_the_asked_classes(run.generator)
    grid = matplotlib.image.imread(run.picture)[..., :3]
    mosaic = (2 * (4 * (SIDE + 2) + 2), 2 * (25 * (SIDE + 2) + 2))
    assert row_colours(grid, mosaic, SIDE, len(COLOURS)) == list(range(len(COLOURS)))


def test_run_json_records_the_fingerprint_shape_and_classes(colour_run):
    run, images, labels = colour_run
    with open(os.path.join(run.folder, "run.json")) as f:
        saved = json.load(f)
    facts = saved["data"]
    assert saved["dataset"] == "arrays:" + facts["fingerprint"][: arrays.NAME_DIGITS]
    assert len(facts["fingerprint"]) == 64
    assert facts["image_shape"] == [SIDE, SIDE, 3] and facts["class_names"] == list(COLOURS)
    # every 10th image of a class held out: 16 of 160
    assert facts["sizes"] == dict(train=4 * 144, test=4 * 16)
    assert facts["label_shares"] == [0.25] * 4


def test_the_same_data_gives_the_same_name_and_other_data_another():
    images, labels = colour_data(per_class=20)
    name = arrays.register((images, labels))
    assert arrays.register((images.copy(), labels.astype(np.uint8))) == name
    assert arrays.register((images[::-1], labels[::-1])) == name  # another order
    assert arrays.register((images / 255.0, labels)) == name  # floats in [0, 1]
    assert arrays.register((images / 127.5 - 1, labels)) == name  # floats in [-1, 1]
    assert arrays.register((images[..., :1], labels)) != name
    changed = images.copy()
    changed[5, 3, 3, 0] ^= 1  # one pixel
    assert arrays.register((changed, labels)) != name
    assert arrays.register((images, labels), test=(images[:8], labels[:8])) != name


@pytest.mark.parametrize("batched", [False, True])
def test_a_tf_data_dataset_is_the_same_data_and_reuses_the_run(colour_run, batched):
    run, images, labels = colour_run
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(labels))  # as the TensorFlow tutorial's: another order
    if batched:
        dataset = dataset.batch(50)  # a last, smaller batch too
    before = snapshot(run.folder)
    again = cgan.train(
        dataset=dataset,
        class_names=list(COLOURS),
        arch="cgan_fast",
        steps=STEPS,
        batch_size=16,
        log_every=100,
        output_dir=run.folder,
        verbose=False,
    )
    assert again.config.dataset == run.config.dataset
    changed = {path for path, facts in snapshot(run.folder).items() if before.get(path) != facts}
    assert changed == {"digits.png"}  # reused: only the grid is drawn again


def test_a_dataset_of_other_data_is_refused_in_the_same_folder(colour_run):
    run, images, labels = colour_run
    before = snapshot(run.folder)
    with pytest.raises(CganError, match=r"holds a run with dataset='arrays:\w+', not 'arrays:"):
        cgan.train(
            dataset=(images[1:], labels[1:]),  # one image fewer
            class_names=list(COLOURS),
            arch="cgan_fast",
            steps=STEPS,
            batch_size=16,
            output_dir=run.folder,
            verbose=False,
        )
    assert snapshot(run.folder) == before


def test_a_later_process_draws_from_the_folder_without_the_data(colour_run):
    run, images, labels = colour_run
    arrays.forget()  # what a new process knows: nothing
    data.spec.cache_clear()
    try:
        assert_draws_the_asked_classes(cgan.load(run.folder))
        config = dataclasses.replace(runfolder.read_config(run.folder, "generate"), digit=2)
        (path,) = generate.generate(config)
        assert path.endswith("digit_2.png")
        with pytest.raises(CganError, match="knows its shape and classes .* but not its images"):
            data.load_arrays("train", config.data_source)
    finally:
        assert arrays.register((images, labels), class_names=list(COLOURS)) == run.config.dataset


def test_the_judge_is_keyed_by_the_fingerprint_and_scores_on_the_test_split():
    images, labels = colour_data(per_class=20)
    test = colour_data(per_class=5, seed=1)
    source = DataSource(arrays.register((images, labels), test=test))
    held_out = DataSource(arrays.register((images, labels)))
    assert judge.judge_folder(source) != judge.judge_folder(held_out)
    assert source.arrays in judge.judge_folder(source)
    assert rows(data.load_arrays("test", source)) == rows(test)
    assert rows(data.load_arrays("train", source)) == rows((images, labels))
    # Without a test split: every 10th image of each class, and the rest to train on.
    test_split, train_split = (
        rows(data.load_arrays("test", held_out)),
        rows(data.load_arrays("train", held_out)),
    )
    assert sorted(label for label, _ in test_split) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert sorted(test_split + train_split) == rows((images, labels))


def rows(split):
    """(label, pixel bytes) of each image of (images, labels), sorted: a split as a set."""
    images, labels = split
    return sorted((int(label), image.tobytes()) for image, label in zip(images, labels))


def _classes_data(labels, images=None):
    images = np.zeros((len(labels), 8, 8), np.uint8) if images is None else images
    return images, np.asarray(labels)


TWENTY = np.arange(20) % 2  # labels of twenty images, two classes
BAD_DATA = {
    "no images": ((np.zeros((0, 8, 8), np.uint8), np.zeros(0, int)), "no images"),
    "lengths": ((np.zeros((20, 8, 8), np.uint8), TWENTY[:19]), "20 images but labels of shape"),
    "negative": (_classes_data(TWENTY - 1), "labels must be class indices 0, 1, ..., got -1"),
    "non-integer": (_classes_data(TWENTY + 0.5), "labels must be integer class indices"),
    "one class": (_classes_data(TWENTY * 0), "at least two classes, the labels hold 1"),
    "a class missing": (_classes_data(TWENTY * 2), "class 1 has no training images"),
    "NaN": (_classes_data(TWENTY, np.full((20, 8, 8), np.nan)), "NaN or infinite"),
    "inf": (_classes_data(TWENTY, np.full((20, 8, 8), np.inf)), "NaN or infinite"),
    "0..255 floats": (_classes_data(TWENTY, np.full((20, 8, 8), 9.0)), r"in \[0, 1\] or"),
    "mixed shapes": (([np.zeros((8, 8))] * 19 + [np.zeros((8, 12))], TWENTY), "mixed shapes"),
    "no channel axis": ((np.zeros((20, 8, 8, 2), np.uint8), TWENTY), "1 or 3 channels"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_is_refused_in_one_line_and_nothing_is_written(case, tmp_path):
    dataset, message = BAD_DATA[case]
    with pytest.raises(CganError, match=message) as refused:
        cgan.train(dataset=dataset, arch="cgan_fast", steps=1, output_dir=str(tmp_path / "run"))
    assert "\n" not in str(refused.value)
    assert not os.path.exists(tmp_path / "run")


def test_a_label_out_of_range_of_the_class_names_is_refused():
    with pytest.raises(CganError, match="label 2 is out of range: class_names names 2 classes"):
        arrays.register(_classes_data(np.arange(20) % 3), class_names=["a", "b"])


@pytest.mark.parametrize("case", ["mixed shapes", "NaN", "endless"])
def test_a_bad_tf_data_dataset_is_refused_in_one_line(case):
    if case == "mixed shapes":
        shapes = [(8, 8, 1)] * 3 + [(12, 8, 1)]
        dataset = tf.data.Dataset.from_generator(
            lambda: ((np.zeros(shape, np.uint8), 0) for shape in shapes),
            output_signature=(
                tf.TensorSpec((None, 8, 1), tf.uint8),
                tf.TensorSpec((), tf.int64),
            ),
        )
        message = "mixed shapes"
    else:
        images = np.full((20, 8, 8), np.nan if case == "NaN" else 0.5, np.float32)
        dataset = tf.data.Dataset.from_tensor_slices((images, TWENTY)).batch(4)
        message = "NaN or infinite" if case == "NaN" else "repeats forever"
        if case == "endless":
            dataset = dataset.repeat()
    with pytest.raises(CganError, match=message):
        arrays.register(dataset)


MIRRORED = """
import json, sys
import numpy as np, tensorflow as tf, cgan
sys.path.insert(0, "tests")
from test_own_data import colour_data
cgan.runtime.configure(cgan.Config(cpu_devices=2))  # before the dataset starts TensorFlow
images, labels = colour_data()
dataset = tf.data.Dataset.from_tensor_slices((images / 127.5 - 1, labels)).batch(32)
for strategy in ("one_device", "mirrored"):
    run = cgan.train(dataset=dataset, arch="cgan_fast", steps=4, batch_size=16, log_every=2,
                     verbose=False, strategy=strategy, cpu_devices=2,
                     output_dir=f"{sys.argv[1]}/{strategy}")
    with open(run.folder + "/run.json") as f:
        saved = json.load(f)
    drawn = run.generator.sample(n=4)
    print(saved["replicas"], saved["dataset"], run.history[-1]["step"], drawn.shape)
"""


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The strategies' process, beside the other tests (processes.AfterJudge)."""
    script = folder / "strategies.py"
    script.write_text(MIRRORED)
    command = [sys.executable, str(script), str(folder / "run")]
    return {
        "strategies": job(command, cwd=REPO, env_extra=dict(PYTHONPATH=REPO), needs_judge=False)
    }


@pytest.fixture(scope="module")
def strategies(after_judge):
    return after_judge.finished("strategies")


def test_a_batched_tf_data_dataset_trains_on_one_device_and_mirrored_on_two_cpus(strategies):
    # the same data as colour_data's arrays, from [-1, 1] floats in batches: the same fingerprint
    name = arrays.register(colour_data())
    assert strategies.stdout.splitlines()[-2:] == [
        f"{replicas} {name} 4 (4, {SIDE}, {SIDE}, 3)" for replicas in (1, 2)
    ]
