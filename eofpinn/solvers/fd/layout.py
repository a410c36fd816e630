"""Where every discrete unknown lives in the Newton vector, and its position on the grid.

The unknown vector is the concatenation of the blocks ψ, c₊, c₋ (cell centres), u (vertical
faces), v (interior horizontal faces), P (cell centres) and the Lagrange multipliers of the
gauges (physics.md §3): λ_P with periodic ends (pressure level) and λ₊, λ₋ with no-flux walls
and periodic ends (ion content) — and, for an open circuit, the field Ê itself (`field_hat`,
closed by the zero-current row; physics.md §7). The residual vector has the same block structure: Poisson,
NP₊, NP₋, Stokes-x, Stokes-y, continuity, then one gauge row per multiplier.

Every unknown and every equation gets a position (I, J) on a common index lattice — I the
full x-node index (u faces: I = k for the face between nodes k and k+1), J the y-cell index
(v faces: J = j for the face below cell j) — chosen so that an equation at (I, J) depends only
on unknowns at (I ± 1, J ± 1). The Jacobian colouring (jacobian.py) relies on that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from eofpinn.solvers.fd.grid import StaggeredGrid

FIELD_BLOCKS = ("psi", "c_plus", "c_minus", "u", "v", "P")
EQUATION_BLOCKS = ("poisson", "np_plus", "np_minus", "stokes_x", "stokes_y", "continuity")


@dataclass(frozen=True)
class Layout:
    grid: StaggeredGrid
    pressure_gauge: bool
    ion_gauge: bool
    open_circuit: bool = False

    @cached_property
    def shapes(self) -> dict[str, tuple[int, int]]:
        n, m, g = self.grid.n, self.grid.m, self.grid
        return {"psi": (n, m), "c_plus": (n, m), "c_minus": (n, m), "u": (g.n_u, m), "v": (n, m - 1), "P": (n, m)}

    @cached_property
    def multipliers(self) -> tuple[str, ...]:
        names = ("lambda_P",) if self.pressure_gauge else ()
        names += ("lambda_plus", "lambda_minus") if self.ion_gauge else ()
        return names + (("field_hat",) if self.open_circuit else ())

    @cached_property
    def offsets(self) -> dict[str, tuple[int, int]]:
        """Block name → (start, stop) in the unknown vector."""
        out, start = {}, 0
        for name in FIELD_BLOCKS:
            size = int(np.prod(self.shapes[name]))
            out[name] = (start, start + size)
            start += size
        for name in self.multipliers:
            out[name] = (start, start + 1)
            start += 1
        return out

    @property
    def size(self) -> int:
        return self.offsets[(FIELD_BLOCKS + self.multipliers)[-1]][1]

    @property
    def n_field_unknowns(self) -> int:
        return self.offsets["P"][1]

    def unpack(self, z):
        """Flat vector (numpy or torch) → dict of block arrays (views)."""
        out = {}
        for name in FIELD_BLOCKS:
            a, b = self.offsets[name]
            out[name] = z[a:b].reshape(self.shapes[name])
        for name in self.multipliers:
            a, _ = self.offsets[name]
            out[name] = z[a]
        return out

    def pack(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        parts = [np.asarray(fields[name], dtype=float).ravel() for name in FIELD_BLOCKS]
        parts += [np.atleast_1d(float(fields.get(name, 0.0))) for name in self.multipliers]
        return np.concatenate(parts)

    # ---- lattice positions (for the colouring) ---------------------------------------------
    @property
    def x_offset(self) -> int:
        """Full-node index of the first scalar unknown (reservoir ends skip node 0)."""
        return 0 if self.grid.periodic else 1

    @property
    def n_positions_x(self) -> int:
        return self.grid.n if self.grid.periodic else self.grid.nx

    def positions(self, block: str) -> tuple[np.ndarray, np.ndarray]:
        """(I, J) of every entry of a field or equation block, flattened like the block."""
        n, m = self.grid.n, self.grid.m
        if block in ("u", "stokes_x"):
            i, j = np.meshgrid(np.arange(self.grid.n_u), np.arange(m), indexing="ij")
        elif block in ("v", "stokes_y"):
            i, j = np.meshgrid(np.arange(n) + self.x_offset, np.arange(1, m), indexing="ij")
        else:
            i, j = np.meshgrid(np.arange(n) + self.x_offset, np.arange(m), indexing="ij")
        return i.ravel(), j.ravel()

    def lookup(self, block: str) -> np.ndarray:
        """Table (positions_x, m) → flat index of the block's unknown at (I, J), or −1."""
        table = np.full((self.n_positions_x, self.grid.m), -1, dtype=np.int64)
        i, j = self.positions(block)
        start = self.offsets[block][0]
        table[i, j] = start + np.arange(i.size)
        return table
