"""The metric maths of cgan.metrics against hand-checkable answers and closed forms: Frechet
distance, Inception Score, KID, precision and recall, confusion matrix, accuracy and coverage."""

import numpy as np
import pytest

from cgan import metrics


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
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mu1, mu2 = np.zeros(5), np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    s1, s2 = np.array([1.0, 2.0, 0.5, 4.0, 1.0]), np.array([2.0, 2.0, 1.5, 1.0, 0.25])
    a = exact_gaussian_sample(rng, 2000, mu1, s1)
    b = exact_gaussian_sample(rng, 3000, mu2, s2)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))  # 14.25 + 1.69
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_from_stats_matches_eigenvalues_of_the_product():
    rng = np.random.default_rng(2)
    m1, m2 = rng.normal(size=(2, 6, 6))
    s1, s2 = m1 @ m1.T, m2 @ m2.T + np.eye(6)
    mu1, mu2 = rng.normal(size=(2, 6))
    # tr sqrt(S1 S2) = sum of square roots of the (real, non-negative) eigenvalues of S1 S2
    trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real.clip(0)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert metrics.frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(
        expected, rel=1e-9
    )


def test_frechet_distance_one_dimensional():
    # 1-D: (m1 - m2)^2 + (sigma1 - sigma2)^2 = 9 + 1
    assert metrics.frechet_distance_from_stats([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(
        10.0
    )


# --- Inception score --------------------------------------------------------------------------


def test_inception_score_is_one_for_constant_predictions():
    assert metrics.inception_score(np.tile([0.7, 0.2, 0.1] + [0.0] * 7, (50, 1))) == pytest.approx(
        1.0
    )


def test_inception_score_is_num_classes_for_balanced_confident_predictions():
    assert metrics.inception_score(np.eye(10)[np.arange(100) % 10]) == pytest.approx(10.0)


def test_inception_score_of_two_balanced_classes_is_two():
    assert metrics.inception_score(np.eye(10)[[3, 7, 3, 7]]) == pytest.approx(2.0)


# --- KID --------------------------------------------------------------------------------------


def test_kid_equals_a_direct_double_loop():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 4)), rng.normal(1.0, size=(6, 4))
    m = 6

    def k(u, v):
        return (u @ v / 4 + 1) ** 3

    same = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (
        m * (m - 1)
    )
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    # one subset of all rows is a permutation of each set; MMD^2 does not depend on order
    mean, std = metrics.kernel_inception_distance(x, y, num_subsets=1, subset_size=100)
    assert mean == pytest.approx(same - 2 * cross, rel=1e-12)
    assert std == 0.0


def test_kid_of_sets_of_different_sizes_equals_a_direct_double_loop():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(5, 3)), rng.normal(0.5, size=(7, 3))

    def k(u, v):
        return (u @ v / 3 + 1) ** 3

    within_x = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    within_y = sum(k(y[i], y[j]) for i in range(7) for j in range(7) if i != j) / 42
    cross = sum(k(x[i], y[j]) for i in range(5) for j in range(7)) / 35
    mean, _ = metrics.kernel_inception_distance(x, y, num_subsets=3, subset_size=4)
    assert mean == pytest.approx(within_x + within_y - 2 * cross, rel=1e-12)


def test_kid_of_the_same_sets_in_another_order_is_the_same_number():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(300, 8)), rng.normal(0.1, size=(400, 8))
    first = metrics.kernel_inception_distance(a, b, num_subsets=5, subset_size=100)
    again = metrics.kernel_inception_distance(
        a[rng.permutation(300)], b[rng.permutation(400)], num_subsets=5, subset_size=100
    )
    assert first[1] > 0  # subsets of 100 do vary
    assert again == pytest.approx(first, rel=1e-9)


def test_kid_with_the_first_set_prepared_is_the_same_number_to_the_last_bit():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(300, 8)), rng.normal(0.1, size=(50, 8))
    plain = metrics.kernel_inception_distance(a, b, num_subsets=4, subset_size=40)
    rows, within = metrics.kid_reference(a[::-1])  # any order of the same rows
    np.testing.assert_array_equal(rows, metrics.kid_reference(a)[0])
    for prepared in ((rows, within), metrics.kid_reference(a, within=np.float64(within))):
        kid = metrics.kernel_inception_distance(
            a, b, num_subsets=4, subset_size=40, prepared_a=prepared
        )
        assert kid == plain  # exactly: scores with a stored part equal those without
    assert metrics.kernel_inception_distance(
        a, b, num_subsets=4, subset_size=40, prepared_a=(rows, within + 1.0)
    )[0] == pytest.approx(plain[0] + 1.0, rel=1e-12)  # and the part given is the part used


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 2000, 32))
    same, same_std = metrics.kernel_inception_distance(a, b, num_subsets=10, subset_size=500)
    shifted, _ = metrics.kernel_inception_distance(a, b + 0.5, num_subsets=10, subset_size=500)
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
    assert metrics.precision_recall(real, real.copy()) == (1.0, 1.0)


