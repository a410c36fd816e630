"""A run directory's bookkeeping for `eofpinn solve`: its record, its lock, and the checks that
keep a result from being lost, overwritten or mislabelled.

- `run.json` (written when a solve starts): solver, case name and source, `--set` overrides,
  the dimensionless problem (every field of `Problem`) and the solver settings, each with a
  fingerprint (sha256 of its JSON, for telling runs apart at a glance; comparisons use the
  values, floats to a relative 1e-9), the eofpinn version and the start time; each resume
  appends its start time and settings to `resumed`.
- `.eofpinn.lock`: an exclusive `fcntl.flock` held for the whole solve (the kernel drops it when
  the process dies) with the holder's PID inside; a second solve on the same directory is
  refused, naming that PID, and changes nothing.
- `--out` must be a directory that can be created and written; an existing one holding results
  needs `--force`. `--resume DIR` continues a PINN run in DIR itself: `--out` may be omitted
  or must name DIR; DIR must hold a PINN checkpoint of the same problem, and a finished run
  (summary.json) is only continued with `--force`, since its results get rewritten.
- SIGINT/SIGTERM (`StopSignals`): a PINN solve stops at the next step boundary with a checkpoint
  and says how to resume; an exact/FD solve stops at once. Either way no file is half-written
  (eofpinn.atomic) and the exit code is 130.

Every refusal is one line (EofpinnError, exit code 2) naming the directory and what to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import importlib
import json
import math
import os
import shlex
import signal
import threading
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from eofpinn import io
from eofpinn.atomic import reason, write_text
from eofpinn.cases import parse_overrides
from eofpinn.cases.model import Case, ChargeSegment, Problem, ZetaSegment
from eofpinn.errors import EofpinnError, Interrupted, WriteError

RECORD = "run.json"
LOCK = ".eofpinn.lock"
CHECKPOINT = "checkpoint.pt"  # eofpinn.pinn_runs.LATEST, without importing torch
FINISHED = "summary.json"  # written last by io.write_run
BOOKKEEPING = (RECORD, LOCK)  # a directory holding only these has no results yet
RELATIVE_TOLERANCE = 1e-9


# ---------------------------------------------------------------------------- problems
def problem_from_record(values: dict[str, Any]) -> Problem:
    """The `Problem` stored in a run record (dataclasses.asdict form)."""
    walls = {wall: tuple(ChargeSegment(**segment) if "charge_hat" in segment else ZetaSegment(**segment)
                         for segment in values[wall]) for wall in ("zeta_bottom", "zeta_top")}
    return Problem(**{**values, **walls})


def _flatten(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _flatten(item, f"{key}.{name}" if key else name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{key}[{i}]")
    else:
        yield key, value


def _same(a: Any, b: Any) -> bool:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12) if numbers else a == b


def problem_differences(a: Problem, b: Problem, a_name: str, b_name: str) -> list[str]:
    """What differs between two problems, e.g. "debye_ratio 0.1 in A, 0.05 in B" ([] if the same)."""
    left, right = dict(_flatten(dataclasses.asdict(a))), dict(_flatten(dataclasses.asdict(b)))
    missing = "absent"
    return [f"{key} {left.get(key, missing)} in {a_name}, {right.get(key, missing)} in {b_name}"
            for key in dict.fromkeys([*left, *right]) if not _same(left.get(key, missing), right.get(key, missing))]


def _list(differences: list[str], most: int = 3) -> str:
    more = f"; and {len(differences) - most} more" if len(differences) > most else ""
    return "; ".join(differences[:most]) + more


def require_same_problem(run: Problem, reference: Problem, run_dir: str | Path, reference_dir: str | Path) -> None:
    """`eofpinn validate`: refuse to compare runs of different dimensionless problems."""
    differences = problem_differences(run, reference, str(run_dir), str(reference_dir))
    if differences:
        raise EofpinnError(f"{run_dir} and {reference_dir} are runs of different problems ({_list(differences)}); "
                           "validate against a run of the same case and --set values")


# ---------------------------------------------------------------------------- records
def fingerprint(values: Any) -> str:
    """A short sha256 of `values` as canonical JSON: equal values, equal fingerprint."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _version() -> str:
    try:
        return metadata.version("eofpinn")
    except metadata.PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def new_record(solver: str, case: Case, settings: dict, overrides: dict) -> dict:
    problem = dataclasses.asdict(case.problem)
    source = Path(case.source)
    return {
        "solver": solver, "case": case.name, "case_source": str(source.resolve()) if source.is_file() else case.source,
        "overrides": overrides, "problem": problem, "problem_fingerprint": fingerprint(problem),
        "settings": settings, "settings_fingerprint": fingerprint(settings),
        "eofpinn_version": _version(), "started": _now(), "pid": os.getpid(),
    }


