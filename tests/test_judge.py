"""The judge and its scores: the cache key and a corrupt cache, what the judge accepts and what
score() reports (on an untrained judge: no data needed), then the real MNIST judge measured on
real digits (skipped without the MNIST files).

The MNIST judge is shipped in the package with what it derives (reference features, the floor),
copied into its cache outside the test session ($CGAN_CACHE_DIR or ~/.cache/cgan).
"""

import json
import os
import pathlib

import keras
import numpy as np
import pytest

import cgan
import cgan.judge
from cgan import comparison_table, data, metrics, scores
from cgan.config import DataSource
from cgan.errors import CganError
from cgan.judge import (
    JUDGE_RECIPE,
    MIN_JUDGE_ACCURACY,
    Judge,
    build_judge_model,
    file_sha256,
    judge_folder,
    load_judge,
    recipe_hash,
    shipped_derived,
    shipped_paths,
)

# --- the judge's cache ------------------------------------------------------------------------


def test_recipe_hash_keys_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CGAN_CACHE_DIR", str(tmp_path))
    folder = judge_folder()
    assert folder == os.path.join(str(tmp_path), f"judge-{recipe_hash()}")  # MNIST's keeps its name
    cifar = judge_folder(DataSource("cifar10", image_size=64))
    cifar_hash = recipe_hash(source=DataSource("cifar10", 64))
    assert cifar == os.path.join(str(tmp_path), f"judge-cifar10-64-{cifar_hash}")
    others = [DataSource(image_size=32), DataSource("folder:/a/pets"), DataSource("folder:/b/pets")]
    assert len({folder, cifar, *(judge_folder(source) for source in others)}) == 5
    changed = dict(JUDGE_RECIPE, epochs=JUDGE_RECIPE["epochs"] + 1)
    assert recipe_hash(changed) != recipe_hash()


def test_a_corrupt_cached_judge_is_a_clear_error(tmp_path):
    source = DataSource("kmnist")  # a dataset with no shipped judge: its judge is cached
    folder = judge_folder(source, cache_dir=str(tmp_path))
    os.makedirs(folder)
    with open(os.path.join(folder, "judge.keras"), "wb") as handle:
        handle.write(b"not a zip file")
    with open(os.path.join(folder, "judge.json"), "w") as handle:
        json.dump({"test_accuracy": 0.995}, handle)
    with pytest.raises(CganError, match="unreadable.*delete"):
        load_judge(source, cache_dir=str(tmp_path), verbose=0)


def test_the_shipped_judge_is_named_by_the_codes_recipe_hash_and_its_bytes():
    weights, facts = shipped_paths()
    assert os.path.basename(weights) == f"mnist-{recipe_hash()}.weights.h5"
    with open(facts) as handle:
        shipped = json.load(handle)
    assert shipped["recipe"] == JUDGE_RECIPE and shipped["recipe_hash"] == recipe_hash()
    assert shipped["weights_sha256"] == file_sha256(weights)
    assert shipped_paths(DataSource(image_size=32))[0] != weights  # resized MNIST has its own


