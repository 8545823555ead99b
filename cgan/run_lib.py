"""The library behind run.py: train a registered architecture, draw and export samples.

Everything here takes a frozen Config; nothing reads flags.
"""

import contextlib
import dataclasses
import glob
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import zipfile
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from cgan import data, distribute, registry
from cgan.config import MIXED_PRECISION, Config
from cgan.distribute import make_strategy
from cgan.errors import CganError, Interrupted, TrainingDiverged, first_line
from cgan.files import atomic_path, locked_folder, read_json, remove_leftovers, write_json
from cgan.history import History
from cgan.plotting import save_gif, save_grid, save_history_plot
from cgan.trainer import GANTrainer

GRID_SIDE = 10  # grids are 10 x 10 (MNIST): for a conditional model, row k shows label k
MAX_RESTORES = 5  # --on_divergence=restore gives up at 1/32 of the learning rate: by then the rate is not the cause


class RunFiles:
    """The names of everything a run writes in its output folder."""

    def __init__(self, run_dir):
        self.dir = run_dir
        self.config = os.path.join(run_dir, "run.json")
        self.checkpoints = os.path.join(run_dir, "checkpoints")
        self.generator = os.path.join(run_dir, "generator.keras")
        self.raw_generator = os.path.join(run_dir, "generator_raw.keras")  # written only when EMA is on
        self.history = os.path.join(run_dir, "history.csv")
        self.history_plot = os.path.join(run_dir, "losses.png")
        self.tensorboard = os.path.join(run_dir, "tensorboard")
        self.progress_gif = os.path.join(run_dir, "training.gif")
        self.metrics = os.path.join(run_dir, "metrics.json")
        self.confusion_matrix = os.path.join(run_dir, "confusion_matrix.png")

    def epoch_grid(self, epoch):
        return os.path.join(self.dir, f"image_at_epoch_{epoch:04d}.png")

    def epoch_grids(self):
        """[(epoch, path)] of the per-epoch grids written so far, in epoch order."""
        paths = sorted(glob.glob(os.path.join(glob.escape(self.dir), "image_at_epoch_[0-9][0-9][0-9][0-9].png")))
        return [(int(path[-8:-4]), path) for path in paths]

    def final_grid(self, config):
        """digit_<k>.png or digits.png (all ten) for conditional models, samples.png otherwise."""
        if not config.conditional:
            return os.path.join(self.dir, "samples.png")
        return os.path.join(self.dir, "digits.png" if config.digit is None else f"digit_{config.digit}.png")

    def drawing(self, config):
        """Where config.draw's picture goes: the final grid, interpolation[_<k>].png or sweep.png."""
        if config.draw == "grid":
            return self.final_grid(config)
        if config.draw == "interpolation" and config.conditional and config.digit is not None:
            return os.path.join(self.dir, f"interpolation_{config.digit}.png")
        return os.path.join(self.dir, f"{config.draw}.png")

    def saved_config(self):
        """The config the run was started with, or None for a new run."""
        if not os.path.exists(self.config):
            return None
        return read_json(self.config)

    def clear(self):
        """Deletes what a run wrote here (checkpoints first, run.json last, so a crash midway
        leaves nothing to resume from); files the run did not write stay."""
        pictures = ["image_at_epoch_[0-9][0-9][0-9][0-9].png", "digit_[0-9].png", "digits.png", "samples.png",
                    "interpolation.png", "interpolation_[0-9].png", "sweep.png"]
        paths = [self.checkpoints, self.tensorboard, self.generator, self.raw_generator, self.history,
                 self.history_plot, self.progress_gif, self.metrics, self.confusion_matrix]
        paths += sorted(p for pattern in pictures for p in glob.glob(os.path.join(glob.escape(self.dir), pattern)))
        for path in paths + [self.config]:
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)


SHAPE_FIELDS = ("arch", "latent_dim", "dataset", "image_size")  # a checkpoint only fits models built with these
# With the recipe: what a run's checkpoints were trained with. (float16 adds a loss scale to the
# optimizers' checkpoint; a run.json older than --mixed_precision means "off".)
TRAINING_FIELDS = ("seed", "batch_size", "mixed_precision")


