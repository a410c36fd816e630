"""eofpinn: electroosmotic flow in micro- and nanochannels with resolved double layers.

    from eofpinn import load_case, solve, write

    case = load_case("straight_channel")   # a shipped case by name, or a path to a case file
    solution = solve(case)                 # finite differences (solver="exact" | "pinn")
    write(solution, "straight.vts")        # ParaView (.npz and .json too)

`Solution` holds dimensionless fields on an (nx, ny) grid (solution["u"], solution.x, ...);
`read_run` loads a run directory written by `eofpinn solve`. Importing eofpinn does not import
torch: the PINN solver loads it when it is used.
"""

from importlib.metadata import PackageNotFoundError, version

from eofpinn.api import DEFAULT_SOLVER, SOLVERS, solve
from eofpinn.cases import Case, load_case
from eofpinn.io import read_run, write
from eofpinn.solution import Solution

try:
    __version__ = version("eofpinn")
except PackageNotFoundError:  # pragma: no cover - running from sources that were never installed
    __version__ = "unknown"

__all__ = ["Case", "Solution", "load_case", "solve", "write", "read_run", "SOLVERS", "DEFAULT_SOLVER",
           "__version__"]
