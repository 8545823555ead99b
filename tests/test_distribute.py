"""The trainer under tf.distribute and the speed switches: strategies by name, random numbers that
come with the batch, one mirrored step equal to one single-device step on every path of the
step (conftest.equivalence_cases; two logical CPUs, in a process of its own), a two-worker run on
localhost equal to a one-device run, several steps per call, mixed precision and XLA.

The two slow checks run as processes while the in-process tests run: the equivalence check from
the start of the session (conftest.background), the two workers from the start of the module."""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, assert_refused, equivalence_cases, run_in_process, snapshot

from cgan import data, distribute, history, registry
from cgan.architectures import blocks
from cgan.config import Config
from cgan.context import resolve
from cgan.errors import CganError
from cgan.loop import Cadence, Stop
from cgan.modes.train import build_trainer, train
from cgan.trainer import GANTrainer

MNIST_SHAPE, MNIST_CLASSES = (28, 28, 1), 10

# Float rounding of sums taken in another order; a wrong split or seed moves weights by ~1e-3.
TOLERANCE = 1e-5
# The pairing loss leaves D's adversarial bias no gradient (only differences of logits count), and
# Adam's first step scales the rounding noise of a zero gradient up to about lr / 10 (2e-5 seen).
TECHNIQUES_TOLERANCE = 1e-4
PROCESS_SECONDS = 420  # the background processes' limit: then they are killed and the tests fail


def _worker_args(folder, dataset):
    """A short dense run on `dataset`: 4 steps of batch 16, checkpoints and history rows every 2."""
    return [
        "--arch=dense",
        "--steps=4",
        "--batch_size=16",
        "--checkpoint_every=2",
        "--log_every=2",
        f"--output_dir={folder}",
        f"--dataset={dataset}",
    ]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(args, env=None):
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, **(env or {})),
        start_new_session=True,
    )


def _finish(process, deadline):
    """(return code, stdout, stderr) of `process`, killed if it is still running at `deadline`."""
    try:
        stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.time()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return None, stdout, stderr  # None: timed out
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module", autouse=True)
def workers(tmp_path_factory, synthetic_digits):
    """Starts a two-worker run on synthetic digits (TF_CONFIG on 127.0.0.1, ports free now);
    kills whatever still runs when the module ends."""
    root = tmp_path_factory.mktemp("distribute")
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    runs = types.SimpleNamespace(folder=root / "multi_worker", worker_tmp=root / "worker-tmp")
    runs.worker_tmp.mkdir()
    runs.processes = []
    for index in range(2):
        task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {"TF_CONFIG": json.dumps(task)}
        if index:
            # where the non-chief worker's copy of the run goes
            env["TMPDIR"] = str(runs.worker_tmp)
        command = [os.path.join(REPO, "run.py"), "--strategy=multi_worker"]
        runs.processes.append(_start(command + _worker_args(runs.folder, synthetic_digits), env))
    runs.deadline = time.time() + PROCESS_SECONDS
    try:
        yield runs
    finally:
        for process in runs.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def test_strategies_by_name():
    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    assert distribute.make_strategy("auto") is tf.distribute.get_strategy()  # no GPU here
    one = distribute.make_strategy("one_device")
    assert isinstance(one, tf.distribute.OneDeviceStrategy) and one.extended.worker_devices[
        0
    ].endswith("CPU:0")
    mirrored = distribute.make_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    # every logical CPU: this process leaves its one CPU whole (tests/replica_equivalence.py
    # splits it in two, in a process of its own)
    assert mirrored.extended.worker_devices == ("/job:localhost/replica:0/task:0/device:CPU:0",)
    with pytest.raises(CganError, match="--strategy=tpu: no TPU found"):
        distribute.make_strategy("tpu")
    with pytest.raises(CganError, match="--strategy must be one of auto, default, one_device"):
        distribute.make_strategy("gpu9000")


def _trainer(name, batch, seed=0, **recipe):
    keras.utils.set_random_seed(seed)
    generator, discriminator = registry.get(name).build(MNIST_SHAPE, 16, MNIST_CLASSES)
    recipe = dataclasses.replace(registry.get(name).recipe, **recipe)
    return GANTrainer(
        generator, discriminator, recipe, batch, tf.distribute.get_strategy(), seed=seed
    )


