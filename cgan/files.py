"""Writing files so that a crash never leaves a half-written one behind, and the lock that
keeps two runs out of one folder."""

import contextlib
import errno
import fcntl
import glob
import json
import os
import shutil

from cgan.errors import CganError

TMP_MARK = ".tmp"  # atomic_path's temporary names: <name>.tmp<pid><extension>


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary name beside `path`; renames it to `path` only if the block succeeds.

    The temporary file is flushed to disk before the rename, so even a power cut leaves either
    the old file or the new one, never a half-written one.
    """
    base, extension = os.path.splitext(path)  # keep the extension: Keras and numpy look at it
    tmp = f"{base}{TMP_MARK}{os.getpid()}{extension}"
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as error:
        if error.filename is None:  # Keras' writers name no file on a full disk: say which
            raise OSError(error.errno, error.strerror or str(error), path) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def read_json(path):
    """The JSON in `path`; a truncated or tampered file is refused in one line (CganError)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise CganError(
            f"{path} is not readable JSON ({error}); restore it, or start over with --overwrite"
        ) from None


def remove_leftovers(folder):
    """Deletes the temporary files a killed process left in `folder` (not in its subfolders).

    Only safe while holding the folder's lock: another process's temporary files look the same.
    """
    for path in glob.glob(os.path.join(glob.escape(folder), f"*{TMP_MARK}[0-9]*")):
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


@contextlib.contextmanager
def locked_folder(folder):
    """Holds an exclusive lock on `folder` (created if missing) for the duration of the block.

    A second process asking for the same folder gets a CganError naming the holder. The lock is
    flock(2) on the folder itself: the kernel drops it when its process ends, SIGKILL included,
    so there is never a stale lock to clear, and nothing is written into the folder. Folders
    this call created are removed again if they are still empty at the end, so a refused run
    leaves no trace.
    """
    created = _missing_ancestors(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
    except OSError as error:
        raise CganError(f"cannot use {folder!r} as the output folder: {error.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise CganError(f"cannot lock {folder!r}: {error.strerror}") from None
            holder = _flock_holder(fd)
            raise CganError(
                f"{folder} is in use by another run{f' (pid {holder})' if holder else ''}; "
                "wait for it to finish or choose another --output_dir"
            ) from None
        _check_writable(folder)
        yield
    finally:
        os.close(fd)  # releases the lock
        for path in created:  # deepest first
            with contextlib.suppress(OSError):  # not empty: something was written, keep it
                os.rmdir(path)


def _missing_ancestors(folder):
    """The folders makedirs(folder) would create, deepest first."""
    missing, path = [], os.path.abspath(folder)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def _check_writable(folder):
    """Refuses a folder a file cannot be created in; a probe, because os.access says yes to root."""
    probe = os.path.join(folder, f"write-probe{TMP_MARK}{os.getpid()}")
    try:
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as error:
        raise CganError(f"cannot write in {folder!r}: {error.strerror}") from None


def _flock_holder(fd):
    """The pid holding a flock on the file open as `fd`, from /proc/locks (Linux), else None."""
    inode = os.fstat(fd).st_ino
    try:
        with open("/proc/locks") as f:
            for line in f:
                fields = (
                    line.split()
                )  # "1: FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF"
                if (
                    len(fields) > 5
                    and fields[1] == "FLOCK"
                    and fields[5].rsplit(":", 1)[-1] == str(inode)
                ):
                    return int(fields[4])
    except (OSError, ValueError):
        pass
    return None