def check_same_model(config, files, training=False):
    """Refuses (CganError) a run folder that holds a model of another shape or training digit;
    with `training`, also one trained with another seed, batch size or recipe, which a resume
    would silently mix with this config's."""
    saved = files.saved_config()
    if saved is None:
        return
    shapes = {name: saved.get(name, getattr(Config, name)) for name in SHAPE_FIELDS}  # older run.json: MNIST
    found = [f"a run with {name}={value!r}, not {getattr(config, name)!r}"
             for name, value in shapes.items() if value != getattr(config, name)]
    if saved.get("train_digit") != config.train_digit:
        found.append(f"a model trained on digit {saved.get('train_digit')}, not {config.train_digit}")
    if training:
        trained = {name: saved.get(name, getattr(Config, name)) for name in TRAINING_FIELDS}
        found += [f"a run trained with {name}={value!r}, not {getattr(config, name)!r}"
                  for name, value in trained.items() if value != getattr(config, name)]
        # A recipe field newer than the run has its default: what every run before it trained with.
        defaults = {field.name: field.default for field in dataclasses.fields(registry.Recipe)}
        saved_recipe = {**defaults, **saved["recipe"]} if saved.get("recipe") else {}
        recipe = dataclasses.asdict(config.recipe)
        found += [f"a run trained with {name}={saved_recipe[name]!r}, not {recipe[name]!r}"
                  for name in recipe if name in saved_recipe and saved_recipe[name] != recipe[name]]
    if found:
        hint = "choose another --output_dir" + (", or give --overwrite to start over" if training else "")
        raise CganError(f"{files.dir} holds {'; '.join(found)}; {hint}")


def build_trainer(config, strategy):
    """Builds the architecture's two networks (in --mixed_precision's compute type) and the
    shared trainer under `strategy`."""
    architecture = registry.get(config.arch)
    spec = data.spec(config.data_source)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise CganError(f"--batch_size {config.batch_size} does not split evenly over {replicas} replicas")
    if config.recipe.mode_seeking and config.batch_size // replicas % 2:
        raise CganError(f"--mode_seeking compares pairs of examples: --batch_size {config.batch_size} leaves an odd "
                        f"number on each of {replicas} replica(s); give an even share, or --mode_seeking=0")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(MIXED_PRECISION[config.mixed_precision])
    try:  # the policy is read when layers are made; it is Keras-wide, so it is put back after
        with strategy.scope():
            generator, discriminator = architecture.build(spec.image_shape, config.latent_dim, spec.num_classes)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return GANTrainer(
        generator,
        discriminator,
        config.recipe,
        global_batch_size=config.batch_size,
        strategy=strategy,
        seed=config.seed,
        jit_compile=config.jit_compile,
    )


