"""Judging generated images: a cached classifier of the dataset (the judge) and metrics on its outputs.

Input convention: every function that takes images wants uint8 pixels in [0, 255], shape
(N, H, W, C), or (N, H, W) for one channel, the dataset's shape: what `cgan.data.load_arrays`
returns and what `cgan.data.to_uint8` makes of tanh generator output. Anything else raises
CganError, so a [-1, 1] float batch can never be scored by mistake as if it were near-black
pixels. (The Keras model itself takes float32 pixels in [0, 255] and rescales them in its first layer.)

The judge is trained once per dataset (and image size) and recipe, and cached in
`$CGAN_CACHE_DIR` (default ~/.cache/cgan) under judge-<dataset>-<hash of both>/:
    judge.keras      the classifier (written first)
    judge.json       recipe, test accuracy, training time (written last: marks the cache complete)
    reference.npz    judge features of a fixed subset of training digits, the reference of every score
    floor.json       the scores of real held-out test digits, the floor any generator is compared with
A cached file that cannot be read raises CganError naming the folder to delete; it is not
silently retrained, because a broken cache usually means a disk or permission problem
worth seeing. Every file is written under a temporary name and moved into place, so an
interrupted run leaves no half-written file behind.

Features are the judge's penultimate layer (128 ReLU units), so FID and KID here are on a
different scale from Inception-based figures: compare them only with each other and with
the real floor.
"""

import dataclasses
import hashlib
import json
import os
import re
import time

import keras
import numpy as np

from cgan import data
from cgan.config import FOLDER_PREFIX, DataSource
from cgan.errors import CganError
from cgan.files import atomic_path, write_json

JUDGE_RECIPE = dict(
    version=1,  # bump when the code below changes what gets trained
    architecture="rescale /255; random shift (training only); per block: conv3x3-BN-ReLU, "
    "conv3x3/2-BN-ReLU; dense-BN-ReLU (features); dropout; dense softmax",
    max_shift=0.08,  # random translation, as a share of 28 px (up to 2 px): about +0.1% test accuracy
    block_filters=[24, 48],  # 99.48% in 4 epochs; [32, 64] is no more accurate and ~1.5x slower
    feature_units=128,
    dropout=0.3,
    epochs=4,
    batch_size=128,
    optimizer="adam",
    peak_learning_rate=3e-3,
    schedule="cosine decay to 0 after 10% linear warmup",
    seed=0,
    reference=dict(size=10_000, seed=0),  # training images every score is compared with
)
# Below these the judge itself would blur per-class accuracy. Other datasets have no bar (the
# same small network reaches about 91% on Fashion-MNIST): their tables show the judge's accuracy.
MIN_JUDGE_ACCURACY = {"mnist": 0.993}
# A small dataset (a folder of a few hundred images) trains its judge for at least this many steps:
# a few steps would leave batch norm's moving statistics at their initial values. (MNIST's 4
# epochs are 1,876 steps, so its judge is unchanged.)
MIN_JUDGE_STEPS = 500
PREDICT_BATCH = 500  # big enough to amortize per-batch overhead, small enough for any RAM
PR_NEIGHBOURS = 3  # k of the k-NN manifolds, as in Kynkaenniemi et al. 2019
KID_SUBSETS = 100  # as in Binkowski et al. 2018
KID_SUBSET_SIZE = 1000  # as in Binkowski et al. 2018
# A class predicted less than this share of its balanced share 1/K counts as (nearly) dropped:
# 5% for ten digits. (The key keeps the name digits_below_5_percent for every K.)
RARE_FRACTION = 0.5


# ---------------------------------------------------------------------------------------------
# Pure numpy metrics
# ---------------------------------------------------------------------------------------------


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
    """Frechet distance between Gaussians fitted to two (N, F) feature sets (FID when F are judge features)."""
    return frechet_distance_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


