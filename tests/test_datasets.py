"""Data beyond MNIST as stored: a folder of images (one sub-folder per class), resizing, colour
images end to end (train, grid, judge, scores), a short real MNIST run at 32 x 32, and labels
drawn in the training set's shares."""

import json
import os
import shutil
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import REPO
from PIL import Image
from processes import job

from cgan import data, tfds_data
from cgan.config import Config, DataSource
from cgan.errors import CganError
from cgan.modes import generate, train
from cgan.reopen import reopen

COLOURS = {
    "blue": (20, 40, 220),
    "green": (30, 200, 60),
    "red": (230, 30, 30),
    "yellow": (240, 220, 40),
}
# Every 10th is held out: 144 train and 16 test images a class, 36 steps of 16 an epoch (an
# epoch's grid and checkpoint are the cost of a step, so fewer epochs train faster).
PER_CLASS, TRAIN, TEST = 160, 144, 16
SIDE = 8


def row_colours(grid, mosaic, side, rows):
    """For each row of a labelled grid picture (RGB floats), the index of the COLOURS entry
    nearest to its tiles' mean colour: the middle line of the row's tiles, right of the labels,
    without the white gaps (2 px, doubled) and the frame (0.05 inch above: 5 px)."""
    palette = np.array(list(COLOURS.values())) / 255.0
    found = []
    for row in range(rows):
        line = grid[5 + 2 * (2 + row * (side + 2) + side // 2), grid.shape[1] - mosaic[1] :]
        drawn = line[line.sum(axis=1) < 2.7]  # not the white gaps
        found.append(int(np.argmin(np.abs(palette - drawn.mean(axis=0)).sum(axis=1))))
    return found


def _write_images(folder, name, count, make):
    """count PNGs folder/name/000.png ... made by make(index) -> uint8 array."""
    os.makedirs(os.path.join(folder, name))
    for index in range(count):
        Image.fromarray(make(index)).save(os.path.join(folder, name, f"{index:03d}.png"))


def write_colours(folder):
    """Four classes of SIDE x SIDE RGB images in `folder`: a flat colour each, with a little
    noise per image."""
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        _write_images(
            folder,
            name,
            PER_CLASS,
            lambda index, colour=colour: np.clip(
                np.array(colour) + rng.integers(-15, 16, (SIDE, SIDE, 3)), 0, 255
            ).astype(np.uint8),
        )
    return folder


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory):
    return write_colours(str(tmp_path_factory.mktemp("colours")))


def after_judge_jobs(folder, data_dir, mnist_dir):
    """A colour folder trained, drawn and scored by run.py (its judge trained and cached in the
    job's folder), beside the other tests (processes.AfterJudge)."""
    colours = write_colours(str(folder / "colours"))
    common = [f"--dataset=folder:{colours}", "--arch=cgan", f"--output_dir={folder / 'run'}"]
    train = [*common, "--steps=400", "--batch_size=16", "--log_every=100"]
    scored = [*common, "--mode=evaluate", "--eval_samples=64"]
    run_py = [sys.executable, os.path.join(REPO, "run.py")]
    steps = [
        " ".join(f"'{part}'" for part in [*run_py, *arguments]) + f" > {name}.out 2> {name}.err"
        for name, arguments in (("train", train), ("scored", scored))
    ]
    cache = dict(CGAN_CACHE_DIR=str(folder / "cache"))  # this folder's judge is trained here
    return {"colour_run": job(["sh", "-c", " && ".join(steps)], env_extra=cache, needs_judge=False)}


@pytest.fixture(scope="module")
def colour_run(after_judge):
    return after_judge.finished("colour_run")


def test_a_folder_is_read_as_a_dataset_with_a_held_out_split(colour_folder):
    source = DataSource(f"folder:{colour_folder}")
    spec = data.spec(source)
    assert spec.image_shape == (SIDE, SIDE, 3)
    # sub-folders in name order are labels 0..3
    assert spec.class_names == ("blue", "green", "red", "yellow")
    train_images, train_labels = data.load_arrays("train", source)
    test_images, test_labels = data.load_arrays("test", source)
    assert train_images.shape == (4 * TRAIN, SIDE, SIDE, 3) and train_images.dtype == np.uint8
    assert (
        np.bincount(train_labels).tolist() == [TRAIN] * 4
        and np.bincount(test_labels).tolist() == [TEST] * 4
    )
    # PNG is lossless: the first test image is file 009 of the first class, pixel for pixel
    expected = np.asarray(Image.open(os.path.join(colour_folder, "blue", "009.png")))
    np.testing.assert_array_equal(test_images[0], expected)
    red = train_images[train_labels == 2].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(red, COLOURS["red"], atol=2)
    assert data.label_shares(source).tolist() == [0.25] * 4


def test_image_size_resizes_and_keeps_the_colours(colour_folder):
    images, labels = data.load_arrays("train", DataSource(f"folder:{colour_folder}", image_size=32))
    assert images.shape == (4 * TRAIN, 32, 32, 3)
    np.testing.assert_allclose(
        images[labels == 1].reshape(-1, 3).mean(axis=0), COLOURS["green"], atol=2
    )


def test_gray_images_of_two_sizes_need_image_size(tmp_path):
    _write_images(tmp_path, "a", 10, lambda index: np.full((16, 16), 50, np.uint8))
    _write_images(tmp_path, "b", 10, lambda index: np.full((20, 20), 200, np.uint8))
    with pytest.raises(CganError, match="2 sizes .* give --image_size"):
        data.load_arrays("train", DataSource(f"folder:{tmp_path}"))
    images, labels = data.load_arrays("train", DataSource(f"folder:{tmp_path}", image_size=16))
    assert images.shape == (18, 16, 16, 1)  # gray stays one channel
    assert images[labels == 1].min() == images[labels == 1].max() == 200  # a flat image stays flat


@pytest.mark.parametrize(
    "layout, message",
    [
        ("nothing", "not a readable folder"),
        ("one_class", "found 1 class folders"),
        ("empty_class", "class folders without images: empty"),
    ],
)
def test_a_folder_that_is_not_a_dataset_is_refused(tmp_path, layout, message):
    if layout != "nothing":
        _write_images(tmp_path, "full", 3, lambda index: np.zeros((8, 8), np.uint8))
    if layout == "empty_class":
        os.makedirs(tmp_path / "empty")
    with pytest.raises(CganError, match=message):
        data.spec(DataSource(f"folder:{tmp_path / 'missing' if layout == 'nothing' else tmp_path}"))


def test_a_label_the_dataset_does_not_have_is_refused(colour_folder):
    data.check_label(DataSource(f"folder:{colour_folder}"), 3)
    with pytest.raises(CganError, match="--digit must be a label of folder:.*, 0 to 3, got 4"):
        data.check_label(DataSource(f"folder:{colour_folder}"), 4)


def test_a_colour_folder_trains_draws_and_is_scored(colour_run):
    out, folder = colour_run.folder.parent / "run", colour_run.folder.parent
    assert "Traceback" not in (colour_run.folder / "train.err").read_text()
    grid = matplotlib.image.imread(out / "digits.png")[..., :3]
    # 4 classes x 25 columns of SIDE + 2 px, doubled
    mosaic = (2 * (4 * (SIDE + 2) + 2), 2 * (25 * (SIDE + 2) + 2))
    assert abs(grid.shape[0] - mosaic[0] - 10) <= 1  # and a 0.05-inch frame above and below
    assert grid.shape[1] - mosaic[1] > 40  # the rows are labelled with the class names on the left
    # row k in class k's colour (classes in sorted folder order, as COLOURS is written)
    assert row_colours(grid, mosaic, SIDE, len(COLOURS)) == list(range(len(COLOURS)))

    assert "accurate on the folder:" in (colour_run.folder / "scored.out").read_text()
    with open(out / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["judge_accuracy"] == 1.0  # four flat colours: a judge that misses one is broken
    assert metrics["floor"]["accuracy"] == 1.0 and metrics["floor"]["num_images"] == 4 * TEST
    assert np.asarray(metrics["confusion_matrix"]).shape == (4, 4)
    assert sum(map(sum, metrics["confusion_matrix"])) == 64
    assert metrics["accuracy"] >= 0.95  # 400 steps learn four colours (measured 100%)
    # Four colours in their training shares, each judged with confidence: near the most, 4.
    assert metrics["inception_score"] > 3.8
    assert os.listdir(folder / "cache")[0].startswith("judge-colours-")


def test_a_tfds_split_is_decoded_once_and_again_when_its_prepared_files_change(
    tmp_path, mnist_dir, data_dir, monkeypatch
):
    import tensorflow_datasets as tfds

    folder = tmp_path / "tfds"  # the session's prepared MNIST, without a decoded copy
    shutil.copytree(data_dir, folder, ignore=shutil.ignore_patterns("cgan-decoded-*"))
    source = DataSource(manual_dir=mnist_dir, data_dir=str(folder))
    decoded = []  # a call of tfds' reader for each split decoded
    read = tfds.core.DatasetBuilder.as_dataset

    def as_dataset(builder, *args, **kwargs):
        decoded.append(kwargs["split"])
        return read(builder, *args, **kwargs)

    monkeypatch.setattr(tfds.core.DatasetBuilder, "as_dataset", as_dataset)
    images, labels = tfds_data.arrays(source, "test")
    (copy,) = folder.glob("mnist/*/cgan-decoded-test.npz")
    again = tfds_data.arrays(source, "test")
    assert decoded == ["test"]  # the second read is the decoded copy's
    np.testing.assert_array_equal(again[0], images)
    np.testing.assert_array_equal(again[1], labels)
    assert images.shape == (10_000, 28, 28, 1) and np.bincount(labels).min() > 800
    (records,) = folder.glob("mnist/*/mnist-test.tfrecord*")
    os.utime(records, ns=(records.stat().st_atime_ns, records.stat().st_mtime_ns + 1))
    tfds_data.arrays(source, "test")
    assert decoded == ["test", "test"]  # a prepared file changed: decoded again
    copy.write_bytes(b"cut short")
    np.testing.assert_array_equal(tfds_data.arrays(source, "test")[0], images)
    assert decoded == ["test"] * 3  # an unreadable copy is made again, not an error


def test_a_short_mnist_run_at_32_pixels(tmp_path, mnist_dir, data_dir):
    config = Config(
        arch="cgan",
        image_size=32,
        steps=10,
        batch_size=32,
        log_every=5,
        output_dir=str(tmp_path),
        mnist_dir=mnist_dir,
        data_dir=data_dir,
    )
    images, labels = data.load_arrays("test", config.data_source)
    original, original_labels = data.load_arrays(
        "test", Config(mnist_dir=mnist_dir, data_dir=data_dir).data_source
    )
    assert images.shape == (10_000, 32, 32, 1)
    np.testing.assert_array_equal(labels, original_labels)
    # resizing keeps the mean brightness
    assert abs(images.mean() - original.mean()) < 0.01 * original.mean()

    path = train.train(config)
    assert path == os.path.join(str(tmp_path), "digits.png")
    # 10 x 10 tiles of 32 + 2 px
    assert matplotlib.image.imread(path).shape[:2] == (2 * (10 * 34 + 2),) * 2
    generator = reopen(config.run_dir).model
    assert generator.output_shape == (None, 32, 32, 1)
    with open(os.path.join(str(tmp_path), "run.json")) as f:
        assert json.load(f)["image_size"] == 32
    # a 28-pixel run cannot reuse it
    with pytest.raises(CganError, match="image_size=32, not None"):
        generate.generate(
            Config(arch="cgan", output_dir=str(tmp_path), mnist_dir=mnist_dir, data_dir=data_dir)
        )


def test_labels_in_proportion_round_by_largest_remainders_in_label_order():
    # 7 x (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4: floors 3, 2, 1, and the one left goes to the
    # largest remainder
    assert data.labels_in_proportion(7, [0.5, 0.3, 0.2]).tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert np.bincount(data.labels_in_proportion(10, [0.1] * 10)).tolist() == [1] * 10
    assert len(data.labels_in_proportion(10_001, np.full(10, 0.1))) == 10_001