def grid_inputs(config, digit, count=GRID_SIDE * GRID_SIDE):
    """Fixed noise and labels for a grid, and its number of rows: the same for every epoch and
    every resume.

    Conditional, all labels: row k is label k and each column keeps one noise vector, so
    style is held across labels (count // K columns, at least one). Otherwise `count`
    distinct samples, GRID_SIDE to a row when they fill whole rows.
    """
    rng = np.random.default_rng(config.seed)
    if config.conditional and digit is None:
        num_classes = data.spec(config.data_source).num_classes
        columns = max(count // num_classes, 1)
        noise = np.tile(rng.standard_normal((columns, config.latent_dim)), (num_classes, 1))
        labels = np.repeat(np.arange(num_classes), columns)
        rows = num_classes
    else:
        noise = rng.standard_normal((count, config.latent_dim))
        labels = np.full(count, digit if digit is not None else 0)
        rows = GRID_SIDE if count % GRID_SIDE == 0 else 1
    return noise.astype(np.float32), labels.astype(np.int32), rows


def draw(generator, noise, labels, batch_size=500):
    """Runs the generator in inference mode; returns uint8 images (N, H, W, C)."""
    images = [
        generator([noise[i : i + batch_size], labels[i : i + batch_size]], training=False)
        for i in range(0, len(noise), batch_size)
    ]
    return data.to_uint8(np.concatenate(images))


def slerp(start, end, fractions):
    """Spherical interpolation from noise vector `start` to `end`, one row per fraction in [0, 1].

    Gaussian noise lies near a sphere; the straight line between two points cuts inside it,
    where the generator has seen little noise, so the middle images fade (White 2016).
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    fractions = np.asarray(fractions, np.float64)[:, None]
    cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if np.sin(angle) < 1e-6:  # (anti)parallel: every great circle fits, the straight line is as good
        return (1 - fractions) * start + fractions * end
    return (np.sin((1 - fractions) * angle) * start + np.sin(fractions * angle) * end) / np.sin(angle)


def drawing_inputs(config):
    """Noise, labels and the number of rows of the picture config.draw asks for.

    grid: config.num_samples images of config.digit (all labels: row k is label k).
    interpolation: ten steps between two noise vectors; a conditional model without --digit
    walks the same path once per label, one row each.
    sweep (conditional only): ten noise vectors, one per row, each drawn as every label in turn.
    """
    if config.draw == "grid":
        return grid_inputs(config, config.digit, config.num_samples)
    rng = np.random.default_rng(config.seed)
    num_classes = data.spec(config.data_source).num_classes if config.conditional else 1
    if config.draw == "interpolation":
        start, end = rng.standard_normal((2, config.latent_dim))
        path = slerp(start, end, np.linspace(0.0, 1.0, GRID_SIDE))
        if config.conditional and config.digit is None:
            digits = range(num_classes)  # the same walk once per label: style held down the columns
        else:
            digits = [config.digit or 0]  # the digit asked for; unconditional models ignore it
        noise = np.tile(path, (len(digits), 1))
        labels = np.repeat(digits, GRID_SIDE)
        return noise.astype(np.float32), labels.astype(np.int32), len(digits)
    styles = rng.standard_normal((GRID_SIDE, config.latent_dim))
    noise = np.repeat(styles, num_classes, axis=0)
    labels = np.tile(np.arange(num_classes), GRID_SIDE)
    return noise.astype(np.float32), labels.astype(np.int32), GRID_SIDE


def row_names(config, digit):
    """The class names of the rows of a conditional model's grid of every label (rows = classes),
    when they say more than the row numbers (Fashion-MNIST, not MNIST); else None."""
    if not config.conditional or digit is not None:
        return None
    names = data.spec(config.data_source).class_names
    return None if list(names) == [str(label) for label in range(len(names))] else names


def draw_requested(config, generator, files):
    """Draws the picture config.draw asks for (one label, all of them, a walk or a sweep); returns its path."""
    noise, labels, rows = drawing_inputs(config)
    path = files.drawing(config)
    names = None if config.draw == "sweep" else row_names(config, config.digit)  # a sweep's rows are styles
    save_grid(draw(generator, noise, labels), rows, path, names)
    return path


def train(config):
    """Trains (or resumes, or reuses) the run in config.run_dir, then draws what config.draw asks.

    Returns the path of the picture. A finished run is not retrained: only drawn from. The
    folder is locked for the whole call: a second run into it is refused.

    In a multi-worker run only the chief writes the run folder; the other workers train beside
    it, resume from its latest checkpoint, write their own copies into a temporary folder that
    is deleted after, and return None.
    """
    strategy = make_strategy(config.strategy)  # first: a multi-worker strategy must precede any other op
    data.check_label(config.data_source, config.digit)
    if not distribute.writes_files(strategy):
        with tempfile.TemporaryDirectory(prefix="cgan-worker-") as folder:
            resume_from = None if config.overwrite else RunFiles(config.run_dir).checkpoints
            _train_locked(config, RunFiles(folder), strategy, resume_from)
        return None
    files = RunFiles(config.run_dir)
    with locked_folder(files.dir):
        if config.overwrite:
            files.clear()
        check_same_model(config, files, training=True)
        remove_leftovers(files.dir)  # temporary files of a killed run: nobody else writes here
        return _train_locked(config, files, strategy)


def _train_locked(config, files, strategy, resume_from=None):
    """Trains in `files`' folder, resuming from its latest checkpoint or, when given, from the
    latest one in the folder `resume_from` (a multi-worker chief's)."""
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()  # for the rest of the process: there is no "off"
    keras.utils.set_random_seed(config.seed)
    trainer = build_trainer(config, strategy)
    seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="seconds")
    manager = _checkpoint_manager(trainer.checkpoint(seconds=seconds), files.checkpoints, config.keep_checkpoints)
    latest = manager.latest_checkpoint if resume_from is None else tf.train.latest_checkpoint(resume_from)
    if latest:
        _restore(manager.checkpoint, latest)
    distribute.check_workers_agree(strategy, trainer.step, config.run_dir)

    images, labels = data.load_arrays("train", config.data_source, digit=config.train_digit)
    images_per_step = config.batch_size * trainer.recipe.critic_steps
    steps_per_epoch = len(images) // images_per_step
    if steps_per_epoch == 0:
        raise CganError(f"--batch_size {config.batch_size} is larger than the {len(images)} training images")
    stop = Stop.of(config, images_per_step, steps_per_epoch)

    if not stop.reached(int(trainer.step.numpy()), float(seconds.numpy())):
        write_json(files.config, dict(
            dataclasses.asdict(config), train_digit=config.train_digit, recipe=dataclasses.asdict(config.recipe)
        ))
        if manager.latest_checkpoint is None:
            # The state to go back to if the very first steps diverge (a worker's copy of the chief's).
            manager.save(checkpoint_number=int(trainer.step.numpy()))

        def batches(step):
            """The training steps' inputs from `step` on: those an uninterrupted run would see."""
            dataset = data.training_dataset(images, labels, images_per_step, config.seed, skip_batches=step,
                                            step_inputs=trainer.step_inputs)
            return iter(strategy.experimental_distribute_dataset(dataset))

        _train_loop(config, trainer, batches, manager, files, seconds, steps_per_epoch, stop)
        _export_generators(trainer, files)
        save_history_plot(files.history, files.history_plot)
        grids = files.epoch_grids()
        save_gif([path for _, path in grids], [f"epoch {epoch}" for epoch, _ in grids], files.progress_gif)
    elif not all(os.path.exists(path) for path in _exports(trainer, files)):
        _export_generators(trainer, files)
    return draw_requested(config, trainer.sampler, files)


@dataclasses.dataclass(frozen=True)
class Stop:
    """When training ends: after `steps` generator steps, or once `seconds` of training have passed."""

    steps: Optional[int]  # None: only the clock decides
    seconds: Optional[float]  # None: only the step count decides

    @classmethod
    def of(cls, config, images_per_step, steps_per_epoch):
        """--steps, else the steps that see --budget_images images (the last one may overshoot by
        less than a step), else --budget_seconds, else --epochs."""
        if config.steps:
            return cls(config.steps, None)
        if config.budget_images:
            return cls(-(-config.budget_images // images_per_step), None)
        if config.budget_seconds:
            return cls(None, config.budget_seconds)
        return cls(config.epochs * steps_per_epoch, None)

    def progress(self, step, seconds):
        """How far through the budget a run at `step` after `seconds` of training is, 0 to 1."""
        done = step / self.steps if self.steps is not None else seconds / self.seconds
        return min(done, 1.0)

    def reached(self, step, seconds):
        """Whether a run at `step` after `seconds` of training is finished."""
        if self.steps is not None:
            return step >= self.steps
        return seconds >= self.seconds


def _exports(trainer, files):
    """The generator files a run exports: the sampler and, when EMA is on, the raw generator too."""
    return [files.generator] + ([files.raw_generator] if trainer.ema_generator is not None else [])


def _export_generators(trainer, files):
    models = [(trainer.sampler, files.generator)]
    if trainer.ema_generator is not None:
        models.append((trainer.generator, files.raw_generator))  # evaluate scores both, to show what EMA buys
    for model, path in models:
        with atomic_path(path) as tmp:
            model.save(tmp)


def _checkpoint_manager(checkpoint, directory, keep):
    """A CheckpointManager over `directory` that keeps the last `keep` checkpoints.

    Checkpoint files that the list does not name, which a killed process left half-saved or
    half-deleted, are deleted; a folder of checkpoint files without their list is refused
    rather than silently restarted.
    """
    try:
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)
    except Exception as error:  # the list file "checkpoint" edited or cut short (a text_format error)
        raise CganError(f"cannot read the checkpoint list in {directory}: {first_line(error)}; "
                        "restore it, or start over with --overwrite") from None
    on_disk = {}
    for path in glob.glob(os.path.join(glob.escape(directory), "ckpt-*")):
        match = re.match(r"ckpt-(\d+)", os.path.basename(path))
        if match:
            on_disk.setdefault(int(match.group(1)), []).append(path)
    if on_disk and manager.latest_checkpoint is None:
        raise CganError(f"{directory} holds checkpoint files but no readable list of them (the file 'checkpoint'); "
                        "restore it, or start over with --overwrite")
    present = [path for path in manager.checkpoints if os.path.exists(f"{path}.index")]
    if manager.latest_checkpoint and present != manager.checkpoints:  # the user deleted a broken one
        if not present:
            raise CganError(f"none of the checkpoints listed in {directory}/checkpoint exists; start over with --overwrite")
        print(f"resuming from {present[-1]}: the newest listed checkpoint whose files exist")
        tf.compat.v1.train.update_checkpoint_state(
            directory, present[-1], all_model_checkpoint_paths=present,
            all_model_checkpoint_timestamps=[time.time()] * len(present),  # without them the manager stops rotating
        )
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)
    listed = {_checkpoint_step(path) for path in manager.checkpoints}
    for number, paths in on_disk.items():
        # Unlisted: a save the process did not live to finish, or an old checkpoint it was
        # killed while deleting (TensorFlow lists the new save before it sweeps the oldest).
        if number not in listed:
            for path in paths:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    return manager


def _checkpoint_step(path):
    """The step a checkpoint was saved at: its number (ckpt-<step>)."""
    return int(path.rsplit("-", 1)[-1])


def _restore(checkpoint, path):
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except Exception as error:  # OpError (checksums, short reads), IndexError, AssertionError, ...
        raise CganError(
            f"cannot resume from {path}: {first_line(error)}; "
            f"delete {os.path.basename(path)}.* to resume from the checkpoint before it, "
            "or start over with --overwrite"
        ) from None


@contextlib.contextmanager
def _stop_requests():
    """Within the block, the first Ctrl-C (SIGINT) or SIGTERM only asks training to stop after the
    current step: the yielded list gets the signal's name. A second one acts as it usually does."""
    requested = []
    if threading.current_thread() is not threading.main_thread():
        yield requested  # Python sets signal handlers from the main thread only
        return
    previous = {number: signal.getsignal(number) or signal.SIG_DFL for number in (signal.SIGINT, signal.SIGTERM)}

    def restore_handlers():
        for number, handler in previous.items():
            signal.signal(number, handler)

    def ask_to_stop(number, frame):
        requested.append(signal.Signals(number).name)
        restore_handlers()

    for number in previous:
        signal.signal(number, ask_to_stop)
    try:
        yield requested
    finally:
        restore_handlers()


def _non_finite(metrics):
    """Words like "g_loss is nan" for the first loss that is not a finite number, else None."""
    for name, value in metrics.items():
        if not np.isfinite(value):
            return f"{name} is {value}"
    return None


def _non_finite_weights(trainer):
    """Words like "generator/dense/kernel holds NaN or infinity" naming the first weight that does, else None."""
    weights = trainer.non_finite_weights()
    if not weights:
        return None
    more = f" and {len(weights) - 1} more weights hold" if len(weights) > 1 else " holds"
    return f"{weights[0]}{more} NaN or infinity"


def _train_loop(config, trainer, batches, manager, files, seconds, steps_per_epoch, stop):
    """Runs steps until `stop`, writing history, TensorBoard, grids, scores and checkpoints.

    Every call's losses and, at every log and checkpoint, every weight are checked: a NaN or an
    infinity stops training (TrainingDiverged) with the last good checkpoint kept, or with
    --on_divergence=restore goes back to it at half the learning rate. Ctrl-C or SIGTERM saves
    a checkpoint after the current call and stops (Interrupted).

    Each call runs --steps_per_execution steps, fewer where that would pass a log, checkpoint,
    epoch end or the last step, so those come at the same steps as one step per call.
    """
    images_per_step = config.batch_size * trainer.recipe.critic_steps
    noise, labels, grid_rows = grid_inputs(config, None if config.conditional else config.train_digit)
    grid_names = row_names(config, None)
    judge = judge_for(config) if config.eval_every else None
    step = int(trainer.step.numpy())
    iterator = batches(step)
    history = History(files.history, resume_step=step)
    writer = tf.summary.create_file_writer(files.tensorboard)
    num_epochs = "?" if stop.steps is None else -(-stop.steps // steps_per_epoch)
    clock = time.time() - float(seconds.numpy())  # wall seconds of training, carried over resumes
    interval = []
    restores = 0

    def log(epoch, quality=None):
        seconds.assign(time.time() - clock)
        counts = [count for _, count in interval]  # steps per call: each call's losses are its means
        means = {k: float(np.average([m[k] for m, _ in interval], weights=counts)) for k in interval[0][0]}
        scalars = dict(means, **(quality or {}))
        history.append(dict(
            scalars, step=step, epoch=epoch, images_seen=step * images_per_step,
            seconds=round(float(seconds.numpy()), 2),
        ))
        with writer.as_default(step=step):
            for name, value in scalars.items():
                tf.summary.scalar(name, value)
        interval.clear()

    def save():
        seconds.assign(time.time() - clock)
        manager.save(checkpoint_number=step)

    def epoch_progress():
        """Prints the header of the epoch the next step belongs to; returns its progress bar."""
        epoch = step // steps_per_epoch + 1
        epoch_end = epoch * steps_per_epoch if stop.steps is None else min(epoch * steps_per_epoch, stop.steps)
        print(f"Epoch {epoch}/{num_epochs}")
        progress = keras.utils.Progbar(epoch_end - (epoch - 1) * steps_per_epoch)
        progress.update(step - (epoch - 1) * steps_per_epoch)
        return progress

    def go_back(problem):
        """Raises TrainingDiverged or, with --on_divergence=restore, restores the last good
        checkpoint at half the learning rate and returns its step."""
        kept = manager.latest_checkpoint
        if config.on_divergence == "restore" and restores < MAX_RESTORES:
            scale = trainer.learning_rate_scale.numpy()  # before the restore, which brings back the checkpoint's
            _restore(manager.checkpoint, kept)
            trainer.learning_rate_scale.assign(scale)
            rate = trainer.halve_learning_rate()
            print(f"\nstep {step}: {problem}; went back to the checkpoint of step {int(trainer.step.numpy())} "
                  f"with the learning rate halved to {rate:.3g}")
            return int(trainer.step.numpy())
        again = f" again after {restores} restores, each at half the learning rate" if restores else ""
        hint = "" if restores else "; --on_divergence=restore resumes it at half the learning rate"
        raise TrainingDiverged(
            f"training diverged at step {step}{again}: {problem}; kept the last good checkpoint, {kept}{hint}"
        )

    try:
        with _stop_requests() as requested:
            progress = epoch_progress()
            while True:
                trainer.set_progress(stop.progress(step, time.time() - clock))  # once per call
                count = _steps_in_call(step, config, steps_per_epoch, stop)
                metrics = {k: float(v) for k, v in trainer.train_step(iterator, count).items()}
                step += count
                epoch = (step - 1) // steps_per_epoch + 1
                interval.append((metrics, count))
                progress.update(step - (epoch - 1) * steps_per_epoch, list(metrics.items()))
                finished = stop.reached(step, time.time() - clock)
                epoch_done = finished or step % steps_per_epoch == 0
                checkpoint_due = epoch_done or step % config.checkpoint_every == 0 or bool(requested)
                problem = _non_finite(metrics)
                if problem is None and (checkpoint_due or step % config.log_every == 0):
                    problem = _non_finite_weights(trainer)
                if problem:
                    step = go_back(problem)
                    restores += 1
                    iterator, history = batches(step), History(files.history, resume_step=step)
                    interval.clear()
                    progress = epoch_progress()
                    continue
                if epoch_done:
                    quality = None
                    if judge is not None and (epoch % config.eval_every == 0 or finished):
                        scoring_started = time.time()
                        quality = _quality_scalars(score_generator(config, trainer.sampler, judge))
                        clock += time.time() - scoring_started  # scoring time is not training time
                        print("  quality: " + ", ".join(f"{k} {v:.4g}" for k, v in quality.items()))
                    log(epoch, quality)
                    save_grid(draw(trainer.sampler, noise, labels), grid_rows, files.epoch_grid(epoch), grid_names)
                elif step % config.log_every == 0:
                    log(epoch)
                if checkpoint_due:
                    save()
                if finished:  # a stop asked for at the last step: finishing is quicker than resuming
                    break
                if requested:
                    raise Interrupted(f"stopped at step {step} by {requested[0]}; saved {manager.latest_checkpoint}; "
                                      "run the same command to resume")
                if epoch_done:
                    progress = epoch_progress()
    finally:
        writer.flush()
        iterator = None  # freed now, not whenever the traceback of a stop is: live at exit, tf.data can hang


def _steps_in_call(step, config, steps_per_epoch, stop):
    """How many steps the call from `step` runs: --steps_per_execution, cut at the next log,
    checkpoint, epoch end or (with a step budget) the last step."""
    cadences = (config.log_every, config.checkpoint_every, steps_per_epoch)
    limits = [config.steps_per_execution] + [every - step % every for every in cadences]
    if stop.steps is not None:
        limits.append(stop.steps - step)
    return min(limits)


def judge_for(config):
    """The cached judge of config's dataset (trained first if missing)."""
    from cgan import evaluation  # imported late: training without scores never needs it

    return evaluation.load_judge(config.data_source)


def score_generator(config, generator, judge):
    """The judge's scores for config.eval_samples images from `generator`."""
    from cgan import evaluation

    images, labels = sample_set(config, generator, config.eval_samples, digit=None)
    return evaluation.score(judge, images, labels)


def _quality_scalars(scores):
    """The figures history.csv keeps over time: FID, IS, and accuracy or digit coverage."""
    keep = ("fid", "inception_score", "precision", "recall", "accuracy", "digits_below_5_percent")
    return {name: float(scores[name]) for name in keep if name in scores}


def load_generator(config, raw=False):
    """The exported generator of a finished run (Keras safe mode: no arbitrary code); with `raw`,
    the generator before weight averaging, which a run with EMA exports beside it."""
    files = RunFiles(config.run_dir)
    path = files.raw_generator if raw else files.generator
    if not os.path.exists(path):
        if raw:
            raise CganError(f"no raw generator in {files.dir}: only runs trained with --ema > 0 have one")
        raise CganError(f"no trained generator in {files.dir}; train it first with --mode=train")
    check_same_model(config, files)
    remedy = "delete it and run --mode=train with the same flags to export it again from the last checkpoint"
    if not zipfile.is_zipfile(path):  # Keras would call a cut-short file "not found"
        raise CganError(f"cannot load {path}: not a whole .keras (zip) file, truncated?; {remedy}")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # a tampered file, or one asking to run code: report it, never retrain silently
        raise CganError(f"cannot load {path}: {first_line(error)}; {remedy}") from None


def generate(config):
    """Draws the requested grid from a trained run and, with --export, writes an .npz of samples.

    Returns the paths written.
    """
    data.check_label(config.data_source, config.digit)
    files = RunFiles(config.run_dir)
    with locked_folder(files.dir):  # not while a run is replacing the generator
        generator = load_generator(config)
        written = [draw_requested(config, generator, files)]
        if config.export:
            written += export_samples(config, generator, config.export)
    return written


def sample_set(config, generator, count, digit):
    """`count` fresh samples: images uint8 (N, H, W, C) and labels (conditional) or None.

    A conditional model without `digit` draws the digits in their training-set shares, in
    label order: scored against real digits, equal shares would cost FID that is no fault of
    the generator (0.250 instead of 0.197 for real test digits resampled to equal shares).
    """
    rng = np.random.default_rng(config.seed + 1)  # not the grid's noise: fresh samples
    noise = rng.standard_normal((count, config.latent_dim)).astype(np.float32)
    if not config.conditional:
        labels = np.zeros(count, np.int32)
    elif digit is None:
        labels = data.labels_in_proportion(count, data.label_shares(config.data_source))
    else:
        labels = np.full(count, digit, np.int32)
    images = draw(generator, noise, labels)
    return images, (labels.astype(np.int64) if config.conditional else None)


def export_samples(config, generator, path):
    """Writes `images` uint8 (N, H, W), or (N, H, W, 3) in colour, and, for a conditional model,
    `labels` int (N,) to .npz.

    With export_format npz_and_png, also a folder beside it (the path without .npz)
    with one PNG per image, for tools such as torch-fidelity or clean-fid.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CganError(f"--export {path!r}: folder {directory} does not exist")
    images, labels = sample_set(config, generator, config.num_samples, config.digit)
    if images.shape[-1] == 1:
        images = images[..., 0]  # grayscale as (N, H, W), as MNIST is stored
    arrays = dict(images=images) if labels is None else dict(images=images, labels=labels)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    written = [path]
    if config.export_format == "npz_and_png":
        written.append(_export_pngs(images, labels, path[: -len(".npz")]))
    return written


def _export_pngs(images, labels, folder):
    import matplotlib.image

    os.makedirs(folder, exist_ok=True)
    for index, image in enumerate(images):
        suffix = "" if labels is None else f"_digit{labels[index]}"
        with atomic_path(os.path.join(folder, f"{index:06d}{suffix}.png")) as tmp:
            matplotlib.image.imsave(tmp, image, cmap="gray", vmin=0, vmax=255, format="png")  # cmap: gray only
    return folder


def read_samples(path, spec):
    """Reads an .npz in the export format for images of `spec`'s dataset; anything else is refused with one line."""
    try:
        with np.load(path) as stored:
            images = stored["images"]
            labels = stored["labels"] if "labels" in stored else None
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise CganError(f"--samples {path!r} is not a readable .npz with an 'images' array ({error})") from None
    height, width, channels = spec.image_shape
    shape = (height, width) if channels == 1 else (height, width, channels)
    if images.dtype != np.uint8 or images.shape[1:] != shape:
        wanted = ", ".join(map(str, ("N",) + shape))
        raise CganError(f"--samples {path!r}: 'images' must be uint8 ({wanted}) for {spec.name}, "
                        f"got {images.dtype} {images.shape}")
    if labels is not None and (labels.shape != (len(images),) or labels.min() < 0 or labels.max() >= spec.num_classes):
        raise CganError(f"--samples {path!r}: 'labels' must be N integers in 0..{spec.num_classes - 1}")
    return images, labels


def evaluate(config, judge=None):
    """Scores a trained run (or --samples FILE.npz) with the judge (loaded if not given), beside
    the real-data floor.

    A run trained with EMA is scored twice: the averaged generator (the main figures) and
    the raw one (under the key "raw"). Writes metrics.json (and confusion_matrix.png when
    labels are known) and returns (metrics, paths written).
    """
    files = None if config.samples else RunFiles(config.run_dir)
    with contextlib.nullcontext() if files is None else locked_folder(files.dir):  # not while a run replaces G
        return _evaluate(config, files, judge)


def _evaluate(config, files, judge):
    from cgan import evaluation

    raw_samples = None
    if files is None:
        samples = read_samples(config.samples, data.spec(config.data_source))
        stem = os.path.splitext(config.samples)[0]
        metrics_path, matrix_path = f"{stem}.metrics.json", f"{stem}.confusion_matrix.png"
    else:
        samples = sample_set(config, load_generator(config), config.eval_samples, digit=None)
        if os.path.exists(files.raw_generator):
            raw_samples = sample_set(config, load_generator(config, raw=True), config.eval_samples, digit=None)
        metrics_path, matrix_path = files.metrics, files.confusion_matrix
    judge = judge or judge_for(config)  # after the samples: a missing run fails before the judge loads
    metrics = evaluation.score(judge, *samples)
    if raw_samples is not None:
        metrics["raw"] = evaluation.score(judge, *raw_samples)
    metrics.update(dataset=config.dataset, judge_accuracy=judge.accuracy, floor=evaluation.real_floor(judge))
    write_json(metrics_path, metrics)
    written = [metrics_path]
    if "confusion_matrix" in metrics:  # the samples had labels: a conditional model or a labelled file
        evaluation.save_confusion_matrix_png(metrics["confusion_matrix"], matrix_path,
                                             data.spec(config.data_source).class_names)
        written.append(matrix_path)
    return metrics, written


def metrics_table(metrics):
    """A plain-text table: each figure beside the same figure for real held-out images (and,
    for a run with EMA, beside the raw generator's)."""
    rows = [("FID", "fid"), ("Inception Score", "inception_score"), ("KID", "kid"),
            ("precision", "precision"), ("recall", "recall")]
    rows.append(("accuracy", "accuracy") if "accuracy" in metrics else ("digits below 5%", "digits_below_5_percent"))
    columns = [("samples", metrics)]
    if "raw" in metrics:
        columns = [("EMA G", metrics), ("raw G", metrics["raw"])]
    columns.append(("real images", metrics["floor"]))
    lines = [f"{'metric':<17}" + "".join(f"{title:>14}" for title, _ in columns)]
    for title, key in rows:
        lines.append(f"{title:<17}" + "".join(f"{source.get(key, float('nan')):>14.4g}" for _, source in columns))
    lines.append(f"(judge: {metrics['judge_accuracy']:.2%} accurate on the {metrics.get('dataset', 'mnist')} test set; "
                 f"{metrics['num_images']} samples scored)")
    return "\n".join(lines)