def inception_score(probabilities):
    """exp(mean_x KL(p(y|x) || p(y))), p(y) the mean prediction: 1 (all alike or all unsure) to num_classes."""
    p = np.asarray(probabilities, np.float64)
    marginal = p.mean(axis=0)
    ratio = np.divide(p, marginal, out=np.ones_like(p), where=p > 0)  # 0 log 0 = 0
    return float(np.exp(np.sum(p * np.log(ratio), axis=1).mean()))


def _polynomial_kernel(x, y):
    """k(x, y) = (x.y / d + 1)^3 for all pairs of rows."""
    base = x @ y.T
    base /= x.shape[1]
    base += 1.0
    return base * base * base  # in place and by multiplication: 50x faster than ** 3 here


def _unbiased_mmd2(x, y):
    """Unbiased MMD^2: mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j) - 2 mean_{i,j} k(x_i, y_j)."""
    m = len(x)
    kxx, kyy = _polynomial_kernel(x, x), _polynomial_kernel(y, y)
    off_diagonal = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return off_diagonal - 2.0 * _polynomial_kernel(x, y).mean()


def kernel_inception_distance(features_a, features_b, num_subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=0):
    """(mean, std) of the unbiased polynomial-kernel MMD^2 over random equal-size subsets (Binkowski et al. 2018).

    Each subset draws min(subset_size, len(a), len(b)) rows of each set without replacement.
    Unbiased, so it is near 0 (and may be slightly negative) for two samples of one distribution.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    estimates = [
        _unbiased_mmd2(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(num_subsets)
    ]
    return float(np.mean(estimates)), float(np.std(estimates))


_CHUNK = 1000  # rows per block of pairwise distances: 1000 x 10,000 float64 = 80 MB


def _squared_distance_blocks(x, y):
    """Yield (start, ||x_i - y_j||^2 for x rows start.. start+_CHUNK and all y rows).

    By ||x||^2 + ||y||^2 - 2 x.y, computed in place and clipped at 0 against round-off.
    """
    x_norms, y_norms = np.sum(x * x, axis=1), np.sum(y * y, axis=1)
    for start in range(0, len(x), _CHUNK):
        block = x[start : start + _CHUNK] @ y.T
        block *= -2.0
        block += x_norms[start : start + _CHUNK, None]
        block += y_norms[None, :]
        yield start, np.maximum(block, 0.0, out=block)


def _kth_neighbour_radii(features, k):
    """Squared distance from each row to its k-th nearest other row (the row itself sorts first at 0)."""
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
        real_radii = _kth_neighbour_radii(real, k)
    precision = _share_inside(fake, real, real_radii)
    recall = _share_inside(real, fake, _kth_neighbour_radii(fake, k))
    return precision, recall


def confusion_matrix(true, predicted, num_classes=10):
    """Counts, int (num_classes, num_classes): row = true (or requested) digit, column = predicted digit."""
    true, predicted = np.asarray(true, np.int64), np.asarray(predicted, np.int64)
    if true.shape != predicted.shape:
        raise ValueError(f"{len(true)} labels but {len(predicted)} predictions")
    for values in (true, predicted):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"labels must lie in [0, {num_classes})")
    counts = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def conditional_accuracy(probabilities, labels):
    """(overall, per_digit): share whose argmax is the label, overall and per label (NaN for an absent label)."""
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


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _read_json(path):
    with open(path) as handle:
        return json.load(handle)


def save_confusion_matrix_png(matrix, path, class_names=None, title="requested label vs judged label"):
    """Write a labelled heat map of a (K, K) confusion matrix (rows requested, columns judged) to PNG,
    its ticks the class names (default 0 .. K-1)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg without touching pyplot's global backend
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    side = max(6.0, 0.45 * len(matrix))  # inches: room for each class's numbers
    figure = Figure(figsize=(side, side * 0.9))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, label="images")
    classes = range(matrix.shape[0])
    names = [str(name) for name in (class_names if class_names is not None else classes)]
    axes.set_xticks(classes, names, rotation=90 if max(map(len, names)) > 2 else 0)
    axes.set_yticks(classes, names)
    axes.set_xlabel("class predicted by the judge")
    axes.set_ylabel("class requested (label)")
    axes.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in classes:
        for column in classes:
            value = matrix[row, column]
            if value:
                colour = "white" if value > threshold else "black"
                axes.text(column, row, str(value), ha="center", va="center", fontsize=7, color=colour)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)


