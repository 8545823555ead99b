"""Train mode: trains (or resumes, or reuses) a run, exports its generator and draws from it."""

import dataclasses
import os
import tempfile

import keras
import tensorflow as tf

from cgan import checkpoints, data, distribute, registry, runfolder, runtime, sampling
from cgan.callbacks import Checkpointer, EpochGrids, KerasCallbacks, Logger, ProgressBar, Scorer
from cgan.context import resolve
from cgan.curves import save_history_plot
from cgan.errors import CganError, ContractError
from cgan.files import atomic_path, locked_folder, remove_leftovers
from cgan.generator import Generator
from cgan.judge import load_judge
from cgan.loop import Cadence, Clock, Stop, train_loop
from cgan.plotting import save_gif
from cgan.runfolder import RunFiles
from cgan.trainer import GANTrainer


def build_trainer(context):
    """Builds the architecture's two networks (in --mixed_precision's compute type) and the
    shared trainer under the context's strategy."""
    config, strategy = context.config, context.strategy
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise CganError(
            f"--batch_size {config.batch_size} does not split evenly over {replicas} replicas"
        )
    if context.recipe.mode_seeking and config.batch_size // replicas % 2:
        raise CganError(
            f"--mode_seeking compares pairs of examples: --batch_size {config.batch_size} "
            f"leaves an odd number on each of {replicas} replica(s); give an even share, "
            "or --mode_seeking=0"
        )
    group = context.recipe.minibatch_stddev
    if group and config.batch_size // replicas % (2 * group):
        raise CganError(
            f"--minibatch_stddev takes groups of {group} from blocks of {2 * group} rows: "
            f"--batch_size {config.batch_size} leaves {config.batch_size // replicas} on each of "
            f"{replicas} replica(s), not a multiple of {2 * group}"
        )
    architecture = registry.get(config.arch)
    with runtime.compute_dtype(config.mixed_precision), strategy.scope():
        generator, discriminator = architecture.networks(
            context.spec.image_shape, config.latent_dim, context.num_classes, context.recipe
        )
    return GANTrainer(
        generator,
        discriminator,
        context.recipe,
        global_batch_size=config.batch_size,
        strategy=strategy,
        seed=config.seed,
        jit_compile=config.jit_compile,
    )


def train(config, callbacks=()):
    """Trains (or resumes, or reuses) the run in config.run_dir, then draws what config.draw asks;
    `callbacks`: keras.callbacks.Callback objects called as training goes (KerasCallbacks).

    Returns the path of the picture. A finished run is not retrained: only drawn from. The
    folder is locked for the whole call: a second run into it is refused.

    In a multi-worker run only the chief writes the run folder; the other workers train beside
    it, resume from its latest checkpoint, write their own copies into a temporary folder that
    is deleted after, and return None.
    """
    runtime.configure(config)  # the process-wide settings, in case the caller has not made them
    # The strategy first: a multi-worker strategy must precede any other op.
    strategy = distribute.make_strategy(config.strategy)
    context = resolve(config, strategy)
    data.check_label(context.source, config.digit)
    if not distribute.writes_files(strategy):
        with tempfile.TemporaryDirectory(prefix="cgan-worker-") as folder:
            resume_from = None if config.overwrite else context.files.checkpoints
            _train_locked(
                dataclasses.replace(context, files=RunFiles(folder)), callbacks, resume_from
            )
        return None
    files = context.files
    with locked_folder(files.dir):
        if config.overwrite:
            files.clear()
        runfolder.check_same_model(context, training=True)
        remove_leftovers(files.dir)  # temporary files of a killed run: nobody else writes here
        fresh = not os.path.exists(files.config)
        try:
            return _train_locked(context, callbacks)
        except ContractError:
            if fresh:  # the user's code failed at its first step: keep no half-made run
                files.clear()
            raise


