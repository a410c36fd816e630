"""Exceptions that carry a message meant for the user, not a traceback."""


class EofpinnError(Exception):
    """Base class of every error eofpinn reports to a user (CLI exit code 2 or 1)."""

    exit_code = 2


class CaseError(EofpinnError):
    """A case file is malformed: names the file, the key and what is allowed."""

    def __init__(self, source: str, key: str, message: str):
        self.source = source
        self.key = key
        self.message = message
        super().__init__(f"{source}: [{key}] {message}")


class SolverError(EofpinnError):
    """A solver could not produce a trustworthy result (e.g. Newton did not converge)."""

    exit_code = 1


class UnsupportedCaseError(EofpinnError):
    """The chosen solver cannot handle this case (e.g. exact solver on a patterned wall)."""


class OptionError(EofpinnError):
    """An argument of `eofpinn.solve` (or the command-line flag that sets it) is not allowed:
    an unknown solver, an option the solver does not take, or a value out of range."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")


class WriteError(EofpinnError):
    """A file could not be written (full disk, read-only place, ...); nothing partial was left.

    Exit code 1: the input was fine, the environment failed.
    """

    exit_code = 1

    def __init__(self, path, reason: str):
        self.path = path
        super().__init__(f"cannot write {path}: {reason}")


class Interrupted(EofpinnError):
    """SIGINT or SIGTERM stopped a solve (exit code 130, what a shell reports for Ctrl-C)."""

    exit_code = 130
