"""Pictures on tiny synthetic inputs: the side-by-side picture wrapped into rows, the real-data
floor and the x-axis rule of the comparison curves, and the confusion-matrix PNG."""

import os

import matplotlib.image
import numpy as np
import pytest

from cgan import curves, history, plotting

SHADES = [20 + 25 * index for index in range(8)]  # one gray per block, none the white gaps' 255


def blocks_of(shades, side=6):
    """A block per shade: 10 rows x 8 columns of side x side tiles filled with that shade."""
    return [np.full((80, side, side, 1), shade, np.uint8) for shade in shades]


def where(picture, shade):
    """(top, bottom, left, right) pixels of the rows and columns mostly made of `shade`."""
    hits = np.abs(picture[..., 0] * 255 - shade) <= 1.5  # the gray colormap rounds to its 256 steps
    rows = np.flatnonzero(hits.sum(axis=1) > 10)  # a few anti-aliased text pixels do not count
    columns = np.flatnonzero(hits.sum(axis=0) > 10)
    assert rows.size and columns.size, f"shade {shade} is not in the picture"
    return rows[0], rows[-1], columns[0], columns[-1]


def test_eight_blocks_wrap_into_two_rows_of_four(tmp_path):
    blocks, titles = blocks_of(SHADES), [f"arm {index}" for index in range(8)]
    plotting.save_side_by_side(blocks, titles, str(tmp_path / "one.png"), per_row=8)
    plotting.save_side_by_side(blocks, titles, str(tmp_path / "two.png"))
    one = matplotlib.image.imread(tmp_path / "one.png")
    two = matplotlib.image.imread(tmp_path / "two.png")
    assert 0.45 < two.shape[1] / one.shape[1] < 0.6  # half the blocks, the same row labels
    assert 1.8 < two.shape[0] / one.shape[0] < 2.2  # two rows of blocks, each titled
    boxes = [where(two, shade) for shade in SHADES]
    block_height = 2 * (10 * (6 + 2) - 2)  # tiles and inner gaps at 2 x 2 px per pixel
    for top, bottom, _, _ in boxes:
        assert abs(bottom - top + 1 - block_height) <= 2
    for first, second in zip(boxes[:4], boxes[4:]):
        assert second[0] > first[1]  # block k + 4 is below block k ...
        assert abs(second[2] - first[2]) <= 2  # ... in the same columns
    for row in (boxes[:4], boxes[4:]):
        assert all(a[3] < b[2] for a, b in zip(row, row[1:]))  # left to right
        assert len({top for top, _, _, _ in row}) == 1  # on one line


def test_blocks_are_spread_evenly_over_the_rows(tmp_path):
    plotting.save_side_by_side(blocks_of(SHADES[:5]), list("abcde"), str(tmp_path / "five.png"))
    boxes = [where(matplotlib.image.imread(tmp_path / "five.png"), s) for s in SHADES[:5]]
    tops = [top for top, _, _, _ in boxes]
    assert tops[0] == tops[1] == tops[2] < tops[3] == tops[4]  # 3 + 2, not 4 + 1


def test_titles_read_at_readme_width(tmp_path):
    """Eight MNIST-sized blocks: at most about 2000 px wide, the titles' ink at least 8 px tall
    once the picture is shrunk to 900 px (it was 2 px with one 4080-px row)."""
    path = tmp_path / "mnist.png"
    plotting.save_side_by_side(blocks_of(SHADES, side=28), ["acgan"] * 8, str(path))
    picture = matplotlib.image.imread(path)
    assert picture.shape[1] <= 2100
    first_block_top = where(picture, SHADES[0])[0]
    band = picture[: first_block_top - 4, :, 0]  # above the first row of blocks: the titles
    ink = np.flatnonzero((band < 0.5).any(axis=1))
    assert ink.size and (ink[-1] - ink[0] + 1) * 900 / picture.shape[1] >= 8


def rows_of(images_seen, scored_every=5, seconds=900.0):
    """History rows (strings, as history.csv holds them) of a run reaching `images_seen`."""
    rows = []
    for index, seen in enumerate(np.linspace(images_seen / 20, images_seen, 20)):
        row = dict.fromkeys(history.COLUMNS, "")
        row.update(
            step=str(index),
            images_seen=f"{seen:.0f}",
            d_loss="0.7",
            g_loss="1.2",
            seconds=f"{seconds * (index + 1) / 20}",
        )
        if index % scored_every == scored_every - 1:
            row.update(fid=f"{20 / (index + 1)}", precision="0.6", recall="0.5", accuracy="0.9")
        rows.append(row)
    return rows


