"""Quality over time of the default cgan: trains it with the default settings, scores it
with the MNIST judge after every epoch, and prints images seen, wall seconds, FID, IS,
precision, recall and conditional accuracy, each against the real-data floor.

    python experiments/benchmark_quality.py [--output_dir=/tmp/bench] [--epochs=N]

Wall seconds count training only (scoring time is excluded). The targets it checks are
those of the evaluation issue: by 5 minutes accuracy >= 99% and FID <= 3x the floor; by 15
minutes accuracy >= 99.5%, FID <= 2x the floor, precision and recall >= 0.85.
"""

import csv
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from cgan import evaluation, run_lib  # noqa: E402
from cgan.config import Config  # noqa: E402

flags.DEFINE_string("output_dir", None, "Run folder (default: a fresh temporary folder).")
flags.DEFINE_integer("epochs", None, "Epochs (default: the Config default).")
flags.DEFINE_string("arch", "cgan", "Architecture to measure.")
FLAGS = flags.FLAGS

TARGETS = (  # (name, by wall seconds, test on a history row given the floor)
    ("accuracy >= 99% and FID <= 3x floor", 300,
     lambda r, f: float(r["accuracy"]) >= 0.99 and float(r["fid"]) <= 3 * f["fid"]),
    ("accuracy >= 99.5%, FID <= 2x floor, precision and recall >= 0.85", 900,
     lambda r, f: float(r["accuracy"]) >= 0.995 and float(r["fid"]) <= 2 * f["fid"]
     and float(r["precision"]) >= 0.85 and float(r["recall"]) >= 0.85),
)


def main(argv):
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="cgan-bench-")
    overrides = dict(arch=FLAGS.arch, output_dir=output_dir, eval_every=1)
    if FLAGS.epochs:
        overrides["epochs"] = FLAGS.epochs
    config = Config(**overrides)
    floor = evaluation.real_floor(run_lib.judge_for(config))
    run_lib.train(config)

    with open(os.path.join(output_dir, "history.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["fid"]]
    print(f"\n{config.arch}, default settings, scored on {config.eval_samples} samples per epoch")
    print(f"{'epoch':>5} {'images':>9} {'seconds':>8} {'FID':>8} {'xfloor':>7} {'IS':>6} "
          f"{'prec':>6} {'recall':>6} {'accuracy':>8}")
    for r in rows:
        print(f"{r['epoch']:>5} {r['images_seen']:>9} {float(r['seconds']):>8.0f} {float(r['fid']):>8.3f} "
              f"{float(r['fid']) / floor['fid']:>7.2f} {float(r['inception_score']):>6.3f} "
              f"{float(r['precision']):>6.3f} {float(r['recall']):>6.3f} {float(r['accuracy']):>8.4f}")
    print(f"{'floor':>5} {'':>9} {'':>8} {floor['fid']:>8.3f} {1:>7.2f} {floor['inception_score']:>6.3f} "
          f"{floor['precision']:>6.3f} {floor['recall']:>6.3f} {floor['accuracy']:>8.4f}")
    for name, deadline, reached in TARGETS:
        first = next((r for r in rows if reached(r, floor)), None)
        when = "never" if first is None else f"first at epoch {first['epoch']}, {float(first['seconds']):.0f} s"
        verdict = "MET" if first is not None and float(first["seconds"]) <= deadline else "MISSED"
        print(f"target by {deadline // 60} min, {name}: {verdict} ({when})")


if __name__ == "__main__":
    app.run(main)
