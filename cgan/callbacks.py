"""The training loop's per-interval work, one small callback each: the progress bar, history.csv
and TensorBoard, the judge's scores, the per-epoch grid and checkpoints."""

import keras
import numpy as np
import tensorflow as tf

from cgan import checkpoints, sampling, scores
from cgan.errors import CganError
from cgan.history import History
from cgan.loop import Callback
from cgan.plotting import save_grid, tile


class ProgressBar(Callback):
    """An "Epoch k/n" header and a Keras progress bar per epoch."""

    def __init__(self, stop, steps_per_epoch):
        self.stop, self.steps_per_epoch = stop, steps_per_epoch
        self.epochs = "?" if stop.steps is None else -(-stop.steps // steps_per_epoch)
        self.bar = None

    def on_epoch_begin(self, step):
        epoch = step // self.steps_per_epoch + 1
        first = (epoch - 1) * self.steps_per_epoch
        last = (
            epoch * self.steps_per_epoch
            if self.stop.steps is None
            else min(epoch * self.steps_per_epoch, self.stop.steps)
        )
        print(f"Epoch {epoch}/{self.epochs}")
        self.bar = keras.utils.Progbar(last - first)
        self.bar.update(step - first)

    def on_call(self, event):
        self.bar.update(
            event.step - (event.epoch - 1) * self.steps_per_epoch, list(event.metrics.items())
        )


class Logger(Callback):
    """A history.csv row and TensorBoard scalars per interval: the losses averaged over the
    interval's steps, and whatever figures earlier callbacks added to the event (scores)."""

    def __init__(self, files, clock, images_per_step):
        self.files, self.clock, self.images_per_step = files, clock, images_per_step
        self.interval = []  # (a call's mean losses, its steps) since the last row
        self.history = self.writer = None

    def on_start(self, step):
        self.history = History(self.files.history, resume_step=step)
        self.writer = tf.summary.create_file_writer(self.files.tensorboard)

    def on_restore(self, step):
        self.history = History(
            self.files.history, resume_step=step
        )  # rows past the restored step go
        self.interval.clear()

    def on_call(self, event):
        self.interval.append((event.metrics, event.steps))

    def on_epoch_end(self, event):
        self.on_log(event)

    def on_log(self, event):
        seconds = self.clock.sync()
        counts = [
            count for _, count in self.interval
        ]  # steps per call: each call's losses are its means
        means = {
            k: float(np.average([m[k] for m, _ in self.interval], weights=counts))
            for k in self.interval[0][0]
        }
        values = dict(means, **event.scalars)
        self.history.append(
            dict(
                values,
                step=event.step,
                epoch=event.epoch,
                images_seen=event.step * self.images_per_step,
                seconds=round(seconds, 2),
            )
        )
        with self.writer.as_default(step=event.step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        self.interval.clear()

    def on_close(self):
        if self.writer is not None:
            self.writer.flush()


class Scorer(Callback):
    """The judge's scores of the generator every `every` epochs and at the end, added to the
    epoch's log row; the clock is paused meanwhile, as scoring is not training."""

    def __init__(self, context, generator, judge, clock, every):
        self.context, self.generator, self.judge, self.clock, self.every = (
            context,
            generator,
            judge,
            clock,
            every,
        )

    def on_epoch_end(self, event):
        if event.epoch % self.every and not event.finished:
            return
        with self.clock.paused():
            config = self.context.config
            images, labels = sampling.sample_set(
                self.context, self.generator, config.eval_samples, digit=None
            )
            judged = scores.score(self.judge, images, labels, progress=config.verbose)
            quality = scores.quality_scalars(judged)
            if config.verbose:
                print("  quality: " + ", ".join(f"{k} {v:.4g}" for k, v in quality.items()))
        event.scalars.update(quality)


class EpochGrids(Callback):
    """image_at_epoch_<k>.png: the same fixed noise drawn at every epoch end (and every resume),
    also shown in TensorBoard (as "samples") through the logger's writer."""

    def __init__(self, context, generator, logger):
        self.files, self.generator, self.logger = context.files, generator, logger
        self.noise, self.labels, self.rows = sampling.grid_inputs(context, context.train_digit)
        self.names = sampling.row_names(context, None)

    def on_epoch_end(self, event):
        images = sampling.draw(self.generator, self.noise, self.labels)
        save_grid(images, self.rows, self.files.epoch_grid(event.epoch), self.names)
        with self.logger.writer.as_default(step=event.step):
            tf.summary.image("samples", tile(images, self.rows)[None], max_outputs=1)


class Checkpointer(Callback):
    """Saves a checkpoint (with the clock's seconds) whenever the loop says one is due."""

    def __init__(self, manager, clock):
        self.manager, self.clock = manager, clock

    def on_checkpoint(self, event):
        self.clock.sync()
        checkpoints.save(self.manager, event.step)


class KerasCallbacks(Callback):
    """Users' keras.callbacks.Callback objects, called as Keras's fit calls them: train begin and
    end, epoch begin and end (epochs from 0), batch end after every train call, with the losses
    in `logs`. A number a callback puts into the epoch end's `logs` joins that epoch's history.csv
    row and TensorBoard; `self.model.stop_training = True` (as EarlyStopping sets it) ends
    training after the call, with a checkpoint and a log row. `self.model` is the generator."""

    def __init__(self, callbacks, model, steps_per_epoch, stop):
        self.callbacks, self.model, self.steps_per_epoch = list(callbacks), model, steps_per_epoch
        epochs = None if stop.steps is None else -(-stop.steps // steps_per_epoch)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(dict(epochs=epochs, steps=steps_per_epoch, verbose=0))
        self.epoch_losses = []

    def _notify(self, method, *args):
        for callback in self.callbacks:
            getattr(callback, method)(*args)

    def on_start(self, step):
        self.model.stop_training = False
        self._notify("on_train_begin", {})

    def on_epoch_begin(self, step):
        self.epoch_losses = []
        self._notify("on_epoch_begin", step // self.steps_per_epoch, {})

    def on_call(self, event):
        self.epoch_losses.append((event.metrics, event.steps))
        batch = (event.step - 1) % self.steps_per_epoch
        self._notify("on_train_batch_end", batch, dict(event.metrics))
        if self.model.stop_training and not event.stop:
            event.stop = True
            self._notify("on_train_end", dict(event.metrics))

    def on_epoch_end(self, event):
        counts = [count for _, count in self.epoch_losses]
        logs = {
            name: float(
                np.average([losses[name] for losses, _ in self.epoch_losses], weights=counts)
            )
            for name in event.metrics
        }
        logs.update(event.scalars)  # the scores, for a callback that watches them
        self._notify("on_epoch_end", event.epoch - 1, logs)
        for name, value in logs.items():
            if name not in event.metrics:
                event.scalars[name] = _scalar(name, value)
        if event.finished or self.model.stop_training and not event.stop:
            event.stop = event.stop or self.model.stop_training
            self._notify("on_train_end", logs)


def _scalar(name, value):
    """A callback's figure as a float for history.csv and TensorBoard; anything else is refused in
    one line."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CganError(
            f"a callback put {name}={value!r} into the epoch's logs: only numbers can be logged"
        ) from None
