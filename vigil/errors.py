"""The one exception tree. Messages say what was expected and what was found, with secrets redacted."""
from __future__ import annotations


class VigilError(Exception):
    """Base of every error Vigil raises on purpose; its message is fit to show a user."""


class ConfigError(VigilError):
    """A config file or value is wrong: names the file, the key path, what was expected and found."""

    def __init__(self, message: str, *, file: str | None = None, problems: list[str] | None = None):
        self.file = file
        self.problems = problems or [message]
        super().__init__(message)


class InputError(VigilError):
    """Bad input from outside (an upload, an API body, a label file, an archive)."""


class NotFoundError(VigilError):
    """Something asked for by id does not exist."""


class StreamError(VigilError):
    """A camera stream misbehaved."""


class SourceConnectionError(StreamError):
    """A source could not be opened or stopped answering."""


class StoreError(VigilError):
    """The evidence store refused or failed an operation."""


class KeyEscapeError(StoreError):
    """An object key tried to leave its prefix (`..`, absolute path, NUL)."""


class ObjectExistsError(StoreError):
    """A write would overwrite an existing object with different content."""


class IntegrityError(StoreError):
    """Stored evidence no longer matches its recorded hash or signature."""


class ModelError(VigilError):
    """A model file is missing, unreadable or does not fit its profile."""


class DatasetError(InputError):
    """A dataset, label file or archive is malformed."""


class TrainingError(VigilError):
    """A training or evaluation job failed."""


class AuthError(VigilError):
    """Authentication or authorisation failed."""