def test_step_inputs_arrange_each_critic_step_by_example_and_draw_from_seed_and_step_only():
    trainer = _trainer("wgan_gp", batch=4, critic_steps=2)
    images = tf.reshape(tf.range(8, dtype=tf.float32), [8, 1, 1, 1]) * tf.ones([8, 28, 28, 1])
    labels = tf.range(8, dtype=tf.int32)
    inputs = trainer.step_inputs(tf.constant(7, tf.int64), images, labels)
    # Row b holds example b of each critic step: the batch is [step 0: 0-3, step 1: 4-7].
    np.testing.assert_array_equal(inputs["labels"].numpy(), [[0, 4], [1, 5], [2, 6], [3, 7]])
    np.testing.assert_array_equal(
        inputs["images"].numpy()[:, :, 0, 0, 0], [[0, 4], [1, 5], [2, 6], [3, 7]]
    )
    assert inputs["noise"].shape == (4, 3, 16)  # two critic passes and a separate generator pass
    assert inputs["penalty_weights"].shape == (4, 2)
    again = trainer.step_inputs(tf.constant(7, tf.int64), images, labels)
    other_step = trainer.step_inputs(tf.constant(8, tf.int64), images, labels)
    other_seed = _trainer("wgan_gp", batch=4, seed=1, critic_steps=2).step_inputs(
        tf.constant(7, tf.int64), images, labels
    )
    for name in ("noise", "penalty_weights"):
        np.testing.assert_array_equal(inputs[name].numpy(), again[name].numpy())
        assert not np.allclose(inputs[name].numpy(), other_step[name].numpy())
        assert not np.allclose(inputs[name].numpy(), other_seed[name].numpy())
    assert "penalty_weights" not in _trainer("dense", batch=4).step_inputs(
        tf.constant(0, tf.int64), images[:4], labels[:4]
    )


def test_penalty_weights_are_uniform_and_one_per_example():
    trainer = _trainer("wgan_gp", batch=4000, critic_steps=1)
    images, labels = tf.zeros([4000, 28, 28, 1]), tf.zeros([4000], tf.int32)
    eps = trainer.step_inputs(tf.constant(0, tf.int64), images, labels)["penalty_weights"].numpy()
    assert eps.shape == (4000, 1)
    # uniform on [0, 1]: the k-th smallest weight near (k + 1/2) / 4000, all over [0, 1] (the
    # Kolmogorov-Smirnov distance: 0.009 here; one uniform sample in 100 exceeds 0.0257, and
    # weights of the right mean and variance but another shape, or normal, or constant, do)
    assert np.abs(np.sort(eps[:, 0]) - (np.arange(4000) + 0.5) / 4000).max() < 0.025
    assert abs(eps.mean() - 0.5) < 0.03 and abs(eps.var() - 1 / 12) < 0.01
    assert len(np.unique(np.round(eps, 5))) > 2000  # a fresh weight per example


def test_every_batch_norm_is_synchronized_and_every_dropout_sees_the_global_batch():
    for name in registry.names():
        for model in registry.get(name).build(MNIST_SHAPE, 16, MNIST_CLASSES):
            for layer in model._flatten_layers():
                if isinstance(layer, keras.layers.BatchNormalization):
                    assert layer.synchronized, f"{name}: {layer.name}"
                if isinstance(layer, keras.layers.Dropout):
                    assert isinstance(layer, blocks.GlobalBatchDropout), f"{name}: {layer.name}"


