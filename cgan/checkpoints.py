"""Checkpoints: a manager that repairs what a killed process left behind, saving one (a full disk
refused in one line) and restoring one."""

import glob
import os
import re
import shutil
import time

import tensorflow as tf

from cgan.errors import NO_SPACE, CganError, first_line


def open_manager(checkpoint, directory, keep):
    """A CheckpointManager over `directory` that keeps the last `keep` checkpoints.

    Checkpoint files that the list does not name, which a killed process left half-saved or
    half-deleted, are deleted, as are the temporary files of a save cut short; a folder of
    checkpoint files without their list is refused rather than silently restarted.
    """
    try:
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)
    except (
        Exception
    ) as error:  # the list file "checkpoint" edited or cut short (a text_format error)
        raise CganError(
            f"cannot read the checkpoint list in {directory}: {first_line(error)}; "
            "restore it, or start over with --overwrite"
        ) from None
    _remove_partial_saves(directory)
    on_disk = {}
    for path in glob.glob(os.path.join(glob.escape(directory), "ckpt-*")):
        match = re.match(r"ckpt-(\d+)", os.path.basename(path))
        if match:
            on_disk.setdefault(int(match.group(1)), []).append(path)
    if on_disk and manager.latest_checkpoint is None:
        raise CganError(
            f"{directory} holds checkpoint files but no readable list of them "
            "(the file 'checkpoint'); restore it, or start over with --overwrite"
        )
    present = [path for path in manager.checkpoints if os.path.exists(f"{path}.index")]
    if (
        manager.latest_checkpoint and present != manager.checkpoints
    ):  # the user deleted a broken one
        if not present:
            raise CganError(
                f"none of the checkpoints listed in {directory}/checkpoint exists; "
                "start over with --overwrite"
            )
        print(f"resuming from {present[-1]}: the newest listed checkpoint whose files exist")
        tf.compat.v1.train.update_checkpoint_state(
            directory,
            present[-1],
            all_model_checkpoint_paths=present,
            all_model_checkpoint_timestamps=[time.time()]
            * len(present),  # without them the manager stops rotating
        )
        manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)
    listed = {checkpoint_step(path) for path in manager.checkpoints}
    for number, paths in on_disk.items():
        # Unlisted: a save the process did not live to finish, or an old checkpoint it was
        # killed while deleting (TensorFlow lists the new save before it sweeps the oldest).
        if number not in listed:
            for path in paths:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    return manager


def save(manager, number):
    """Saves checkpoint ckpt-<number>; a failed save (a full disk) is refused in one line
    (CganError) and its files are deleted, so the listed checkpoints stay the last good ones."""
    try:
        return manager.save(checkpoint_number=number)
    except tf.errors.OpError as error:  # TensorFlow's I/O errors are not OSErrors
        failure = error
    directory = manager.directory
    state = tf.train.get_checkpoint_state(directory)
    listed = state.all_model_checkpoint_paths if state else []
    _remove_partial_saves(directory)
    if number not in {checkpoint_step(path) for path in listed}:
        for path in glob.glob(os.path.join(glob.escape(directory), f"ckpt-{number}.*")):
            os.remove(path)
    full = isinstance(failure, tf.errors.ResourceExhaustedError) or NO_SPACE in str(failure)
    cause, action = (NO_SPACE, "free some space") if full else (first_line(failure), "fix that")
    then = f"resume from {listed[-1]} with the same command" if listed else "run it again"
    raise CganError(
        f"{cause}: {directory}: cannot save the checkpoint of step {number}; {action}, then {then}"
    )


def _remove_partial_saves(directory):
    """Deletes what saves cut short leave: ckpt-<n>_temp folders of the checkpoint's shards and
    checkpoint.tmp<hex> files of the list; neither is ever read."""
    for path in glob.glob(os.path.join(glob.escape(directory), "ckpt-*_temp")):
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    for path in glob.glob(os.path.join(glob.escape(directory), "checkpoint.tmp*")):
        os.remove(path)


def checkpoint_step(path):
    """The step a checkpoint was saved at: its number (ckpt-<step>)."""
    return int(path.rsplit("-", 1)[-1])


def restore(checkpoint, path):
    """Restores `checkpoint` from `path`; an unreadable or mismatched one is refused in one line."""
    try:
        checkpoint.restore(path).assert_existing_objects_matched()
    except Exception as error:  # OpError (checksums, short reads), IndexError, AssertionError, ...
        raise CganError(
            f"cannot resume from {path}: {first_line(error)}; "
            f"delete {os.path.basename(path)}.* to resume from the checkpoint before it, "
            "or start over with --overwrite"
        ) from None
