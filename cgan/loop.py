"""The training loop: train calls until the budget is spent, at the Config's cadences, with the
divergence guard and a clean stop on Ctrl-C or SIGTERM; the per-interval work (logging,
checkpoints, grids, scores) is plugged in as callbacks (cgan.callbacks)."""

import contextlib
import dataclasses
import signal
import threading
import time
from typing import Optional

import numpy as np

from cgan import checkpoints
from cgan.errors import Interrupted, TrainingDiverged

# --on_divergence=restore gives up at 1/32 of the learning rate: by then the rate is not the cause.
MAX_RESTORES = 5


@dataclasses.dataclass(frozen=True)
class Stop:
    """When training ends: after `steps` generator steps, or once `seconds` of training have
    passed."""

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


@dataclasses.dataclass(frozen=True)
class Cadence:
    """Every how many steps the loop's events come, and how many steps one call may run."""

    steps_per_epoch: int
    log_every: int
    checkpoint_every: int
    steps_per_execution: int = 1

    @classmethod
    def of(cls, config, steps_per_epoch):
        return cls(
            steps_per_epoch, config.log_every, config.checkpoint_every, config.steps_per_execution
        )

    def steps_in_call(self, step, stop):
        """How many steps the call from `step` runs: steps_per_execution, cut at the next log,
        checkpoint, epoch end or (with a step budget) the last step, so that those come at the
        same steps as with one step per call."""
        cadences = (self.log_every, self.checkpoint_every, self.steps_per_epoch)
        limits = [self.steps_per_execution] + [every - step % every for every in cadences]
        if stop.steps is not None:
            limits.append(stop.steps - step)
        return min(limits)

    def epoch(self, step):
        """The epoch step `step` belongs to, from 1."""
        return (step - 1) // self.steps_per_epoch + 1


class Clock:
    """Wall seconds of training, carried over resumes in a checkpointed tf.Variable; time spent
    in `paused()` (scoring) does not count."""

    def __init__(self, seconds):
        self.variable = seconds
        self._start = time.time() - float(seconds.numpy())

    def elapsed(self):
        return time.time() - self._start

    def sync(self):
        """Writes the elapsed seconds into the variable (before a log row or a checkpoint)."""
        self.variable.assign(self.elapsed())
        return float(self.variable.numpy())

    @contextlib.contextmanager
    def paused(self):
        started = time.time()
        try:
            yield
        finally:
            self._start += time.time() - started


@dataclasses.dataclass
class Event:
    """What the loop tells its callbacks after a train call."""

    step: int  # steps done
    epoch: int  # the epoch of the last step
    metrics: dict  # the call's mean losses
    steps: int  # steps the call ran
    finished: bool  # the budget is spent
    scalars: dict = dataclasses.field(default_factory=dict)  # figures callbacks add to the log row
    stop: bool = False  # a callback asks training to end after this call


class Callback:
    """Per-interval work the loop calls, in list order; every method is optional."""

    def on_start(self, step):
        """Before the first call, from `step` (a resume starts past 0)."""

    def on_restore(self, step):
        """The divergence guard went back to the checkpoint of `step`."""

    def on_epoch_begin(self, step):
        """At the start, after each epoch end and after a restore: the next step opens an epoch."""

    def on_call(self, event):
        """After every train call."""

    def on_epoch_end(self, event):
        """At each epoch's last step (and the budget's)."""

    def on_log(self, event):
        """Every log_every steps that do not end an epoch."""

    def on_checkpoint(self, event):
        """At each epoch end, every checkpoint_every steps and when a stop is asked for."""

    def on_close(self):
        """When the loop ends, however it ends."""


