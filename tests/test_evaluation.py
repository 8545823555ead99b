"""Metrics against hand-checkable answers, then the real judge on MNIST (skipped without the MNIST files).

The judge is cached outside the test session ($CGAN_CACHE_DIR or ~/.cache/cgan), so only the
first run anywhere pays for its training.
"""

import json
import os

import numpy as np
import pytest

from cgan import data, evaluation
from cgan.config import DataSource
from cgan.errors import CganError


def exact_gaussian_sample(rng, n, mean, variances):
    """n rows whose sample mean is exactly `mean` and sample covariance exactly diag(variances)."""
    z = rng.standard_normal((n, len(mean)))
    z -= z.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(z, rowvar=False))
    z = z @ vectors @ np.diag(values**-0.5) @ vectors.T  # whiten: np.cov(z) is now the identity
    return z * np.sqrt(variances) + mean


# --- Frechet distance -------------------------------------------------------------------------


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert evaluation.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mu1, mu2 = np.zeros(5), np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    s1, s2 = np.array([1.0, 2.0, 0.5, 4.0, 1.0]), np.array([2.0, 2.0, 1.5, 1.0, 0.25])
    a = exact_gaussian_sample(rng, 2000, mu1, s1)
    b = exact_gaussian_sample(rng, 3000, mu2, s2)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))  # 14.25 + 1.69
    assert evaluation.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_from_stats_matches_eigenvalues_of_the_product():
    rng = np.random.default_rng(2)
    m1, m2 = rng.normal(size=(2, 6, 6))
    s1, s2 = m1 @ m1.T, m2 @ m2.T + np.eye(6)
    mu1, mu2 = rng.normal(size=(2, 6))
    # tr sqrt(S1 S2) = sum of square roots of the (real, non-negative) eigenvalues of S1 S2
    trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real.clip(0)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert evaluation.frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_one_dimensional():
    # 1-D: (m1 - m2)^2 + (sigma1 - sigma2)^2 = 9 + 1
    assert evaluation.frechet_distance_from_stats([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0)


# --- Inception score --------------------------------------------------------------------------


def test_inception_score_is_one_for_constant_predictions():
    assert evaluation.inception_score(np.tile([0.7, 0.2, 0.1] + [0.0] * 7, (50, 1))) == pytest.approx(1.0)


def test_inception_score_is_num_classes_for_balanced_confident_predictions():
    assert evaluation.inception_score(np.eye(10)[np.arange(100) % 10]) == pytest.approx(10.0)


def test_inception_score_of_two_balanced_classes_is_two():
    assert evaluation.inception_score(np.eye(10)[[3, 7, 3, 7]]) == pytest.approx(2.0)


# --- KID --------------------------------------------------------------------------------------


def test_kid_equals_a_direct_double_loop():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 4)), rng.normal(1.0, size=(6, 4))
    m = 6

    def k(u, v):
        return (u @ v / 4 + 1) ** 3

    same = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    # one subset of all rows is a permutation of each set; MMD^2 does not depend on order
    mean, std = evaluation.kernel_inception_distance(x, y, num_subsets=1, subset_size=100)
    assert mean == pytest.approx(same - 2 * cross, rel=1e-12)
    assert std == 0.0


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 2000, 32))
    same, same_std = evaluation.kernel_inception_distance(a, b, num_subsets=10, subset_size=500)
    shifted, _ = evaluation.kernel_inception_distance(a, b + 0.5, num_subsets=10, subset_size=500)
    assert abs(same) < 0.01
    assert shifted > 0.5  # measured 1.0
    assert shifted > 20 * (abs(same) + same_std)


# --- precision / recall -----------------------------------------------------------------------


def two_clusters(rng, n_per_cluster=300, dim=8):
    """Two tight clusters 100 apart; rows [:n] are cluster A, rows [n:] cluster B."""
    a = rng.normal(size=(n_per_cluster, dim))
    b = rng.normal(size=(n_per_cluster, dim)) + 100.0
    return np.concatenate([a, b])


def test_precision_recall_of_identical_clouds_is_one_one():
    real = two_clusters(np.random.default_rng(5))
    assert evaluation.precision_recall(real, real.copy()) == (1.0, 1.0)