def _read_json(path: Path) -> dict | None:
    """A JSON file of a run directory, None if absent; an unreadable one is a one-line error."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EofpinnError(f"{path}: unreadable ({exc}); restore it or start a new run") from None


def read_record(run_dir: Path) -> dict | None:
    """The run record of `run_dir`, or None for a run written before eofpinn kept one."""
    return _read_json(run_dir / RECORD)


def _write_record(run_dir: Path, record: dict) -> None:
    write_text(run_dir / RECORD, json.dumps(record, indent=2) + "\n")


def _recorded_solver(run_dir: Path, record: dict | None) -> str | None:
    """From run.json, else from summary.json (a finished run from before run.json), else None."""
    meta = record if record is not None else _read_json(run_dir / FINISHED)
    return meta.get("solver") if meta is not None else None


def _recorded_problem(run_dir: Path, record: dict | None) -> Problem | None:
    """From run.json, else (a run from before run.json) from its case.toml and --set overrides."""
    if record is not None:
        return problem_from_record(record["problem"])
    if (run_dir / "case.toml").is_file():
        return io.read_run_case(run_dir).problem
    return None


def solver_settings(case: Case, solver: str, options: dict[str, Any]) -> dict:
    """The settings `solver` runs `case` with, given the `api.solve` options (None: the default),
    as recorded in run.json: the full [pinn] table, the [fd] settings with the grid, or the
    exact solution's grid."""
    if solver == "pinn":
        from eofpinn.api import PINN_SHORTCUTS
        from eofpinn.cases import with_settings
        from eofpinn.cases.pinn_settings import as_table

        changes = {PINN_SHORTCUTS[name]: options[name] for name in PINN_SHORTCUTS if options.get(name) is not None}
        return as_table(with_settings(case, changes, source="command line").pinn)
    nx, ny = options.get("nx"), options.get("ny")
    if solver == "fd":
        return dataclasses.asdict(dataclasses.replace(case.fd, nx=nx or case.fd.nx, ny=ny or case.fd.ny))
    return {"nx": nx or 41, "ny": ny or 201}


def run_differences(run_dir: Path, solver: str, case: Case, settings: dict) -> list[str]:
    """How the run recorded in `run_dir` (run.json; for older runs summary.json and case.toml)
    differs from a `solver` run of `case` with `settings`: [] when it is the same run, or when
    nothing is recorded there yet. Used by `eofpinn sweep` to skip or resume only its own runs."""
    record = read_record(run_dir)
    recorded_solver = _recorded_solver(run_dir, record)
    if recorded_solver is None:
        return []
    if recorded_solver != solver:
        return [f"solver {recorded_solver} in the run, {solver} in this sweep"]
    problem = _recorded_problem(run_dir, record)
    differences = problem_differences(problem, case.problem, "the run", "this sweep") if problem is not None else []
    if record is not None:
        left, right = recorded_settings(record), dict(_flatten(settings))
        if solver == "pinn":
            _resolve_auto_eval_nx(case, left, right)
        differences += settings_differences(left, right, "the run", "this sweep")
    return differences


