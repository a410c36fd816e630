#!/usr/bin/env bash
# The PINN's GPU figures in one prepared run (issue 15's GPU item), sized for a ~10-minute lease.
#
#   bash benchmarks/gpu_figures.sh [OUT_DIR] [BUDGET_S]
#
# Runs from the repository root with the python3 that holds a CUDA build of torch; eofpinn is
# imported from the checkout (PYTHONPATH=.), so only torch, numpy, scipy and tqdm are needed.
# Stages, each printing its own table; a failed smoke test stops the run at once:
#   0. the machine (nvidia-smi, torch) and a 20-step smoke solve of cases/paper_eof.toml on cuda;
#   1. benchmarks/pinn_step_benchmark.py --device cuda at the paper's size (ms/step of the
#      straightforward nested-autograd step against eofpinn's Taylor-mode step);
#   2. benchmarks/time_to_accuracy.py --preset eofpinn on cuda (eofpinn's defaults, which start
#      from the 1D double layer, already near the exact solution here), 80 s of training;
#   3. benchmarks/time_to_accuracy.py --preset paper with the bases off (zero fields at step 0, as
#      the paper starts) on cuda, up to 50,000 steps within BUDGET_S (default 280) seconds of
#      training: the time to the paper's 1.3e-3 and the error where the run ends.
# The trajectories are written as CSV files under OUT_DIR (default benchmarks/out/gpu).
set -u
out=${1:-benchmarks/out/gpu}
budget=${2:-280}
mkdir -p "$out"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}

echo "== 0. machine and smoke test  ($(date -u +%FT%TZ))"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
$py - <<'EOF' || { echo "smoke test failed: stopping"; exit 1; }
import time, torch, eofpinn
from eofpinn.cases.pinn_settings import replace
from eofpinn.solvers.pinn import solve_pinn
print(f"torch {torch.__version__}, cuda {torch.version.cuda}, device {torch.cuda.get_device_name(0)}")
case = eofpinn.load_case("paper_eof")
settings = replace(case.pinn, {"device": "cuda", "steps": 20, "network.width": 32, "network.depth": 2,
                               "points.n_interior": 256, "points.n_boundary": 32, "records.log_every": 10,
                               "records.conflict_diagnostics": False})
start = time.perf_counter()
solution = solve_pinn(case, settings)
print(f"smoke: 20 steps on cuda in {time.perf_counter() - start:.1f} s, final errors {solution.info['final_errors']}")
EOF

echo "== 1. ms per step at the paper's size  ($(date -u +%FT%TZ))"
timeout 150 $py benchmarks/pinn_step_benchmark.py --device cuda --size paper --rounds 7 --breakdown

echo "== 2. time to accuracy, preset eofpinn, 80 s  ($(date -u +%FT%TZ))"
timeout 150 $py benchmarks/time_to_accuracy.py --preset eofpinn --set device=cuda --set steps=50000 \
    --budget 80 --log-every 100 --csv "$out/tta_eofpinn.csv" | tail -n 12

echo "== 3. the paper case up to 50,000 steps, preset paper, bases off, ${budget} s  ($(date -u +%FT%TZ))"
timeout $((budget + 90)) $py benchmarks/time_to_accuracy.py --preset paper --set device=cuda --set steps=50000 \
    --set formulation.psi_base=linear --set formulation.flow_base=none \
    --budget "$budget" --log-every 100 --csv "$out/tta_paper_50k.csv" | awk 'NR % 25 == 1 || /^$/ || !/^step/'
echo "== done  ($(date -u +%FT%TZ))"
