"""The judge: a classifier of the dataset, trained once and cached, whose outputs score samples.

Input convention: every function that takes images wants uint8 pixels in [0, 255], shape
(N, H, W, C), or (N, H, W) for one channel, the dataset's shape: what `cgan.data.load_arrays`
returns and what `cgan.data.to_uint8` makes of tanh generator output. Anything else raises
CganError, so a [-1, 1] float batch can never be scored by mistake as if it were near-black
pixels. (The Keras model itself takes float32 pixels in [0, 255] and rescales them in its first
layer.)

The MNIST judge is shipped in the package (cgan/judges/mnist-<recipe hash>.weights.h5 and its
.json, with its reference.npz and floor.json), so every user scores with the same network and
reference, as FID's Inception weights are the same for everyone, and starts without computing
them; experiments/retrain_judge.py remakes them. Any other dataset's judge (and MNIST's,
when the recipe changes) is trained once per dataset, image size and recipe. What every judge
needs besides is cached in `$CGAN_CACHE_DIR` (default ~/.cache/cgan) under
judge-<dataset>-<hash of both>/:
    judge.keras      the classifier (written first; not for the shipped judge)
    judge.json       recipe, test accuracy, training time or the shipped weights' sha256
                     (written last: marks the cache complete)
    reference.npz    judge features of a fixed subset of training digits, the reference of
                     every score, and what every score needs of them (k-NN radii, KID's part)
    floor.json       the scores of real held-out test digits, the floor any generator is
                     compared with
A cached file that cannot be read raises CganError naming the folder to delete; it is not
silently retrained, because a broken cache usually means a disk or permission problem
worth seeing. Every file is written under a temporary name and moved into place, so an
interrupted run leaves no half-written file behind.

Features are the judge's penultimate layer (128 ReLU units), so FID and KID here are on a
different scale from Inception-based figures: compare them only with each other and with
the real floor (cgan.scores).
"""

import dataclasses
import hashlib
import json
import os
import re
import shutil
import zipfile

import keras
import numpy as np

from cgan import data
from cgan.datasource import FOLDER_PREFIX, DataSource
from cgan.errors import CganError
from cgan.files import atomic_path, write_json
from cgan.judge_model import JUDGE_RECIPE, build_judge_model, train_judge
from cgan.metrics import PR_NEIGHBOURS, conditional_accuracy, kid_reference, kth_neighbour_radii

# Below this the judge itself would blur per-class accuracy; other datasets have no bar, and
# their tables show the judge's accuracy.
MIN_JUDGE_ACCURACY = {"mnist": 0.993}
PREDICT_BATCH = 500  # big enough to amortize per-batch overhead, small enough for any RAM
SHIPPED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "judges")


def _read_json(path):
    with open(path) as handle:
        return json.load(handle)


def recipe_hash(recipe=JUDGE_RECIPE, source=DataSource()):
    """First 12 hex digits of sha256 of the recipe and the dataset (none for MNIST as stored) as
    sorted JSON: the judge's cache key."""
    key = recipe
    if (
        not source.plain_mnist
    ):  # a folder by its absolute path: the same folder name elsewhere is other data
        dataset = (
            FOLDER_PREFIX + os.path.abspath(source.folder) if source.folder else source.dataset
        )
        key = dict(recipe, dataset=dataset, image_size=source.image_size)
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def judge_folder(source=DataSource(), cache_dir=None):
    """The judge's cache folder: <cache_dir or $CGAN_CACHE_DIR or ~/.cache/cgan>/judge-<hash>, with
    the dataset's label (and size) before the hash for any dataset but MNIST as stored."""
    root = (
        cache_dir
        or os.environ.get("CGAN_CACHE_DIR")
        or os.path.join(os.path.expanduser("~"), ".cache", "cgan")
    )
    name = (
        "judge" if source.plain_mnist else "judge-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", source.label)
    )
    return os.path.join(root, f"{name}-{recipe_hash(JUDGE_RECIPE, source)}")


