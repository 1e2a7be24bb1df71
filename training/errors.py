"""Training's user-facing errors: each message quotes the bad value and names the fix."""


class TrainingError(Exception):
    """A training run that cannot go ahead as asked."""


class DataError(TrainingError):
    """Labelled data that cannot be used: missing split or column, one class, unknown labels."""
