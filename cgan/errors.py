"""The exception types users see: each message is a complete one-line explanation."""

import re

NO_SPACE = "No space left on device"  # strerror(ENOSPC), which TensorFlow's messages quote


class CganError(Exception):
    """A problem with the user's input or files, reported as one line, no traceback."""

    label = "error"  # run.py prints "<label>: <message>"
    exit_code = 2  # what run.py exits with: 2, like absl's own flag errors


class ContractError(CganError):
    """User code (an architecture, a loss or term) broke its contract: a fresh run keeps nothing
    it wrote before finding out."""


class TrainingDiverged(CganError):
    """A loss or weight became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 3  # not bad input: scripts can tell a diverged run from a refused command


class Interrupted(CganError):
    """Ctrl-C (SIGINT) or SIGTERM stopped training after saving a checkpoint."""

    label = "interrupted"
    exit_code = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


def first_line(error):
    """The first line of an error's message, without TensorFlow's "{{function_node ...}}" and
    "[Op:...]" decorations; the error's type when it has no message."""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]( name:)?", "", str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__