def _as_pixels(images, shape):
    """uint8 (N, H, W[, C]) -> float32 (N, H, W, C) in [0, 255], the model's input of image
    `shape`; else CganError."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise CganError(
            f"the judge takes uint8 pixels, got {images.dtype}; "
            "convert generator output in [-1, 1] with cgan.data.to_uint8"
        )
    if images.ndim == 3 and shape[-1] == 1:
        images = images[..., None]
    if images.shape[1:] != tuple(shape):
        allowed = f"(N, {shape[0]}, {shape[1]}) or " if shape[-1] == 1 else ""
        raise CganError(
            f"the judge takes images of shape {allowed}(N, {', '.join(map(str, shape))}), "
            f"got {images.shape}"
        )
    return images.astype(np.float32)


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
        self._reference = None  # reference.npz's arrays, read on first use

    def predict_both(self, images, progress=False):
        """(probabilities (N, K), features (N, F)), both float64, in one pass over uint8 images;
        with `progress`, under a progress bar."""
        pixels = _as_pixels(images, self.image_shape)
        probabilities, features = self._both.predict(
            pixels, batch_size=PREDICT_BATCH, verbose=int(bool(progress))
        )
        return probabilities.astype(np.float64), features.astype(np.float64)

    def probabilities(self, images):
        """Softmax over the K classes, (N, K) float64."""
        return self.predict_both(images)[0]

    def features(self, images):
        """Penultimate-layer activations, (N, F) float64."""
        return self.predict_both(images)[1]

    def _load_reference(self):
        """Reads reference.npz, writing it first if the cache has none: the features of a fixed
        random subset of training images (JUDGE_RECIPE["reference"]; all of a smaller training
        set), their rows, and what every score needs of them (a file from before it kept those
        gets them added)."""
        path = os.path.join(self.folder, "reference.npz")
        if os.path.exists(path):
            stored = _read_npz(path, ("features", "indices"))
        else:
            settings = JUDGE_RECIPE["reference"]
            images, _ = data.load_arrays("train", self.source)
            rng = np.random.default_rng(settings["seed"])
            indices = np.sort(
                rng.choice(len(images), min(settings["size"], len(images)), replace=False)
            )
            # float32 halves the file; scores use float64
            stored = dict(
                features=self.features(images[indices]).astype(np.float32), indices=indices
            )
        features = stored["features"].astype(np.float64)
        if not {"radii", "kid_within"} <= stored.keys():
            stored.update(
                radii=kth_neighbour_radii(features, PR_NEIGHBOURS),
                kid_within=np.float64(kid_reference(features)[1]),
            )
            with atomic_path(path) as temporary:
                np.savez(temporary, **stored)
        self._reference = dict(
            features=features,
            indices=stored["indices"],
            radii=stored["radii"],
            kid=kid_reference(features, stored["kid_within"]),
        )

    def _reference_part(self, name):
        if self._reference is None:
            self._load_reference()
        return self._reference[name]

    @property
    def reference_features(self):
        """Features of the reference: the training images every score is compared with, cached."""
        return self._reference_part("features")

    @property
    def reference_indices(self):
        """The reference's rows in the training split, sorted: what to leave out to score other
        training images."""
        return self._reference_part("indices")

    @property
    def reference_radii(self):
        """Squared distance of each reference row to its PR_NEIGHBOURS-th nearest one, cached:
        every score needs it."""
        return self._reference_part("radii")

    @property
    def reference_kid(self):
        """metrics.kid_reference of the reference features, its costly part cached: every score
        needs it."""
        return self._reference_part("kid")


def _read_npz(path, required):
    """Every array of an .npz file: CganError (corrupt_cache) if unreadable or missing one of
    `required`."""
    try:
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        missing = [name for name in required if name not in arrays]
        if missing:
            raise KeyError(f"no {missing[0]!r} in the file")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise corrupt_cache(path, error) from None
    return arrays


def corrupt_cache(path, error):
    """The CganError for an unreadable cache file: its first line of complaint and what to
    delete."""
    message = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return CganError(
        f"cached judge file {path!r} is unreadable ({message}); "
        f"delete {os.path.dirname(path)!r} to rebuild it"
    )


def shipped_paths(source=DataSource(), recipe=JUDGE_RECIPE):
    """(weights, facts) paths of the judge shipped for `source` by `recipe`, named by its hash;
    only MNIST as stored has one."""
    base = os.path.join(SHIPPED_DIR, f"{source.dataset}-{recipe_hash(recipe, source)}")
    return f"{base}.weights.h5", f"{base}.json"


def shipped_derived(source=DataSource(), recipe=JUDGE_RECIPE):
    """{cache file name: path} of what the package ships beside the judge's weights for the
    cache: its reference.npz and floor.json."""
    base = shipped_paths(source, recipe)[1][: -len(".json")]
    return {name: f"{base}.{name}" for name in ("reference.npz", "floor.json")}


def file_sha256(path):
    """The sha256 hex digest of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def load_judge(source=DataSource(), cache_dir=None, verbose=1):
    """The judge of `source`'s dataset: the shipped one when the package has it for the recipe,
    else the cached one, trained first if the cache has none (minutes on a CPU, with a progress
    bar).

    Its reference and floor images come from `source` too. Raises CganError if a fresh MNIST
    judge scores below MIN_JUDGE_ACCURACY on the test digits, or if a cached file is unreadable.
    """
    folder = judge_folder(source, cache_dir)
    weights, facts = shipped_paths(source)
    if source.plain_mnist and os.path.exists(weights):
        return _load_shipped(weights, facts, folder, source)
    model_path, info_path = os.path.join(folder, "judge.keras"), os.path.join(folder, "judge.json")
    if os.path.exists(info_path):
        try:
            model = keras.models.load_model(model_path, safe_mode=True)
            accuracy = float(_read_json(info_path)["test_accuracy"])
        except (
            Exception
        ) as error:  # zip, h5, JSON and Keras deserialization all raise their own types
            raise corrupt_cache(model_path, error) from None
        return Judge(model, folder, accuracy, source)

    if verbose:
        print(f"training the {source.dataset} judge once; it will be cached in {folder}")
    judge, seconds = fresh_judge(source, folder, verbose)
    os.makedirs(folder, exist_ok=True)
    with atomic_path(model_path) as temporary:
        judge.model.save(temporary)
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


