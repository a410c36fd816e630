"""Independent checks of the FD solver's stencil-AD Jacobian (tests only; the solver uses
eofpinn/solvers/fd/jacobian.py).

- `central_difference_jacobian`: dense, by central differences of the residual (2 residuals
  per unknown: tiny grids only);
- `coloured_jacobian`: coloured forward-mode AD in torch (one residual evaluation per colour).

Coloured AD:

Every equation at lattice position (I, J) depends only on unknowns at (I ± 1, J ± 1)
(layout.py), so two unknowns of the same block whose positions differ by 3 or more in I or J
never meet in one equation. Colouring each block by (I mod 3, J mod 3) — with two extra
x colours closing a periodic ring whose length is not a multiple of 3 — gives ≤ 6 × 15
colours; one Jacobian-vector product (forward-mode dual tensors) per colour yields the sum of that
colour's columns, and each row's entry for a column is read back from the unique candidate of
that colour in the row's 3 × 3 neighbourhood. The multiplier columns get one jvp each and the
few dense gauge rows one reverse-mode gradient each. The result is assembled once per Newton
matrix into a scipy CSC matrix; no dense Jacobian is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import torch
import torch.autograd.forward_ad as fwAD

from eofpinn.solvers.fd.layout import EQUATION_BLOCKS, FIELD_BLOCKS, Layout
from eofpinn.solvers.fd.residual import DiscreteProblem, residual


def ring_colours(n: int) -> np.ndarray:
    """Colours of a ring of n nodes such that nodes ≤ 2 apart (cyclically) differ."""
    colours = np.arange(n) % 3
    tail = n % 3
    if tail:
        colours[n - tail:] = 3 + np.arange(tail)
    return colours


@dataclass(frozen=True)
class ColouredPattern:
    """Seeds and the decompression map for one Layout."""

    layout: Layout

    @cached_property
    def x_colours(self) -> np.ndarray:
        n_pos = self.layout.n_positions_x
        return ring_colours(n_pos) if self.layout.grid.periodic else np.arange(n_pos) % 3

    @property
    def n_x_colours(self) -> int:
        return int(self.x_colours.max()) + 1

    def colour_of(self, block_index: int, i, j) -> np.ndarray:
        return (block_index * self.n_x_colours + self.x_colours[i]) * 3 + j % 3

    @cached_property
    def n_colours(self) -> int:
        return len(FIELD_BLOCKS) * self.n_x_colours * 3

    @cached_property
    def unknown_colours(self) -> np.ndarray:
        colours = np.empty(self.layout.n_field_unknowns, dtype=np.int64)
        for b, block in enumerate(FIELD_BLOCKS):
            i, j = self.layout.positions(block)
            start, stop = self.layout.offsets[block]
            colours[start:stop] = self.colour_of(b, i, j)
        return colours

    @cached_property
    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, colour) of every structurally possible field entry."""
        layout, rows, cols, colours = self.layout, [], [], []
        n_pos, m = layout.n_positions_x, layout.grid.m
        row_start = 0
        for eq in EQUATION_BLOCKS:
            ri, rj = layout.positions(eq)
            row_ids = row_start + np.arange(ri.size)
            row_start += ri.size
            for b, block in enumerate(FIELD_BLOCKS):
                table = layout.lookup(block)
                for di in (-1, 0, 1):
                    ci = ri + di
                    ci = ci % n_pos if layout.grid.periodic else ci
                    inside_i = (ci >= 0) & (ci < n_pos)
                    for dj in (-1, 0, 1):
                        cj = rj + dj
                        ok = inside_i & (cj >= 0) & (cj < m)
                        col = np.full(ri.size, -1)
                        col[ok] = table[ci[ok], cj[ok]]
                        keep = col >= 0
                        rows.append(row_ids[keep])
                        cols.append(col[keep])
                        colours.append(self.colour_of(b, ci[keep], cj[keep]))
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(colours)

    def seeds(self) -> torch.Tensor:
        """One seed per colour, then one per multiplier: shape (n_seeds, n_unknowns)."""
        layout = self.layout
        n_mult = len(layout.multipliers)
        seeds = torch.zeros(self.n_colours + n_mult, layout.size, dtype=torch.float64)
        field_cols = torch.arange(layout.n_field_unknowns)
        seeds[torch.as_tensor(self.unknown_colours), field_cols] = 1.0
        for k in range(n_mult):
            seeds[self.n_colours + k, layout.n_field_unknowns + k] = 1.0
        return seeds


def _jvps(fun, z: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
    """Rows J·s for every seed s (one forward-mode pass each, dual tensors)."""
    rows = []
    for seed in seeds:
        with fwAD.dual_level():
            rows.append(fwAD.unpack_dual(fun(fwAD.make_dual(z, seed))).tangent)
    return torch.stack(rows)


def coloured_jacobian(dp: DiscreteProblem, z: np.ndarray):
    """The residual F(z) and its sparse Jacobian; `dp` must be built with backend="torch"."""
    layout = dp.layout
    pattern = ColouredPattern(layout)
    zt = torch.as_tensor(z, dtype=torch.float64)

    def fun(x):
        return residual(x, dp)

    with torch.no_grad():
        f = fun(zt)
    compressed = _jvps(fun, zt, pattern.seeds()).detach().numpy()
    n_field_rows = layout.n_field_unknowns
    rows, cols, colours = pattern.triplets
    values = compressed[colours, rows]
    blocks = [sp.csr_matrix((values, (rows, cols)), shape=(layout.size, layout.size))]
    n_mult = len(layout.multipliers)
    if n_mult:
        mult_cols = compressed[pattern.n_colours:, :n_field_rows].T
        r, k = np.nonzero(mult_cols)
        blocks.append(sp.csr_matrix((mult_cols[r, k], (r, n_field_rows + k)), shape=(layout.size, layout.size)))
        gauge_rows = _gauge_gradients(fun, zt, n_field_rows, n_mult)
        r, c = np.nonzero(gauge_rows)
        blocks.append(sp.csr_matrix((gauge_rows[r, c], (n_field_rows + r, c)), shape=(layout.size, layout.size)))
    jac = blocks[0]
    for extra in blocks[1:]:
        jac = jac + extra
    jac.eliminate_zeros()
    return f.detach().numpy(), jac.tocsc()


def _gauge_gradients(fun, z: torch.Tensor, n_field_rows: int, n_mult: int) -> np.ndarray:
    """Dense rows ∂(gauge)/∂z by reverse mode (one vjp per gauge row)."""
    x = z.detach().clone().requires_grad_(True)
    gauge = fun(x)[n_field_rows:]
    rows = [torch.autograd.grad(gauge[k], x, retain_graph=True)[0] for k in range(n_mult)]
    return torch.stack(rows).numpy()


def central_difference_jacobian(dp: DiscreteProblem, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Dense Jacobian by central differences of the residual, column by column: an independent
    check of the assembled one on tiny grids (cost: 2 residuals per unknown)."""
    columns = []
    for col in range(z.size):
        step = np.zeros(z.size)
        step[col] = h
        columns.append((residual(z + step, dp) - residual(z - step, dp)) / (2 * h))
    return np.stack(columns, axis=1)