def _train_locked(context, callbacks, resume_from=None):
    """Trains in the context's folder, resuming from its latest checkpoint or, when given, from
    the latest one in the folder `resume_from` (a multi-worker chief's)."""
    config, files = context.config, context.files
    keras.utils.set_random_seed(config.seed)
    trainer = build_trainer(context)
    seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="seconds")
    manager = checkpoints.open_manager(
        trainer.checkpoint(seconds=seconds), files.checkpoints, config.keep_checkpoints
    )
    latest = (
        manager.latest_checkpoint
        if resume_from is None
        else tf.train.latest_checkpoint(resume_from)
    )
    if latest:
        checkpoints.restore(manager.checkpoint, latest)
    distribute.check_workers_agree(context.strategy, trainer.step, config.run_dir)

    images, labels = data.load_arrays("train", context.source, digit=context.train_digit)
    images_per_step = config.batch_size * trainer.recipe.critic_steps
    steps_per_epoch = len(images) // images_per_step
    if steps_per_epoch == 0:
        raise CganError(
            f"--batch_size {config.batch_size} is larger than the {len(images)} training images"
        )
    stop = Stop.of(config, images_per_step, steps_per_epoch)

    step = int(trainer.step.numpy())
    if not stop.reached(step, float(seconds.numpy())):
        if latest and step and config.verbose:
            goal = f"{stop.steps} steps" if stop.steps is not None else f"{stop.seconds:g} s"
            print(f"resuming from step {step} (of {goal}), checkpoint {latest}")
        runfolder.write_run_json(
            context, trainer.generator.dtype_policy.name, runtime.op_determinism()
        )
        if manager.latest_checkpoint is None:
            # The state to go back to if the very first steps diverge
            # (a worker's copy of the chief's).
            checkpoints.save(manager, int(trainer.step.numpy()))

        def batches(step):
            """The training steps' inputs from `step` on: those an uninterrupted run would see."""
            dataset = data.training_dataset(
                images,
                labels,
                images_per_step,
                config.seed,
                skip_batches=step,
                step_inputs=trainer.step_inputs,
            )
            return iter(context.strategy.experimental_distribute_dataset(dataset))

        clock = Clock(seconds)
        train_loop(
            trainer,
            batches,
            manager,
            stop,
            Cadence.of(config, steps_per_epoch),
            clock,
            _callbacks(context, trainer, manager, clock, stop, steps_per_epoch, callbacks),
            config.on_divergence,
        )
        _export_generators(context, trainer)
        save_history_plot(files.history, files.history_plot)
        grids = files.epoch_grids()
        save_gif(
            [path for _, path in grids],
            [f"epoch {epoch}" for epoch, _ in grids],
            files.progress_gif,
        )
    elif not all(os.path.exists(path) for path in _exports(trainer, files)):
        _export_generators(context, trainer)
    return sampling.draw_requested(context, trainer.sampler)


def _callbacks(context, trainer, manager, clock, stop, steps_per_epoch, users):
    """The loop's per-interval work, in the order it runs: the progress bar, scores (with
    --eval_every), the users' Keras callbacks (which see the scores), the log row that carries
    both, the epoch's grid, the checkpoint."""
    config = context.config
    callbacks = [ProgressBar(stop, steps_per_epoch)] if config.verbose else []
    if config.eval_every:
        judge = load_judge(context.source, verbose=int(config.verbose))
        callbacks.append(Scorer(context, trainer.sampler, judge, clock, config.eval_every))
    users = [*users, *(registry.CALLBACKS.get(name)() for name in config.callbacks)]
    if users:
        callbacks.append(KerasCallbacks(users, trainer.generator, steps_per_epoch, stop))
    logger = Logger(context.files, clock, config.batch_size * trainer.recipe.critic_steps)
    return callbacks + [
        logger,
        EpochGrids(context, trainer.sampler, logger),
        Checkpointer(manager, clock),
    ]


def _exports(trainer, files):
    """The generator files a run exports: the sampler with its facts (cgan.generator) and, when
    EMA is on, the raw generator too."""
    raw = [files.raw_generator] if trainer.ema_generator is not None else []
    return [files.generator, files.generator_facts] + raw


def _export_generators(context, trainer):
    files = context.files
    step = int(trainer.step.numpy())
    Generator.of(trainer.sampler, context, step).save(files.generator)
    if trainer.ema_generator is not None:  # evaluate scores both, to show what EMA buys
        with atomic_path(files.raw_generator) as tmp:
            trainer.generator.save(tmp)
