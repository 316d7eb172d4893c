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