def fresh_judge(source, folder, verbose=1):
    """(a newly trained Judge of `source` with its test accuracy, training seconds); CganError
    below the dataset's MIN_JUDGE_ACCURACY."""
    model, seconds = train_judge(source, verbose)
    judge = Judge(model, folder, None, source)
    test_images, test_labels = data.load_arrays("test", source)
    judge.accuracy, _ = conditional_accuracy(judge.probabilities(test_images), test_labels)
    minimum = MIN_JUDGE_ACCURACY.get(source.dataset, 0.0)
    if judge.accuracy < minimum:
        raise CganError(
            f"the freshly trained judge reaches only {judge.accuracy:.2%} test accuracy "
            f"(needs {minimum:.1%}); its recipe needs fixing"
        )
    return judge, seconds


def _load_shipped(weights, facts, folder, source):
    """The shipped judge; its cache folder is emptied first when it holds another network's
    reference and floor."""
    try:
        shipped = _read_json(facts)
        if file_sha256(weights) != shipped["weights_sha256"]:
            raise ValueError("its sha256 is not the one its .json records")
        model = build_judge_model()
        model.load_weights(weights)
    except Exception as error:  # h5, JSON and Keras all raise their own types
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CganError(
            f"the shipped judge {weights!r} is unreadable ({message}); reinstall cgan"
        ) from None
    info_path = os.path.join(folder, "judge.json")
    try:
        current = os.path.exists(info_path) and (
            _read_json(info_path).get("weights_sha256") == shipped["weights_sha256"]
        )
    except (OSError, ValueError, AttributeError):  # a cut-short file: it is rewritten below
        current = False
    if not current:
        os.makedirs(folder, exist_ok=True)
        for name in ("judge.keras", "reference.npz", "floor.json"):  # another network's
            if os.path.exists(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))
        write_json(info_path, shipped)
    for name, path in shipped_derived(source).items():  # so a fresh cache computes neither
        target = os.path.join(folder, name)
        if os.path.exists(path) and not os.path.exists(target):
            with atomic_path(target) as temporary:
                shutil.copyfile(path, temporary)
    return Judge(model, folder, float(shipped["test_accuracy"]), source)