def test_precision_recall_of_a_distant_cloud_is_zero_zero():
    real = two_clusters(np.random.default_rng(6))
    assert evaluation.precision_recall(real, real + 1000.0) == (0.0, 0.0)


def test_precision_recall_of_a_fake_covering_one_mode_of_two():
    real = two_clusters(np.random.default_rng(7))
    precision, recall = evaluation.precision_recall(real, real[:300])  # exactly cluster A
    assert precision == 1.0
    assert recall == 0.5


def test_precision_recall_on_a_line_by_hand():
    real = np.array([[0.0], [1.0], [3.0]])  # 1-NN radii: 1, 1, 2
    fake = np.array([[-1.0], [5.0], [6.0]])  # 1-NN radii: 6, 1, 1
    # -1 is exactly 1 from real 0 and 5 exactly 2 from real 3 (balls are closed); 6 is 3 from 3
    # every real point lies within 6 of fake -1
    assert evaluation.precision_recall(real, fake, k=1) == (pytest.approx(2 / 3), 1.0)


def test_precision_recall_of_fresh_draws_from_one_mode():
    rng = np.random.default_rng(8)
    real = two_clusters(rng, n_per_cluster=1000, dim=4)
    fake = rng.normal(size=(1000, 4))  # new samples of cluster A only
    precision, recall = evaluation.precision_recall(real, fake)
    assert precision > 0.95
    assert 0.45 < recall <= 0.5


def test_precision_recall_chunks_agree_with_one_block(monkeypatch):
    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(2, 250, 3))
    whole = evaluation.precision_recall(real, fake)
    monkeypatch.setattr(evaluation, "_CHUNK", 7)  # uneven blocks, last one partial
    assert evaluation.precision_recall(real, fake) == whole
    assert 0.5 < whole[0] < 1.0 and 0.5 < whole[1] < 1.0  # overlapping clouds: neither trivial answer


# --- per-digit accuracy, confusion, coverage --------------------------------------------------


def test_conditional_accuracy_and_confusion_matrix_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 2, 2])
    probabilities = np.eye(3)[predicted] * 0.8 + 0.2 / 3
    overall, per_digit = evaluation.conditional_accuracy(probabilities, labels)
    assert overall == pytest.approx(4 / 6)
    np.testing.assert_allclose(per_digit, [1 / 2, 2 / 3, 1.0])
    expected = [[1, 1, 0], [0, 2, 1], [0, 0, 1]]  # row = true, column = predicted
    np.testing.assert_array_equal(evaluation.confusion_matrix(labels, predicted, num_classes=3), expected)


def test_per_digit_accuracy_is_nan_for_an_absent_digit():
    overall, per_digit = evaluation.conditional_accuracy(np.eye(10)[[5, 5, 6]], [5, 5, 5])
    assert overall == pytest.approx(2 / 3)
    assert per_digit[5] == pytest.approx(2 / 3)
    assert np.isnan(per_digit[[0, 1, 2, 3, 4, 6, 7, 8, 9]]).all()


def test_confusion_matrix_rejects_out_of_range_labels():
    with pytest.raises(ValueError):
        evaluation.confusion_matrix([0, 10], [0, 1])


def test_coverage_by_hand():
    predicted = [0] * 6 + [1] * 3 + [7]
    shares = evaluation.coverage(np.eye(10)[predicted])
    np.testing.assert_allclose(shares, [0.6, 0.3, 0, 0, 0, 0, 0, 0.1, 0, 0])


