"""The one result container every solver returns.

A `Solution` holds dimensionless fields on a tensor grid x (nx) × y (ny), each array shaped
(nx, ny) and indexed [i, j] ↔ (x[i], y[j]), plus the case it solves and solver metadata.
Stored fields (physics.md §3): `psi` (double-layer potential), `phi` (total potential, applied
part zero at the outlet), `c_plus`, `c_minus`, `u`, `v`, `p` (total pressure = P + Π).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eofpinn.cases.model import Case

FIELD_NAMES = ("phi", "psi", "c_plus", "c_minus", "u", "v", "p")


def trapezoid_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(nx, ny) weights of the trapezoidal rule on the tensor grid x × y (stretched or not):
    Σ w f ≈ ∫∫ f dx dy. L2 norms of fields on clustered grids use them, so that the nodes
    crowded at the walls or the pattern edges do not outweigh the rest of the channel."""
    def one(nodes: np.ndarray) -> np.ndarray:
        steps = np.diff(np.asarray(nodes, dtype=float))
        return 0.5 * (np.concatenate([[0.0], steps]) + np.concatenate([steps, [0.0]]))

    return np.outer(one(x), one(y))
# The fields the reference paper averages its error over.
PAPER_ERROR_FIELDS = ("phi", "c_plus", "c_minus", "u")


@dataclass
class Solution:
    case: Case
    x: np.ndarray
    y: np.ndarray
    fields: dict[str, np.ndarray]
    solver: str
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        shape = (self.x.size, self.y.size)
        missing = [name for name in FIELD_NAMES if name not in self.fields]
        if missing:
            raise ValueError(f"Solution is missing fields {missing}")
        for name in FIELD_NAMES:
            value = np.asarray(self.fields[name], dtype=float)
            if value.shape != shape:
                raise ValueError(f"field {name!r} has shape {value.shape}, grid is {shape}")
            self.fields[name] = value

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name]

    @property
    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) arrays shaped (nx, ny)."""
        return np.meshgrid(self.x, self.y, indexing="ij")

    @property
    def excess_pressure(self) -> np.ndarray:
        """P = p − Π (physics.md §2); Π = 0 in the paper model."""
        from eofpinn.physics.exact import osmotic_pressure

        return self.fields["p"] - osmotic_pressure(self.case.problem, self["c_plus"], self["c_minus"])
