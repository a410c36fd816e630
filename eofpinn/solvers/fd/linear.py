"""Sparse direct solves of the Newton systems.

SuperLU (scipy) on the matrix permuted symmetrically by the geometric nested dissection of
ordering.py, with near-diagonal pivoting (SymmetricMode, threshold 10⁻³). pypardiso (MKL
PARDISO) was tried and rejected: about 2x faster to factor at 256 x 256, but it returned
wrong solutions at that size (residual 1e22) with its default and with tuned iparm settings,
while correct at 64 x 160.

`Factorisation.solve` also serves as the preconditioner of a GMRES solve with a later
Jacobian (newton.py reuses one factorisation over several Newton steps).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from eofpinn.solvers.fd.layout import Layout
from eofpinn.solvers.fd.ordering import nested_dissection

SUPERLU_OPTIONS = {"DiagPivotThresh": 1e-3, "SymmetricMode": True}


class Factorisation:
    """LU factors of one matrix; `solve(b)` returns A⁻¹ b."""

    def __init__(self, matrix: sp.csc_matrix, layout: Layout, **splu_options):
        self._perm = _ordering(layout)
        permuted = sp.csc_matrix(matrix[self._perm][:, self._perm])
        self._lu = spla.splu(permuted, permc_spec="NATURAL", options=SUPERLU_OPTIONS, **splu_options)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        out = np.empty_like(rhs)
        out[self._perm] = self._lu.solve(rhs[self._perm])
        return out

    @property
    def fill(self) -> int:
        """Non-zeros of L + U."""
        return int(self._lu.L.nnz + self._lu.U.nnz)


_ORDERINGS: dict[int, np.ndarray] = {}


def _ordering(layout: Layout) -> np.ndarray:
    key = hash((layout.grid.nx, layout.grid.m, layout.grid.periodic, layout.multipliers))
    if key not in _ORDERINGS:
        _ORDERINGS.clear()
        _ORDERINGS[key] = nested_dissection(layout)
    return _ORDERINGS[key]