# ---------------------------------------------------------------------------------------------
# The judge
# ---------------------------------------------------------------------------------------------


def recipe_hash(recipe=JUDGE_RECIPE, source=DataSource()):
    """First 12 hex digits of sha256 of the recipe and the dataset (none for MNIST as stored) as
    sorted JSON: the judge's cache key."""
    key = recipe
    if not source.plain_mnist:  # a folder by its absolute path: the same folder name elsewhere is other data
        dataset = FOLDER_PREFIX + os.path.abspath(source.folder) if source.folder else source.dataset
        key = dict(recipe, dataset=dataset, image_size=source.image_size)
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def judge_folder(source=DataSource(), cache_dir=None):
    """The judge's cache folder: <cache_dir or $CGAN_CACHE_DIR or ~/.cache/cgan>/judge-<hash>, with
    the dataset's label (and size) before the hash for any dataset but MNIST as stored."""
    root = cache_dir or os.environ.get("CGAN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "cgan")
    name = "judge" if source.plain_mnist else "judge-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", source.label)
    return os.path.join(root, f"{name}-{recipe_hash(JUDGE_RECIPE, source)}")


def _as_pixels(images, shape):
    """uint8 (N, H, W[, C]) -> float32 (N, H, W, C) in [0, 255], the model's input of image `shape`; else CganError."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise CganError(
            f"the judge takes uint8 pixels, got {images.dtype}; convert generator output in [-1, 1] "
            "with cgan.data.to_uint8"
        )
    if images.ndim == 3 and shape[-1] == 1:
        images = images[..., None]
    if images.shape[1:] != tuple(shape):
        allowed = f"(N, {shape[0]}, {shape[1]}) or " if shape[-1] == 1 else ""
        raise CganError(f"the judge takes images of shape {allowed}(N, {', '.join(map(str, shape))}), got {images.shape}")
    return images.astype(np.float32)


def build_judge_model(image_shape=(28, 28, 1), num_classes=10, recipe=JUDGE_RECIPE):
    """The untrained classifier: float32 pixels (N, *image_shape) in [0, 255] -> softmax over the classes."""
    layers = keras.layers
    pixels = keras.Input(image_shape, name="pixels")
    x = layers.Rescaling(1 / 255.0)(pixels)
    x = layers.RandomTranslation(recipe["max_shift"], recipe["max_shift"], fill_mode="constant")(x)
    for filters in recipe["block_filters"]:
        for strides in (1, 2):  # the strided conv halves the resolution instead of pooling
            x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(recipe["feature_units"], use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    features = layers.ReLU(name="features")(x)
    x = layers.Dropout(recipe["dropout"])(features)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(pixels, probabilities, name="judge")


class Judge:
    """A trained classifier of one dataset: probabilities for per-class scores, penultimate features
    for FID, KID, precision and recall."""

    def __init__(self, model, folder, accuracy, source=DataSource()):
        self.model = model
        self.folder = folder
        self.accuracy = accuracy  # on the dataset's test split
        self.source = source  # where the reference and floor images come from
        self.image_shape = tuple(model.input_shape[1:])
        self._both = keras.Model(model.inputs, [model.output, model.get_layer("features").output])
        self._reference_features = None
        self._reference_indices = None
        self._reference_radii = None

    def predict_both(self, images):
        """(probabilities (N, K), features (N, F)), both float64, in one pass over uint8 images."""
        pixels = _as_pixels(images, self.image_shape)
        probabilities, features = self._both.predict(pixels, batch_size=PREDICT_BATCH, verbose=0)
        return probabilities.astype(np.float64), features.astype(np.float64)

    def probabilities(self, images):
        """Softmax over the K classes, (N, K) float64."""
        return self.predict_both(images)[0]

    def features(self, images):
        """Penultimate-layer activations, (N, F) float64."""
        return self.predict_both(images)[1]

    def _load_reference(self):
        """Reads reference.npz (writing it first if the cache has none): the features of a fixed random
        subset of training images (JUDGE_RECIPE["reference"]; all of a smaller training set) and their rows."""
        path = os.path.join(self.folder, "reference.npz")
        if not os.path.exists(path):
            settings = JUDGE_RECIPE["reference"]
            images, _ = data.load_arrays("train", self.source)
            rng = np.random.default_rng(settings["seed"])
            chosen = np.sort(rng.choice(len(images), min(settings["size"], len(images)), replace=False))
            features = self.features(images[chosen]).astype(np.float32)  # halves the file; scores use float64
            with atomic_path(path) as temporary:
                np.savez(temporary, features=features, indices=chosen)
        try:
            with np.load(path) as stored:
                self._reference_features = stored["features"].astype(np.float64)
                self._reference_indices = stored["indices"]
        except (OSError, ValueError, KeyError) as error:
            raise _corrupt_cache(path, error) from None

    @property
    def reference_features(self):
        """Features of the reference: the training images every score is compared with, cached."""
        if self._reference_features is None:
            self._load_reference()
        return self._reference_features

    @property
    def reference_indices(self):
        """The reference's rows in the training split, sorted: what to leave out to score other training images."""
        if self._reference_indices is None:
            self._load_reference()
        return self._reference_indices

    @property
    def reference_radii(self):
        """Squared distance of each reference row to its PR_NEIGHBOURS-th nearest one, computed
        once per process (about 2 s on 2 cores: every score needs it)."""
        if self._reference_radii is None:
            self._reference_radii = _kth_neighbour_radii(self.reference_features, PR_NEIGHBOURS)
        return self._reference_radii


