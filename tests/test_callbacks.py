"""Users' Keras callbacks in cgan.train: called as Keras's fit calls them, their figures logged in
history.csv and TensorBoard, stop_training honoured with a checkpoint to resume from."""

import glob
import json
import os

import keras
import pytest
import tensorflow as tf

import cgan
from cgan import history
from cgan.errors import CganError

BATCH, STEPS_PER_EPOCH = 64, 21  # 1,350 synthetic training images


class Recorder(keras.callbacks.Callback):
    """Writes down every call and adds a figure of its own to each epoch's logs."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.calls, self.stop_at, self.epoch = [], stop_at, None

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", self.epoch, batch, sorted(logs)))
        if (self.epoch, batch) == self.stop_at:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))
        logs["sharpness"] = 10.0 * epoch + 1.5

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def _train(folder, dataset, callbacks, steps):
    return cgan.train(
        arch="cgan_fast",
        dataset=dataset,
        steps=steps,
        batch_size=BATCH,
        log_every=7,
        output_dir=str(folder),
        callbacks=callbacks,
        verbose=False,
    )


def _tensorboard_scalars(folder, tag):
    values = {}
    for path in glob.glob(os.path.join(folder, "tensorboard", "**", "events.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


def test_callbacks_are_called_as_fit_calls_them_their_figures_logged_and_stop_obeyed(
    tmp_path, synthetic_digits
):
    recorder = Recorder(stop_at=(1, 4))
    _train(tmp_path, synthetic_digits, [recorder], steps=2 * STEPS_PER_EPOCH)
    # the losses, and each active term's mean (cgan_fast: the class head and mode seeking)
    losses = ["class_fake", "class_real", "d_accuracy", "d_loss", "g_loss", "mode_seeking"]
    batches = [("batch_end", 0, b, losses) for b in range(STEPS_PER_EPOCH)]
    assert recorder.calls == (
        [("train_begin",), ("epoch_begin", 0), *batches, ("epoch_end", 0, losses)]
        + [("epoch_begin", 1), *[("batch_end", 1, b, losses) for b in range(5)], ("train_end",)]
    )
    assert recorder.model.name == "cgan_fast_generator"  # the live generator
    # The epoch-end row carries the callback's figure; the stop at step 26 leaves a row and a
    # checkpoint to resume from.
    rows = history.read(os.path.join(tmp_path, "history.csv"))
    assert {int(r["step"]): r["sharpness"] for r in rows} == {7: "", 14: "", 21: "1.5", 26: ""}
    assert all(float(row["mode_seeking"]) > 0 for row in rows)  # a term's mean, logged too
    assert _tensorboard_scalars(tmp_path, "sharpness") == {21: 1.5}
    checkpoint = tf.train.latest_checkpoint(os.path.join(tmp_path, "checkpoints"))
    assert checkpoint.endswith("ckpt-26")


@pytest.mark.parametrize(
    "callbacks, message",
    [
        ([42], "expected keras.callbacks.Callback objects or registered names, got 42"),
        (["nobody_registered_this"], "--callbacks: unknown callback 'nobody_registered_this'"),
        (
            [keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: logs.update(note="hi"))],
            "a callback put note='hi' into the epoch's logs: only numbers can be logged",
        ),
    ],
)
def test_a_callback_that_breaks_the_contract_is_refused_in_one_line(
    tmp_path, synthetic_digits, callbacks, message
):
    with pytest.raises(CganError, match=message):
        _train(tmp_path, synthetic_digits, callbacks, steps=1)  # the budget's end ends an epoch


PLUGIN = """
import keras
import cgan


@cgan.register_callback("brightness_logger")
class BrightnessLogger(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["brightness"] = 0.25 + epoch
"""


def test_a_registered_callback_runs_from_the_command_line_with_its_plugin(
    tmp_path, synthetic_digits, capfd, monkeypatch
):
    from conftest import run_in_process

    from cgan import registry

    monkeypatch.setattr(registry.CALLBACKS, "_entries", dict(registry.CALLBACKS._entries))
    plugin = tmp_path / "my_callbacks.py"
    plugin.write_text(PLUGIN)
    out = tmp_path / "run"
    result = run_in_process(
        capfd, f"--import={plugin}", "--callbacks=brightness_logger", "--arch=cgan_fast",
        f"--dataset={synthetic_digits}", f"--steps={STEPS_PER_EPOCH}", f"--batch_size={BATCH}",
        "--log_every=7", f"--output_dir={out}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = history.read(os.path.join(out, "history.csv"))
    assert {int(r["step"]): r["brightness"] for r in rows} == {7: "", 14: "", 21: "0.25"}
    with open(out / "run.json") as f:
        assert json.load(f)["callbacks"] == ["brightness_logger"]