def recorded_settings(record: dict) -> dict[str, Any]:
    """The settings a run record says the run last ran with (its latest resume), flattened to
    dotted keys; a PINN run recorded before a [pinn] key existed ran at that key's default."""
    recorded = (record.get("resumed") or [record])[-1].get("settings", record.get("settings", {}))
    if record.get("solver") == "pinn":
        from eofpinn.cases.pinn_settings import with_default_keys

        recorded = with_default_keys(recorded)
    return dict(_flatten(recorded))


def settings_differences(left: dict[str, Any], right: dict[str, Any], left_name: str, right_name: str) -> list[str]:
    """What differs between two flattened settings, e.g. "points.n_interior 1000 in A, 2000 in B"."""
    return [f"{key} {left.get(key, 'absent')} in {left_name}, {right.get(key, 'absent')} in {right_name}"
            for key in dict.fromkeys([*left, *right]) if not _same(left.get(key, "absent"), right.get(key, "absent"))]


def _resolve_auto_eval_nx(case: Case, *flat: dict) -> None:
    """records.eval_nx = 0 ("auto") stands for the x nodes it resolves to (solvers/pinn/evaluation.py
    `eval_x`): where those are uniform (a straight channel: 50) it is the same output grid as a
    run recorded with that many nodes before "auto" existed, hence the same run."""
    import numpy as np

    from eofpinn.solvers.pinn.evaluation import eval_x

    auto = eval_x(case.problem, 0, case.fd)
    if not np.array_equal(auto, eval_x(case.problem, auto.size)):
        return
    for settings in flat:
        if settings.get("records.eval_nx") == 0:
            settings["records.eval_nx"] = auto.size


def describe_differences(differences: list[str]) -> str:
    """At most three differences, then how many more."""
    return _list(differences)


def write_record(run_dir: Path, record: dict) -> None:
    """Write run.json (all or nothing)."""
    _write_record(run_dir, record)


def resumed_record(record: dict, settings: dict) -> dict:
    """`record` with a resume (time, settings, version, PID) appended to its `resumed` list."""
    resumed = {"started": _now(), "settings": settings, "settings_fingerprint": fingerprint(settings),
               "eofpinn_version": _version(), "pid": os.getpid()}
    return {**record, "resumed": [*record.get("resumed", []), resumed]}


def finished_record(record: dict, seconds: float) -> dict:
    """`record` marked finished now, after `seconds` of wall time (a sweep's run)."""
    return {**record, "finished": _now(), "wall_s": seconds}


# ---------------------------------------------------------------------------- the lock
def _pid_in(fd: int) -> str:
    return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"


def _in_use(run_dir: Path, pid: str) -> EofpinnError:
    return EofpinnError(f"{run_dir}: in use by another eofpinn process (PID {pid}); "
                        "wait for it to finish or choose another --out")


