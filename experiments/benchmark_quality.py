r"""Quality against training time: for each wall-clock budget and seed, trains an architecture
(the learning rate decays over the budget; the budget `default` is the default run, Config's
epochs), scores it with the MNIST judge after every epoch and at the end, and prints images seen,
wall seconds, FID, IS, precision, recall and conditional accuracy beside the real-data floor, then
the mean and spread over the seeds and the verdict on each line of the quality issue.

    python experiments/benchmark_quality.py [--output_dir=/tmp/bench] [--budgets=300,900]
    python experiments/benchmark_quality.py --budgets=default,300,900 --seeds=0,1,2  # every line
    python experiments/benchmark_quality.py --budgets=900 --seeds=0,1,2 \
        --set=loss=relativistic,r1=0.2,r2=0.2,augment=translation+cutout

--set takes Config fields (field=value, comma-separated; + joins the transforms of augment).
Wall seconds count training only (scoring time is excluded). Run it on an otherwise idle
machine: other programs slow the training and so lower the quality a budget buys. A line met on
the mean but missed on one seed is missed. The runs train under run.py's process-wide
TensorFlow settings (cgan.runtime.configure).
"""

import dataclasses
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from cgan import history, runtime, scores  # noqa: E402
from cgan.api import make_config  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.errors import CganError  # noqa: E402
from cgan.judge import load_judge  # noqa: E402
from cgan.modes.train import train  # noqa: E402

flags.DEFINE_string(
    "output_dir", None, "Folder for one run per budget (default: a fresh temporary folder)."
)
flags.DEFINE_list(
    "budgets",
    ["300", "900"],
    "Training budgets in wall seconds, or `default` (the default run's epochs), one run each.",
)
flags.DEFINE_list("seeds", ["0"], "Seeds: every budget is trained once with each.")
flags.DEFINE_string("arch", "cgan", "Architecture to measure.")
flags.DEFINE_list("set", [], "Config fields for the runs, field=value (+ for a comma inside).")
FLAGS = flags.FLAGS


def _positive_numbers(values):
    try:
        return all(value == DEFAULT or float(value) > 0 for value in values)
    except ValueError:
        return False


flags.register_validator(
    "budgets", _positive_numbers, message="--budgets must be positive numbers of seconds or default"
)
DEFAULT = "default"  # the budget of the default run: Config's epochs, no clock

LINES = {  # the quality issue's line for each budget, as a test on a score row given the floor
    DEFAULT: ("FID <= 2x floor", lambda r, f: r["fid"] <= 2 * f["fid"]),
    300: (
        "FID <= 2x floor, accuracy >= 99.3%",
        lambda r, f: r["fid"] <= 2 * f["fid"] and r["accuracy"] >= 0.993,
    ),
    900: (
        "FID <= 1.5x floor, accuracy >= 99.5%, precision and recall >= floor - 0.03",
        lambda r, f: (
            r["fid"] <= 1.5 * f["fid"]
            and r["accuracy"] >= 0.995
            and r["precision"] >= f["precision"] - 0.03
            and r["recall"] >= f["recall"] - 0.03
        ),
    ),
}
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


def settings():
    """The --set fields as a dict of Config values (numbers parsed, + read as a comma)."""
    fields = {field.name: field for field in dataclasses.fields(Config)}
    parsed = {}
    for item in FLAGS.set:
        name, _, value = item.partition("=")
        if name not in fields:
            raise CganError(f"--set: unknown field {name!r}")
        default = getattr(Config, name)
        kind = type(default) if default is not None else None
        value = value.replace("+", ",")
        try:
            parsed[name] = kind(value) if kind in (int, float) else _number_or_text(value)
        except ValueError:
            raise CganError(f"--set: {name}={value!r} is not a {kind.__name__}") from None
    return parsed


def _number_or_text(value):
    for kind in (int, float):  # int first: an Optional[int] field such as d_width takes "32"
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def run_name(config, changed):
    """Folder and table name of one run: the architecture, the budget, the seed and the --set
    fields."""
    extra = [f"{name}={value}" for name, value in sorted(changed.items())]
    return "-".join([config.arch, _budget(config).replace(" ", ""), f"seed{config.seed}", *extra])


def _budget(config):
    """The budget in words: "300 s", "350000 images", or "5 epochs" for the default run."""
    if config.budget is None:
        return f"{config.epochs} epochs"
    kind, value = config.budget
    return f"{value:.0f} {'s' if kind == 'seconds' else kind}"


def _line_key(config):
    """The LINES key of a run: DEFAULT, its whole seconds, or None (images have no line)."""
    if config.budget is None:
        return DEFAULT
    kind, value = config.budget
    return round(value) if kind == "seconds" else None


def budget_config(budget, seed, output_dir, changed):
    """The Config of the run trained for `budget` seconds (None: the default run) with `seed`, in
    its own folder."""
    fields = {"eval_every": 1, **changed}  # scored every epoch unless --set says otherwise
    config = make_config(arch=FLAGS.arch, budget_seconds=budget, seed=seed, **fields)
    name = run_name(config, changed).replace(",", "+")
    return dataclasses.replace(config, output_dir=os.path.join(output_dir, name))


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
    """Trains and scores one run per budget and seed; prints each run's table, then the mean and
    spread per budget and the verdicts on the lines."""
    logging.set_verbosity(logging.ERROR)  # tfds and checkpoint saving log a line per file otherwise
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="cgan-bench-")
    changed = settings()
    budgets = [None if b == DEFAULT else float(b) for b in FLAGS.budgets]
    seeds = [int(s) for s in FLAGS.seeds]
    configs = [budget_config(b, seed, output_dir, changed) for b in budgets for seed in seeds]
    runtime.configure(configs[0])  # once per process; the runs differ in budget and seed only
    floor = scores.real_floor(load_judge(configs[0].data_source))
    finals, verdicts = {}, []
    for config in configs:
        name = os.path.basename(config.output_dir)
        train(config)
        rows = scored_rows(config.output_dir)
        print_table(
            f"{name}: {_budget(config)} of training, {config.eval_samples} "
            "samples scored per epoch",
            rows,
            floor,
        )
        finals.setdefault(_budget(config), []).append(rows[-1])
        line = LINES.get(_line_key(config))
        if line:
            what, reached = line
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
            verdicts.append(f"{name}, {what}: {verdict} at the end ({when})")
    for budget, rows in finals.items():
        print(f"\n{budget}, {len(rows)} seed(s): mean +- std (population) of the last row")
        for name in ("fid", "precision", "recall", "accuracy", "inception_score"):
            values = np.array([r[name] for r in rows])
            ratio = f" ({values.mean() / floor['fid']:.2f}x floor)" if name == "fid" else ""
            print(f"  {name:>15}: {values.mean():.4f} +- {values.std():.4f}{ratio}")
    print("\n" + "\n".join(verdicts))


if __name__ == "__main__":
    app.run(main)
