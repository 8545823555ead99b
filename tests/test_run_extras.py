"""Training budgets, the raw generator beside the weight average, and the extra pictures:
the training GIF, latent interpolation strips and label sweeps."""

import contextlib
import dataclasses
import os

import matplotlib.image
import numpy as np
import pytest
from PIL import Image

from cgan import history, loop, registry, sampling, scores
from cgan.config import Config
from cgan.context import resolve
from cgan.errors import CganError
from cgan.loop import Stop
from cgan.modes.evaluate import evaluate
from cgan.modes.generate import generate
from cgan.modes.train import train
from cgan.plotting import save_gif, save_grid
from cgan.reopen import reopen
from cgan.runfolder import RunFiles
from cgan.trainer import GANTrainer

TILE = 28 + 2  # a grid tile and its gap, in pixels (before the 2x scale)


@pytest.mark.parametrize(
    "fields, images_per_step, stop",
    [
        (dict(budget_images=960), 32, Stop(30, None)),  # exactly 30 batches
        (dict(budget_images=1000), 32, Stop(32, None)),  # 31.25: the 32nd step crosses the budget
        (dict(budget_images=1000), 160, Stop(7, None)),  # 5 critic batches per step (wgan_gp)
        (dict(budget_seconds=20), 32, Stop(None, 20.0)),
        (dict(steps=5), 32, Stop(5, None)),
        (dict(epochs=3), 32, Stop(3 * 100, None)),
    ],
)
def test_each_budget_gives_its_stop(fields, images_per_step, stop):
    assert Stop.of(Config(batch_size=32, **fields), images_per_step, steps_per_epoch=100) == stop


def test_progress_through_a_budget_is_measured_in_its_own_unit():
    assert Stop(40, None).progress(10, seconds=1e9) == 0.25
    assert Stop(None, 20.0).progress(10**9, seconds=5.0) == 0.25
    assert Stop(40, None).progress(50, seconds=0.0) == 1.0  # an overshoot never goes past the end


def test_a_stop_is_reached_by_its_own_measure_only():
    assert Stop(30, None).reached(30, seconds=0.0) and not Stop(30, None).reached(29, 1e9)
    assert Stop(None, 20.0).reached(1, 20.0) and not Stop(None, 20.0).reached(10**9, 19.9)


class FakeClock:
    """Stands in for the time module in cgan.loop: one training step takes exactly one second."""

    def __init__(self):
        self.now = 1_000.0

    def time(self):
        return self.now


@contextlib.contextmanager
def one_second_per_step():
    """Within the block the training loop's clock advances exactly one second per training step."""
    clock = FakeClock()
    real_step = GANTrainer.train_step

    def train_step(self, iterator, steps=1):
        clock.now += steps
        return real_step(self, iterator, steps)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "time", clock)
        patch.setattr(GANTrainer, "train_step", train_step)
        yield


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory, mnist_dir, data_dir):
    """A dense run with weight averaging and a 20 s budget, one fake second per step."""
    config = Config(
        arch="dense",
        budget_seconds=20,
        ema=0.99,
        batch_size=32,
        log_every=8,
        eval_samples=200,
        output_dir=str(tmp_path_factory.mktemp("timed") / "dense"),
        mnist_dir=mnist_dir,
        data_dir=data_dir,
    )
    with one_second_per_step():
        train(config)
    return config


def test_a_seconds_budget_stops_at_the_step_the_clock_runs_out_and_resumes_when_raised(timed_run):
    files = RunFiles(timed_run.output_dir)
    rows = history.read(files.history)
    assert [int(r["step"]) for r in rows] == [8, 16, 20]
    assert float(rows[-1]["seconds"]) == 20.0 and int(rows[-1]["images_seen"]) == 20 * 32
    assert os.path.exists(os.path.join(files.checkpoints, "ckpt-20.index"))

    stamp = os.path.getmtime(files.history)
    with one_second_per_step():
        train(timed_run)  # finished: reused, not trained further
        assert os.path.getmtime(files.history) == stamp
        train(dataclasses.replace(timed_run, budget_seconds=30))
    rows = history.read(files.history)
    assert [int(r["step"]) for r in rows] == [8, 16, 20, 24, 30]  # resumed from step 20
    assert float(rows[-1]["seconds"]) == 30.0


def test_ema_on_any_architecture_exports_and_scores_the_raw_generator_too(timed_run, mnist_judge):
    files = RunFiles(timed_run.output_dir)
    averaged = reopen(timed_run.output_dir).model
    raw = reopen(timed_run.output_dir, raw=True).model
    weights = [(a, r) for a, r in zip(averaged.get_weights(), raw.get_weights()) if a.size > 1]
    assert any(not np.allclose(a, r) for a, r in weights)  # two different generators

    metrics, written = evaluate(dataclasses.replace(timed_run, mode="evaluate"), mnist_judge)
    assert written == [files.metrics]  # unconditional: no confusion matrix
    assert metrics["num_images"] == metrics["raw"]["num_images"] == 200
    assert metrics["fid"] != metrics["raw"]["fid"] and "coverage" in metrics["raw"]
    header = scores.metrics_table(metrics).splitlines()[0].split()
    assert header == ["metric", "EMA", "G", "raw", "G", "real", "images"]


def test_a_run_without_ema_has_no_raw_generator(tmp_path):
    config = Config(arch="dense", ema=0.0, output_dir=str(tmp_path))
    with pytest.raises(CganError, match="only runs trained with --ema"):
        reopen(config.run_dir, raw=True)