def refuse_if_locked(run_dir: Path) -> None:
    """Refuse a directory another eofpinn process (a solve, an ensemble) holds, without creating
    anything in it."""
    try:
        fd = os.open(run_dir / LOCK, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(run_dir, _pid_in(fd)) from None
    finally:
        os.close(fd)  # also releases the shared lock just taken


def acquire_lock(run_dir: Path) -> int:
    """Lock `run_dir` for this process (exclusive, non-blocking); returns the descriptor to close.

    The lock file is never deleted (deleting a flock file lets two processes lock different
    inodes); a dead process's lock is released by the kernel.
    """
    path = run_dir / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise EofpinnError(f"{run_dir}: cannot write in this directory ({reason(exc)}); choose another --out") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _pid_in(fd)
        os.close(fd)
        raise _in_use(run_dir, pid) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:
        os.close(fd)
        raise WriteError(path, reason(exc)) from None
    return fd


# ---------------------------------------------------------------------------- claiming a directory
def _has_results(run_dir: Path) -> bool:
    try:
        return run_dir.is_dir() and any(p.name not in BOOKKEEPING for p in run_dir.iterdir())
    except OSError as exc:
        raise EofpinnError(f"{run_dir}: cannot read this directory ({reason(exc)}); choose another --out") from None


def _not_empty(run_dir: Path) -> EofpinnError:
    return EofpinnError(f"{run_dir}: output directory exists and is not empty; choose another --out or pass --force")


def claim_new(run_dir: Path, force: bool) -> int:
    """Create (or, with `force`, reuse) `run_dir` for a new run and lock it; returns the lock."""
    if run_dir.exists() and not run_dir.is_dir():
        raise EofpinnError(f"{run_dir}: --out names a file, not a directory; choose a directory path")
    refuse_if_locked(run_dir)
    if not force and _has_results(run_dir):
        raise _not_empty(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EofpinnError(f"{run_dir}: cannot create the run directory ({reason(exc)}); choose another --out") from None
    fd = acquire_lock(run_dir)
    if not force and _has_results(run_dir):  # a run finished there since the check above
        os.close(fd)
        raise _not_empty(run_dir)
    if force:
        for name in io.RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
    return fd


def check_resumable(run_dir: Path, case: Case, force: bool) -> dict | None:
    """Refuse to resume anything but an unfinished PINN run of this problem; returns its record."""
    record = read_record(run_dir)
    solver = _recorded_solver(run_dir, record)
    if solver not in (None, "pinn"):
        raise EofpinnError(f"{run_dir}: holds a --solver {solver} run, not a PINN run; "
                           "--resume continues PINN runs only")
    if not (run_dir / CHECKPOINT).is_file():
        raise EofpinnError(f"{run_dir}: no checkpoint to resume ({CHECKPOINT} missing); start a new run with --out")
    if (run_dir / FINISHED).is_file() and not force:
        raise EofpinnError(f"{run_dir}: holds a finished run; resuming rewrites its results: pass --force to "
                           "continue it (e.g. with more --steps), or copy the directory first")
    recorded = _recorded_problem(run_dir, record)
    if recorded is None:
        warnings.warn(f"{run_dir} has no {RECORD} (written before eofpinn recorded runs): "
                      "cannot check that it is a run of this case")
        return record
    differences = problem_differences(recorded, case.problem, "the run", "this case")
    if differences:
        raise EofpinnError(f"{run_dir}: cannot resume a run of another problem ({_list(differences)}); "
                           "resume with the run's case and --set values, or start a new run with --out")
    return record


def claim_resume(run_dir: Path, out: str | None, solver: str, case: Case, force: bool) -> tuple[int, dict | None]:
    """Lock the PINN run in `run_dir` and check it can be resumed (`check_resumable`); returns
    (lock, record). A refusal deletes and rewrites nothing."""
    if solver != "pinn":
        raise EofpinnError(f"--resume {run_dir}: --resume continues PINN runs only, not a --solver {solver} solve; "
                           "drop --resume to start a new run")
    if out is not None and Path(out).resolve() != run_dir.resolve():
        raise EofpinnError(f"--out {out} is not --resume {run_dir}: a resumed run continues in its own directory; "
                           "drop --out")
    if not run_dir.is_dir():
        raise EofpinnError(f"{run_dir}: no such run directory to resume")
    fd = acquire_lock(run_dir)  # first: a run in progress is refused with its PID
    try:
        return fd, check_resumable(run_dir, case, force)
    except BaseException:
        os.close(fd)
        raise


# ---------------------------------------------------------------------------- signals
class StopSignals:
    """SIGINT and SIGTERM as a stop request, for the duration of a `with` block.

    `polled` (PINN): the first signal only sets the request, which the trainer checks between
    steps (`requested`); a second one interrupts at once. Otherwise (exact, FD: no step
    boundary to wait for) every signal raises KeyboardInterrupt where the solve stands. A request
    that arrives after the last step (while results are written) lets the run finish normally.
    Handlers can only be installed from the main thread; elsewhere the block runs without them.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, polled: bool):
        self.polled = polled
        self.received: str | None = None
        self.stop = threading.Event()  # set by the first signal; the PINN trainer polls it
        self._previous: dict = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum: int, frame) -> None:
        first = self.received is None
        self.received = signal.Signals(signum).name
        self.stop.set()
        if not (self.polled and first):
            raise KeyboardInterrupt


def resume_command(args, run_dir: str) -> str:
    """The `eofpinn solve` line that continues this PINN run (same case, --set and flags)."""
    words = ["eofpinn", "solve", args.case, "--solver", "pinn", "--resume", run_dir]
    for item in args.set or []:
        words += ["--set", item]
    for flag in ("steps", "optimizer", "weighting", "seed", "device", "reference"):
        if getattr(args, flag, None) is not None:
            words += [f"--{flag}", str(getattr(args, flag))]
    return shlex.join(words)


def _interrupted_message(args, run_dir: Path, shown_dir: str, signals: StopSignals, stop: Interrupted | None) -> str:
    if stop is not None:  # the PINN trainer stopped at a step boundary and wrote a checkpoint
        return f"{stop}; resume with: {resume_command(args, shown_dir)}"
    by = f"interrupted by {signals.received or 'SIGINT'}"
    if args.solver == "pinn":
        kept = ((f"the last checkpoint is kept; resume with: {resume_command(args, shown_dir)}")
                if (run_dir / CHECKPOINT).is_file() else "no checkpoint had been written; start it again")
        return f"{by} before the checkpoint was written; {kept}"
    if (run_dir / FINISHED).is_file():
        return f"{by} while writing figures; the results in {shown_dir} are complete"
    return f"{by}; the {args.solver} solve did not finish and {shown_dir} holds no complete run; start it again"


# ---------------------------------------------------------------------------- the session
@dataclasses.dataclass
class Run:
    dir: Path
    resume: bool
    stop: threading.Event  # set by SIGINT/SIGTERM: a PINN run stops at the next step boundary


@contextlib.contextmanager
def open_run(args, case: Case, settings: dict) -> Iterator[Run]:
    """Claim the run directory of `eofpinn solve` (args: case, solver, out, resume, force, set and
    the PINN flags), record the run, and hold the lock and the signal handlers while it runs."""
    shown = args.resume if args.resume is not None else args.out
    if shown is None:
        raise EofpinnError("--out DIR is required: the run directory to write (or --resume DIR to continue "
                           "a PINN run)")
    run_dir = Path(shown)
    overrides = parse_overrides(args.set)
    if args.resume is not None:
        fd, record = claim_resume(run_dir, args.out, args.solver, case, args.force)
    else:
        fd, record = claim_new(run_dir, args.force), None
    try:
        # The solver (torch) and the VTK writer load before the handlers go in: an FD or exact
        # solve turns SIGINT into a KeyboardInterrupt wherever it stands, and raised while a C++
        # extension runs its module initialisation it aborts the process (exit -6, or -2 at exit)
        # instead of unwinding to the one-line message; seen under load when the FD solver's lazy
        # `import torch` came after run.json.
        importlib.import_module(f"eofpinn.solvers.{args.solver}")
        io.import_vtk_writer()
        # The handlers go in before run.json appears: a signal sent once it is there (by a user,
        # or a test that waits for it) must find them.
        with StopSignals(polled=args.solver == "pinn") as signals:
            try:
                record = (new_record(args.solver, case, settings, overrides) if record is None
                          else resumed_record(record, settings))
                _write_record(run_dir, record)
                yield Run(run_dir, args.resume is not None, signals.stop)
            except Interrupted as stop:
                raise Interrupted(_interrupted_message(args, run_dir, shown, signals, stop)) from None
            except KeyboardInterrupt:
                raise Interrupted(_interrupted_message(args, run_dir, shown, signals, None)) from None
    finally:
        os.close(fd)  # releases the lock
