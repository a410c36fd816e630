"""The staggered (MAC) finite-volume grid of the FD solver.

Cells are clustered at both walls in y by a tanh map

    y_face(s) = ½ (1 + tanh(β (2s − 1)) / tanh β),   s = f / m,  f = 0 … m,

with β = `FDSettings.wall_stretch` (β = 3 puts the first face ≈ 0.03/m from each wall). In x
the output nodes x_0 = 0 … x_{nx−1} = ℓ are uniform (h = ℓ/(nx − 1)) or, with
`FDSettings.edge_stretch` β_x > 0, the image x(s) of uniform s under a tanh map per patch,
fine at every x where ζ̂ jumps (`edge_clustered_nodes`): the exact solution is singular at
those corners (ψ ~ ζ̄ + (Δζ̂/π) θ), which on a uniform grid leaves ψ, c± and p below first
order over the whole channel. The map is fixed, so halving the cells keeps every other node
(nested grid sequencing and Richardson studies). Locations (x index i, y index j):

    ψ, c±, P  cell centres     (x_c[i],    y_c[j])     scalar control volumes
    u         vertical faces   (x_u[i],    y_c[j])     between scalar cells i and i+1
    v         horizontal faces (x_c[i],    y_f[j])     j = 1 … m−1 (walls carry v = 0)

In x the grid depends on the ends:

- reservoir ends: vertex-centred, scalar points on the nodes x_i, control volumes between the
  midpoints of the nodes (the u faces), so the ends x_0 = 0 and x_last = ℓ are Dirichlet nodes;
- periodic ends: cell-centred, scalar cells [x_i, x_{i+1}] with centres at their midpoints,
  i = 0 … n−1, and u faces on the nodes x_{i+1}. Cell faces (not centres) then lie on every
  node, so a ζ̂ patch edge at a node (every shipped patterned case, at every grid level) is a
  face of the wall cells and each wall cell sees one patch only; with edges on centres the
  wall cell at an edge gets the two-patch mean, an O(h) error that left ψ, c± and p first order.

On a non-uniform x grid the scheme uses the cell widths `dx`, the distances `dx_centres`
between the scalar points either side of each u face, and linear interpolation weights
(`face_weights`, `node_weights`); a smooth map keeps the three-point differences second order.
Output (output.py) brings scalars to the nodes by linear interpolation between the two cells
either side. In y the scalars sit at the cell centres y_c = (y_f[j] + y_f[j+1])/2
and the walls are faces, so the output y grid is [0, y_c[0], …, y_c[m−1], 1] (ny = m + 2 nodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from eofpinn.cases.model import Problem

MIN_CELLS_PER_DEBYE = 3
MIN_NX, MIN_NY = 5, 6  # four cells each way: the smallest grid the stencils fit (ranges.FD agrees)


def wall_clustered_faces(n_cells: int, wall_stretch: float) -> np.ndarray:
    """Faces 0 = y_0 < … < y_m = 1 of a symmetric tanh-stretched grid (β = wall_stretch)."""
    s = np.linspace(0.0, 1.0, n_cells + 1)
    if wall_stretch <= 0.0:
        return s
    faces = 0.5 * (1.0 + np.tanh(wall_stretch * (2.0 * s - 1.0)) / np.tanh(wall_stretch))
    faces[0], faces[-1] = 0.0, 1.0
    return faces


def cells_within_debye_length(n_cells: int, wall_stretch: float, debye_ratio: float) -> float:
    """How many y cells lie within one Debye length of a wall (fractional)."""
    faces = wall_clustered_faces(n_cells, wall_stretch)
    return float(np.interp(debye_ratio, faces, np.arange(faces.size)))


def ny_needed(debye_ratio: float, wall_stretch: float, cells_per_debye: float = MIN_CELLS_PER_DEBYE) -> int:
    """Smallest ny (nodes incl. walls) giving `cells_per_debye` cells within ε of each wall."""
    n_cells = 4
    while cells_within_debye_length(n_cells, wall_stretch, debye_ratio) < cells_per_debye:
        n_cells = int(np.ceil(n_cells * 1.1))
    return n_cells + 2


def zeta_edges(problem: Problem) -> np.ndarray:
    """x positions where the wall condition jumps on either wall — ζ̂, σ̂ or the kind of condition
    (x = 0 and ℓ too where a periodic wall wraps from one value to another)."""
    def condition(segment):
        return segment.zeta_hat, segment.charge_hat

    edges = set()
    for wall in ("bottom", "top"):
        segments = problem.zeta_segments(wall)
        edges |= {b.x_start for a, b in zip(segments, segments[1:]) if condition(a) != condition(b)}
        if problem.ends == "periodic" and condition(segments[0]) != condition(segments[-1]):
            edges |= {0.0, problem.length_ratio}
    return np.array(sorted(edges))


def edge_clustered_nodes(length: float, n_cells: int, edges, edge_stretch: float) -> np.ndarray:
    """Nodes 0 = x_0 < … < x_n = ℓ, fine at every position in `edges`, uniform if β = 0.

    x(s) is defined on the uniform s = f ℓ / n by pieces between consecutive breakpoints
    {0, ℓ} ∪ edges; a piece [a, b] takes the s-interval [a, b] and is stretched by a tanh map
    with β = edge_stretch, fine at each end that is an edge: both ends ½(1 + tanh(β(2t − 1))/tanh β),
    one end the half of that map, neither end linear (t = (s − a)/(b − a)). Every map has the
    same slope dx/ds = β sech²β / tanh β at a fine end and β / tanh β at a coarse one, so the
    spacing is smooth across the breakpoints; edges sit on nodes whenever they do on the uniform
    grid, and the nodes of n/2 cells are every other node of n cells (nested grid sequencing).
    """
    s = np.linspace(0.0, length, n_cells + 1)
    if edge_stretch <= 0.0 or len(edges) == 0:
        return s
    edge_set = {float(e) for e in edges}
    breaks = np.array(sorted(edge_set | {0.0, float(length)}))
    x = s.copy()
    beta, scale = edge_stretch, np.tanh(edge_stretch)
    for a, b in zip(breaks[:-1], breaks[1:]):
        inside = (s >= a) & (s <= b)
        t = (s[inside] - a) / (b - a)
        fine_a, fine_b = a in edge_set, b in edge_set
        if fine_a and fine_b:
            g = 0.5 * (1.0 + np.tanh(beta * (2.0 * t - 1.0)) / scale)
        elif fine_b:
            g = np.tanh(beta * t) / scale
        elif fine_a:
            g = 1.0 + np.tanh(beta * (t - 1.0)) / scale
        else:
            g = t
        x[inside] = a + (b - a) * g
    x[0], x[-1] = 0.0, length
    on_node = np.isclose(s[:, None], breaks[None, :], rtol=0.0, atol=1e-12 * length).any(axis=1)
    x[on_node] = s[on_node]  # breakpoints on nodes stay exactly there (round-off of the tanh maps)
    return x


@dataclass(frozen=True)
class StaggeredGrid:
    """Geometry of the MAC grid; `periodic` selects periodic versus reservoir ends.

    `x_nodes` are the output nodes 0 … ℓ (uniform, or clustered at the ζ̂ edges)."""

    length: float
    x_nodes: np.ndarray
    y_faces: np.ndarray
    periodic: bool

    @classmethod
    def build(cls, problem: Problem, nx: int, ny: int, wall_stretch: float, edge_stretch: float = 0.0,
              edges=None) -> StaggeredGrid:
        """The grid of `problem`; x clustered at `edges` (default: the ζ̂ jumps) when edge_stretch > 0."""
        if nx < MIN_NX or ny < MIN_NY:
            raise ValueError(f"FD grid too small: nx = {nx} (need ≥ {MIN_NX}), ny = {ny} (need ≥ {MIN_NY})")
        faces = wall_clustered_faces(ny - 2, wall_stretch)
        edges = zeta_edges(problem) if edges is None else np.asarray(edges, dtype=float)
        nodes = edge_clustered_nodes(problem.length_ratio, nx - 1, edges, edge_stretch)
        return cls(problem.length_ratio, nodes, faces, problem.ends == "periodic")

    # ---- x direction -------------------------------------------------------------------
    @property
    def nx(self) -> int:
        return self.x_nodes.size

    @property
    def hx(self) -> float:
        """Mean node spacing ℓ/(nx − 1) (the spacing of a uniform grid)."""
        return self.length / (self.nx - 1)

    @property
    def n(self) -> int:
        """Scalar unknown columns: nodes 0 … nx−2 (periodic) or 1 … nx−2 (reservoir)."""
        return self.nx - 1 if self.periodic else self.nx - 2

    @property
    def n_u(self) -> int:
        """u columns: one face right of every periodic node, or every face between nodes."""
        return self.n if self.periodic else self.nx - 1

    @cached_property
    def x_cell_faces(self) -> np.ndarray:
        """The n + 1 boundaries of the scalar control volumes: the nodes (periodic) or the
        midpoints between nodes (reservoir)."""
        return self.x_nodes if self.periodic else 0.5 * (self.x_nodes[1:] + self.x_nodes[:-1])

    @cached_property
    def x_unknown(self) -> np.ndarray:
        """x of the scalar cell centres: cell midpoints (periodic) or the interior nodes (reservoir)."""
        if self.periodic:
            return 0.5 * (self.x_nodes[1:] + self.x_nodes[:-1])
        return self.x_nodes[1:-1]

    @cached_property
    def x_u(self) -> np.ndarray:
        """x of the n_u u faces: the nodes right of every periodic cell, or the midpoints."""
        return self.x_nodes[1:] if self.periodic else self.x_cell_faces

    @cached_property
    def dx(self) -> np.ndarray:
        """Widths of the scalar control volumes (n); also the distances between neighbouring u faces
        (u face i−1 to i for periodic ends, i to i+1 for reservoir ends)."""
        return np.diff(self.x_cell_faces)

    @cached_property
    def dx_centres(self) -> np.ndarray:
        """Distance between the scalar points either side of every u face (n_u), the Dirichlet
        end nodes included (reservoir) or across x = ℓ ≡ 0 (periodic); the u control-volume widths."""
        if self.periodic:
            return np.diff(np.concatenate([self.x_unknown, [self.x_unknown[0] + self.length]]))
        return np.diff(self.x_nodes)

    @cached_property
    def face_weights(self) -> np.ndarray:
        """w (n_u) of the linear interpolation (1 − w) f_left + w f_right of scalars to the u faces."""
        left = self.x_unknown if self.periodic else self.x_nodes[:-1]
        return (self.x_u - left) / self.dx_centres

    @cached_property
    def node_weights(self) -> np.ndarray:
        """w (nx − 1) with f(x_k) = (1 − w) f_{k−1} + w f_k for node k between two cells (periodic:
        cells k−1 and k, node 0 across the period) or two u faces (reservoir: k = 1 … nx − 2)."""
        widths = np.diff(self.x_nodes)
        before = np.roll(widths, 1)
        return before / (before + widths)

    # ---- y direction -------------------------------------------------------------------
    @property
    def m(self) -> int:
        return self.y_faces.size - 1

    @cached_property
    def y_centres(self) -> np.ndarray:
        return 0.5 * (self.y_faces[1:] + self.y_faces[:-1])

    @cached_property
    def dy(self) -> np.ndarray:
        """Cell heights Δy_j (m)."""
        return np.diff(self.y_faces)

    @cached_property
    def dy_centres(self) -> np.ndarray:
        """Distances between neighbouring centres, at interior faces 1 … m−1."""
        return np.diff(self.y_centres)

    @cached_property
    def y_nodes(self) -> np.ndarray:
        """Output y grid: both walls and every cell centre."""
        return np.concatenate([[0.0], self.y_centres, [1.0]])

    @property
    def wall_distances(self) -> tuple[float, float]:
        """Distances d₁, d₂ of the first two centres from a wall (the grid is symmetric)."""
        return float(self.y_centres[0]), float(self.y_centres[1])

    @property
    def shape(self) -> tuple[int, int]:
        return self.n, self.m


def face_averaged_zeta(problem: Problem, grid: StaggeredGrid, wall: str) -> np.ndarray:
    """ζ̂ averaged over the wall face (`x_cell_faces`) of every unknown column.

    The wall value of a finite volume is the exact mean over its face (WallProfile.mean, smooth
    transitions included). With periodic ends and sharp jumps the faces are [x_i, x_{i+1}], so a
    patch edge on a node is a face boundary and every wall cell gets a single patch's ζ̂; with
    reservoir ends a patch edge on a node gives that node the mean of the two patches (an O(h)
    datum error at the edge).
    """
    return problem.wall_profile(wall).mean(grid.x_cell_faces[:-1], grid.x_cell_faces[1:])