def train_loop(trainer, batches, manager, stop, cadence, clock, callbacks, on_divergence="stop"):
    """Runs train calls on `batches(step)` (the step inputs from `step` on) until `stop`, calling
    `callbacks` at their events.

    Every call's losses and, at every log and checkpoint, every weight are checked: a NaN or an
    infinity stops training (TrainingDiverged) with the last good checkpoint in `manager` kept,
    or with on_divergence="restore" goes back to it at half the learning rate. Ctrl-C or
    SIGTERM stops after the current call and its checkpoint (Interrupted).
    """
    step = int(trainer.step.numpy())
    iterator = batches(step)
    restores = 0

    def notify(method, *args):
        for callback in callbacks:
            getattr(callback, method)(*args)

    notify("on_start", step)
    try:
        with stop_requests() as requested:
            notify("on_epoch_begin", step)
            while True:
                trainer.set_progress(stop.progress(step, clock.elapsed()))  # once per call
                count = cadence.steps_in_call(step, stop)
                metrics = {k: float(v) for k, v in trainer.train_step(iterator, count).items()}
                step += count
                event = Event(
                    step, cadence.epoch(step), metrics, count, stop.reached(step, clock.elapsed())
                )
                notify("on_call", event)
                epoch_done = event.finished or step % cadence.steps_per_epoch == 0
                checkpoint_due = (
                    epoch_done
                    or step % cadence.checkpoint_every == 0
                    or bool(requested)
                    or event.stop
                )
                problem = non_finite(metrics)
                if problem is None and (checkpoint_due or step % cadence.log_every == 0):
                    problem = non_finite_weights(trainer)
                if problem:
                    step = _go_back(trainer, manager, step, problem, on_divergence, restores)
                    restores += 1
                    iterator = batches(step)
                    notify("on_restore", step)
                    notify("on_epoch_begin", step)
                    continue
                if epoch_done:
                    notify("on_epoch_end", event)
                elif step % cadence.log_every == 0 or event.stop:
                    notify("on_log", event)
                if checkpoint_due or event.stop:
                    notify("on_checkpoint", event)
                # A stop asked for at the last step: finishing is quicker than resuming.
                if event.finished or event.stop:
                    break
                if requested:
                    raise Interrupted(
                        f"stopped at step {step} by {requested[0]}; "
                        f"saved {manager.latest_checkpoint}; run the same command to resume"
                    )
                if epoch_done:
                    notify("on_epoch_begin", step)
    finally:
        notify("on_close")
        # Freed now, not whenever the traceback of a stop is: live at exit, tf.data can hang.
        iterator = None


def _go_back(trainer, manager, step, problem, on_divergence, restores):
    """Raises TrainingDiverged or, with on_divergence="restore", restores the last good
    checkpoint at half the learning rate and returns its step."""
    kept = manager.latest_checkpoint
    if on_divergence == "restore" and restores < MAX_RESTORES:
        scale = (
            trainer.learning_rate_scale.numpy()
        )  # before the restore, which brings back the checkpoint's
        checkpoints.restore(manager.checkpoint, kept)
        trainer.learning_rate_scale.assign(scale)
        rate = trainer.halve_learning_rate()
        print(
            f"\nstep {step}: {problem}; went back to the checkpoint of step "
            f"{int(trainer.step.numpy())} with the learning rate halved to {rate:.3g}"
        )
        return int(trainer.step.numpy())
    again = f" again after {restores} restores, each at half the learning rate" if restores else ""
    hint = "" if restores else "; --on_divergence=restore resumes it at half the learning rate"
    raise TrainingDiverged(
        f"training diverged at step {step}{again}: {problem}; "
        f"kept the last good checkpoint, {kept}{hint}"
    )


@contextlib.contextmanager
def stop_requests():
    """Within the block, the first Ctrl-C (SIGINT) or SIGTERM only asks training to stop after the
    current step: the yielded list gets the signal's name. A second one acts as it usually does."""
    requested = []
    if threading.current_thread() is not threading.main_thread():
        yield requested  # Python sets signal handlers from the main thread only
        return
    previous = {
        number: signal.getsignal(number) or signal.SIG_DFL
        for number in (signal.SIGINT, signal.SIGTERM)
    }

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


def non_finite(metrics):
    """Words like "g_loss is nan" for the first loss that is not a finite number, else None."""
    for name, value in metrics.items():
        if not np.isfinite(value):
            return f"{name} is {value}"
    return None


def non_finite_weights(trainer):
    """Words like "generator/dense/kernel holds NaN or infinity" naming the first weight that
    does, else None."""
    weights = trainer.non_finite_weights()
    if not weights:
        return None
    more = f" and {len(weights) - 1} more weights hold" if len(weights) > 1 else " holds"
    return f"{weights[0]}{more} NaN or infinity"
