"""Where a study's runs execute: a dask.distributed cluster, in one of three forms.

    --scheduler local             a LocalCluster on this machine (default): one worker process
                                  per GPU for PINN sweeps when there are GPUs, else one per two
                                  CPU cores (`--jobs N` for N), each running one run at a time
                                  with cores ÷ workers torch/BLAS threads (OMP_NUM_THREADS …)
    --scheduler tcp://HOST:PORT   an existing cluster (`dask scheduler` + `dask worker`s in an
                                  environment with eofpinn installed, sharing this filesystem)
    --scheduler slurm             dask-jobqueue's SLURMCluster (`pip install 'eofpinn[slurm]'`):
                                  `jobs` batch jobs of one worker each, every worker running one
                                  run at a time with `cores` CPUs (and `gpus` GPUs); queue,
                                  account, cores, memory, walltime, jobs, gpus and extra #SBATCH
                                  lines come from the study file's [cluster] section or flags

A worker runs one run at a time (one thread): a run uses the worker's cores through torch's
and BLAS's own threads, not through more Dask threads. The workers eofpinn starts have Dask's
statistical profiler off (it samples the running task's stack every 10 ms under the GIL: on
a busy 2-core machine an FD run took 40 % longer with it, 22 s instead of 15 s); a cluster
given by address keeps its own configuration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from eofpinn.errors import CaseError, EofpinnError

LOCAL, SLURM = "local", "slurm"
ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc)://\S+$")
DASHBOARD = ":8787"  # distributed's usual port; it takes another one when this is in use
CLUSTER_KEYS = ("queue", "account", "cores", "memory", "walltime", "jobs", "gpus", "extra")
WALLTIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")  # Slurm's forms: MM, HH:MM:SS, D-HH:MM:SS, ...
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
NO_PROFILER = {"distributed.worker.profile.enabled": False}  # for the workers eofpinn starts (see above)


def scheduler_kind(scheduler: str) -> str:
    """"local", "slurm" or "address" (tcp://HOST:PORT); anything else is a one-line error."""
    if scheduler in (LOCAL, SLURM):
        return scheduler
    if ADDRESS.match(scheduler):
        return "address"
    raise EofpinnError(f"--scheduler {scheduler!r}: expected local, slurm or tcp://HOST:PORT (an existing "
                       "dask scheduler)")


# ---------------------------------------------------------------------------- local
def cpu_count() -> int:
    """CPU cores this process may use (its affinity mask, e.g. under Slurm or taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def gpu_count() -> int:
    """CUDA devices torch sees (0 without nvidia-smi on the PATH: torch is not imported then)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@dataclasses.dataclass(frozen=True)
class LocalLayout:
    workers: int
    threads: int  # torch/BLAS threads per worker
    gpus: int  # GPUs shared out one per worker (0: CPU only)

    def describe(self) -> str:
        device = f" and one of the {self.gpus} GPUs" if self.gpus else ""
        return (f"local cluster: {self.workers} worker{'s' if self.workers > 1 else ''}, each running one run at a "
                f"time with {self.threads} torch thread{'s' if self.threads > 1 else ''}{device}")


def local_layout(solver: str, jobs: int | None = None, cores: int | None = None,
                 gpus: int | None = None) -> LocalLayout:
    """Workers for a local sweep: `jobs`, else one per GPU (PINN sweeps on a GPU machine), else
    one per two cores; each gets cores ÷ workers threads."""
    if jobs is not None and jobs < 1:
        raise EofpinnError(f"--jobs {jobs}: must be at least 1 (leave it out for one per GPU or per two cores)")
    cores = cpu_count() if cores is None else cores
    gpus = (gpu_count() if solver == "pinn" else 0) if gpus is None else gpus
    workers = jobs or gpus or max(1, cores // 2)
    return LocalLayout(workers=workers, threads=max(1, cores // workers), gpus=gpus)


class OneGpuPerWorker(WorkerPlugin):
    """Worker plugin: worker i sees only GPU i mod n (CUDA_VISIBLE_DEVICES, set before torch
    first touches CUDA), so "cuda" in a run means that worker's own GPU."""

    name = "eofpinn-one-gpu-per-worker"

    def __init__(self, gpus: int):
        self.gpus = gpus

    def setup(self, worker) -> None:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        devices = visible.split(",") if visible else [str(i) for i in range(self.gpus)]
        index = int(worker.name) if str(worker.name).isdigit() else abs(hash(worker.name))
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[index % len(devices)]


class CollectWarnings(WorkerPlugin):
    """Worker plugin for the workers a sweep starts itself (one run at a time each): the Python
    warnings of a run are collected (worker.RAISED) and returned with its outcome instead of
    printed raw by every worker for every run; the sweep reports each distinct one once
    (studies._execute). Libraries' DeprecationWarnings are dropped, as `eofpinn` does."""

    name = "eofpinn-collect-warnings"

    def setup(self, worker) -> None:
        from eofpinn.studies.worker import collect_warning

        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.showwarning = collect_warning


def local_cluster(layout: LocalLayout, dashboard_address: str = DASHBOARD):
    """A LocalCluster of `layout.workers` processes with one task slot and `layout.threads`
    threads each (the thread variables are read by torch and BLAS when they load)."""
    import dask
    from distributed import LocalCluster

    env = {name: str(layout.threads) for name in THREAD_VARIABLES}
    with dask.config.set(NO_PROFILER):  # each nanny hands its configuration to the workers it starts
        return LocalCluster(n_workers=layout.workers, threads_per_worker=1, processes=True, env=env,
                            dashboard_address=dashboard_address)


# ---------------------------------------------------------------------------- slurm
@dataclasses.dataclass(frozen=True)
class SlurmSettings:
    """One Slurm job per worker: `cores` CPUs, `memory`, `walltime`, `gpus` GPUs each."""

    cores: int
    memory: str
    walltime: str
    jobs: int = 1
    queue: str | None = None
    account: str | None = None
    gpus: int = 0
    extra: tuple[str, ...] = ()


def slurm_settings(table: Mapping[str, Any], flags: Mapping[str, Any] | None = None,
                   source: str = "study file") -> SlurmSettings:
    """The study file's [cluster] section with the flags given (not None) taking precedence;
    each value checked, an error naming the flag or the [cluster] key."""
    flags = {name: value for name, value in (flags or {}).items() if value is not None}
    for key in table:
        if key not in CLUSTER_KEYS:
            raise CaseError(source, f"cluster.{key}", f"unknown key; allowed: {', '.join(CLUSTER_KEYS)}")

    def where(name: str) -> str:
        return f"--{name}" if name in flags else f"{source}: [cluster.{name}]"

    values = {**table, **flags}
    missing = [name for name in ("cores", "memory", "walltime") if name not in values]
    if missing:
        raise EofpinnError(f"--scheduler slurm needs {', '.join(missing)} per job: give "
                           f"{' '.join('--' + m for m in missing)} or set them in the study file's [cluster] section")
    for name in ("cores", "jobs", "gpus"):
        if name in values:
            value = values[name]
            low = 0 if name == "gpus" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise EofpinnError(f"{where(name)}: must be an integer ≥ {low}; got {value!r}")
    for name in ("memory", "walltime", "queue", "account"):
        if name in values and not (isinstance(values[name], str) and values[name].strip()):
            raise EofpinnError(f"{where(name)}: must be a non-empty string; got {values[name]!r}")
    from dask.utils import parse_bytes

    try:
        parse_bytes(values["memory"])
    except (ValueError, TypeError):
        raise EofpinnError(f"{where('memory')}: {values['memory']!r} is not an amount of memory; "
                           'e.g. "16GB"') from None
    if not WALLTIME.match(values["walltime"]):
        raise EofpinnError(f"{where('walltime')}: {values['walltime']!r} is not a Slurm time limit; e.g. \"02:00:00\" "
                           "or \"1-00:00:00\"")
    extra = values.get("extra", ())
    if isinstance(extra, str) or not all(isinstance(line, str) for line in extra):
        raise EofpinnError(f"{where('extra')}: must be a list of #SBATCH options, e.g. [\"--constraint=a100\"]")
    return SlurmSettings(cores=values["cores"], memory=values["memory"], walltime=values["walltime"],
                         jobs=values.get("jobs", 1), queue=values.get("queue"), account=values.get("account"),
                         gpus=values.get("gpus", 0), extra=tuple(extra))


def slurm_cluster(settings: SlurmSettings, dashboard_address: str = DASHBOARD):
    """A dask-jobqueue SLURMCluster whose jobs each start one single-slot worker with
    `settings.cores` CPUs (`--cpus-per-task`), its memory and walltime, and the thread
    variables set to the cores. Nothing is submitted until it is scaled."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise EofpinnError("--scheduler slurm needs dask-jobqueue: python -m pip install 'eofpinn[slurm]'") from None
    directives = [f"--gres=gpu:{settings.gpus}"] if settings.gpus else []
    return SLURMCluster(
        cores=1, processes=1,  # one worker with one task slot per job ...
        job_cpu=settings.cores,  # ... that books all the job's cores for the run's own threads
        memory=settings.memory, walltime=settings.walltime, queue=settings.queue, account=settings.account,
        job_script_prologue=[f"export {name}={settings.cores}" for name in THREAD_VARIABLES]
        + ["export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"],
        job_extra_directives=directives + list(settings.extra), job_name="eofpinn-sweep",
        scheduler_options={"dashboard_address": dashboard_address},
    )


# ---------------------------------------------------------------------------- connecting
def check_scheduler(scheduler: str = LOCAL, jobs: int | None = None, cluster_table: Mapping[str, Any] | None = None,
                    cluster_flags: Mapping[str, Any] | None = None, study_source: str = "study file") -> str:
    """Check --scheduler, --jobs and the Slurm settings before anything is created or started;
    returns the scheduler's kind (local, address, slurm)."""
    kind = scheduler_kind(scheduler)
    given_flags = {name: value for name, value in (cluster_flags or {}).items() if value is not None}
    if kind != SLURM and given_flags:
        raise EofpinnError(f"--{next(iter(given_flags))}: a Slurm option; use it with --scheduler slurm")
    if kind == "address" and jobs is not None:
        raise EofpinnError(f"--jobs: the cluster at {scheduler} has its own workers; --jobs applies to "
                           "--scheduler local and slurm")
    if jobs is not None and jobs < 1:
        raise EofpinnError(f"--jobs {jobs}: must be at least 1 (leave it out for one per GPU or per two cores)")
    if kind == SLURM:
        slurm_settings(cluster_table or {}, {**given_flags, "jobs": jobs}, study_source)
        if shutil.which("sbatch") is None:  # else the jobs fail in the background and the sweep waits forever
            raise EofpinnError("--scheduler slurm: sbatch is not on the PATH; run the sweep where Slurm jobs can "
                               "be submitted (a login node)")
    return kind


@contextlib.contextmanager
def connect(scheduler: str = LOCAL, solver: str = "fd", jobs: int | None = None,
            cluster_table: Mapping[str, Any] | None = None, cluster_flags: Mapping[str, Any] | None = None,
            study_source: str = "study file", report: Callable[[str], None] = print) -> Iterator:
    """A dask.distributed Client for `--scheduler`, closed (with its cluster) on exit; reports
    the cluster and its dashboard address through `report`."""
    from distributed import Client

    kind = check_scheduler(scheduler, jobs, cluster_table, cluster_flags, study_source)
    given_flags = {name: value for name, value in (cluster_flags or {}).items() if value is not None}
    cluster = None
    if kind == LOCAL:
        layout = local_layout(solver, jobs)
        cluster = local_cluster(layout)
        client = Client(cluster)
        client.register_plugin(CollectWarnings())
        if layout.gpus:
            client.register_plugin(OneGpuPerWorker(layout.gpus))
        report(layout.describe())
    elif kind == "address":
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise EofpinnError(f"--scheduler {scheduler}: cannot connect ({exc}); start the scheduler "
                               "(dask scheduler) or check the address") from None
        report(f"cluster at {scheduler}: {len(client.scheduler_info()['workers'])} workers")
    else:
        settings = slurm_settings(cluster_table or {}, {**given_flags, "jobs": jobs}, study_source)
        cluster = slurm_cluster(settings)
        cluster.scale(jobs=settings.jobs)
        client = Client(cluster)
        client.register_plugin(CollectWarnings())
        report(f"slurm cluster: {settings.jobs} job{'s' if settings.jobs > 1 else ''} of {settings.cores} cores, "
               f"{settings.memory}, {settings.walltime}" + (f", {settings.gpus} GPUs" if settings.gpus else ""))
    try:
        report(f"dashboard: {client.dashboard_link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            # A worker that takes a while to exit (torch loaded) is killed with a warning per
            # worker; at the end of a sweep that is expected, not news.
            nanny = logging.getLogger("distributed.nanny")
            level = nanny.level
            nanny.setLevel(logging.ERROR)
            try:
                cluster.close()
            finally:
                nanny.setLevel(level)
