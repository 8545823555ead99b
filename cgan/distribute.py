"""Picks the tf.distribute strategy, so the same trainer runs on one CPU, several GPUs, several
machines or a TPU."""

import functools

import tensorflow as tf

from cgan.config import STRATEGIES
from cgan.errors import CganError, first_line


@functools.lru_cache(
    maxsize=None
)  # one per process: a multi-worker strategy can be set up only once
def make_strategy(name="auto"):
    """The strategy called `name` (one of STRATEGIES).

    auto: MirroredStrategy for several GPUs, OneDeviceStrategy for one, the default strategy on
    CPU. one_device: the first GPU, else /cpu:0. mirrored: every GPU, else every logical CPU.
    multi_worker: MultiWorkerMirroredStrategy over the machines TF_CONFIG names (created before
    any other TensorFlow op of the process). tpu: the TPU a TPUClusterResolver finds.
    """
    if name not in STRATEGIES:
        raise CganError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    if name == "multi_worker":
        return _multi_worker()
    if name == "tpu":
        return _tpu()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "one_device" or (name == "auto" and len(gpus) == 1):
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "auto" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _multi_worker():
    # Collectives between CPUs need RING; NCCL (what AUTO picks with GPUs) is for GPUs only.
    gpus = tf.config.list_physical_devices("GPU")
    implementation = tf.distribute.experimental.CommunicationImplementation
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=implementation.AUTO if gpus else implementation.RING
    )
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (
        RuntimeError,
        ValueError,
    ) as error:  # TensorFlow already running, or a malformed TF_CONFIG
        raise CganError(
            f"--strategy=multi_worker: {first_line(error)}; it must be set up before any "
            "other TensorFlow work of the process, from a valid TF_CONFIG"
        ) from None


def _tpu():
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:  # ValueError, NotFoundError, ...: no TPU here
        raise CganError(f"--strategy=tpu: no TPU found ({first_line(error)})") from None
    return tf.distribute.TPUStrategy(resolver)


def writes_files(strategy):
    """Whether this process writes the run folder: the chief does; the other workers of a
    multi-worker run write their (identical) checkpoints to a temporary folder instead."""
    return strategy.extended.should_checkpoint


def check_workers_agree(strategy, step, run_dir):
    """Refuses (CganError, on every worker alike) a multi-worker run whose workers would start
    from different steps: a resumed run whose folder not every machine can read."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    gather = tf.function(
        lambda: strategy.gather(strategy.run(lambda: tf.reshape(step.read_value(), [1])), axis=0)
    )
    steps = sorted(set(gather().numpy().tolist()))
    if len(steps) > 1:
        raise CganError(
            f"the workers would start from different steps ({', '.join(map(str, steps))}): each "
            f"resumes from the latest checkpoint in {run_dir}, which every machine must see"
        )
