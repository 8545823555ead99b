r"""Quality against training time of the default cgan: for each wall-clock budget, trains cgan
with its default settings for that long (the learning rate decays over the budget), scores it
with the MNIST judge after every epoch and at the end, and prints images seen, wall seconds,
FID, IS, precision, recall and conditional accuracy, each beside the real-data floor.

    python experiments/benchmark_quality.py [--output_dir=/tmp/bench] [--budgets=300,900]
    python experiments/benchmark_quality.py --arch=cgan_fast --budgets=110 \
        --mixed_precision=bfloat16

Wall seconds count training only (scoring time is excluded). Run it on an otherwise idle
machine: other programs slow the training and so lower the quality a budget buys. The
lines it checks on every run are those of the evaluation issue: accuracy >= 99% and FID <= 3x
the floor (its target for 5 minutes of training); accuracy >= 99.5%, FID <= 2x the floor,
precision and recall >= 0.85 (its target for 15 minutes). The runs train under run.py's
process-wide TensorFlow settings (cgan.runtime.configure).
"""

import dataclasses
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags, logging  # noqa: E402

from cgan import history, runtime, scores  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.errors import CganError  # noqa: E402
from cgan.judge import load_judge  # noqa: E402
from cgan.modes.train import train  # noqa: E402

flags.DEFINE_string(
    "output_dir", None, "Folder for one run per budget (default: a fresh temporary folder)."
)
flags.DEFINE_list("budgets", ["300", "900"], "Training budgets in wall seconds, one run each.")
flags.DEFINE_string("arch", "cgan", "Architecture to measure.")
flags.DEFINE_string("mixed_precision", "off", "Passed to the runs: off, bfloat16 or float16.")
flags.DEFINE_integer("batch_size", Config.batch_size, "Passed to the runs.")
flags.DEFINE_float("learning_rate", None, "Passed to the runs (default: the architecture's).")
flags.DEFINE_float("class_weight", None, "Passed to the runs (default: the architecture's).")
flags.DEFINE_float("mode_seeking", None, "Passed to the runs (default: the architecture's).")
FLAGS = flags.FLAGS


def _positive_numbers(values):
    try:
        return all(float(value) > 0 for value in values)
    except ValueError:
        return False


flags.register_validator(
    "budgets", _positive_numbers, message="--budgets must be positive numbers of seconds"
)

LINES = (  # (what, test on a score row given the floor)
    (
        "accuracy >= 99% and FID <= 3x floor",
        lambda r, f: r["accuracy"] >= 0.99 and r["fid"] <= 3 * f["fid"],
    ),
    (
        "accuracy >= 99.5%, FID <= 2x floor, precision and recall >= 0.85",
        lambda r, f: (
            r["accuracy"] >= 0.995
            and r["fid"] <= 2 * f["fid"]
            and r["precision"] >= 0.85
            and r["recall"] >= 0.85
        ),
    ),
)
COLUMNS = (
    "epoch",
    "images_seen",
    "seconds",
    "fid",
    "inception_score",
    "precision",
    "recall",
    "accuracy",
)


def run_name(config):
    """Folder and table name of one run: the architecture, the budget and every setting that is
    not the default."""
    settings = ("mixed_precision", "batch_size", "learning_rate", "class_weight", "mode_seeking")
    changed = [
        f"{name}={getattr(config, name)}"
        for name in settings
        if getattr(config, name) != getattr(Config, name)
    ]
    return "-".join([config.arch, f"{config.budget_seconds:.0f}s", *changed])


def budget_config(budget, output_dir):
    """The Config of the run trained for `budget` seconds, in its own folder in `output_dir`."""
    config = Config(
        arch=FLAGS.arch,
        eval_every=1,
        budget_seconds=budget,
        mixed_precision=FLAGS.mixed_precision,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        class_weight=FLAGS.class_weight,
        mode_seeking=FLAGS.mode_seeking,
    )
    return dataclasses.replace(config, output_dir=os.path.join(output_dir, run_name(config)))


def scored_rows(run_dir):
    """The history rows that carry the judge's scores, as numbers."""
    rows = history.read(os.path.join(run_dir, "history.csv"))
    return [{name: float(row[name]) for name in COLUMNS} for row in rows if row.get("fid")]


def print_table(title, rows, floor):
    print(f"\n{title}")
    print(
        f"{'epoch':>5} {'images':>9} {'seconds':>8} {'FID':>8} {'xfloor':>7} {'IS':>6} "
        f"{'prec':>6} {'recall':>6} {'accuracy':>8}"
    )
    for r in rows:
        print(
            f"{r['epoch']:>5.0f} {r['images_seen']:>9.0f} {r['seconds']:>8.0f} {r['fid']:>8.3f} "
            f"{r['fid'] / floor['fid']:>7.2f} {r['inception_score']:>6.3f} "
            f"{r['precision']:>6.3f} {r['recall']:>6.3f} {r['accuracy']:>8.4f}"
        )
    print(
        f"{'floor':>5} {'':>9} {'':>8} {floor['fid']:>8.3f} {1:>7.2f} "
        f"{floor['inception_score']:>6.3f} {floor['precision']:>6.3f} {floor['recall']:>6.3f} "
        f"{floor['accuracy']:>8.4f}"
    )


def main(argv):
    try:
        measure()
    except CganError as error:  # bad flags, or a folder holding another run: one line, files kept
        sys.exit(f"error: {error}")


def measure():
    """Trains and scores one run per budget; prints each run's table, then the verdicts on the
    lines."""
    logging.set_verbosity(logging.ERROR)  # tfds and checkpoint saving log a line per file otherwise
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="cgan-bench-")
    configs = [budget_config(budget, output_dir) for budget in map(float, FLAGS.budgets)]
    runtime.configure(configs[0])  # once per process; the runs differ only in their budgets
    floor = scores.real_floor(load_judge(configs[0].data_source))
    verdicts = []
    for config in configs:
        name = run_name(config)
        train(config)
        rows = scored_rows(config.output_dir)
        print_table(
            f"{name}: {config.budget_seconds:.0f} s of training, {config.eval_samples} "
            "samples scored per epoch",
            rows,
            floor,
        )
        for line, reached in LINES:
            first = next((r for r in rows if reached(r, floor)), None)
            when = (
                "never crossed"
                if first is None
                else (
                    f"first crossed at epoch {first['epoch']:.0f}, {first['seconds']:.0f} s, "
                    f"{first['images_seen']:.0f} images"
                )
            )
            verdict = "MET" if reached(rows[-1], floor) else "MISSED"
            verdicts.append(f"{name}, {line}: {verdict} at the end ({when})")
    print("\n" + "\n".join(verdicts))


if __name__ == "__main__":
    app.run(main)
