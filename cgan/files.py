"""Writing files so that a crash never leaves a half-written one behind."""

import contextlib
import json
import os


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary name beside `path`; renames it to `path` only if the block succeeds."""
    base, extension = os.path.splitext(path)  # keep the extension: Keras and numpy look at it
    tmp = f"{base}.tmp{os.getpid()}{extension}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
