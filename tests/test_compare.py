"""--mode=compare and named experiments: the table's arithmetic and layout on hand-made
figures, the side-by-side picture's layout, and one tiny comparison on real MNIST that
writes every output and is reused when run again (trained in a process of its own once the judge
is, beside the other tests: after_judge_jobs)."""

import csv
import dataclasses
import math
import os
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import REPO
from processes import job

from cgan import comparison_table, history, plotting, registry
from cgan.config import Config
from cgan.context import resolve
from cgan.errors import CganError
from cgan.files import read_json
from cgan.modes import compare
from cgan.runfolder import for_mode
from cgan.scores import real_floor
from experiments import configs

BUDGET, BATCH, EVAL_SAMPLES = 2000, 32, 200
FLOOR = "real mnist test images"  # the floor row of an MNIST comparison
STEPS = math.ceil(BUDGET / BATCH)  # 63: the first step at which 2000 images have been seen


def _figures(**values):
    row = {name: math.nan for name, _, _ in comparison_table.COLUMNS}
    row.update(values)
    return row


def test_mean_and_spread_over_seeds_by_hand():
    summary = comparison_table.mean_and_spread(
        [
            _figures(fid=1.0, accuracy=0.5),
            _figures(fid=2.0, accuracy=0.7),
            _figures(fid=6.0, accuracy=0.9),
        ]
    )
    assert summary["fid"] == pytest.approx(
        (3.0, math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2))
    )
    assert summary["accuracy"] == pytest.approx((0.7, 0.2))
    mean, spread = comparison_table.mean_and_spread([_figures(fid=4.0)])["fid"]
    assert mean == 4.0 and math.isnan(spread)  # one seed: nothing to spread
    assert all(math.isnan(v) for v in comparison_table.mean_and_spread([_figures()])["recall"])


def _scores(fid, accuracy=None, coverage=None):
    scores = dict(fid=fid, inception_score=9.0, kid=0.01, precision=0.8, recall=0.7)
    if accuracy is not None:
        scores.update(accuracy=accuracy, confusion_matrix=(np.eye(10, dtype=int) * 10).tolist())
    else:
        scores.update(coverage=coverage)
    return scores


def test_table_rows_markdown_and_csv(tmp_path):
    speed = dict(parameters=1000, images_seen=600.0, seconds=2.0)
    unconditional = [0.5, 0.5] + [0.0] * 8  # two digits only
    arms = {
        "dense": [
            dict(figures=comparison_table.figures(_scores(10.0, coverage=unconditional), **speed))
        ],
        "cgan": [
            dict(
                figures=comparison_table.figures(_scores(f, accuracy=a), **speed),
                raw_figures=comparison_table.figures(_scores(2 * f, accuracy=a), **speed),
            )
            for f, a in ((2.0, 0.9), (4.0, 0.95))
        ],
    }
    rows = comparison_table.table_rows(arms, _scores(0.2, accuracy=0.995), FLOOR)
    assert [(label, count) for label, count, _ in rows] == [
        ("dense", 1),
        ("cgan", 2),
        ("cgan (raw G)", 2),
        (FLOOR, None),
    ]
    dense, cgan, raw, floor = (summary for _, _, summary in rows)
    assert dense["images_per_second"][0] == 300.0 and dense["digits_covered"][0] == 2
    assert math.isnan(dense["accuracy"][0])
    assert cgan["fid"] == pytest.approx((3.0, math.sqrt(2))) and raw["fid"] == pytest.approx(
        (6.0, 2 * math.sqrt(2))
    )
    assert cgan["digits_covered"][0] == 10  # from the confusion matrix's columns
    assert math.isnan(floor["parameters"][0]) and floor["fid"][0] == 0.2

    lines = comparison_table.markdown_table(rows).splitlines()
    assert lines[0].startswith("| arm | seeds | parameters (G + D) | images/s | wall s | FID |")
    assert len(lines) == 2 + 4
    cells = [cell.strip() for cell in lines[3].split("|")[1:-1]]  # the cgan row
    assert cells[:6] == ["cgan", "2", "1,000", "300", "2", "3 ± 1.41"]
    assert lines[2].split("|")[11].strip() == "–"  # dense has no conditional accuracy
    # A spread of round-off is no spread; a real one is shown.
    row = comparison_table.markdown_table(
        [("x", 2, dict(cgan, fid=(1.0, 5e-14), kid=(1.0, 0.25)))]
    ).splitlines()[2]
    fid, kid = (row.split("|")[column].strip() for column in (6, 8))
    assert (fid, kid) == ("1", "1 ± 0.25")

    path = tmp_path / "table.csv"
    comparison_table.write_csv(rows, path)
    with open(path, newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["arm"] for r in table] == ["dense", "cgan", "cgan (raw G)", FLOOR]
    assert float(table[1]["fid"]) == 3.0 and float(table[1]["fid_std"]) == pytest.approx(
        math.sqrt(2)
    )
    assert table[0]["fid_std"] == "" and table[0]["accuracy"] == "" and table[3]["parameters"] == ""


