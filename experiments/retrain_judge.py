"""Retrains the MNIST judge by its recipe and compares it with the one shipped in the package;
with --write, the new one replaces the shipped files.

    python experiments/retrain_judge.py            # compare only (about 3 minutes on 2 cores)
    python experiments/retrain_judge.py --write    # and ship the new judge

The shipped judge is named by its recipe's hash (cgan.judge.shipped_paths): a change of
JUDGE_RECIPE needs a new one, or every MNIST user trains their own and their figures drift apart.
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from cgan import data, runtime, scores  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.files import write_json  # noqa: E402
from cgan.judge import (  # noqa: E402
    JUDGE_RECIPE,
    build_judge_model,
    file_sha256,
    fresh_judge,
    load_judge,
    recipe_hash,
    shipped_derived,
    shipped_paths,
)

flags.DEFINE_bool("write", False, "Replace the shipped judge with the newly trained one.")
FLAGS = flags.FLAGS


def figures(judge, test_images, test_labels):
    """(test accuracy, the real floor's FID, precision and recall) of one judge."""
    floor = scores.score(judge, test_images, test_labels)
    return judge.accuracy, floor["fid"], floor["precision"], floor["recall"]


def write_shipped(judge, source, seconds):
    """The judge's weights and facts, its reference and floor, as the package ships them."""
    weights, facts = shipped_paths(source)
    os.makedirs(os.path.dirname(weights), exist_ok=True)
    temporary = weights.replace(".weights.h5", ".new.weights.h5")  # Keras wants the suffix
    bare = build_judge_model()  # weights alone: a compiled model would add the optimizer's
    bare.set_weights(judge.model.get_weights())
    bare.save_weights(temporary)
    os.replace(temporary, weights)
    write_json(
        facts,
        dict(
            recipe=JUDGE_RECIPE,
            recipe_hash=recipe_hash(JUDGE_RECIPE, source),
            dataset=source.dataset,
            test_accuracy=judge.accuracy,
            train_seconds=round(seconds, 1),
            keras_version=keras.__version__,
            weights_sha256=file_sha256(weights),
        ),
    )
    derived = shipped_derived(source)
    with np.load(os.path.join(judge.folder, "reference.npz")) as stored:  # figures() wrote it
        np.savez_compressed(derived["reference.npz"], **stored)  # half the size
    shutil.copyfile(os.path.join(judge.folder, "floor.json"), derived["floor.json"])
    return weights, facts, *derived.values()


def main(argv):
    logging.set_verbosity(logging.ERROR)
    config = Config()  # MNIST as a default run reads it ($CGAN_MNIST_DIR offline)
    runtime.configure(config)
    source = config.data_source
    test_images, test_labels = data.load_arrays("test", source)
    with tempfile.TemporaryDirectory(prefix="cgan-judge-") as cache:
        new, seconds = fresh_judge(source, os.path.join(cache, "new"))
        os.makedirs(new.folder)
        rows = [("retrained", *figures(new, test_images, test_labels))]
        scores.real_floor(new)  # its floor.json, shipped with --write
        if os.path.exists(shipped_paths(source)[0]):
            shipped = load_judge(source, cache_dir=cache, verbose=0)
            rows.insert(0, ("shipped", *figures(shipped, test_images, test_labels)))
            same = np.mean(
                new.probabilities(test_images).argmax(1)
                == shipped.probabilities(test_images).argmax(1)
            )
            print(f"the two judges call {same:.2%} of the test digits alike")
        print(f"trained in {seconds:.0f} s")
        print(f"{'judge':<10} {'accuracy':>8} {'floor FID':>9} {'precision':>9} {'recall':>7}")
        for name, accuracy, fid, precision, recall in rows:
            print(f"{name:<10} {accuracy:>8.4f} {fid:>9.4f} {precision:>9.4f} {recall:>7.4f}")
        if FLAGS.write:
            for path in write_shipped(new, source, seconds):
                print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