def test_precision_recall_of_a_distant_cloud_is_zero_zero():
    real = two_clusters(np.random.default_rng(6))
    assert metrics.precision_recall(real, real + 1000.0) == (0.0, 0.0)


def test_precision_recall_of_a_fake_covering_one_mode_of_two():
    real = two_clusters(np.random.default_rng(7))
    precision, recall = metrics.precision_recall(real, real[:300])  # exactly cluster A
    assert precision == 1.0
    assert recall == 0.5


def test_precision_recall_on_a_line_by_hand():
    real = np.array([[0.0], [1.0], [3.0]])  # 1-NN radii: 1, 1, 2
    fake = np.array([[-1.0], [5.0], [6.0]])  # 1-NN radii: 6, 1, 1
    # -1 is exactly 1 from real 0 and 5 exactly 2 from real 3 (balls are closed); 6 is 3 from 3
    # every real point lies within 6 of fake -1
    assert metrics.precision_recall(real, fake, k=1) == (pytest.approx(2 / 3), 1.0)


def test_kth_neighbour_radii_are_squared_distances_to_the_kth_nearest_other_row(monkeypatch):
    points = np.array([[0.0], [1.0], [3.0]])
    np.testing.assert_array_equal(metrics.kth_neighbour_radii(points, 1), [1.0, 1.0, 4.0])
    monkeypatch.setattr(metrics, "DISTANCE_CHUNK", 2)  # a block of two rows, then one of one
    np.testing.assert_array_equal(metrics.kth_neighbour_radii(points, 2), [9.0, 4.0, 9.0])


def test_precision_recall_of_fresh_draws_from_one_mode():
    rng = np.random.default_rng(8)
    real = two_clusters(rng, n_per_cluster=1000, dim=4)
    fake = rng.normal(size=(1000, 4))  # new samples of cluster A only
    precision, recall = metrics.precision_recall(real, fake)
    assert precision > 0.95
    assert 0.45 < recall <= 0.5


def test_precision_recall_chunks_agree_with_one_block(monkeypatch):
    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(2, 250, 3))
    whole = metrics.precision_recall(real, fake)
    monkeypatch.setattr(metrics, "DISTANCE_CHUNK", 7)  # uneven blocks, last one partial
    assert metrics.precision_recall(real, fake) == whole
    # overlapping clouds: neither trivial answer
    assert 0.5 < whole[0] < 1.0 and 0.5 < whole[1] < 1.0


# --- per-digit accuracy, confusion, coverage --------------------------------------------------


def test_conditional_accuracy_and_confusion_matrix_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 2, 2])
    probabilities = np.eye(3)[predicted] * 0.8 + 0.2 / 3
    overall, per_digit = metrics.conditional_accuracy(probabilities, labels)
    assert overall == pytest.approx(4 / 6)
    np.testing.assert_allclose(per_digit, [1 / 2, 2 / 3, 1.0])
    expected = [[1, 1, 0], [0, 2, 1], [0, 0, 1]]  # row = true, column = predicted
    np.testing.assert_array_equal(
        metrics.confusion_matrix(labels, predicted, num_classes=3), expected
    )


def test_per_digit_accuracy_is_nan_for_an_absent_digit():
    overall, per_digit = metrics.conditional_accuracy(np.eye(10)[[5, 5, 6]], [5, 5, 5])
    assert overall == pytest.approx(2 / 3)
    assert per_digit[5] == pytest.approx(2 / 3)
    assert np.isnan(per_digit[[0, 1, 2, 3, 4, 6, 7, 8, 9]]).all()


def test_confusion_matrix_rejects_out_of_range_labels():
    with pytest.raises(ValueError):
        metrics.confusion_matrix([0, 10], [0, 1])


def test_coverage_by_hand():
    predicted = [0] * 6 + [1] * 3 + [7]
    shares = metrics.coverage(np.eye(10)[predicted])
    np.testing.assert_allclose(shares, [0.6, 0.3, 0, 0, 0, 0, 0, 0.1, 0, 0])
