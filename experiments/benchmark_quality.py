"""Quality against training time of the default cgan: for each wall-clock budget, trains cgan
with its default settings for that long (the learning rate decays over the budget), scores it
with the MNIST judge after every epoch and at the end, and prints images seen, wall seconds,
FID, IS, precision, recall and conditional accuracy, each beside the real-data floor.

    python experiments/benchmark_quality.py [--output_dir=/tmp/bench] [--budgets=300,900]

Wall seconds count training only (scoring time is excluded). Run it on an otherwise idle
machine: other programs slow the training and so lower the quality a budget buys. The
targets it checks are those of the evaluation issue: with 5 minutes of training, accuracy
>= 99% and FID <= 3x the floor; with 15 minutes, accuracy >= 99.5%, FID <= 2x the floor,
precision and recall >= 0.85.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from cgan import evaluation, history, run_lib  # noqa: E402
from cgan.config import Config  # noqa: E402

flags.DEFINE_string("output_dir", None, "Folder for one run per budget (default: a fresh temporary folder).")
flags.DEFINE_list("budgets", ["300", "900"], "Training budgets in wall seconds, one run each.")
flags.DEFINE_string("arch", "cgan", "Architecture to measure.")
FLAGS = flags.FLAGS

TARGETS = {  # budget in seconds: (what, test on a score row given the floor)
    300: ("accuracy >= 99% and FID <= 3x floor",
          lambda r, f: r["accuracy"] >= 0.99 and r["fid"] <= 3 * f["fid"]),
    900: ("accuracy >= 99.5%, FID <= 2x floor, precision and recall >= 0.85",
          lambda r, f: r["accuracy"] >= 0.995 and r["fid"] <= 2 * f["fid"]
          and r["precision"] >= 0.85 and r["recall"] >= 0.85),
}
COLUMNS = ("epoch", "images_seen", "seconds", "fid", "inception_score", "precision", "recall", "accuracy")


def scored_rows(run_dir):
    """The history rows that carry the judge's scores, as numbers."""
    rows = history.read(os.path.join(run_dir, "history.csv"))
    return [{name: float(row[name]) for name in COLUMNS} for row in rows if row.get("fid")]


def print_table(title, rows, floor):
    print(f"\n{title}")
    print(f"{'epoch':>5} {'images':>9} {'seconds':>8} {'FID':>8} {'xfloor':>7} {'IS':>6} "
          f"{'prec':>6} {'recall':>6} {'accuracy':>8}")
    for r in rows:
        print(f"{r['epoch']:>5.0f} {r['images_seen']:>9.0f} {r['seconds']:>8.0f} {r['fid']:>8.3f} "
              f"{r['fid'] / floor['fid']:>7.2f} {r['inception_score']:>6.3f} "
              f"{r['precision']:>6.3f} {r['recall']:>6.3f} {r['accuracy']:>8.4f}")
    print(f"{'floor':>5} {'':>9} {'':>8} {floor['fid']:>8.3f} {1:>7.2f} {floor['inception_score']:>6.3f} "
          f"{floor['precision']:>6.3f} {floor['recall']:>6.3f} {floor['accuracy']:>8.4f}")


def main(argv):
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="cgan-bench-")
    floor = None
    verdicts = []
    for budget in map(float, FLAGS.budgets):
        config = Config(arch=FLAGS.arch, output_dir=os.path.join(output_dir, f"{FLAGS.arch}-{budget:.0f}s"),
                        eval_every=1, budget_seconds=budget)
        floor = floor or evaluation.real_floor(run_lib.judge_for(config))
        run_lib.train(config)
        rows = scored_rows(config.output_dir)
        print_table(f"{config.arch}, default settings, {budget:.0f} s of training, "
                    f"{config.eval_samples} samples scored per epoch", rows, floor)
        if budget in TARGETS:
            name, reached = TARGETS[budget]
            first = next((r for r in rows if reached(r, floor)), None)
            when = "not reached" if first is None else (
                f"first at epoch {first['epoch']:.0f}, {first['seconds']:.0f} s, {first['images_seen']:.0f} images")
            verdicts.append(f"target with {budget / 60:.0f} min of training, {name}: "
                            f"{'MET' if reached(rows[-1], floor) else 'MISSED'} at the end ({when})")
    print("\n" + "\n".join(verdicts))


if __name__ == "__main__":
    app.run(main)
