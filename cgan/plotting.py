"""Pictures a run writes: sample grids and loss curves (matplotlib, no display needed)."""

import csv
import os

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
    """Plots the loss columns of history.csv (and discriminator accuracy if present) by step."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    steps = [int(row["step"]) for row in rows]

    def column(name):
        return [float(row[name]) if row.get(name) not in (None, "") else np.nan for row in rows]

    has_accuracy = any(row.get("d_accuracy") for row in rows)
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(11 if has_accuracy else 6, 4))
    axes = np.atleast_1d(axes)
    axes[0].plot(steps, column("d_loss"), label="discriminator loss")
    axes[0].plot(steps, column("g_loss"), label="generator loss")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if has_accuracy:
        axes[1].plot(steps, column("d_accuracy"), color="tab:green")
        axes[1].set_ylim(0, 1)
        axes[1].set_xlabel("step")
        axes[1].set_ylabel("discriminator accuracy")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