def _corrupt_cache(path, error):
    """The CganError for an unreadable cache file: its first line of complaint and what to delete."""
    message = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return CganError(
        f"cached judge file {path!r} is unreadable ({message}); delete {os.path.dirname(path)!r} to rebuild it"
    )


def _train_judge(source, verbose):
    """Train the judge on the dataset's training split; return (model, seconds). Reseeds the global RNGs."""
    recipe = JUDGE_RECIPE
    images, labels = data.load_arrays("train", source)
    # A small set is repeated (each copy shifted anew) so its epochs take MIN_JUDGE_STEPS steps; MNIST is not.
    repeats = -(-MIN_JUDGE_STEPS * recipe["batch_size"] // (recipe["epochs"] * len(images)))
    images, labels = np.tile(images, (repeats, 1, 1, 1)), np.tile(labels, repeats)
    keras.utils.set_random_seed(recipe["seed"])
    model = build_judge_model(images.shape[1:], data.spec(source).num_classes, recipe)
    steps = recipe["epochs"] * -(-len(images) // recipe["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=recipe["peak_learning_rate"], warmup_steps=steps // 10
    )
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    model.fit(_as_pixels(images, images.shape[1:]), labels, batch_size=recipe["batch_size"],
              epochs=recipe["epochs"], verbose=verbose)
    return model, time.time() - start


def load_judge(source=DataSource(), cache_dir=None, verbose=1):
    """The cached judge of `source`'s dataset, trained first if the cache has none (MNIST: 2-3
    minutes on 2 CPU cores, progress bar).

    Its reference and floor images come from `source` too. Raises CganError if a fresh MNIST
    judge scores below MIN_JUDGE_ACCURACY on the test digits, or if a cached file is unreadable.
    """
    folder = judge_folder(source, cache_dir)
    model_path, info_path = os.path.join(folder, "judge.keras"), os.path.join(folder, "judge.json")
    if os.path.exists(info_path):
        try:
            model = keras.models.load_model(model_path, safe_mode=True)
            accuracy = float(_read_json(info_path)["test_accuracy"])
        except Exception as error:  # zip, h5, JSON and Keras deserialization all raise their own types
            raise _corrupt_cache(model_path, error) from None
        return Judge(model, folder, accuracy, source)

    if verbose:
        print(f"training the {source.dataset} judge once; it will be cached in {folder}")
    model, seconds = _train_judge(source, verbose)
    judge = Judge(model, folder, None, source)
    test_images, test_labels = data.load_arrays("test", source)
    judge.accuracy, _ = conditional_accuracy(judge.probabilities(test_images), test_labels)
    minimum = MIN_JUDGE_ACCURACY.get(source.dataset, 0.0)
    if judge.accuracy < minimum:
        raise CganError(
            f"the freshly trained judge reaches only {judge.accuracy:.2%} test accuracy "
            f"(needs {minimum:.1%}); its recipe needs fixing"
        )
    os.makedirs(folder, exist_ok=True)
    with atomic_path(model_path) as temporary:
        model.save(temporary)
    write_json(
        info_path,
        dict(
            recipe=JUDGE_RECIPE,
            dataset=dataclasses.asdict(source),
            test_accuracy=judge.accuracy,
            train_seconds=round(seconds, 1),
            keras_version=keras.__version__,
        ),
    )
    if verbose:
        print(f"judge test accuracy {judge.accuracy:.2%} after {seconds:.0f} s of training")
    return judge


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def score(judge, images, labels=None, reference_features=None):
    """Every metric for a set of uint8 images, as a JSON-ready dict.

    Always: num_images, fid, inception_score, kid, kid_std, precision, recall (against
    `reference_features`, by default the judge's training reference). With labels (the
    digits that were requested): accuracy, per_digit_accuracy, confusion_matrix (rows
    requested, columns judged). Without: coverage (share judged as each digit) and
    digits_below_5_percent.
    """
    if reference_features is None:
        reference, radii = judge.reference_features, judge.reference_radii
    else:
        reference, radii = np.asarray(reference_features), None
    probabilities, features = judge.predict_both(images)
    kid, kid_std = kernel_inception_distance(reference, features)
    precision, recall = precision_recall(reference, features, real_radii=radii)
    result = dict(
        num_images=len(features),
        fid=frechet_distance(reference, features),
        inception_score=inception_score(probabilities),
        kid=kid,
        kid_std=kid_std,
        precision=precision,
        recall=recall,
    )
    if labels is not None:
        overall, per_digit = conditional_accuracy(probabilities, labels)
        matrix = confusion_matrix(labels, probabilities.argmax(axis=1), probabilities.shape[1])
        result.update(
            accuracy=overall,
            per_digit_accuracy=[None if np.isnan(value) else float(value) for value in per_digit],
            confusion_matrix=matrix.tolist(),
        )
    else:
        shares = coverage(probabilities)
        rare = shares < RARE_FRACTION / len(shares)
        result.update(coverage=shares.tolist(), digits_below_5_percent=int(np.sum(rare)))
    return result


def real_floor(judge):
    """score() of the real test images with their true labels (MNIST: 10,000 digits): what a perfect generator gets.

    Computed once and cached as floor.json in the judge folder (it is reused while the
    score settings it was computed with are unchanged).
    """
    path = os.path.join(judge.folder, "floor.json")
    settings = dict(k=PR_NEIGHBOURS, kid_subsets=KID_SUBSETS, kid_subset_size=KID_SUBSET_SIZE)
    if os.path.exists(path):
        try:
            cached = _read_json(path)
        except (OSError, ValueError) as error:
            raise _corrupt_cache(path, error) from None
        if cached.get("settings") == settings:
            return cached["scores"]
    images, labels = data.load_arrays("test", judge.source)
    scores = score(judge, images, labels)
    write_json(path, dict(settings=settings, scores=scores))
    return scores
