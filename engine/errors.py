"""Errors a person can act on. Every user-facing failure of the engine is one of these."""


class RidershipError(Exception):
    """Base class: the message names what is wrong and where, without a traceback."""


class DataError(RidershipError):
    """The data file cannot be used (missing, malformed, inconsistent)."""


class ConfigError(RidershipError):
    """A training setting is invalid. ``field`` names the setting."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class DeviceError(RidershipError):
    """The requested compute device is not available."""


class ModelFileError(RidershipError):
    """A saved model or checkpoint cannot be loaded or does not fit the data."""


class DownloadError(RidershipError):
    """The dataset could not be downloaded or verified."""


def printable(text: object) -> str:
    """``text`` (a path, a name or text from a file) made safe to show in a message: C0 and C1
    control characters and other non-printable ones (line breaks, escapes, bidi overrides) are
    written as Python escapes (``\\x1b``, ``\\n``, ``\\u202e``), so a message stays on one line
    and cannot drive the terminal. Everything printable, accents included, is kept as is."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def quoted(text: object) -> str:
    """Like ``repr`` (a string in quotes, a number as is), escaped like :func:`printable`: for a
    value from a file in a message."""
    if not isinstance(text, str):
        return printable(repr(text))
    return "'" + printable(text).replace("'", "\\'") + "'"
