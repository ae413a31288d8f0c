"""DlcliError: the one way a user mistake leaves the program (one line on stderr, exit 2)."""


class DlcliError(Exception):
    """A user mistake: bad option, unknown name, missing or corrupt file, unwritable folder.

    The message is one line that names the problem and, where there is one, the fix.
    """

    exit_code = 2


class TrainingDiverged(DlcliError):
    """Training produced a NaN or infinite loss."""
