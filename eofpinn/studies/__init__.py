"""Parameter studies of any solver on dask.distributed (`eofpinn sweep`).

    from eofpinn.studies import plan_study, run_study

    study = plan_study("straight_channel", "fd", "runs/study",
                       params=["electrolyte.concentration=0.1mM,1mM", "channel.height=30nm,60nm"])
    result = run_study(study, "runs/study", scheduler="local")   # or "tcp://HOST:PORT", "slurm",
    print(result.table)                                           # or client=a dask Client

- plan.py     the axes (`--param`, a study file's [axes] and [[zip]]) and one RunSpec per run,
              every case and option validated before anything runs;
- cluster.py  the Dask client: a LocalCluster, an existing scheduler, or a SLURMCluster;
- worker.py   one run inside a worker, through the Python API, in its own run directory
              (lock, run.json, io.write_run, PINN checkpoints); skip, resume, record failures;
- results.py  the rows read back from the run directories; sweep.csv/json/pvd and plots.

Each run is one Dask task. A worker that dies mid-run loses only that attempt: the scheduler
reruns the task on another worker (up to its allowed-failures, 3 by default), which resumes a
PINN run from its checkpoint. A run that fails on its own (no convergence, NaN) is recorded in
its directory and not retried. The sweep directory is locked while a sweep writes into it,
so a second sweep into the same directory is refused, naming the first one's PID.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import uuid
from pathlib import Path
from typing import Callable

from eofpinn import runs
from eofpinn.errors import EofpinnError, Interrupted
from eofpinn.studies.cluster import connect
from eofpinn.studies.plan import RunSpec, Study, plan_study
from eofpinn.studies.results import collect, degradation, format_table, mean_errors, read_history
from eofpinn.studies.worker import execute_run, outcome

__all__ = ["Study", "RunSpec", "StudyResult", "plan_study", "connect", "run_study", "execute_run", "collect",
           "degradation", "mean_errors", "read_history", "format_table"]

RETRIES = 1  # reruns of a task that raised something unexpected (not a run's own failure)


@dataclasses.dataclass
class StudyResult:
    rows: list[dict]
    files: list[Path]
    table: str

    @property
    def complete(self) -> bool:
        """Every run finished (now or earlier)."""
        return all(row["status"] in ("finished", "skipped") for row in self.rows)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_study(study: Study, out_dir: str | Path, client=None, *, scheduler: str = "local", jobs: int | None = None,
              cluster_flags: dict | None = None, report: Callable[[str], None] = _stderr,
              progress: bool | None = None) -> StudyResult:
    """Run every run of `study` not finished yet as a Dask task, then write sweep.csv,
    sweep.json, sweep.pvd and plots/ into `out_dir`; returns the rows and the table.

    The tasks go to `client`, or (without one) to a cluster started for the sweep from
    `scheduler`, `jobs` and the Slurm settings (the study file's [cluster] section, overridden
    by `cluster_flags`; see cluster.py), checked before anything is created. The sweep
    directory is locked first, so a second sweep into it is refused before a cluster starts.
    `report` receives the cluster, the dashboard address and one line per run as it
    completes; `progress` shows a bar over the runs (None: when stderr is a terminal).
    """
    from eofpinn.studies.cluster import check_scheduler

    if client is None:
        check_scheduler(scheduler, jobs, study.cluster, cluster_flags, study.grid or "study file")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EofpinnError(f"{out_dir}: cannot create the sweep directory ({exc.strerror}); "
                           "choose another --out") from None
    lock = runs.acquire_lock(out_dir)  # a second sweep into the same directory: refused with our PID
    try:
        if client is not None:
            outcomes = _execute(study, client, report, progress)
        else:
            with connect(scheduler, study.solver, jobs, study.cluster, cluster_flags, study.grid or "study file",
                         report) as own_client:
                outcomes = _execute(study, own_client, report, progress)
        rows = collect(study, outcomes)
        files = write_results(study, rows, out_dir)
    finally:
        os.close(lock)
    return StudyResult(rows=rows, files=files, table=format_table(rows, study.solver))


def _execute(study: Study, client, report: Callable[[str], None], progress: bool | None) -> dict[str, dict]:
    """Submit one task per run and wait for all, reporting each as it completes."""
    from distributed import as_completed
    from tqdm import tqdm

    tag = uuid.uuid4().hex[:8]  # task keys unique to this sweep (a shared scheduler keeps old ones)
    futures = {client.submit(execute_run, spec, key=f"eofpinn-{tag}-{spec.name}", pure=False, retries=RETRIES): spec
               for spec in study.runs}
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    outcomes: dict[str, dict] = {}
    warned: set[str] = set()  # the runs' warnings, each reported once (a sweep of one salt: one line)
    try:
        with tqdm(total=len(futures), desc="runs", unit="run", file=sys.stderr, disable=disable) as bar:
            for done, future in enumerate(as_completed(futures), 1):
                spec = futures[future]
                outcomes[spec.name] = _outcome(spec, future)
                with tqdm.external_write_mode(file=sys.stderr):  # the line above the bar
                    report(_line(outcomes[spec.name], done, len(futures)))
                    for message in outcomes[spec.name].get("warnings", []):
                        if message not in warned:
                            warned.add(message)
                            report(f"warning: {message}")
                bar.update(1)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise Interrupted("sweep interrupted; finished runs are kept and PINN runs keep their checkpoints: "
                          "run the same command again to continue") from None
    return outcomes


def _outcome(spec: RunSpec, future) -> dict:
    """The task's outcome, or an "error" naming what went wrong with the task itself."""
    from distributed.scheduler import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        return outcome(spec, "error", "the workers running it died repeatedly (KilledWorker: out of memory, "
                                      "or killed); see the worker logs, then run the sweep again")
    except Exception as exc:  # raised by the task after its retries: a bug or a broken machine
        return outcome(spec, "error", f"{type(exc).__name__}: {exc}")


def _line(result: dict, done: int, total: int) -> str:
    seconds = result.get("task_s")
    took = f" ({seconds:.1f} s)" if isinstance(seconds, float) and result["status"] != "skipped" else ""
    why = f": {result['reason']}" if result["status"] not in ("finished", "skipped") and result.get("reason") else ""
    return f"[{done}/{total}] {result['run']}: {result['status']}{took}{why}"


def write_results(study: Study, rows: list[dict], out_dir: Path) -> list[Path]:
    """sweep.csv, sweep.json, sweep.pvd and plots/*.png in `out_dir` (see results.py)."""
    from eofpinn.studies import results

    files = [results.write_csv(rows, out_dir / "sweep.csv"), results.write_json(study, rows, out_dir / "sweep.json"),
             results.write_collection(rows, out_dir)]
    return files + results.write_plots(study, rows, out_dir)
