"""Errors whose message is a sentence a user can act on; the CLI and GUI show it as is."""


class SpherescopeError(Exception):
    """Base class: str(err) is a complete, user-facing, one-line message."""


class ModelError(SpherescopeError):
    """The model could not be found, read, or is of a kind spherescope cannot trace."""


class PromptError(SpherescopeError):
    """The prompt or the chosen position cannot be traced."""


class Cancelled(SpherescopeError):
    """A newer request replaced this one, or the user cancelled it."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
