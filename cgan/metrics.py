"""Pure numpy metrics on judge outputs: Frechet distance, Inception Score, KID, precision and
recall by k-NN manifolds, confusion matrix, conditional accuracy and class coverage."""

import numpy as np

PR_NEIGHBOURS = 3  # k of the k-NN manifolds, as in Kynkaenniemi et al. 2019
KID_SUBSETS = 100  # as in Binkowski et al. 2018
KID_SUBSET_SIZE = 1000  # as in Binkowski et al. 2018


def _psd_sqrt(matrix):
    """Symmetric square root of a symmetric positive semi-definite matrix, by eigh."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance_from_stats(mu1, s1, mu2, s2):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) between two Gaussians.

    tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of
    sqrt(S1) S2 sqrt(S1), which has the same eigenvalues as S1 S2 but is symmetric PSD,
    so no scipy.linalg.sqrtm and no complex round-off.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    root1 = _psd_sqrt(s1)
    middle = root1 @ s2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)  # symmetrize away round-off
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt
    return max(float(distance), 0.0)  # tiny negatives are round-off for identical statistics


def gaussian_stats(features):
    """Mean and (N-1)-normalized covariance of an (N, F) feature set."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two (N, F) feature sets (FID when F are judge
    features)."""
    return frechet_distance_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


def inception_score(probabilities):
    """exp(mean_x KL(p(y|x) || p(y))), p(y) the mean prediction: 1 (all alike or all unsure) to
    num_classes."""
    p = np.asarray(probabilities, np.float64)
    marginal = p.mean(axis=0)
    ratio = np.divide(p, marginal, out=np.ones_like(p), where=p > 0)  # 0 log 0 = 0
    return float(np.exp(np.sum(p * np.log(ratio), axis=1).mean()))


def _polynomial_kernel(x, y):
    """k(x, y) = (x.y / d + 1)^3 for all pairs of rows."""
    base = x @ y.T
    base /= x.shape[1]
    base += 1.0
    return base * base * base  # in place and by multiplication: much faster than ** 3


def _within_mean(x):
    """mean_{i!=j} k(x_i, x_j)."""
    m = len(x)
    return (_kernel_sum(x, x) - _kernel_trace(x)) / (m * (m - 1))


def _unbiased_mmd2(x, y, x_within=None):
    """Unbiased MMD^2:
    mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j) - 2 mean_{i,j} k(x_i, y_j).

    `x_within`: _within_mean(x), when already known."""
    within = _within_mean(x) if x_within is None else x_within
    within += _within_mean(y)
    return within - 2.0 * _kernel_sum(x, y) / (len(x) * len(y))


def _kernel_sum(x, y, chunk=2000):
    """The sum of k(x_i, y_j) over all pairs, in blocks of rows: 10,000 x 10,000 never at once."""
    return sum(
        float(_polynomial_kernel(x[i : i + chunk], y).sum()) for i in range(0, len(x), chunk)
    )


def _kernel_trace(x):
    """The sum of k(x_i, x_i)."""
    return float((((x * x).sum(axis=1) / x.shape[1] + 1.0) ** 3).sum())


def _canonical(rows):
    """The rows in lexicographic order: subsets drawn from it depend on the set, not its order."""
    return rows[np.lexsort(rows.T[::-1])]


def kid_reference(features, within=None):
    """What KID needs of one set alone: (its rows in canonical order, their mean kernel), for
    kernel_inception_distance's `prepared_a` when that set is compared with many. `within`: the
    mean kernel of an earlier kid_reference of the same rows, when stored."""
    rows = _canonical(np.asarray(features, np.float64))
    return rows, _within_mean(rows) if within is None else float(within)


def kernel_inception_distance(
    features_a,
    features_b,
    num_subsets=KID_SUBSETS,
    subset_size=KID_SUBSET_SIZE,
    seed=0,
    prepared_a=None,
):
    """(KID, std): the unbiased polynomial-kernel MMD^2 of the two whole sets, and the spread of
    that estimate over random equal-size subsets (Binkowski et al. 2018).

    Each subset draws min(subset_size, len(a), len(b)) rows of each set without replacement,
    from the rows in a canonical order, so that both figures are the same for the same sets
    in any order. Unbiased, so KID is near 0 (and may be slightly negative) for two samples of
    one distribution. `prepared_a`: kid_reference(features_a), to skip its part of the work.
    """
    m = min(subset_size, len(features_a), len(features_b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    a, a_within = kid_reference(features_a) if prepared_a is None else prepared_a
    b = _canonical(np.asarray(features_b, np.float64))
    rng = np.random.default_rng(seed)
    estimates = [
        _unbiased_mmd2(
            a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        )
        for _ in range(num_subsets)
    ]
    return _unbiased_mmd2(a, b, a_within), float(np.std(estimates))


DISTANCE_CHUNK = 1000  # rows per block of pairwise distances: 1000 x 10,000 float64 = 80 MB


def _squared_distance_blocks(x, y):
    """Yield (start, ||x_i - y_j||^2 for x rows start.. start+DISTANCE_CHUNK and all y rows).

    By ||x||^2 + ||y||^2 - 2 x.y, computed in place and clipped at 0 against round-off.
    """
    x_norms, y_norms = np.sum(x * x, axis=1), np.sum(y * y, axis=1)
    for start in range(0, len(x), DISTANCE_CHUNK):
        block = x[start : start + DISTANCE_CHUNK] @ y.T
        block *= -2.0
        block += x_norms[start : start + DISTANCE_CHUNK, None]
        block += y_norms[None, :]
        yield start, np.maximum(block, 0.0, out=block)


def kth_neighbour_radii(features, k):
    """Squared distance from each row to its k-th nearest other row (the row itself sorts first
    at 0)."""
    radii = np.empty(len(features))
    for start, block in _squared_distance_blocks(features, features):
        radii[start : start + len(block)] = np.partition(block, k, axis=1)[:, k]
    return radii


def _share_inside(queries, centres, centre_radii):
    """Share of query rows within the k-NN ball (squared radius) of at least one centre."""
    inside = np.zeros(len(queries), dtype=bool)
    for start, block in _squared_distance_blocks(queries, centres):
        inside[start : start + len(block)] = np.any(block <= centre_radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=PR_NEIGHBOURS, real_radii=None):
    """(precision, recall) by k-NN manifolds (Kynkaenniemi et al. 2019).

    precision: share of fake rows inside the ball around some real row whose radius is that
    real row's distance to its k-th nearest real neighbour (fakes look real).
    recall: share of real rows inside some fake row's k-NN ball (the reals are covered).
    """
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")
    if real_radii is None:  # callers scoring many sets against one reference pass its radii once
        real_radii = kth_neighbour_radii(real, k)
    precision = _share_inside(fake, real, real_radii)
    recall = _share_inside(real, fake, kth_neighbour_radii(fake, k))
    return precision, recall


def confusion_matrix(true, predicted, num_classes=10):
    """Counts, int (num_classes, num_classes): row = true (or requested) digit, column = predicted
    digit."""
    true, predicted = np.asarray(true, np.int64), np.asarray(predicted, np.int64)
    if true.shape != predicted.shape:
        raise ValueError(f"{len(true)} labels but {len(predicted)} predictions")
    for values in (true, predicted):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"labels must lie in [0, {num_classes})")
    counts = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def conditional_accuracy(probabilities, labels):
    """(overall, per_digit): share whose argmax is the label, overall and per label (NaN for an
    absent label)."""
    probabilities = np.asarray(probabilities)
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), probabilities.shape[1])
    per_label = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_digit = np.diag(matrix) / per_label
    return float(np.trace(matrix) / max(matrix.sum(), 1)), per_digit


def coverage(probabilities):
    """Share of samples whose argmax is each class, shape (num_classes,): 0.1 each when balanced."""
    probabilities = np.asarray(probabilities)
    counts = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1])
    return counts / max(len(probabilities), 1)
