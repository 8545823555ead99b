"""What real digits score: the MNIST judge's figures for the real test digits (the floor every
table prints) and for disjoint sets of training digits outside the judge's reference set.

    python experiments/real_digits.py [--sets=5] [--set_size=10000]

The test digits are what a perfect generator of new digits would score: unseen by the judge, as
new samples are. Training digits were seen by the judge, whose features therefore cluster them
more tightly; they show what a generator that copied its training set would score.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from cgan import data, runtime, scores  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.judge import JUDGE_RECIPE, load_judge  # noqa: E402
from cgan.metrics import PR_NEIGHBOURS  # noqa: E402

flags.DEFINE_integer("sets", 5, "Disjoint sets of training digits to score.", lower_bound=1)
flags.DEFINE_integer(
    "set_size",
    JUDGE_RECIPE["reference"]["size"],
    "Digits per set: as many as a score's samples.",
    lower_bound=PR_NEIGHBOURS + 1,
)
flags.DEFINE_integer("seed", 1, "Seed of the draw of the sets.")
FLAGS = flags.FLAGS


def training_sets(judge, count, size, seed):
    """`count` disjoint index arrays of `size` training digits, none of them in the judge's
    reference."""
    images, _ = data.load_arrays("train", judge.source)
    outside = np.setdiff1d(np.arange(len(images)), judge.reference_indices)
    rest = np.random.default_rng(seed).permutation(outside)
    if count * size > len(rest):
        raise SystemExit(
            f"only {len(rest)} training digits lie outside the reference: "
            "ask for fewer or smaller sets"
        )
    return [rest[i * size : (i + 1) * size] for i in range(count)]


def main(argv):
    logging.set_verbosity(logging.ERROR)
    config = Config()  # MNIST as a default run reads it ($CGAN_MNIST_DIR offline)
    runtime.configure(config)  # before the judge predicts (or is trained): as in run.py
    judge = load_judge(config.data_source)
    images, labels = data.load_arrays("train", judge.source)
    rows = [("test digits (the floor)", scores.real_floor(judge))]
    for number, chosen in enumerate(training_sets(judge, FLAGS.sets, FLAGS.set_size, FLAGS.seed)):
        figures = scores.score(judge, images[chosen], labels[chosen])
        rows.append((f"training digits, set {number}", figures))
    print(f"{'':<26} {'FID':>7} {'precision':>9} {'recall':>7} {'accuracy':>8}")
    for name, s in rows:
        print(
            f"{name:<26} {s['fid']:>7.3f} {s['precision']:>9.4f} {s['recall']:>7.4f} "
            f"{s['accuracy']:>8.4f}"
        )


if __name__ == "__main__":
    app.run(main)
