"""Curves over training: a run's losses and scores (losses.png), and every arm of a comparison
on shared axes (losses.png, quality.png)."""

import numpy as np
from matplotlib.figure import Figure  # not pyplot: no backend is chosen for the user's process

from cgan import history, metric_registry
from cgan.files import atomic_path


def save_history_plot(csv_path, png_path):
    """Plots history.csv: losses and discriminator accuracy by step and, when the run was
    scored (--eval_every), FID and accuracy (or digits below 5%) against images seen and
    against wall seconds."""
    rows = history.read(csv_path)
    if not rows:
        return

    def column(name, of=rows):
        return history.values(of, name)

    scored = [r for r in rows if r.get("fid")]
    fig = Figure(figsize=(11, 8 if scored else 4))
    axes = fig.subplots(2 if scored else 1, 2, squeeze=False)
    steps = column("step")
    losses = axes[0, 0]
    losses.plot(steps, column("d_loss"), label="discriminator loss")
    losses.plot(steps, column("g_loss"), label="generator loss")
    losses.set_xlabel("step")
    losses.set_ylabel("loss")
    losses.legend()
    accuracy = axes[0, 1]
    if np.isfinite(column("d_accuracy")).any():
        accuracy.plot(steps, column("d_accuracy"), color="tab:green")
        accuracy.set_ylim(0, 1)
        accuracy.set_xlabel("step")
        accuracy.set_ylabel("discriminator accuracy")
    else:
        accuracy.set_axis_off()  # a Wasserstein critic has no accuracy
    if scored:
        second = "accuracy" if scored[0].get("accuracy") else "digits_below_5_percent"
        for ax, x_name, x_label in (
            (axes[1, 0], "images_seen", "images seen"),
            (axes[1, 1], "seconds", "wall seconds"),
        ):
            ax.plot(column(x_name, scored), column("fid", scored), "o-", color="tab:red")
            ax.set_yscale("log")
            ax.set_xlabel(x_label)
            ax.set_ylabel("FID (judge features)", color="tab:red")
            twin = ax.twinx()
            twin.plot(column(x_name, scored), column(second, scored), "s--", color="tab:blue")
            twin.set_ylabel(second.replace("_", " "), color="tab:blue")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


QUALITY_PANELS = (  # (history column, x column, y label, log scale)
    ("fid", "images_seen", "FID (judge features)", True),
    ("fid", "seconds", "FID (judge features)", True),
    ("inception_score", "images_seen", "Inception Score", False),
    ("precision", "images_seen", "precision", False),
    ("recall", "images_seen", "recall", False),
    ("accuracy", "images_seen", "accuracy (conditional)", False),
    ("digits_below_5_percent", "images_seen", "digits below 5% (unconditional)", False),
)
X_LABELS = dict(images_seen="images seen", seconds="wall seconds (training)", step="step")
LONG_ARM = 3  # an arm reaching more than this many times further along x than another: log x


def _ends(histories, x_name, y_name):
    """How far along x each arm reaches (its largest positive x with a y, over its seeds); arms
    without such a point are left out."""
    ends = []
    for runs in histories.values():
        reach = []
        for rows in runs:
            x, y = history.values(rows, x_name), history.values(rows, y_name)
            keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
            reach += [x[keep].max()] if keep.any() else []
        ends += [max(reach)] if reach else []
    return ends


def comparison_figures(histories, floor=None, floor_label="real test images"):
    """The two figures of save_comparison_curves: (losses, quality or None when no arm was
    scored), open; the caller saves and closes them."""
    colours = {label: f"C{index}" for index, label in enumerate(histories)}

    def plot(ax, y_name, x_name, marker=None):
        ends = _ends(histories, x_name, y_name)
        log_x = len(ends) > 1 and max(ends) > LONG_ARM * min(ends)
        for label, runs in histories.items():
            for seed_index, rows in enumerate(runs):
                x, y = history.values(rows, x_name), history.values(rows, y_name)
                keep = np.isfinite(x) & np.isfinite(y) & ((x > 0) if log_x else True)
                if not keep.any():
                    continue
                few = keep.sum() < 30  # a short run's few points would be invisible as a bare line
                ax.plot(
                    x[keep],
                    y[keep],
                    marker=marker or ("." if few else None),
                    color=colours[label],
                    linewidth=1.5 if seed_index == 0 else 0.7,
                    label=label if seed_index == 0 else None,
                )
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(X_LABELS[x_name])
        value = (floor or {}).get(y_name)
        if value is not None and np.isfinite(value):
            ax.axhline(value, color="black", linestyle="--", linewidth=1, label=floor_label)
        return bool(ends)

    losses = Figure(figsize=(12, 4.5))
    axes = losses.subplots(1, 2)
    for ax, name, title in (
        (axes[0], "d_loss", "discriminator (critic) loss"),
        (axes[1], "g_loss", "generator loss"),
    ):
        if plot(ax, name, "images_seen"):
            ax.legend(fontsize=8)
        ax.set_yscale("symlog")
        ax.set_ylabel(title)
    losses.tight_layout()

    registered = tuple((m.name, "images_seen", m.name, False) for m in metric_registry.registered())
    panels = [p for p in QUALITY_PANELS + registered if _ends(histories, p[1], p[0])]
    if not panels:
        return losses, None
    columns = min(len(panels), 4)
    grid_rows = -(-len(panels) // columns)
    quality = Figure(figsize=(4.2 * columns, 3.6 * grid_rows))
    axes = quality.subplots(grid_rows, columns, squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_axis_off()
    for ax, (y_name, x_name, y_label, log) in zip(axes.flat, panels):
        plot(ax, y_name, x_name, marker="o")  # every panel has data: `panels` kept only those
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(y_label)
        ax.legend(fontsize=8)
    quality.tight_layout()
    return losses, quality


def save_comparison_curves(
    histories, loss_path, quality_path, floor=None, floor_label="real test images"
):
    """Plots the histories of several arms on shared axes, one colour per arm.

    `histories` maps an arm's label to a list of history row lists (one per seed; seeds
    after the first are drawn thinner). Writes the discriminator and generator losses
    against images seen to `loss_path` (symmetric log scale: a Wasserstein critic's loss is
    orders of magnitude larger than a BCE one), and every quality column some arm has, per
    QUALITY_PANELS, to `quality_path` (skipped when no arm was scored). `floor`, the real
    held-out images' scores (evaluation.real_floor), adds each panel's figure as a dashed
    line labelled `floor_label`. An x axis turns logarithmic when one arm reaches more than
    LONG_ARM times further along it than another: the others then leave the left edge while the
    long arm stays whole (limits clipping it would hide where it ended up).
    Returns the paths written.
    """
    losses, quality = comparison_figures(histories, floor, floor_label)
    written = []
    for fig, path in ((losses, loss_path), (quality, quality_path)):
        if fig is not None:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=100)
            written.append(path)
    return written
