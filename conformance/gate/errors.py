"""The gate's outcomes other than a push, each carrying its one-line reason."""


class Refused(Exception):
    """The gate will not push; the message is the one-line reason."""


class UsageError(Exception):
    """The command line is wrong; the message says how to fix it."""


class PushFailed(Exception):
    """The push or its verification failed; something may already be in the registry."""
