"""The one exception type users see: its message is a complete one-line explanation."""


class CganError(Exception):
    """A problem with the user's input or files, reported as one line, no traceback."""
