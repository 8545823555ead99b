"""Pictures of images: sample grids, the training GIF, a comparison's side-by-side picture and
a confusion matrix (matplotlib and Pillow, no display needed); curves are in cgan.curves."""

import matplotlib.image
import matplotlib.patches
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # not pyplot: no backend is chosen for the user's process

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
    """Writes uint8 images (N, H, W, C) as a PNG grid with `rows` rows, each pixel scale x
    scale; with `row_labels`, each row is labelled on the left (as in save_side_by_side)."""
    if row_labels is not None:
        return save_side_by_side([images], [""], path, row_labels, scale)
    mosaic = tile(images, rows).repeat(scale, axis=0).repeat(scale, axis=1)
    if mosaic.shape[-1] == 1:
        mosaic = mosaic[..., 0]
    with atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, mosaic, cmap="gray", vmin=0, vmax=255, format="png")


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
        # gray grids stay 8-bit gray: smaller GIFs
        if np.ptp(np.asarray(picture, np.int16), axis=2).max() == 0:
            picture = picture.convert("L")
        frame = Image.new(picture.mode, (picture.width, picture.height + header), "white")
        frame.paste(picture, (0, header))
        ImageDraw.Draw(frame).text((4, 2), caption, fill="black")
        frames.append(frame)
    durations = [int(frame_seconds * 1000)] * (len(frames) - 1) + [int(hold_seconds * 1000)]
    with atomic_path(path) as tmp:
        frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0
        )
    return path


def side_by_side(blocks, rows, gap=12, padding=2):
    """Tiles each block of uint8 images (N, H, W, C) into `rows` rows and joins the mosaics
    left to right, `gap` white pixels apart. Returns (mosaic, [(left, right) columns of each
    block])."""
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


TEXT_POINTS = 20  # titles and row labels: ~12 px tall when a 2000 px picture is shown 900 px wide


def save_side_by_side(blocks, titles, path, row_labels=tuple(range(10)), scale=2, per_row=4):
    """Writes blocks of images as one PNG, at most `per_row` blocks to a row (rows filled
    evenly, so eight blocks of eight columns make two rows about 2000 px wide: readable at README
    width): each block titled above, its rows labelled on the left (row k = label k, by its class
    name), each image pixel scale x scale."""
    rows = len(row_labels)
    lines = max(len(str(title).split("\n")) for title in titles) if any(titles) else 0
    per_row = -(-len(blocks) // -(-len(blocks) // per_row))  # 5 blocks: 3 + 2, not 4 + 1
    groups = [range(i, min(i + per_row, len(blocks))) for i in range(0, len(blocks), per_row)]
    mosaics = [side_by_side([blocks[index] for index in group], rows) for group in groups]
    dpi = 100
    narrowest = min(end - start for _, spans in mosaics for start, end in spans) * scale  # px
    longest = max([len(line) for title in titles for line in str(title).split("\n")] + [1])
    row_px = (mosaics[0][0].shape[0] - 2) / rows * scale
    points = min(TEXT_POINTS, narrowest / (0.65 * longest) * 72 / dpi, 0.6 * row_px * 72 / dpi)
    edge = 0.05  # inches: room for the frames' outer lines
    top = lines * 1.3 * points / 72 + 0.15 if lines else edge  # inches above each row: the titles
    label_chars = max(len(str(label)) for label in row_labels)
    left = 0.15 + 0.65 * points / 72 * label_chars  # inches: the row labels
    fig_width = left + max(mosaic.shape[1] for mosaic, _ in mosaics) * scale / dpi + edge
    fig_height = sum(top + mosaic.shape[0] * scale / dpi for mosaic, _ in mosaics) + edge
    fig = Figure(figsize=(fig_width, fig_height), dpi=dpi)
    bottom = fig_height  # inches: rows of blocks are placed from the top down
    for (mosaic, spans), group in zip(mosaics, groups):
        height, width = mosaic.shape[:2]
        bottom -= top + height * scale / dpi
        box = (left, bottom, width * scale / dpi, height * scale / dpi)  # inches
        ax = fig.add_axes([v / (fig_width, fig_height)[i % 2] for i, v in enumerate(box)])
        ax.imshow(
            mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic,
            cmap="gray",
            vmin=0,
            vmax=255,
            interpolation="nearest",
            aspect="auto",
        )
        for start, end in spans:  # a thin frame: a block whose rows are empty keeps its outline
            ax.add_patch(
                matplotlib.patches.Rectangle(
                    (start - 0.5, -0.5),
                    end - start,
                    height,
                    fill=False,
                    edgecolor="0.6",
                    linewidth=0.8,
                    clip_on=False,
                )
            )
        ax.set_xticks([(start + end) / 2 for start, end in spans])
        ax.set_xticklabels([titles[index] for index in group], fontsize=points)
        ax.xaxis.set_ticks_position("top")
        row_height = (height - 2) / rows  # tile() leaves a padding of 2 at the top
        ax.set_yticks([2 + row_height * (k + 0.5) for k in range(rows)])
        ax.set_yticklabels([str(label) for label in row_labels], fontsize=points)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)


def save_confusion_matrix_png(
    matrix, path, class_names=None, title="requested label vs judged label"
):
    """Write a labelled heat map of a (K, K) confusion matrix (rows requested, columns judged) to
    PNG, its ticks the class names (default 0 .. K-1)."""
    # Agg without touching pyplot's global backend
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    side = max(6.0, 0.45 * len(matrix))  # inches: room for each class's numbers
    figure = Figure(figsize=(side, side * 0.9))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, label="images")
    classes = range(matrix.shape[0])
    names = [str(name) for name in (class_names if class_names is not None else classes)]
    axes.set_xticks(classes, names, rotation=90 if max(map(len, names)) > 2 else 0)
    axes.set_yticks(classes, names)
    axes.set_xlabel("class predicted by the judge")
    axes.set_ylabel("class requested (label)")
    axes.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in classes:
        for column in classes:
            value = matrix[row, column]
            if value:
                colour = "white" if value > threshold else "black"
                axes.text(
                    column, row, str(value), ha="center", va="center", fontsize=7, color=colour
                )
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
