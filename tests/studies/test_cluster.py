"""Where sweeps run: the local layout, the Slurm job script (built without Slurm), and the
checks of --scheduler, --jobs and the [cluster] settings."""

from __future__ import annotations

import shutil

import pytest

from eofpinn.errors import EofpinnError
from eofpinn.studies.cluster import (
    LocalLayout,
    OneGpuPerWorker,
    check_scheduler,
    local_layout,
    slurm_cluster,
    slurm_settings,
)


def test_local_layout_one_worker_per_gpu_for_pinn_else_per_two_cores():
    assert local_layout("pinn", cores=16, gpus=4) == LocalLayout(workers=4, threads=4, gpus=4)
    assert local_layout("fd", cores=16, gpus=0) == LocalLayout(workers=8, threads=2, gpus=0)
    assert local_layout("fd", cores=2, gpus=0) == LocalLayout(workers=1, threads=2, gpus=0)
    assert local_layout("exact", jobs=2, cores=2, gpus=0) == LocalLayout(workers=2, threads=1, gpus=0)
    assert local_layout("pinn", cores=1, gpus=0).workers == 1
    with pytest.raises(EofpinnError, match=r"--jobs 0: must be at least 1"):
        local_layout("fd", jobs=0)


CLUSTER = {"queue": "gpu", "account": "proj42", "cores": 8, "memory": "16GB", "walltime": "02:00:00", "jobs": 4,
           "gpus": 1, "extra": ["--constraint=a100"]}


def test_the_slurm_job_script_books_the_cores_and_runs_one_single_slot_worker():
    pytest.importorskip("dask_jobqueue")
    settings = slurm_settings(CLUSTER, {"walltime": "04:00:00", "jobs": None}, "study.toml")
    assert settings.walltime == "04:00:00" and settings.jobs == 4  # a flag given wins, None does not
    cluster = slurm_cluster(settings, dashboard_address=":0")
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    for directive in ("#SBATCH -p gpu", "#SBATCH -A proj42", "#SBATCH --cpus-per-task=8", "#SBATCH -t 04:00:00",
                      "#SBATCH --gres=gpu:1", "#SBATCH --constraint=a100", "export OMP_NUM_THREADS=8",
                      "export MKL_NUM_THREADS=8", "export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"):
        assert directive in lines, directive
    assert any(line.startswith("#SBATCH --mem=") for line in lines)
    worker = lines[-1]
    assert "distributed.cli.dask_worker" in worker and "--nthreads 1" in worker and "--nanny" in worker


@pytest.mark.parametrize("table,flags,message", [
    ({"cores": 4}, {}, "--scheduler slurm needs memory, walltime per job: give --memory --walltime or set them in "
                       "the study file's [cluster] section"),
    ({**CLUSTER, "cores": 0}, {}, "study.toml: [cluster.cores]: must be an integer ≥ 1; got 0"),
    (CLUSTER, {"cores": -2}, "--cores: must be an integer ≥ 1; got -2"),
    ({**CLUSTER, "walltime": "two hours"}, {}, "study.toml: [cluster.walltime]: 'two hours' is not a Slurm time "
                                               "limit; e.g. \"02:00:00\" or \"1-00:00:00\""),
    ({**CLUSTER, "extra": "--exclusive"}, {}, "study.toml: [cluster.extra]: must be a list of #SBATCH options, "
                                              "e.g. [\"--constraint=a100\"]"),
])
def test_bad_slurm_settings_name_the_flag_or_the_key(table, flags, message):
    with pytest.raises(EofpinnError) as caught:
        slurm_settings(table, flags, "study.toml")
    assert str(caught.value) == message


def test_scheduler_checks(monkeypatch):
    assert check_scheduler("local") == "local" and check_scheduler("tcp://10.0.0.1:8786") == "address"
    with pytest.raises(EofpinnError, match=r"^--jobs: the cluster at tcp://h:1 has its own workers"):
        check_scheduler("tcp://h:1", jobs=2)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(EofpinnError) as caught:
        check_scheduler("slurm", 2, CLUSTER, {}, "study.toml")
    assert str(caught.value) == ("--scheduler slurm: sbatch is not on the PATH; run the sweep where Slurm jobs can be "
                                 "submitted (a login node)")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert check_scheduler("slurm", 2, CLUSTER, {}, "study.toml") == "slurm"


class _Worker:
    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize("visible,name,expected", [(None, 0, "0"), (None, 3, "1"), ("4,6", 1, "6"), ("4,6", 2, "4")])
def test_each_local_worker_sees_one_gpu(monkeypatch, visible, name, expected):
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    OneGpuPerWorker(2).setup(_Worker(name))
    import os

    assert os.environ["CUDA_VISIBLE_DEVICES"] == expected
