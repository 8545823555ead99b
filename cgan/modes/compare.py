"""--mode=compare: every arm (a registered architecture) trained with the same seeds, data
and budget, each in its own run folder inside one comparison folder, then compared there.

    <compare dir>/<arch>-seed<k>/   an ordinary run folder (rerunning reuses finished runs)
    <compare dir>/comparison.png    a block per architecture, row k = label k
    <compare dir>/comparison.md     the table, with the real-data floor as its own row
    <compare dir>/comparison.csv    the same table, one column per figure and one per spread
    <compare dir>/losses.png        every arm's losses on shared axes
    <compare dir>/quality.png       every arm's scores over images seen and wall seconds

Everything here takes the frozen Config of the comparison; nothing reads flags.
"""

import dataclasses
import json
import os

import numpy as np

from cgan import history, registry, sampling, scores
from cgan.comparison_table import figures, markdown_table, row_data, table_rows, write_csv
from cgan.context import resolve
from cgan.curves import save_comparison_curves
from cgan.files import atomic_path, locked_folder, write_json
from cgan.judge import load_judge
from cgan.modes import evaluate, train
from cgan.plotting import save_side_by_side
from cgan.reopen import reopen
from cgan.runfolder import check_same_model, for_mode, recorded_plugins

SAMPLES_PER_DIGIT = (
    8  # columns of each architecture's block: enough to see variety, narrow enough for 7 blocks
)
SORT_POOL = 1000  # unconditional samples the judge sorts into rows: ~100 per digit when balanced


def arm_config(config, arch, seed):
    """The train-mode Config of one arm and seed: a run folder <compare dir>/<arch>-seed<seed>,
    scored every epoch (every --eval_every epochs if given) for the quality-over-time curves."""
    return dataclasses.replace(
        config,
        mode="train",
        arch=arch,
        seed=seed,
        output_dir=os.path.join(config.run_dir, f"{arch}-seed{seed}"),
        eval_every=config.eval_every or 1,
        archs=None,
        seeds=1,
        experiment=None,
        draw="grid",
        export=None,
    )


def seeds(config):
    """The seeds every arm is trained with: --seed .. --seed + --seeds - 1."""
    return list(range(config.seed, config.seed + config.seeds))


def parameter_count(arm):
    """Generator plus discriminator parameters of an arm (a Context) at its latent_dim, for its
    data."""
    spec = arm.spec
    generator, discriminator = registry.get(arm.config.arch).networks(
        spec.image_shape, arm.config.latent_dim, spec.num_classes, arm.recipe
    )
    return generator.count_params() + discriminator.count_params()


def arm_metrics(arm, judge):
    """The run's metrics.json when it scored the current generator on as many samples as asked,
    else a fresh evaluation (which writes it); `arm` is the arm's Context."""
    files = arm.files
    if os.path.exists(files.metrics) and os.path.getmtime(files.metrics) >= os.path.getmtime(
        files.generator
    ):
        with open(files.metrics) as f:
            metrics = json.load(f)
        if metrics.get("num_images") == arm.config.eval_samples:
            return metrics
    return evaluate.evaluate(for_mode(arm.config, "evaluate"), judge)[0]


def sort_by_digit(images, predicted, per_digit, num_classes=10, blank=255):
    """The first `per_digit` images the judge predicted as each class, class 0's first: a
    (num_classes * per_digit, ...) array for a grid of a row per class; a class with too few is
    padded with `blank` tiles (white, like the grid's gaps: "none drawn")."""
    images, predicted = np.asarray(images), np.asarray(predicted)
    rows = []
    for digit in range(num_classes):
        chosen = images[predicted == digit][:per_digit]
        padding = np.full((per_digit - len(chosen),) + images.shape[1:], blank, images.dtype)
        rows.append(np.concatenate([chosen, padding]))
    return np.concatenate(rows)


