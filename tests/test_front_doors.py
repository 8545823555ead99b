"""The product's promises checked by what they show, through run.py in processes of their own:
the shipped conditional generator's grids read by the MNIST judge (row k is digit k, every tile
of digit_7.png, drawn by the cgan command, a 7), the README's two commands on a short MNIST run
(the second reuses it), --mode=export's SavedModel and TFLite model on the same noise, and
--strategy=mirrored on two logical CPUs (a dense run). The commands run beside the other tests
once MNIST is prepared (after_judge_jobs).
"""

import json
import os
import sys

import matplotlib.image
import numpy as np
import pytest
import short_run
import tensorflow as tf
from conftest import COMMAND, REPO
from processes import job

import cgan

SHIPPED = os.path.join(REPO, "samples", "cgan_generator.keras")
RUN_PY = os.path.join(REPO, "run.py")
BATCH = 32
TILE, GAP, SCALE = 28, 2, 2  # a grid's tiles, the white gaps around them, and its pixel scale


def grid_tiles(path, rows, columns=10):
    """The uint8 tiles (rows, columns, 28, 28) of a grid PNG written by cgan (no row labels):
    each pixel SCALE x SCALE, GAP white pixels around each tile."""
    picture = matplotlib.image.imread(path)
    gray = np.rint(picture[::SCALE, ::SCALE, 0] * 255).astype(np.uint8)
    assert gray.shape == (rows * (TILE + GAP) + GAP, columns * (TILE + GAP) + GAP)
    return np.stack(
        [
            np.stack(
                [
                    gray[
                        GAP + r * (TILE + GAP) : GAP + r * (TILE + GAP) + TILE,
                        GAP + c * (TILE + GAP) : GAP + c * (TILE + GAP) + TILE,
                    ]
                    for c in range(columns)
                ]
            )
            for r in range(rows)
        ]
    )


def judged(judge, tiles):
    """The judge's digit for each tile, in the tiles' (rows, columns) layout."""
    rows, columns = tiles.shape[:2]
    flat = tiles.reshape(rows * columns, TILE, TILE)
    return judge.probabilities(flat).argmax(axis=1).reshape(rows, columns)


def row_accuracy(judge, path):
    """For each row k of a ten-row grid, the share of its tiles the judge calls digit k."""
    calls = judged(judge, grid_tiles(path, rows=10))
    return (calls == np.arange(10)[:, None]).mean(axis=1)


def _run(arguments, name, program=(sys.executable, RUN_PY)):
    """A shell step: run.py (or `program`) with `arguments`, its output in <name>.out and
    <name>.err."""
    quoted = " ".join(f"'{a}'" for a in [*program, *arguments])
    return f"{quoted} > {name}.out 2> {name}.err"


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The module's commands (processes.AfterJudge), each reusing what it can."""
    mnist = [f"--mnist_dir={mnist_dir}", f"--data_dir={data_dir}"]
    drawn = ["--mode=generate", f"--generator={SHIPPED}", f"--output_dir={folder / 'shipped'}"]
    # dense: the step's correctness under mirroring is replica_equivalence's; this is run.py's path
    mirrored = ["--arch=dense", "--steps=4", f"--batch_size={BATCH}", "--strategy=mirrored"]
    mirrored += ["--cpu_devices=2", "--verbose=false", f"--output_dir={folder / 'mirrored'}"]
    export = ["--mode=export", f"--generator={SHIPPED}", f"--output_dir={folder / 'export'}"]
    shell = lambda *steps: ["sh", "-c", " && ".join(steps)]  # noqa: E731
    return {
        "shipped_grids": job(
            shell(_run(drawn, "all"), _run([*drawn, "--digit=7"], "seven", [COMMAND])),
            timeout=120,
        ),
        short_run.NAME: short_run.job(folder, data_dir, mnist_dir),
        "exported": job([sys.executable, RUN_PY, *export], timeout=300),
        "mirrored": job([sys.executable, RUN_PY, *mirrored, *mnist], timeout=300),
    }


def _output(run, name):
    """What step `name` of a shell job printed: (stdout, stderr)."""
    return (run.folder / f"{name}.out").read_text(), (run.folder / f"{name}.err").read_text()


