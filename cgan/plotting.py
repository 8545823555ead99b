"""Pictures runs write: sample grids, loss and quality curves, the training GIF and a
comparison's side-by-side picture (matplotlib and Pillow, no display needed)."""

import matplotlib

matplotlib.use("Agg")  # files only: works on machines without a screen
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cgan import history  # noqa: E402
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


def save_grid(images, rows, path, row_labels=None, scale=2):
    """Writes uint8 images (N, H, W, C) as a PNG grid with `rows` rows, each pixel scale x scale;
    with `row_labels`, each row is labelled on the left (as in save_side_by_side)."""
    if row_labels is not None:
        return save_side_by_side([images], [""], path, row_labels, scale)
    mosaic = tile(images, rows).repeat(scale, axis=0).repeat(scale, axis=1)
    if mosaic.shape[-1] == 1:
        mosaic = mosaic[..., 0]
    with atomic_path(path) as tmp:
        plt.imsave(tmp, mosaic, cmap="gray", vmin=0, vmax=255, format="png")


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


def save_gif(frame_paths, captions, path, frame_seconds=0.4, hold_seconds=2.0):
    """Animates PNG frames (the per-epoch grids) into a looping GIF, each under its caption;
    the last frame is held `hold_seconds` so the result can be looked at. Returns the path,
    or None (and writes nothing) without frames."""
    from PIL import Image, ImageDraw  # Pillow comes with matplotlib

    if not frame_paths:
        return None
    header = 16  # px: room for one line of PIL's built-in font
    frames = []
    for frame_path, caption in zip(frame_paths, captions):
        with Image.open(frame_path) as image:
            picture = image.convert("RGB")
        if np.ptp(np.asarray(picture, np.int16), axis=2).max() == 0:  # gray grids stay 8-bit gray: smaller GIFs
            picture = picture.convert("L")
        frame = Image.new(picture.mode, (picture.width, picture.height + header), "white")
        frame.paste(picture, (0, header))
        ImageDraw.Draw(frame).text((4, 2), caption, fill="black")
        frames.append(frame)
    durations = [int(frame_seconds * 1000)] * (len(frames) - 1) + [int(hold_seconds * 1000)]
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def side_by_side(blocks, rows, gap=12, padding=2):
    """Tiles each block of uint8 images (N, H, W, C) into `rows` rows and joins the mosaics
    left to right, `gap` white pixels apart. Returns (mosaic, [(left, right) columns of each block])."""
    mosaics = [tile(images, rows, padding) for images in blocks]
    height = max(m.shape[0] for m in mosaics)
    channels = mosaics[0].shape[2]
    width = sum(m.shape[1] for m in mosaics) + gap * (len(mosaics) - 1)
    joined = np.full((height, width, channels), 255, np.uint8)
    spans, left = [], 0
    for mosaic in mosaics:
        joined[: mosaic.shape[0], left : left + mosaic.shape[1]] = mosaic
        spans.append((left, left + mosaic.shape[1]))
        left += mosaic.shape[1] + gap
    return joined, spans


def save_side_by_side(blocks, titles, path, row_labels=tuple(range(10)), scale=2):
    """Writes blocks of images side by side as one PNG: each block titled above, its rows
    labelled on the left (row k = label k, by its class name), each image pixel scale x scale."""
    rows = len(row_labels)
    mosaic, spans = side_by_side(blocks, rows)
    height, width = mosaic.shape[:2]
    dpi = 100
    edge = 0.05  # inches: room for the frames' outer lines
    top = 0.7 if any(titles) else edge  # inches: the titles
    left = max(0.35, 0.1 + 0.07 * max(len(str(label)) for label in row_labels))  # inches: the row labels
    inner_width, inner_height = width * scale / dpi, height * scale / dpi
    fig_width, fig_height = inner_width + left + edge, inner_height + top + edge
    fig = plt.figure(figsize=(fig_width, fig_height), dpi=dpi)
    ax = fig.add_axes([left / fig_width, edge / fig_height, inner_width / fig_width, inner_height / fig_height])
    ax.imshow(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic, cmap="gray", vmin=0, vmax=255,
              interpolation="nearest", aspect="auto")
    for start, end in spans:  # a thin frame: a block whose rows are empty keeps its outline
        ax.add_patch(matplotlib.patches.Rectangle(
            (start - 0.5, -0.5), end - start, height, fill=False, edgecolor="0.6", linewidth=0.8, clip_on=False))
    ax.set_xticks([(start + end) / 2 for start, end in spans])
    ax.set_xticklabels(titles, fontsize=9)
    ax.xaxis.set_ticks_position("top")
    row_height = (height - 2) / rows  # tile() leaves a padding of 2 at the top
    ax.set_yticks([2 + row_height * (k + 0.5) for k in range(rows)])
    ax.set_yticklabels([str(label) for label in row_labels], fontsize=9)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)


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


def save_comparison_curves(histories, loss_path, quality_path):
    """Plots the histories of several arms on shared axes, one colour per arm.

    `histories` maps an arm's label to a list of history row lists (one per seed; seeds
    after the first are drawn thinner). Writes the discriminator and generator losses
    against images seen to `loss_path` (symmetric log scale: a Wasserstein critic's loss is
    orders of magnitude larger than a BCE one), and every quality column some arm has, per
    QUALITY_PANELS, to `quality_path` (skipped when no arm was scored).
    """
    colours = {label: f"C{index}" for index, label in enumerate(histories)}

    def plot(ax, y_name, x_name, marker=None):
        drawn = False
        for label, runs in histories.items():
            for seed_index, rows in enumerate(runs):
                x, y = history.values(rows, x_name), history.values(rows, y_name)
                keep = np.isfinite(x) & np.isfinite(y)
                if not keep.any():
                    continue
                few = keep.sum() < 30  # a short run's few points would be invisible as a bare line
                ax.plot(x[keep], y[keep], marker=marker or ("." if few else None), color=colours[label],
                        linewidth=1.5 if seed_index == 0 else 0.7, label=label if seed_index == 0 else None)
                drawn = True
        return drawn

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, name, title in ((axes[0], "d_loss", "discriminator (critic) loss"), (axes[1], "g_loss", "generator loss")):
        if plot(ax, name, "images_seen"):
            ax.legend(fontsize=8)
        ax.set_yscale("symlog")
        ax.set_xlabel(X_LABELS["images_seen"])
        ax.set_ylabel(title)
    fig.tight_layout()
    with atomic_path(loss_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)

    panels = [p for p in QUALITY_PANELS if any(
        np.isfinite(history.values(rows, p[0])).any() for runs in histories.values() for rows in runs)]
    if not panels:
        return [loss_path]
    columns = min(len(panels), 4)
    grid_rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(grid_rows, columns, figsize=(4.2 * columns, 3.6 * grid_rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    for ax, (y_name, x_name, y_label, log) in zip(axes.flat, panels):
        plot(ax, y_name, x_name, marker="o")  # every panel has data: `panels` kept only those
        if log:
            ax.set_yscale("log")
        ax.set_xlabel(X_LABELS[x_name])
        ax.set_ylabel(y_label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(quality_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return [loss_path, quality_path]
