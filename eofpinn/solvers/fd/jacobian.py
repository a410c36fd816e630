"""The exact sparse Jacobian of the discrete residual by stencil AD (stencil.py).

The residual is evaluated once with the unknown vector wrapped in a `Stencil`; every slot
of the resulting rows gives (row, column, ∂F/∂z) triplets. The gauge rows (a handful of
area or cross-section means) expand their quantity's slots along the row. The scatter of
the triplets into compressed-column storage is computed once per grid and reused, since
the dependence structure does not change between Newton steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from eofpinn.solvers.fd.residual import DiscreteProblem, field_residuals
from eofpinn.solvers.fd.stencil import Stencil


def jacobian_triplets(dp: DiscreteProblem, z: np.ndarray):
    """Residual F(z) and the (rows, cols, values) of its Jacobian."""
    rows_stencil, gauges = field_residuals(Stencil.unknowns(z), dp)
    rows, cols, vals = rows_stencil.triplets()
    n_rows = rows_stencil.val.size
    f_parts, r_parts, c_parts, v_parts = [rows_stencil.val], [rows], [cols], [vals]
    for k, (quantity, weights, offset) in enumerate(gauges):
        weighted = quantity * weights
        f_parts.append(np.atleast_1d(np.sum(weighted.val) + offset))
        _, g_cols, g_vals = weighted.reshape(-1).triplets()
        r_parts.append(np.full(g_cols.size, n_rows + k))
        c_parts.append(g_cols)
        v_parts.append(g_vals)
    return np.concatenate(f_parts), np.concatenate(r_parts), np.concatenate(c_parts), np.concatenate(v_parts)


@dataclass
class JacobianAssembler:
    """Assembles the CSC Jacobian, caching the triplet → CSC scatter of one grid."""

    size: int
    _rows: np.ndarray | None = None
    _cols: np.ndarray | None = None
    _template: sp.csc_matrix | None = None
    _scatter: np.ndarray | None = field(default=None, repr=False)

    def __call__(self, dp: DiscreteProblem, z: np.ndarray) -> tuple[np.ndarray, sp.csc_matrix]:
        f, rows, cols, vals = jacobian_triplets(dp, z)
        if not self._same_structure(rows, cols):
            self._build(rows, cols)
        data = np.bincount(self._scatter, weights=vals, minlength=self._template.nnz)
        jac = sp.csc_matrix((data, self._template.indices, self._template.indptr), shape=(self.size, self.size))
        return f, jac

    def _same_structure(self, rows, cols) -> bool:
        return (self._rows is not None and rows.size == self._rows.size
                and np.array_equal(rows, self._rows) and np.array_equal(cols, self._cols))

    def _build(self, rows: np.ndarray, cols: np.ndarray) -> None:
        # Position of every triplet in the CSC data array: sort by (col, row), deduplicate.
        key = cols.astype(np.int64) * self.size + rows
        unique, scatter = np.unique(key, return_inverse=True)
        u_cols, u_rows = unique // self.size, unique % self.size
        indptr = np.concatenate([[0], np.cumsum(np.bincount(u_cols, minlength=self.size))])
        self._template = sp.csc_matrix((np.zeros(unique.size), u_rows, indptr), shape=(self.size, self.size))
        self._rows, self._cols, self._scatter = rows, cols, scatter