@pytest.fixture(scope="module")
def shipped_grids(mnist_judge, after_judge):
    return after_judge.finished("shipped_grids")


@pytest.fixture(scope="module")
def readme_commands(mnist_judge, after_judge):
    return after_judge.finished("readme_commands")


@pytest.fixture(scope="module")
def exported(mnist_judge, after_judge):
    return after_judge.finished("exported")


@pytest.fixture(scope="module")
def mirrored(mnist_judge, after_judge):
    return after_judge.finished("mirrored")


def test_the_shipped_generators_grid_shows_digit_k_in_row_k_and_sevens_when_asked(
    shipped_grids, mnist_judge
):
    folder = shipped_grids.folder.parent / "shipped"
    assert _output(shipped_grids, "all")[0] == f"wrote {folder / 'digits.png'}\n"
    assert _output(shipped_grids, "seven")[0] == f"wrote {folder / 'digit_7.png'}\n"
    rows = row_accuracy(mnist_judge, folder / "digits.png")
    assert rows.min() >= 0.8 and rows.mean() >= 0.95, rows  # measured: 1.0 in every row
    # the same grid with its rows in another order is caught
    calls = judged(mnist_judge, grid_tiles(folder / "digits.png", rows=10))
    assert (calls[::-1] == np.arange(10)[:, None]).mean() < 0.2
    sevens = judged(mnist_judge, grid_tiles(folder / "digit_7.png", rows=10))
    assert (sevens == 7).mean() >= 0.95, sevens  # measured: 1.0


def test_the_readme_commands_train_draw_sevens_then_reuse_the_run_for_all_ten(
    readme_commands, mnist_judge
):
    out = short_run.folder_of(readme_commands)
    first, first_err = _output(readme_commands, "first")
    assert first == f"wrote {out / 'digit_7.png'}\n" and "Traceback" not in first_err
    second, _ = _output(readme_commands, "second")
    assert second == f"wrote {out / 'digits.png'}\n"
    # reused, not retrained: the first command's files are older than its drawing
    drawn = os.path.getmtime(out / "digit_7.png")
    for name in ("history.csv", "generator.keras", "checkpoints/checkpoint", "run.json"):
        assert os.path.getmtime(out / name) <= drawn, name
    # 200 steps draw at about chance (measured 9% sevens): the pictures' content is checked on
    # the shipped generator above; here, ten rows of ten tiles, each with strokes on a dark ground
    for name in ("digit_7.png", "digits.png"):
        tiles = grid_tiles(out / name, rows=10).astype(int)
        ground = np.median(tiles, axis=(2, 3))
        assert (ground < 60).all() and (tiles.max(axis=(2, 3)) > ground + 40).all(), name


def test_export_through_run_py_gives_the_keras_pixels_from_saved_model_and_tflite(exported):
    out = exported.folder.parent / "export"
    assert exported.stdout.splitlines() == [
        f"wrote {out / 'saved_model'}",
        f"wrote {out / 'generator.tflite'}",
    ]
    generator = cgan.load(SHIPPED)
    noise, labels = generator.noise(10, seed=3), np.arange(10, dtype=np.int32)
    expected = generator.sample(digit=labels, n=10, seed=3).astype(int)
    served = tf.saved_model.load(str(out / "saved_model"))
    from_saved = served.from_noise(tf.constant(noise), tf.constant(labels)).numpy()
    assert np.abs(from_saved[..., 0].astype(int) - expected).max() <= 1
    interpreter = tf.lite.Interpreter(model_path=str(out / "generator.tflite"))
    from_tflite = interpreter.get_signature_runner("from_noise")(noise=noise, labels=labels)
    (pixels,) = from_tflite.values()
    assert pixels.shape == (10, 28, 28, 1)
    assert np.abs(pixels[..., 0].astype(int) - expected).max() <= 1


def test_a_mirrored_run_through_run_py_trains_on_two_logical_cpus(mirrored):
    out = mirrored.folder.parent / "mirrored"
    assert mirrored.stdout.strip() == f"wrote {out / 'samples.png'}"
    with open(out / "run.json") as handle:
        saved = json.load(handle)
    assert (saved["strategy"], saved["cpu_devices"], saved["replicas"]) == ("mirrored", 2, 2)
    assert (out / "checkpoints" / "ckpt-4.index").exists()