def test_the_shipped_judge_replaces_another_networks_cache_and_refuses_damaged_bytes(
    tmp_path, monkeypatch
):
    folder = pathlib.Path(judge_folder(cache_dir=str(tmp_path)))
    folder.mkdir()
    for name in ("judge.keras", "reference.npz", "floor.json"):  # a judge trained before
        (folder / name).write_bytes(b"another network's")
    (folder / "judge.json").write_text('{"test_accuracy": 0.99}')
    judge = load_judge(cache_dir=str(tmp_path), verbose=0)
    assert sorted(os.listdir(folder)) == ["floor.json", "judge.json", "reference.npz"]
    for name, path in shipped_derived().items():  # the shipped judge's own, in their place
        assert (folder / name).read_bytes() == pathlib.Path(path).read_bytes(), name
    weights, facts = shipped_paths()
    with open(facts) as handle:
        assert judge.accuracy == json.load(handle)["test_accuracy"]
    # a copy of the package with one byte of the weights changed
    damaged = tmp_path / "judges"
    damaged.mkdir()
    data = bytearray(open(weights, "rb").read())
    data[len(data) // 2] ^= 1
    (damaged / os.path.basename(weights)).write_bytes(bytes(data))
    (damaged / os.path.basename(facts)).write_bytes(open(facts, "rb").read())
    monkeypatch.setattr(cgan.judge, "SHIPPED_DIR", str(damaged))
    with pytest.raises(CganError, match="shipped judge .* is unreadable .*reinstall cgan"):
        load_judge(cache_dir=str(tmp_path), verbose=0)


def test_the_reference_file_keeps_what_every_score_needs_and_old_files_get_it(
    tmp_path, monkeypatch
):
    rng = np.random.default_rng(0)
    features, indices = rng.normal(size=(40, 8)).astype(np.float32), np.arange(0, 80, 2)
    path = tmp_path / "reference.npz"
    np.savez(path, features=features, indices=indices)  # as written before they were kept
    judge = Judge(build_judge_model(), str(tmp_path), accuracy=None)
    exact = features.astype(np.float64)
    np.testing.assert_array_equal(judge.reference_features, exact)
    np.testing.assert_array_equal(judge.reference_indices, indices)
    radii = metrics.kth_neighbour_radii(exact, metrics.PR_NEIGHBOURS)
    np.testing.assert_array_equal(judge.reference_radii, radii)
    rows, within = metrics.kid_reference(exact)
    np.testing.assert_array_equal(judge.reference_kid[0], rows)
    assert judge.reference_kid[1] == within
    with np.load(path) as stored:  # added to the file, the rest as it was
        assert sorted(stored.files) == ["features", "indices", "kid_within", "radii"]
        np.testing.assert_array_equal(stored["features"], features)
        np.testing.assert_array_equal(stored["radii"], radii)
    # Another judge of the folder reads them instead of computing them again.
    monkeypatch.setattr("cgan.judge.kth_neighbour_radii", None)
    given = []  # the stored mean kernel each kid_reference call gets (None: computed anew)

    def kid_reference(rows, within=None):
        given.append(within)
        return metrics.kid_reference(rows, within)

    monkeypatch.setattr("cgan.judge.kid_reference", kid_reference)
    again = Judge(build_judge_model(), str(tmp_path), accuracy=None)
    np.testing.assert_array_equal(again.reference_radii, radii)
    assert again.reference_kid[1] == within
    assert given == [within]


def test_a_reference_file_without_its_features_or_cut_short_is_a_clear_error(tmp_path):
    path = tmp_path / "reference.npz"
    np.savez(path, indices=np.arange(3))
    judge = Judge(build_judge_model(), str(tmp_path), accuracy=None)
    with pytest.raises(CganError, match="reference.npz.*unreadable.*'features'.*delete"):
        _ = judge.reference_radii
    np.savez(path, features=np.ones((40, 8), np.float32), indices=np.arange(40))
    path.write_bytes(path.read_bytes()[:300])  # a truncated file
    with pytest.raises(CganError, match="reference.npz.*unreadable.*delete"):
        _ = judge.reference_radii


# --- an untrained judge: what it accepts, and the figures score() reports ----------------------


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """A judge of random weights: its outputs are arbitrary but fixed, which is all these need."""
    keras.utils.set_random_seed(0)
    return Judge(build_judge_model(), str(tmp_path_factory.mktemp("judge")), accuracy=None)


def test_judge_refuses_float_images_and_other_shapes(untrained):
    with pytest.raises(CganError, match="uint8"):
        untrained.probabilities(np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(CganError, match=r"\(N, 28, 28\) or \(N, 28, 28, 1\), got \(2, 32, 32, 1\)"):
        untrained.probabilities(np.zeros((2, 32, 32, 1), np.uint8))
    pixels = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    probabilities, features = untrained.predict_both(pixels)
    assert probabilities.shape == (3, 10) and probabilities.dtype == np.float64
    assert features.shape == (3, JUDGE_RECIPE["feature_units"])
    # The model's own output for the pixels as they are, in [0, 255] (its first layer scales them)
    expected = untrained.model(pixels.astype(np.float32), training=False)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    gray = untrained.probabilities(pixels[..., 0])  # (N, 28, 28) works too
    np.testing.assert_allclose(gray, probabilities, rtol=1e-6)


def test_score_gives_per_class_figures_with_labels_and_coverage_without(untrained):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 28, 28, 1), dtype=np.uint8)
    reference = untrained.features(rng.integers(0, 256, (40, 28, 28, 1), dtype=np.uint8))
    labels = np.repeat(np.arange(6), 10)  # digits 6 to 9 are not asked for
    probabilities, features = untrained.predict_both(images)
    predicted = probabilities.argmax(axis=1)

    labelled = scores.score(untrained, images, labels, reference_features=reference)
    assert labelled["num_images"] == 60
    matrix = metrics.confusion_matrix(labels, predicted)
    np.testing.assert_array_equal(labelled["confusion_matrix"], matrix)
    assert labelled["accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert labelled["per_digit_accuracy"][6:] == [None] * 4  # no NaN: JSON has none
    assert labelled["fid"] == pytest.approx(metrics.frechet_distance(reference, features))
    assert labelled["inception_score"] == pytest.approx(metrics.inception_score(probabilities))
    assert "coverage" not in labelled

    unlabelled = scores.score(untrained, images, reference_features=reference)
    shares = np.bincount(predicted, minlength=10) / len(images)
    np.testing.assert_allclose(unlabelled["coverage"], shares)
    assert unlabelled["digits_below_5_percent"] == int(np.sum(shares < 0.05))
    assert unlabelled["fid"] == labelled["fid"] and "accuracy" not in unlabelled
    for result in (labelled, unlabelled):
        json.dumps(result, allow_nan=False)  # what metrics.json gets: plain numbers and lists


# --- the real judge (shipped) --------------------------------------------------------------


def test_a_registered_metric_is_scored_tabled_and_logged(untrained, monkeypatch):
    from cgan import metric_registry

    monkeypatch.setattr(metric_registry.METRICS, "_entries", dict(metric_registry.METRICS._entries))

    @cgan.register_metric("bright_share")
    def bright_share(images, labels, judge):
        return float((images > 127).mean()) + (0 if labels is None else labels.max())

    images = np.zeros((20, 28, 28, 1), np.uint8)
    images[:5] = 200  # a quarter of the pixels bright
    reference = untrained.features(images[::-1])  # not the judge's: that reads MNIST
    labelled = scores.score(untrained, images, np.arange(20) % 3, reference_features=reference)
    assert labelled["bright_share"] == pytest.approx(0.25 + 2)
    unlabelled = scores.score(untrained, images, reference_features=reference)
    assert unlabelled["bright_share"] == pytest.approx(0.25)
    assert scores.quality_scalars(labelled)["bright_share"] == pytest.approx(2.25)
    table = scores.metrics_table(dict(labelled, floor=labelled, judge_accuracy=1.0))
    assert table.splitlines()[7].split() == ["bright_share", "2.25", "2.25"]
    row = comparison_table.figures(labelled)
    assert row["bright_share"] == pytest.approx(2.25)
    markdown = comparison_table.markdown_table(
        [("mine", 1, comparison_table.mean_and_spread([row]))]
    )
    header, _, cells = markdown.splitlines()[:3]
    assert (
        header.split("|")[-2].strip() == "bright_share" and cells.split("|")[-2].strip() == "2.25"
    )

    @cgan.register_metric("words")
    def words(images, labels, judge):
        return "many"

    with pytest.raises(CganError, match="metric 'words' must return a number, got 'many'"):
        scores.score(untrained, images, reference_features=reference)


@pytest.fixture(scope="module")
def judge(mnist_judge):
    """The MNIST judge shipped in the package."""
    return mnist_judge


@pytest.fixture(scope="module")
def test_digits(judge, mnist_source):
    """The real test digits, their labels, and the loaded judge's probabilities and features."""
    images, labels = data.load_arrays("test", mnist_source)
    return (images, labels, *judge.predict_both(images))


def test_the_loaded_judge_is_as_accurate_on_real_test_digits_as_it_records(judge, test_digits):
    _, labels, probabilities, _ = test_digits
    assert judge.folder == judge_folder(judge.source)  # the shipped one: nothing was trained
    assert not os.path.exists(os.path.join(judge.folder, "judge.keras"))
    measured, per_digit = metrics.conditional_accuracy(probabilities, labels)
    assert measured >= MIN_JUDGE_ACCURACY["mnist"]
    assert min(per_digit) >= 0.97
    # judge.json tells what the model does
    assert judge.accuracy == pytest.approx(measured, abs=2e-4)


def test_the_real_floor_is_the_judges_score_of_the_real_test_digits(judge, test_digits):
    _, labels, probabilities, features = test_digits
    floor = scores.real_floor(judge)
    # The floor (floor.json once cached) is what the loaded judge measures on the test digits.
    measured = metrics.confusion_matrix(labels, probabilities.argmax(axis=1))
    assert np.abs(np.asarray(floor["confusion_matrix"]) - measured).sum() <= 2  # round-off ties
    assert floor["fid"] == pytest.approx(
        metrics.frechet_distance(judge.reference_features, features), rel=1e-3
    )
    assert floor["inception_score"] == pytest.approx(
        metrics.inception_score(probabilities), rel=1e-4
    )
    assert floor["accuracy"] == pytest.approx(judge.accuracy, abs=2e-4)
    assert min(floor["per_digit_accuracy"]) >= 0.97
    assert np.trace(floor["confusion_matrix"]) == round(floor["accuracy"] * 10_000)
    assert floor["fid"] < 1.0  # real test vs real train digits: measured 0.2
    assert abs(floor["kid"]) < 0.01
    # KID of the same images in another order is the floor's own, to the round-off of features
    # from the judge's process (TensorFlow pools of its own), which can reorder the rows KID's
    # subsets are drawn from
    order = np.random.default_rng(1).permutation(len(features))
    kid, kid_std = metrics.kernel_inception_distance(judge.reference_features, features[order])
    assert kid == pytest.approx(floor["kid"], rel=1e-5)
    assert kid_std == pytest.approx(floor["kid_std"], rel=2e-2)
    # measured 0.88, 0.85: k-NN balls miss some reals
    assert floor["precision"] > 0.75 and floor["recall"] > 0.75
    assert floor["inception_score"] > 9.5  # confident and balanced
    cached = os.path.join(judge.folder, "floor.json")
    stamp = os.path.getmtime(cached)
    # read, not redone
    assert scores.real_floor(judge) == floor and os.path.getmtime(cached) == stamp


def test_reference_indices_are_the_training_rows_behind_the_reference_features(judge, mnist_source):
    indices = judge.reference_indices
    assert len(indices) == len(judge.reference_features) == 10_000
    # the recipe's rows: 10,000 of the 60,000 drawn without replacement from its seed, sorted
    settings = JUDGE_RECIPE["reference"]
    drawn = np.random.default_rng(settings["seed"]).choice(60_000, settings["size"], replace=False)
    np.testing.assert_array_equal(indices, np.sort(drawn))
    images, _ = data.load_arrays("train", mnist_source)
    some = indices[::1000]
    np.testing.assert_allclose(
        judge.features(images[some]), judge.reference_features[::1000], rtol=1e-4, atol=1e-4
    )
    others = np.setdiff1d(np.arange(60_000), indices)[:10]
    assert np.abs(judge.features(images[others]) - judge.reference_features[:10]).max() > 0.1


def test_a_generator_that_draws_only_ones_scores_badly(judge, mnist_source):
    ones, _ = data.load_arrays("test", mnist_source, digit=1)
    result = scores.score(judge, ones[:, :, :, 0])  # (N, 28, 28) works too
    assert result["digits_below_5_percent"] == 9
    assert result["coverage"][1] > 0.98
    assert result["inception_score"] < 1.2
    assert result["recall"] < 0.2
    assert result["fid"] > 20 * scores.real_floor(judge)["fid"]