def test_sort_by_digit_fills_rows_in_digit_order_and_pads_missing_digits():
    images = np.arange(6, dtype=np.uint8).reshape(6, 1, 1)  # image i has pixel value i
    predicted = np.array([3, 1, 3, 3, 0, 1])
    rows = compare.sort_by_digit(images, predicted, per_digit=2, blank=255)
    assert rows.shape == (20, 1, 1)
    expected = [4, 255, 1, 5, 255, 255, 0, 2] + [
        255
    ] * 12  # digit 0: image 4; 1: 1, 5; 2: none; 3: 0, 2 (not 3)
    assert rows[:, 0, 0].tolist() == expected


def test_side_by_side_puts_each_block_in_its_own_columns(tmp_path):
    a = np.full((20, 28, 28, 1), 10, np.uint8)  # 10 rows x 2 columns
    b = np.full((30, 28, 28, 1), 200, np.uint8)  # 10 rows x 3 columns
    mosaic, spans = plotting.side_by_side([a, b], rows=10, gap=12)
    width_a, width_b = 2 * 30 + 2, 3 * 30 + 2  # tiles of 28 px with 2 px gaps
    assert mosaic.shape == (10 * 30 + 2, width_a + 12 + width_b, 1)
    assert spans == [(0, width_a), (width_a + 12, width_a + 12 + width_b)]
    # first tile of each block
    assert mosaic[2, 2, 0] == 10 and mosaic[2, width_a + 12 + 2, 0] == 200
    assert (mosaic[:, width_a : width_a + 12] == 255).all()  # the gap between blocks is white

    path = tmp_path / "side.png"
    plotting.save_side_by_side([a, b], ["first", "second"], str(path))
    picture = matplotlib.image.imread(path)
    # the mosaic at 2 x 2 px per pixel, plus margins for the titles and row labels
    for axis in (0, 1):
        assert 0 < picture.shape[axis] - 2 * mosaic.shape[axis] <= 100


def test_experiments_start_from_the_base_and_unknown_names_list_the_known():
    assert {"all_15min", "quick"} <= set(configs.names())
    for name in configs.names():
        config = configs.get(name)
        assert config.mode == "compare" and config.experiment == name and config.budget is not None
        assert config.run_dir == os.path.join("runs", name)
    assert configs.get("all_15min").budget == ("seconds", 900)
    assert configs.get("quick").arms == ("dense", "cgan")
    with pytest.raises(CganError, match="unknown experiment 'nope'; known: .*all_15min.*quick"):
        configs.get("nope")


def test_an_arm_is_an_ordinary_scored_train_run_in_the_compare_folder():
    config = Config(
        mode="compare",
        archs=("dense", "wgan_gp"),
        seeds=2,
        seed=5,
        budget_images=1000,
        output_dir="cmp",
    )
    assert config.arms == ("dense", "wgan_gp") and compare.seeds(config) == [5, 6]
    arm = compare.arm_config(config, "wgan_gp", 6)
    assert (arm.mode, arm.arch, arm.seed, arm.run_dir) == (
        "train",
        "wgan_gp",
        6,
        os.path.join("cmp", "wgan_gp-seed6"),
    )
    assert arm.eval_every == 1 and arm.budget == ("images", 1000) and arm.archs is None
    # the default: every one
    assert Config(mode="compare", budget_seconds=9).arms == tuple(registry.names())