def test_confusion_matrix_png_is_written(tmp_path):
    path = tmp_path / "confusion.png"
    evaluation.save_confusion_matrix_png(np.arange(100).reshape(10, 10), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["confusion.png"]  # no temporary left behind


# --- the judge's cache ------------------------------------------------------------------------


def test_recipe_hash_keys_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CGAN_CACHE_DIR", str(tmp_path))
    folder = evaluation.judge_folder()
    assert folder == os.path.join(str(tmp_path), f"judge-{evaluation.recipe_hash()}")  # MNIST's keeps its name
    cifar = evaluation.judge_folder(DataSource("cifar10", image_size=64))
    assert cifar == os.path.join(str(tmp_path), f"judge-cifar10-64-{evaluation.recipe_hash(source=DataSource('cifar10', 64))}")
    assert len({folder, cifar, evaluation.judge_folder(DataSource(image_size=32)),
                evaluation.judge_folder(DataSource("folder:/a/pets")), evaluation.judge_folder(DataSource("folder:/b/pets"))}) == 5
    changed = dict(evaluation.JUDGE_RECIPE, epochs=evaluation.JUDGE_RECIPE["epochs"] + 1)
    assert evaluation.recipe_hash(changed) != evaluation.recipe_hash()


def test_a_corrupt_cached_judge_is_a_clear_error(tmp_path):
    folder = evaluation.judge_folder(cache_dir=str(tmp_path))
    os.makedirs(folder)
    with open(os.path.join(folder, "judge.keras"), "wb") as handle:
        handle.write(b"not a zip file")
    with open(os.path.join(folder, "judge.json"), "w") as handle:
        json.dump({"test_accuracy": 0.995}, handle)
    with pytest.raises(CganError, match="unreadable.*delete"):
        evaluation.load_judge(cache_dir=str(tmp_path), verbose=0)


# --- the real judge (trained once, then cached) -----------------------------------------------


@pytest.fixture(scope="module")
def judge(mnist_source):
    """The cached judge; a cold cache trains it first (about 2.5 CPU-minutes on 2 cores)."""
    return evaluation.load_judge(mnist_source, verbose=0)


def test_judge_accuracy_and_real_floor(judge):
    assert judge.accuracy >= 0.993
    with open(os.path.join(judge.folder, "judge.json")) as handle:
        assert json.load(handle)["test_accuracy"] == judge.accuracy
    floor = evaluation.real_floor(judge)
    assert floor["accuracy"] == pytest.approx(judge.accuracy)
    assert floor["accuracy"] >= 0.99
    assert min(floor["per_digit_accuracy"]) >= 0.97
    assert np.trace(floor["confusion_matrix"]) == round(floor["accuracy"] * 10_000)
    assert floor["fid"] < 1.0  # real test vs real train digits: measured 0.2
    assert abs(floor["kid"]) < 0.01
    assert floor["precision"] > 0.75 and floor["recall"] > 0.75  # measured 0.88, 0.85: k-NN balls miss some reals
    assert floor["inception_score"] > 9.5  # confident and balanced
    assert evaluation.real_floor(judge) == floor  # second call reads floor.json


def test_reference_indices_are_the_training_rows_behind_the_reference_features(judge, mnist_source):
    indices = judge.reference_indices
    assert len(indices) == len(judge.reference_features) == 10_000
    assert np.all(np.diff(indices) > 0)  # sorted, no repeats
    assert indices.min() >= 0 and indices.max() < 60_000
    images, _ = data.load_arrays("train", mnist_source)
    some = indices[::1000]
    np.testing.assert_allclose(judge.features(images[some]), judge.reference_features[::1000], rtol=1e-4, atol=1e-4)
    others = np.setdiff1d(np.arange(60_000), indices)[:10]
    assert np.abs(judge.features(images[others]) - judge.reference_features[:10]).max() > 0.1


def test_a_generator_that_draws_only_ones_scores_badly(judge, mnist_source):
    ones, _ = data.load_arrays("test", mnist_source, digit=1)
    result = evaluation.score(judge, ones[:, :, :, 0])  # (N, 28, 28) works too
    assert result["digits_below_5_percent"] == 9
    assert result["coverage"][1] > 0.98
    assert result["inception_score"] < 1.2
    assert result["recall"] < 0.2
    floor = evaluation.real_floor(judge)
    assert result["fid"] > 20 * floor["fid"]


def test_judge_refuses_float_images(judge):
    with pytest.raises(CganError, match="uint8"):
        judge.probabilities(np.zeros((2, 28, 28, 1), np.float32))
    probabilities, features = judge.predict_both(np.zeros((3, 28, 28, 1), np.uint8))
    assert probabilities.shape == (3, 10) and probabilities.dtype == np.float64
    assert features.shape == (3, evaluation.JUDGE_RECIPE["feature_units"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_labels_in_proportion_round_by_largest_remainders_in_label_order():
    # 7 x (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4: floors 3, 2, 1 and the one left goes to the largest remainder
    assert data.labels_in_proportion(7, [0.5, 0.3, 0.2]).tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert np.bincount(data.labels_in_proportion(10, [0.1] * 10)).tolist() == [1] * 10
    assert len(data.labels_in_proportion(10_001, np.full(10, 0.1))) == 10_001