def panel(figure, y_label, x_label="images seen"):
    matches = [ax for ax in figure.axes if (ax.get_ylabel(), ax.get_xlabel()) == (y_label, x_label)]
    assert len(matches) == 1, (y_label, x_label)
    return matches[0]


def floor_lines(ax):
    return [line for line in ax.get_lines() if line.get_label() == "real test images"]


def test_the_real_floor_is_a_dashed_line_where_the_floor_has_the_figure():
    histories = {"cgan": [rows_of(1e5)], "dcgan": [rows_of(1.5e5), rows_of(1.4e5)]}
    floor = dict(fid=0.1, precision=0.8, accuracy=0.99, inception_score=9.9)  # no recall
    losses, quality = curves.comparison_figures(histories, floor)
    for y_label, value in (
        ("FID (judge features)", 0.1),
        ("precision", 0.8),
        ("accuracy (conditional)", 0.99),
    ):
        (line,) = floor_lines(panel(quality, y_label))
        assert line.get_linestyle() == "--" and set(line.get_ydata()) == {value}
    assert len(floor_lines(panel(quality, "FID (judge features)", "wall seconds (training)")))
    assert panel(quality, "FID (judge features)").get_ylim()[0] <= 0.1  # below every arm: shown
    assert not floor_lines(panel(quality, "recall"))  # the floor has no recall
    assert not any(floor_lines(ax) for ax in losses.axes)
    assert "Inception Score" not in [ax.get_ylabel() for ax in quality.axes]  # no arm has it
    _, quality = curves.comparison_figures(histories)
    assert not any(floor_lines(ax) for ax in quality.axes)


def test_save_comparison_curves_writes_both_pictures_with_the_floor(tmp_path):
    losses, quality = str(tmp_path / "losses.png"), str(tmp_path / "quality.png")
    histories = {"cgan": [rows_of(1e5)]}
    written = curves.save_comparison_curves(histories, losses, quality, floor={"fid": 0.1})
    assert written == [losses, quality]
    assert matplotlib.image.imread(quality).shape[:2] == (720, 1680)  # 5 panels, 4 to a row
    assert sorted(os.listdir(tmp_path)) == ["losses.png", "quality.png"]  # no temporary left
    unscored = {"cgan": [[{**row, "fid": ""} for row in rows_of(1e5, scored_every=100)]]}
    assert curves.save_comparison_curves(unscored, losses, str(tmp_path / "q2.png")) == [losses]


@pytest.mark.parametrize("long_arm, log", [(2.9e5, False), (3.1e5, True)])
def test_images_seen_turns_logarithmic_only_for_a_long_arm(long_arm, log):
    histories = {"slow": [rows_of(1e5)], "middle": [rows_of(2e5)], "fast": [rows_of(long_arm)]}
    losses, quality = curves.comparison_figures(histories)
    expected = "log" if log else "linear"
    assert panel(quality, "recall").get_xscale() == expected
    assert all(ax.get_xscale() == expected for ax in losses.axes)
    seconds = panel(quality, "FID (judge features)", "wall seconds (training)")
    assert seconds.get_xscale() == "linear"  # every arm trained the same 900 s


def test_an_arm_absent_from_a_panel_does_not_make_it_logarithmic():
    long_unconditional = [[{**row, "accuracy": ""} for row in rows_of(1e6)]]
    histories = {"cgan": [rows_of(1e5)], "dense": long_unconditional}
    _, quality = curves.comparison_figures(histories)
    assert panel(quality, "recall").get_xscale() == "log"
    assert panel(quality, "accuracy (conditional)").get_xscale() == "linear"  # cgan alone


@pytest.mark.parametrize("classes, shape", [(3, (540, 600)), (20, (810, 900))])
def test_confusion_matrix_png_is_written_and_readable(tmp_path, classes, shape):
    path = tmp_path / "confusion.png"
    names = [f"class {k}" for k in range(classes)] if classes > 3 else None
    plotting.save_confusion_matrix_png(np.arange(classes**2).reshape(classes, classes), str(path))
    plotting.save_confusion_matrix_png(np.eye(classes, dtype=int) * 5, str(path), names)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = matplotlib.image.imread(path)
    assert picture.shape[:2] == shape  # 6 in square at least, 0.45 in a class beyond 13; 100 dpi
    assert (picture[..., :3] < 0.5).any() and (picture[..., :3] > 0.9).any()  # drawn on white
    assert os.listdir(tmp_path) == ["confusion.png"]  # no temporary left behind