def comparison_config(folder, mnist_dir, data_dir):
    return Config(
        mode="compare",
        archs=("dense", "cgan"),
        budget_images=BUDGET,
        batch_size=BATCH,
        eval_samples=EVAL_SAMPLES,
        log_every=25,
        output_dir=str(folder / "compare"),
        mnist_dir=mnist_dir,
        data_dir=data_dir,
    )


def command_line(config):
    """run.py's arguments for `config`: the flags of the fields that differ from the defaults."""
    changed = [
        (field.name, getattr(config, field.name))
        for field in dataclasses.fields(Config)
        if getattr(config, field.name) != field.default
    ]
    return [
        f"--{name}={','.join(value) if isinstance(value, tuple) else value}"
        for name, value in changed
    ]


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The tiny comparison on real MNIST through run.py (processes.AfterJudge)."""
    arguments = command_line(comparison_config(folder, mnist_dir, data_dir))
    command = [sys.executable, os.path.join(REPO, "run.py"), *arguments]
    return {"comparison": job(command, timeout=900)}  # a slow day's minutes, beside the tests


@pytest.fixture(scope="module")
def comparison(mnist_dir, data_dir, mnist_judge, after_judge):
    run = after_judge.finished("comparison")
    config = comparison_config(run.folder.parent, mnist_dir, data_dir)
    printed = run.stdout.splitlines()
    headers = [line for line in printed if line.startswith("arm ")]
    assert headers == [
        f"arm 1/2: dense, seed 0 (1 more after it, {BUDGET:,} images of training each)",
        "arm 2/2: cgan, seed 0 (the last)",
    ]
    with open(os.path.join(config.output_dir, "comparison.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    # one row per arm, the floor last
    assert [row["arm"] for row in rows] == ["dense", "cgan", "cgan (raw G)", FLOOR]
    assert rows[0]["seeds"] == "1" and rows[-1]["seeds"] == ""
    with open(os.path.join(config.output_dir, "comparison.md")) as f:
        table = f.read()
    assert table.strip() in run.stdout  # printed as written
    fid_column = [line.split("|")[6].strip() for line in table.splitlines()[2:6]]
    assert fid_column == [f"{float(row['fid']):.3g}" for row in rows]
    written = [line[len("wrote ") :] for line in printed if line.startswith("wrote ")]
    return config, table, written


def test_an_arm_trained_with_overwrite_and_speed_switches_can_still_be_scored():
    config = Config(
        mode="compare",
        archs=("dense",),
        budget_images=1000,
        overwrite=True,
        steps_per_execution=4,
        jit_compile=True,
    )
    arm = compare.arm_config(config, "dense", 0)
    assert (arm.overwrite, arm.steps_per_execution, arm.jit_compile) == (True, 4, True)
    scoring = for_mode(arm, "evaluate")  # evaluate mode refuses all three: it must not see them
    assert (scoring.mode, scoring.overwrite, scoring.steps_per_execution, scoring.jit_compile) == (
        "evaluate",
        False,
        1,
        False,
    )
    assert (scoring.run_dir, scoring.seed, scoring.eval_samples) == (
        arm.run_dir,
        0,
        arm.eval_samples,
    )


def test_compare_writes_picture_table_and_curves(comparison, mnist_judge):
    config, table, written = comparison
    out = config.output_dir
    names = ["comparison.png", "comparison.md", "comparison.csv", "losses.png", "quality.png"]
    assert written == [os.path.join(out, name) for name in names]

    picture = matplotlib.image.imread(os.path.join(out, "comparison.png"))
    block_width = compare.SAMPLES_PER_DIGIT * 30 + 2
    assert picture.shape[1] > 2 * 2 * block_width and picture.shape[0] > 2 * (10 * 30 + 2)
    for name in ("losses.png", "quality.png"):
        assert matplotlib.image.imread(os.path.join(out, name)).shape[0] > 300

    with open(os.path.join(out, "comparison.md")) as f:
        assert f.read() == table
    arms = [line.split("|")[1].strip() for line in table.splitlines()[2:6]]
    assert arms == ["dense", "cgan", "cgan (raw G)", FLOOR]  # cgan averages weights, dense does not
    with open(os.path.join(out, "comparison.csv"), newline="") as f:
        rows = {r["arm"]: r for r in csv.DictReader(f)}
    for arch in ("dense", "cgan"):
        run = history.read(os.path.join(out, f"{arch}-seed0", "history.csv"))
        # the budget stop
        assert int(run[-1]["step"]) == STEPS and int(run[-1]["images_seen"]) == STEPS * BATCH
        assert run[-1]["fid"] != ""  # scored for the quality curves
        speed = float(run[-1]["images_seen"]) / float(run[-1]["seconds"])
        assert float(rows[arch]["images_per_second"]) == pytest.approx(speed)
        # the FID the run measured of its last generator as it trained: the same samples
        assert float(rows[arch]["fid"]) == pytest.approx(float(run[-1]["fid"]), rel=1e-3)
        assert int(rows[arch]["parameters"]) > 100_000
    # The table's per-class figures are the arms' own scores (metrics.json), not a default.
    scored = {
        arch: read_json(os.path.join(out, f"{arch}-seed0", "metrics.json"))
        for arch in ("dense", "cgan")
    }
    assert float(rows["cgan"]["accuracy"]) == pytest.approx(scored["cgan"]["accuracy"])
    raw_fid = float(rows["cgan (raw G)"]["fid"])
    assert raw_fid == pytest.approx(scored["cgan"]["raw"]["fid"], rel=1e-9)
    assert float(rows[FLOOR]["fid"]) == pytest.approx(real_floor(mnist_judge)["fid"], rel=1e-9)
    assert rows["dense"]["accuracy"] == ""
    # 5% of the samples or more
    covered = sum(share >= 0.05 for share in scored["dense"]["coverage"])
    assert float(rows["dense"]["digits_covered"]) == covered
    assert float(rows[FLOOR]["accuracy"]) > 0.99


def block_match(picture, blocks):
    """The share of the side-by-side picture's pixels within one grey level of `blocks` joined
    left to right (plotting.side_by_side), at the best one-pixel offset: the tiles sit at 2 x 2 px
    per pixel in the picture's bottom-right corner, 5 px from its edges."""
    gray = picture[..., :3].mean(axis=-1) * 255
    mosaic = plotting.side_by_side(blocks, rows=10)[0][..., 0].astype(np.float32)
    height, width = mosaic.shape
    matches = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            top, left = gray.shape[0] - 5 - 2 * height + dy, gray.shape[1] - 5 - 2 * width + dx
            region = gray[top : top + 2 * height : 2, left : left + 2 * width : 2]
            matches.append(float((np.abs(region - mosaic) <= 1).mean()))
    return max(matches)