def test_training_writes_a_gif_of_the_epoch_grids(timed_run):
    files = RunFiles(timed_run.output_dir)
    assert [epoch for epoch, _ in files.epoch_grids()] == [1]
    with Image.open(files.progress_gif) as gif:
        grid = matplotlib.image.imread(files.epoch_grid(1))
        # a caption strip on top
        assert gif.n_frames == 1 and gif.size == (grid.shape[1], grid.shape[0] + 16)


def test_gif_frames_follow_the_given_order_and_the_last_is_held(tmp_path):
    paths = []
    for shade in (0, 100, 200):
        path = str(tmp_path / f"frame{shade}.png")
        save_grid(np.full((4, 28, 28, 1), shade, np.uint8), 2, path, scale=1)
        paths.append(path)
    target = str(tmp_path / "anim.gif")
    assert save_gif(paths, ["a", "b", "c"], target, frame_seconds=0.25, hold_seconds=1.5) == target
    with Image.open(target) as gif:
        assert gif.n_frames == 3
        shades, durations = [], []
        for index in range(3):
            gif.seek(index)
            frame = np.asarray(gif.convert("L"))
            # the middle of the first tile, under the caption
            shades.append(int(frame[16 + 2 + 14, 2 + 14]))
            durations.append(gif.info["duration"])
    assert shades == [0, 100, 200] and durations == [250, 250, 1500]
    assert save_gif([], [], str(tmp_path / "none.gif")) is None and not os.path.exists(
        tmp_path / "none.gif"
    )


def test_a_samples_file_cut_short_is_refused_in_one_line(tmp_path):
    path = tmp_path / "samples.npz"
    images = np.zeros((50, 28, 28), np.uint8)
    np.savez(path, images=images, labels=np.zeros(50, np.int64))
    spec = resolve(Config()).spec
    read, _ = sampling.read_samples(str(path), spec)
    np.testing.assert_array_equal(read, images)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CganError, match="samples.npz' is not a readable .npz"):
        sampling.read_samples(str(path), spec)


def test_slerp_keeps_the_endpoints_and_walks_the_sphere():
    start, end = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    path = sampling.slerp(start, end, np.linspace(0, 1, 5))
    np.testing.assert_allclose(path[0], start, atol=1e-12)
    np.testing.assert_allclose(path[-1], end, atol=1e-12)
    # a straight line would dip to 0.71
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0)
    np.testing.assert_allclose(path[2], [np.sqrt(0.5), np.sqrt(0.5), 0.0])
    # parallel: straight
    np.testing.assert_allclose(sampling.slerp(start, 2 * start, [0.5])[0], [1.5, 0, 0])


def _drawing_inputs(**fields):
    """The noise, labels and rows a cgan with 8 noise dimensions draws for `fields`."""
    return sampling.drawing_inputs(resolve(Config(arch="cgan", latent_dim=8, **fields)))


def test_a_sweep_holds_each_rows_noise_across_the_ten_digits():
    noise, labels, rows = _drawing_inputs(draw="sweep")
    assert rows == 10 and noise.shape == (100, 8)
    np.testing.assert_array_equal(labels, np.tile(np.arange(10), 10))
    grid = noise.reshape(10, 10, 8)
    assert (grid == grid[:, :1]).all()  # one noise per row
    assert not np.allclose(grid[0, 0], grid[1, 0])  # a different one on the next row


def test_an_interpolation_walks_the_same_path_for_every_digit_asked():
    noise, labels, rows = _drawing_inputs(draw="interpolation")
    assert rows == 10 and noise.shape == (100, 8)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 10))
    paths = noise.reshape(10, 10, 8)
    assert (paths == paths[:1]).all()  # the same ten steps on every row
    seven, labels, rows = _drawing_inputs(draw="interpolation", digit=7)
    assert rows == 1 and labels.tolist() == [7] * 10
    np.testing.assert_allclose(seven, paths[0], rtol=1e-6)


@pytest.mark.parametrize(
    "arch, fields, name, rows",
    [
        ("cgan", dict(draw="sweep"), "sweep.png", 10),
        ("cgan", dict(draw="interpolation", digit=7), "interpolation_7.png", 1),
        ("cgan", dict(draw="interpolation"), "interpolation.png", 10),
        ("dcgan", dict(draw="interpolation"), "interpolation.png", 1),
    ],
)
def test_drawings_are_written_as_grids_of_ten_columns(tmp_path, arch, fields, name, rows):
    config = Config(arch=arch, output_dir=str(tmp_path), **fields)
    generator, _ = registry.get(arch).build((28, 28, 1), config.latent_dim, 10)
    path = sampling.draw_requested(resolve(config), generator)
    assert path == os.path.join(str(tmp_path), name)
    assert matplotlib.image.imread(path).shape[:2] == (2 * (rows * TILE + 2), 2 * (10 * TILE + 2))


def test_generate_draws_an_interpolation_from_a_trained_run(timed_run):
    written = generate(dataclasses.replace(timed_run, mode="generate", draw="interpolation"))
    assert written == [os.path.join(timed_run.output_dir, "interpolation.png")]
    strip = matplotlib.image.imread(written[0])
    assert strip.shape[:2] == (2 * (TILE + 2), 2 * (10 * TILE + 2)) and strip.std() > 0.01
