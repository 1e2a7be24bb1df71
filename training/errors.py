"""Training's user-facing errors: each message quotes the bad value and names the fix."""


class TrainingError(Exception):
    """A training run that cannot go ahead as asked."""

    exit_code = 2  # a bad path, column or option of the user's


class DataError(TrainingError):
    """Labelled data that cannot be used: missing split or column, one class, unknown labels."""

    exit_code = 2  # the user's data file or columns