def test_block_match_finds_blocks_only_in_their_order(tmp_path):
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (20, 28, 28, 1), dtype=np.uint8) for _ in range(2))
    plotting.save_side_by_side([a, b], ["first", "second\n(sorted)"], str(tmp_path / "p.png"))
    picture = matplotlib.image.imread(tmp_path / "p.png")
    assert block_match(picture, [a, b]) > 0.95 > 0.5 > block_match(picture, [b, a])


def test_the_picture_has_one_block_per_arm_in_the_tables_order(comparison, mnist_judge):
    config, table, _ = comparison
    arms = [line.split("|")[1].strip() for line in table.splitlines()[2:4]]
    blocks = [
        compare.digit_block(resolve(compare.arm_config(config, arch, 0)), mnist_judge)
        for arch in arms
    ]
    picture = matplotlib.image.imread(os.path.join(config.output_dir, "comparison.png"))
    in_order, reversed_order = block_match(picture, blocks), block_match(picture, blocks[::-1])
    assert in_order > 0.95 and reversed_order < 0.5, (in_order, reversed_order)


def test_compare_reuses_finished_runs_and_their_scores(comparison):
    config, table, _ = comparison
    watched = [
        os.path.join(config.output_dir, f"{arch}-seed0", name)
        for arch in ("dense", "cgan")
        for name in ("generator.keras", "history.csv", "metrics.json")
    ]
    stamps = [os.path.getmtime(path) for path in watched]
    again = compare.compare(config).table
    assert [os.path.getmtime(path) for path in watched] == stamps
    assert again == table


def test_a_different_model_in_an_arm_folder_is_refused_before_anything_is_written(comparison):
    config, _, _ = comparison
    settings = os.path.join(config.output_dir, "compare.json")
    stamp = os.path.getmtime(settings)
    with pytest.raises(CganError, match="latent_dim"):
        compare.compare(dataclasses.replace(config, latent_dim=32))
    assert os.path.getmtime(settings) == stamp
