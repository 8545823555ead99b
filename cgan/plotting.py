"""Pictures a run writes: sample grids and loss curves (matplotlib, no display needed)."""

import csv

import matplotlib

matplotlib.use("Agg")  # files only: works on machines without a screen
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cgan.files import atomic_path  # noqa: E402


def tile(images, rows, padding=2):
    """uint8 images (N, H, W, C) -> one (rows*H', cols*W', C) mosaic, row-major, white gaps."""
    images = np.asarray(images)
    count, height, width, channels = images.shape
    cols = -(-count // rows)
    mosaic = np.full(
        (rows * (height + padding) + padding, cols * (width + padding) + padding, channels),
        255,
        np.uint8,
    )
    for index, image in enumerate(images):
        top = padding + (index // cols) * (height + padding)
        left = padding + (index % cols) * (width + padding)
        mosaic[top : top + height, left : left + width] = image
    return mosaic


def save_grid(images, rows, path, scale=2):
    """Writes uint8 images (N, H, W, C) as a PNG grid with `rows` rows, each pixel scale x scale."""
    mosaic = tile(images, rows).repeat(scale, axis=0).repeat(scale, axis=1)
    if mosaic.shape[-1] == 1:
        mosaic = mosaic[..., 0]
    with atomic_path(path) as tmp:
        plt.imsave(tmp, mosaic, cmap="gray", vmin=0, vmax=255, format="png")


def save_history_plot(csv_path, png_path):
    """Plots history.csv: losses and discriminator accuracy by step and, when the run was
    scored (--eval_every), FID and accuracy (or digits below 5%) against images seen and
    against wall seconds."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return

    def column(name, of=rows):
        return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in of])

    scored = [r for r in rows if r.get("fid")]
    fig, axes = plt.subplots(2 if scored else 1, 2, figsize=(11, 8 if scored else 4), squeeze=False)
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
        for ax, x_name, x_label in ((axes[1, 0], "images_seen", "images seen"), (axes[1, 1], "seconds", "wall seconds")):
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
    plt.close(fig)