def digit_block(arm, judge):
    """SAMPLES_PER_DIGIT images per class from one arm's generator (`arm` a Context), uint8
    (K * n, H, W, C), row k label k: asked for when conditional (one noise per column), sorted by
    the judge otherwise."""
    generator = reopen(arm.files.dir, verbose=arm.config.verbose).model
    num_classes = arm.num_classes
    if arm.conditional:
        noise, labels, _ = sampling.grid_inputs(arm, None, num_classes * SAMPLES_PER_DIGIT)
        return sampling.draw(generator, noise, labels)
    images, _ = sampling.sample_set(arm, generator, SORT_POOL * num_classes // 10, digit=None)
    predicted = judge.probabilities(images).argmax(axis=1)
    return sort_by_digit(images, predicted, SAMPLES_PER_DIGIT, num_classes)


def _budget_note(config):
    kind, amount = config.budget
    budget = f"{amount:,} images seen" if kind == "images" else f"{amount:g} s of training"
    return (
        f"Each arm: {budget}, batch {config.batch_size}, "
        f"seeds {', '.join(map(str, seeds(config)))} "
        f"(mean ± standard deviation over seeds). Scores on {config.eval_samples:,} samples in the "
        f"{config.dataset} judge's feature space; wall seconds exclude scoring. "
        "Classes covered: classes "
        f"that are at least {scores.RARE_FRACTION:.0%} of their balanced share of the judged "
        "samples (5% for ten). Raw G: the generator before "
        "weight averaging (EMA)."
    )


def compare(config):
    """Trains (or reuses) every arm with every seed, scores each run, and writes the comparison.

    Returns a Comparison: the Markdown table, its rows and the paths written.
    """
    context = resolve(config)  # an unusable dataset is refused before anything is written
    plan = {
        arch: [resolve(arm_config(config, arch, seed)) for seed in seeds(config)]
        for arch in config.arms
    }
    if not config.overwrite:  # refuse before anything is written
        for arm in (arm for arms in plan.values() for arm in arms):
            check_same_model(arm, training=True)
    with locked_folder(config.run_dir):  # each arm's run folder is locked in turn by its training
        return _compare(context, plan)


def _compare(context, plan):
    config = context.config
    write_json(
        os.path.join(config.run_dir, "compare.json"),
        dict(dataclasses.asdict(config), imports=recorded_plugins(config)),
    )
    judge = load_judge(context.source)
    arms = {}
    total = sum(len(arch_arms) for arch_arms in plan.values())
    for arch, arch_arms in plan.items():
        parameters = None
        for arm in arch_arms:
            if config.verbose:
                print(_arm_header(len(sum(arms.values(), [])) + 1, total, arm.config))
            train.train(arm.config)
            parameters = parameters or parameter_count(arm)
            metrics = arm_metrics(arm, judge)
            rows = history.read(arm.files.history)
            speed = dict(
                parameters=parameters,
                images_seen=float(rows[-1]["images_seen"]),
                seconds=float(rows[-1]["seconds"]),
            )
            run = dict(arm=arm, history=rows, figures=figures(metrics, **speed))
            if "raw" in metrics:
                run["raw_figures"] = figures(metrics["raw"], **speed)
            arms.setdefault(arch, []).append(run)

    floor = scores.real_floor(judge)
    rows = table_rows(arms, floor, f"real {config.dataset} test images")
    table = markdown_table(rows, _budget_note(config))
    out = config.run_dir
    paths = dict(
        picture=os.path.join(out, "comparison.png"),
        markdown=os.path.join(out, "comparison.md"),
        csv=os.path.join(out, "comparison.csv"),
        losses=os.path.join(out, "losses.png"),
        quality=os.path.join(out, "quality.png"),
    )
    with atomic_path(paths["markdown"]) as tmp, open(tmp, "w") as f:
        f.write(table)
    write_csv(rows, paths["csv"])
    firsts = [runs[0]["arm"] for runs in arms.values()]  # the picture shows the first seed
    save_side_by_side(
        [digit_block(arm, judge) for arm in firsts],
        [
            arm.config.arch if arm.conditional else f"{arm.config.arch}\n(sorted by judge)"
            for arm in firsts
        ],
        paths["picture"],
        row_labels=context.spec.class_names,
    )
    curves = save_comparison_curves(
        {arch: [run["history"] for run in runs] for arch, runs in arms.items()},
        paths["losses"],
        paths["quality"],
        floor=floor,
    )
    return Comparison(
        table,
        [row_data(row) for row in rows],
        [paths["picture"], paths["markdown"], paths["csv"], *curves],
    )


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What compare mode made: the Markdown table, its rows (a dict of figures per arm, the
    real-data floor last) and the paths written."""

    table: str
    rows: list
    paths: list


def _arm_header(number, total, config):
    """ "arm 3/8: cgan, seed 0 (5 more after it, each ...)": where a long comparison is."""
    left = total - number
    budget = {"images": "{:,.0f} images", "seconds": "{:,.0f} s"}[config.budget[0]]
    each = budget.format(config.budget[1])
    after = f"{left} more after it, {each} of training each" if left else "the last"
    return f"arm {number}/{total}: {config.arch}, seed {config.seed} ({after})"
