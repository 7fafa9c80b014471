"""The one error type for bad user input: image files, masks, class lists, data folders."""


class DataError(ValueError):
    """A data file is missing, unreadable or inconsistent; the message names it once.

    It is a ``ValueError``, so callers that catch ``ValueError`` keep working.
    """
