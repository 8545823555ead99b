"""history.csv: one row per logging interval, kept consistent across resumes."""

import csv
import os

import numpy as np

from cgan.files import atomic_path

# The judge's figures, in the rows of the epochs that were scored (--eval_every).
QUALITY_COLUMNS = (
    "fid",
    "inception_score",
    "precision",
    "recall",
    "accuracy",
    "digits_below_5_percent",
)
COLUMNS = ("step", "epoch", "images_seen", "seconds", "d_loss", "d_accuracy", "g_loss")
COLUMNS += QUALITY_COLUMNS


class History:
    """history.csv, rewritten whole and atomically on every row, so a crash never leaves a
    half-written row; on resume, rows logged after the restored step are dropped. Its columns are
    COLUMNS, then any other scalar a row brings (a loss term's, a callback's), in order of first
    appearance."""

    def __init__(self, path, resume_step):
        self.path = path
        self.rows = []
        self.columns = list(COLUMNS)
        if os.path.exists(path):
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                self.rows = [
                    row for row in reader if _step(row) is not None and _step(row) <= resume_step
                ]
                self._add_columns(reader.fieldnames or [])
        self._write()

    def _add_columns(self, names):
        self.columns += [name for name in names if name not in self.columns]

    def append(self, row):
        """Adds one row (a dict of values by column; a missing value is left empty)."""
        self._add_columns(row)
        self.rows.append(dict(row))
        self._write()

    def _write(self):
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, self.columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)


def _step(row):
    """The row's step, or None for a row that is not one of ours (edited, or cut short)."""
    if None in row or None in row.values():  # more or fewer fields than the header
        return None
    try:
        return int(row["step"])
    except (KeyError, ValueError):
        return None


def read(path):
    """The rows of a history.csv as dicts of strings (a missing value is "")."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def values(rows, name):
    """One column of `rows` as floats, NaN where it is empty or absent."""
    return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])