def test_global_batch_dropout_drops_at_its_rate_and_scales_what_it_keeps():
    layer = blocks.GlobalBatchDropout(0.3, seed=1)
    x = tf.ones([200, 50])
    assert np.array_equal(layer(x, training=False).numpy(), x.numpy())
    first, second = layer(x, training=True).numpy(), layer(x, training=True).numpy()
    assert abs((first == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(first[first != 0], 1 / 0.7, rtol=1e-6)
    assert not np.array_equal(first, second)  # the seed state moved on


def _batches(trainer, count=40, seed=0):
    rng = np.random.default_rng(seed)
    size = trainer.global_batch_size * trainer.recipe.critic_steps
    images = rng.integers(0, 256, (size * count, *MNIST_SHAPE), dtype=np.uint8)
    labels = rng.integers(0, MNIST_CLASSES, size * count).astype(np.int32)
    return iter(data.training_dataset(images, labels, size, seed, step_inputs=trainer.step_inputs))


def _weights(trainer):
    models = [trainer.generator, trainer.discriminator] + (
        [trainer.ema_generator] if trainer.ema_generator else []
    )
    return [w.numpy() for model in models for w in model.weights]


def test_three_steps_in_one_call_equal_three_calls_of_one_step():
    one_call, three_calls = (
        _trainer("dense", batch=8, ema=0.99),
        _trainer("dense", batch=8, ema=0.99),
    )
    metrics = {k: float(v) for k, v in one_call.train_step(_batches(one_call), 3).items()}
    batches = _batches(three_calls)
    each = [{k: float(v) for k, v in three_calls.train_step(batches).items()} for _ in range(3)]
    assert int(one_call.step.numpy()) == int(three_calls.step.numpy()) == 3
    for a, b in zip(_weights(one_call), _weights(three_calls)):
        np.testing.assert_allclose(a, b, atol=TOLERANCE)
    for name in metrics:  # the call's losses: the mean over its steps
        assert metrics[name] == pytest.approx(np.mean([m[name] for m in each]), rel=1e-5)


def test_a_call_stops_at_every_log_checkpoint_epoch_end_and_the_last_step():
    config = Config(log_every=5, checkpoint_every=10, steps_per_execution=4)
    cadence, stop = Cadence.of(config, steps_per_epoch=12), Stop(steps=30, seconds=None)
    ends, step = [], 0
    while step < 30:
        step += cadence.steps_in_call(step, stop)
        ends.append(step)
    assert ends == [4, 5, 9, 10, 12, 15, 19, 20, 24, 25, 29, 30]
    assert dataclasses.replace(cadence, steps_per_execution=1).steps_in_call(0, stop) == 1
    assert [cadence.epoch(step) for step in (1, 12, 13, 24, 25)] == [1, 1, 2, 2, 3]


@pytest.mark.parametrize("precision, arch", [("bfloat16", "cgan"), ("float16", "wgan_gp")])
def test_mixed_precision_trains_in_16_bits_with_float32_weights(precision, arch):
    config = Config(
        arch=arch, mixed_precision=precision, batch_size=8, latent_dim=16, critic_steps=1
    )
    keras.utils.set_random_seed(0)
    trainer = build_trainer(resolve(config, tf.distribute.get_strategy()))
    assert keras.mixed_precision.global_policy().name == "float32"  # put back after the build
    # the last layer computes in float32
    assert trainer.generator.layers[-2].compute_dtype == precision
    assert all(w.dtype == "float32" for w in trainer.generator.trainable_weights)
    assert trainer.loss_scaling == (precision == "float16")
    assert isinstance(trainer.g_optimizer, keras.optimizers.LossScaleOptimizer) == (
        precision == "float16"
    )
    before = _weights(trainer)
    metrics = {k: float(v) for k, v in trainer.train_step(_batches(trainer)).items()}
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    after = _weights(trainer)
    assert all(np.isfinite(w).all() for w in after)
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def _must_compile(trainer, inputs):
    """Whether the step function train_step ran on `inputs` was traced for XLA (jit_compile)."""
    attributes = trainer.one_step.get_concrete_function(inputs).function_def.attr
    return "_XlaMustCompile" in attributes and attributes["_XlaMustCompile"].b


def test_an_xla_compiled_step_matches_the_plain_one():
    # No dropout, whose masks XLA draws with other numbers than TensorFlow's own kernels; dense
    # compiles in a third of cgan's time (every architecture compiles: experiments/benchmark.py).
    plain = _trainer("dense", batch=8, ema=0.99)
    keras.utils.set_random_seed(0)
    config = Config(arch="dense", ema=0.99, batch_size=8, latent_dim=16, jit_compile=True)
    # --jit_compile's way in
    compiled = build_trainer(resolve(config, tf.distribute.get_strategy()))
    start = _weights(plain)
    for a, b in zip(start, _weights(compiled)):
        np.testing.assert_array_equal(a, b)  # the same initial weights: the steps must agree
    plain_losses, compiled_losses = (
        trainer.train_step(_batches(trainer)) for trainer in (plain, compiled)
    )
    # The step that ran is compiled by XLA exactly when asked: one trace each, the one inspected.
    inputs = next(_batches(plain))
    assert (_must_compile(plain, inputs), _must_compile(compiled, inputs)) == (False, True)
    assert [t.one_step.experimental_get_tracing_count() for t in (plain, compiled)] == [1, 1]
    for name in plain_losses:  # computed before the updates
        assert float(compiled_losses[name]) == pytest.approx(float(plain_losses[name]), rel=1e-5)
    # XLA reorders float sums, which could flip Adam's first (sign-like) step of a weight whose
    # gradient is ~0, so the updates are compared as a whole: a wrong one would differ by ~100%.
    moved = np.concatenate([(b - a).ravel() for a, b in zip(start, _weights(plain))])
    moved_compiled = np.concatenate([(b - a).ravel() for a, b in zip(start, _weights(compiled))])
    assert np.linalg.norm(moved_compiled - moved) < 1e-3 * np.linalg.norm(moved)


def test_a_batch_that_does_not_split_evenly_over_the_replicas_is_refused():
    three_replicas = types.SimpleNamespace(num_replicas_in_sync=3)
    with pytest.raises(CganError, match="--batch_size 64 does not split evenly over 3 replicas"):
        build_trainer(resolve(Config(), three_replicas))


def test_a_mirrored_step_on_two_cpus_equals_a_single_device_step_on_every_path(
    replica_equivalence,
):
    code, _, _ = _finish(replica_equivalence.process, time.time() + PROCESS_SECONDS)
    stdout, stderr = (
        path.read_text() for path in (replica_equivalence.stdout, replica_equivalence.stderr)
    )
    assert code == 0, stderr[-3000:]
    differences = json.loads(stdout.strip().splitlines()[-1])
    assert sorted(differences) == sorted(equivalence_cases())
    assert all(
        difference < (TECHNIQUES_TOLERANCE if "+" in name else TOLERANCE)
        for name, difference in differences.items()
    ), differences


@pytest.fixture(scope="module")
def one_device_runs(tmp_path_factory, synthetic_digits):
    """The two-worker run's command on one device, in this process: one step per call, and four."""
    root = tmp_path_factory.mktemp("one_device")
    runs = types.SimpleNamespace(single=root / "single", four=root / "four")
    common = dict(
        arch="dense",
        dataset=synthetic_digits,
        steps=4,
        batch_size=16,
        checkpoint_every=2,
        log_every=2,
    )
    train(Config(**common, output_dir=str(runs.single)))
    train(Config(**common, steps_per_execution=4, output_dir=str(runs.four)))
    return runs


def _exported(folder):
    model = keras.models.load_model(
        os.path.join(folder, "generator.keras"), safe_mode=True, compile=False
    )
    return model.get_weights()


def _listing(folder):
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
        if not root.endswith("tensorboard")
    )


def test_steps_per_execution_logs_checkpoints_and_trains_as_one_step_per_call(one_device_runs):
    assert _listing(one_device_runs.four) == _listing(one_device_runs.single)  # checkpoints 0, 2, 4
    single = history.read(os.path.join(one_device_runs.single, "history.csv"))
    four = history.read(os.path.join(one_device_runs.four, "history.csv"))
    assert [r["step"] for r in four] == [r["step"] for r in single] == ["2", "4"]
    for a, b in zip(four, single):
        assert float(a["d_loss"]) == pytest.approx(float(b["d_loss"]), rel=1e-5)
    for a, b in zip(_exported(one_device_runs.four), _exported(one_device_runs.single)):
        np.testing.assert_allclose(a, b, atol=TOLERANCE)


def test_a_run_is_resumed_in_the_precision_it_was_trained_in(
    one_device_runs, capfd, synthetic_digits
):
    # run.json records what the networks computed in (what --mixed_precision=auto resolves to)
    with open(os.path.join(one_device_runs.single, "run.json")) as f:
        saved = json.load(f)
    assert (saved["mixed_precision"], saved["dtype_policy"]) == ("off", "float32")
    before = snapshot(one_device_runs.single)
    args = _worker_args(one_device_runs.single, synthetic_digits)
    # float16 checkpoints a loss scale in the optimizers
    result = run_in_process(capfd, *args, "--steps=6", "--mixed_precision=float16")
    assert_refused(
        result,
        one_device_runs.single,
        before,
        "holds a run trained with mixed_precision='off', not 'float16'",
        "--overwrite",
    )


def test_two_workers_train_as_one_device_and_only_the_chief_writes(workers, one_device_runs):
    (chief, chief_out, chief_err), (worker, worker_out, worker_err) = [
        _finish(process, workers.deadline) for process in workers.processes
    ]
    assert chief == worker == 0, (chief_err[-3000:], worker_err[-3000:])
    assert "Traceback" not in chief_err + worker_err
    assert f"wrote {workers.folder}/samples.png" in chief_out
    assert "wrote" not in worker_out
    # the worker's own copy of the run is gone (autograph leaves its compiled code in
    # __pycache__ there)
    assert [name for name in os.listdir(workers.worker_tmp) if name != "__pycache__"] == []
    assert _listing(workers.folder) == _listing(one_device_runs.single)
    for a, b in zip(_exported(workers.folder), _exported(one_device_runs.single)):
        np.testing.assert_allclose(a, b, atol=TOLERANCE)  # the global batch split over two workers
