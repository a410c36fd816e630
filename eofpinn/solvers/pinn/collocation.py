"""Collocation points and the boundary data that goes with them.

Interior (arXiv 2605.23391's layout): a fraction of the points uniform over [0, ℓ] × [0, 1], the
rest inside the two wall bands of height h = min(5 ε_p, 0.3), ε_p = √2 ε, where the double layer
lives (uniform in them, or packed towards the walls by `band_grading`). The uniform points come
first, so area means (the ion-content gauge) are taken over them alone, unbiased by the
clustering. Each wall carries n_boundary points at uniform random x (a fraction
`boundary_edge_fraction` of them about that wall's pattern corners instead); each end carries
n_boundary points, half uniform in y and half in the bands.
Boundary targets (ζ̂ of the wall under each point, the equilibrium ψ_eq(y) at reservoir ends)
are computed once per sampling, in float64 on the host, and stored with the points.

An open circuit adds fixed cross-sections for its zero-current term (`current_sections`): the
net current Î = ∫ (N̂₊ − N̂₋)·e_x dy through each is a quadrature, composite Gauss–Legendre in y
with 16 nodes in each wall band [0, h], [1 − h, 1] and 32 in the core (64 per section; the
bands resolve the double layer, which carries the current's excess), at x where FD and the
observables measure it: with no-flux walls (charge is conserved, every section carries the same
current) three, one in each third of the channel, away from the edges of the wall conditions
(physics.observables.section_nodes); with Boltzmann walls, which ions cross, the outlet alone,
as FD's zero-current row. They are no random draw: resampling leaves them where they are.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

from eofpinn.cases.model import Problem
from eofpinn.cases.pinn_settings import PointSettings
from eofpinn.physics.exact import reservoir_profile
from eofpinn.physics.observables import condition_edges, section_nodes

SECTION_COUNT = 3  # cross-sections of the zero-current term (no-flux walls)
SECTION_NODES = (16, 32, 16)  # Gauss–Legendre nodes per section: bottom band, core, top band


@dataclass
class Collocation:
    """Points (N, 2) per region and their targets; `inlet`/`outlet` also serve periodic ends."""

    interior: Tensor
    n_uniform: int
    bottom: Tensor
    top: Tensor
    inlet: Tensor
    outlet: Tensor
    zeta_bottom: Tensor  # ζ̂ on the bottom wall under each bottom point
    zeta_top: Tensor
    psi_inlet: Tensor  # ψ_eq(y) at the inlet points (reservoir ends; zeros when periodic)
    psi_outlet: Tensor
    # Open circuit: the cross-section points (n_sections × nodes, section by section) and the
    # quadrature weight of each in y; None otherwise.
    sections: Tensor | None = None
    section_weights: Tensor | None = None
    n_sections: int = 0
    # The x-averaged momentum balance ([pinn.points] balance_rows > 0): rows of equispaced x,
    # row by row (n_rows × nodes); None otherwise.
    rows: Tensor | None = None
    n_rows: int = 0
    # The flux balances ([pinn.points] balance_sections > 0): cross-sections at random x, section
    # by section, and the quadrature weight of each point in y; None otherwise.
    columns: Tensor | None = None
    column_weights: Tensor | None = None
    n_columns: int = 0
    section_terms: str = "divergence"  # which terms the columns carry ([pinn.points] section_terms)

    REGIONS = ("interior", "bottom", "top", "inlet", "outlet")

    def regions(self) -> tuple[str, ...]:
        return (self.REGIONS + (("sections",) if self.sections is not None else ())
                + (("rows",) if self.rows is not None else ())
                + (("columns",) if self.columns is not None else ()))

    def stacked(self) -> tuple[Tensor, dict[str, slice]]:
        """All points in one (N, 2) batch (one network pass) and each region's slice of it."""
        names = self.regions()
        parts = [getattr(self, name) for name in names]
        slices, start = {}, 0
        for name, part in zip(names, parts):
            slices[name] = slice(start, start + part.shape[0])
            start += part.shape[0]
        return torch.cat(parts), slices

    def state_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state_dict(cls, state: dict, device: torch.device, dtype: torch.dtype) -> Collocation:
        values = {k: (v.to(device=device, dtype=dtype) if isinstance(v, Tensor) else v) for k, v in state.items()}
        return cls(**values)


def wall_band_height(problem: Problem, settings: PointSettings) -> float:
    """h = min(5√2 ε, 0.3) unless the settings give one (wall_band > 0)."""
    if settings.wall_band > 0.0:
        return settings.wall_band
    return min(5.0 * math.sqrt(2.0) * problem.debye_ratio, 0.3)


def _uniform(n: int, generator: torch.Generator) -> Tensor:
    return torch.rand(n, generator=generator, dtype=torch.float64)


def _uniform_points(ell: float, n: int, generator: torch.Generator) -> Tensor:
    """n points uniform over [0, ℓ] × [0, 1] (x drawn first, then y)."""
    return torch.stack((ell * _uniform(n, generator), _uniform(n, generator)), dim=1)


def _clustered_y(n_uniform: int, n_band: int, band: float, generator: torch.Generator,
                 grading: float = 1.0) -> Tensor:
    """n_uniform values uniform in [0, 1], then n_band in [0, h] ∪ [1 − h, 1] at distance h s^k
    from the wall, s uniform, k = `grading` (1: uniform in the bands)."""
    s = _uniform(n_band, generator)
    in_band = (s if grading == 1.0 else s**grading) * band
    lower = _uniform(n_band, generator) < 0.5
    return torch.cat((_uniform(n_uniform, generator), torch.where(lower, in_band, 1.0 - in_band)))


def stratified_uniform(points: Tensor, ell: float) -> Tensor:
    """Uniform points (n, 2) in [0, ℓ] × [0, 1] moved into a jittered grid: the channel cut into
    n_x × n_y equal cells (n_x n_y = n, n_x the divisor of n for which n_x/n_y is nearest ℓ), point k
    into cell (k // n_y, k % n_y) at the same relative place it had in the whole channel. Each cell
    holds one point, so the mean of a smooth function over them errs far less than over n
    independent points (docs/method.md "The content gauge's quadrature"); a prime n leaves strips
    across the longer side."""
    n = points.shape[0]
    if n == 0:
        return points
    n_x = min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: abs(math.log(d * d / (n * ell))))
    n_y = n // n_x
    k = torch.arange(n, device=points.device)
    column, row = (k // n_y).to(points.dtype), (k % n_y).to(points.dtype)
    return torch.stack((ell * (column + points[:, 0] / ell) / n_x, (row + points[:, 1]) / n_y), dim=1)


def section_mean_weights(y: Tensor) -> Tensor:
    """Weights (N,) that sum to 1 and turn values at the heights `y` (N,) of one cross-section, in
    any order, into their mean over the height [0, 1]: the trapezoid rule over the sorted heights,
    each end piece given to the node next to it (node k's weight is half the gap to each
    neighbour). The outlet points of a periodic channel, where the pressure gauge takes its mean,
    are drawn clustered at the walls, so their plain mean is not the section's mean."""
    order = torch.argsort(y)
    ys = y[order]
    edges = torch.cat((ys.new_zeros(1), 0.5 * (ys[1:] + ys[:-1]), ys.new_ones(1)))
    weights = torch.empty_like(y)
    weights[order] = edges[1:] - edges[:-1]
    return weights


def section_mean(values: Tensor, y: Tensor) -> Tensor:
    """The mean over the height of values (N,) at the heights `y` (N,) of one cross-section
    (`section_mean_weights`)."""
    return torch.sum(section_mean_weights(y) * values)


def interior_split(settings: PointSettings) -> dict[str, int]:
    """How many interior points each group gets: uniform (first: area means use them), wall
    bands, pattern edges, transition bands, end bands, adaptive (last: adaptive sampling replaces
    them)."""
    n = settings.n_interior
    shares = {"band": settings.wall_fraction, "edge": settings.edge_fraction,
              "transition": settings.transition_fraction, "end": settings.end_fraction,
              "adaptive": settings.adaptive_fraction}
    counts = {name: int(round(n * share)) for name, share in shares.items()}
    return {"uniform": n - sum(counts.values()), **counts}


def _edge_points(problem: Problem, n: int, band: float, generator: torch.Generator) -> Tensor:
    """n points around the pattern corners: x Gaussian about a corner's x with spread
    2 max(w, ε), the distance from that corner's wall half-normal with spread max(w, ε/2) (cut at
    the wall band): the residuals of a trained PINN peak within a transition width of the corner
    (none: uniform points)."""
    ell = problem.length_ratio
    corners = [(x, y) for x, y in problem.pattern_corners() if x < ell]  # x = ℓ wraps onto x = 0
    if not corners:
        return _uniform_points(ell, n, generator)
    choice = torch.randint(len(corners), (n,), generator=generator)
    corner = torch.tensor(corners, dtype=torch.float64)[choice]
    spread = 2.0 * max(problem.zeta_transition, problem.debye_ratio)
    x = corner[:, 0] + spread * torch.randn(n, generator=generator, dtype=torch.float64)
    x = torch.remainder(x, ell) if problem.ends == "periodic" else x.clamp(0.0, ell)
    depth_spread = max(problem.zeta_transition, 0.5 * problem.debye_ratio)
    depth = (depth_spread * torch.randn(n, generator=generator, dtype=torch.float64)).abs().clamp(max=band)
    y = torch.where(corner[:, 1] == 0.0, depth, 1.0 - depth)
    return torch.stack((x, y), dim=1)


def _wall_edge_x(problem: Problem, y_wall: float, n: int, generator: torch.Generator) -> Tensor:
    """n values of x on the wall at `y_wall` about that wall's pattern corners, Gaussian with the
    edge points' spread 2 max(w, ε): the wall conditions (no-flux walls: n·N± = 0) change fastest
    there, where uniform wall points fall a few at a time (none: uniform)."""
    ell = problem.length_ratio
    xs = [x for x, y in problem.pattern_corners() if y == y_wall and x < ell]  # x = ℓ wraps onto x = 0
    if not xs:
        return ell * _uniform(n, generator)
    return _gaussian_about(problem, xs, 2.0 * max(problem.zeta_transition, problem.debye_ratio), n, generator)


def _gaussian_about(problem: Problem, xs: list[float], spread: float, n: int, generator: torch.Generator) -> Tensor:
    """n values of x, each Gaussian with `spread` about one of `xs` drawn at random, wrapped
    (periodic ends) or clamped (reservoir ends) into [0, ℓ]."""
    ell = problem.length_ratio
    choice = torch.randint(len(xs), (n,), generator=generator)
    x = torch.tensor(xs, dtype=torch.float64)[choice] + spread * torch.randn(n, generator=generator, dtype=torch.float64)
    return torch.remainder(x, ell) if problem.ends == "periodic" else x.clamp(0.0, ell)


TRANSITION_SPREAD = 0.5  # channel heights: the core's response to a change of wall condition


def _transition_points(problem: Problem, n: int, generator: torch.Generator) -> Tensor:
    """n points across the whole height about the x where a wall's ζ̂ changes: x Gaussian about
    such an x with spread TRANSITION_SPREAD, y uniform. Away from a change of wall condition the
    core of a long channel is nearly uniform and its residuals are small; at the change the
    current and the flux of each ion must pass from one wall condition to the other, and an error
    in how they do shows only there (none: uniform points)."""
    x = _transition_x(problem, n, generator)
    if x is None:
        return _uniform_points(problem.length_ratio, n, generator)
    return torch.stack((x, _uniform(n, generator)), dim=1)


def _transition_x(problem: Problem, n: int, generator: torch.Generator) -> Tensor | None:
    """n values of x Gaussian (spread TRANSITION_SPREAD) about the x where a wall's ζ̂ changes,
    wrapped (periodic ends) or clamped (reservoir ends) into [0, ℓ]; None without such an x."""
    ell = problem.length_ratio
    xs = sorted({x for x, _ in problem.pattern_corners() if x < ell})  # x = ℓ wraps onto x = 0
    if not xs:
        return None
    return _gaussian_about(problem, xs, TRANSITION_SPREAD, n, generator)


END_SPREAD = 0.5  # channel heights: the layer over which the fields adjust to a reservoir


def _end_points(problem: Problem, n: int, generator: torch.Generator) -> Tensor:
    """n points across the whole height near the reservoir ends: x half-normal from x = 0 or from
    x = ℓ (half each) with spread END_SPREAD, cut at the channel's length, y uniform. There the
    double layers of the walls meet the reservoirs' equilibrium, and both ions' fluxes through
    the sections drift within about a channel height of each end (docs/method.md "The ions that
    leak through the walls"). Periodic ends have none: uniform points."""
    ell = problem.length_ratio
    if problem.ends != "reservoir":
        return _uniform_points(ell, n, generator)
    depth = (END_SPREAD * torch.randn(n, generator=generator, dtype=torch.float64)).abs().clamp(max=ell)
    at_outlet = _uniform(n, generator) < 0.5
    x = torch.where(at_outlet, ell - depth, depth)
    return torch.stack((x, _uniform(n, generator)), dim=1)


def section_x(problem: Problem) -> np.ndarray:
    """x of the zero-current cross-sections (module docstring)."""
    if problem.ion_wall == "boltzmann":
        return np.array([problem.length_ratio])
    x = np.linspace(0.0, problem.length_ratio, 601)
    return x[section_nodes(x, condition_edges(problem), SECTION_COUNT)]


def section_quadrature(problem: Problem, settings: PointSettings) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights in y on [0, 1]: Gauss–Legendre on the bottom band, the core and the top
    band (SECTION_NODES), the band height that of the collocation (`wall_band_height`)."""
    band = min(wall_band_height(problem, settings), 0.5)
    edges = (0.0, band, 1.0 - band, 1.0)
    nodes, weights = [], []
    for a, b, n in zip(edges[:-1], edges[1:], SECTION_NODES):
        if b <= a:  # a band of 0.5: no core
            continue
        t, w = np.polynomial.legendre.leggauss(n)
        nodes.append(0.5 * (a + b) + 0.5 * (b - a) * t)
        weights.append(0.5 * (b - a) * w)
    return np.concatenate(nodes), np.concatenate(weights)


def sections_at(problem: Problem, settings: PointSettings, xs: np.ndarray) -> tuple[Tensor, Tensor]:
    """Cross-sections at `xs`: their points (N, 2), section by section, and the y weight of each
    (N,), the `section_quadrature` nodes and weights on every section (float64, CPU)."""
    y, w = section_quadrature(problem, settings)
    points = np.stack((np.repeat(xs, y.size), np.tile(y, xs.size)), axis=1)
    return torch.from_numpy(points), torch.from_numpy(np.tile(w, xs.size))


def current_sections(problem: Problem, settings: PointSettings) -> tuple[Tensor, Tensor, int]:
    """The cross-section points, their y weights and the number of sections, for the
    zero-current term of an open circuit (`sections_at` the x of `section_x`)."""
    xs = section_x(problem)
    return (*sections_at(problem, settings, xs), xs.size)


def balance_rows(problem: Problem, settings: PointSettings, generator: torch.Generator) -> Tensor:
    """The rows of the x-averaged balance term, (balance_rows × balance_nodes, 2), row by row: y
    drawn like the interior (half uniform, half in the wall bands), x = ℓ (i + s)/n, i = 0 … n − 1,
    with one random offset s ∈ [0, 1) per row (the mean over a row is the periodic trapezoid rule,
    the midpoint-type rule between reservoirs)."""
    n_rows, n = settings.balance_rows, settings.balance_nodes
    band = wall_band_height(problem, settings)
    y = _clustered_y(n_rows - n_rows // 2, n_rows // 2, band, generator, settings.band_grading)
    offset = _uniform(n_rows, generator)
    x = problem.length_ratio * (torch.arange(n, dtype=torch.float64)[None, :] + offset[:, None]) / n
    return torch.stack((x.reshape(-1), y.repeat_interleave(n)), dim=1)


def balance_sections(problem: Problem, settings: PointSettings, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The cross-sections of the flux-balance terms: (balance_sections × nodes, 2) points, section
    by section, and their y weights (the zero-current sections' quadrature, `section_quadrature`).
    Their x: stratified over [0, ℓ] (one uniform draw in each of n equal parts); with
    section_placement = "transitions", n // 2 of them about the changes of wall condition
    (`_transition_x`) and the rest stratified; with "ends" and reservoir ends (n ≥ 3), two of them
    the end sections x = 0 and x = ℓ themselves and the rest stratified."""
    n = settings.balance_sections
    placed = None  # the sections that are not stratified
    if settings.section_placement == "transitions" and n // 2:
        placed = _transition_x(problem, n // 2, generator)
    elif settings.section_placement == "ends" and problem.ends == "reservoir" and n >= 3:
        placed = torch.tensor([0.0, problem.length_ratio], dtype=torch.float64)
    n_stratified = n - (0 if placed is None else placed.numel())
    x = problem.length_ratio * (torch.arange(n_stratified, dtype=torch.float64) + _uniform(n_stratified, generator)) / n_stratified
    if placed is not None:
        x = torch.cat((x, placed))
    return sections_at(problem, settings, x.numpy())


def sample_collocation(problem: Problem, settings: PointSettings, generator: torch.Generator) -> Collocation:
    """Draw a fresh set of points (float64, CPU) from `generator`. (Edge and adaptive points are
    drawn last, so without them the draws are those of the uniform-and-band layout.)"""
    ell, band = problem.length_ratio, wall_band_height(problem, settings)
    split = interior_split(settings)
    n_base = split["uniform"] + split["band"]
    y = _clustered_y(split["uniform"], split["band"], band, generator, settings.band_grading)
    interior = torch.stack((ell * _uniform(n_base, generator), y), dim=1)
    if settings.uniform == "stratified":  # the same draws, moved into a jittered grid
        n_uniform = split["uniform"]
        interior = torch.cat((stratified_uniform(interior[:n_uniform], ell), interior[n_uniform:]))

    nb = settings.n_boundary
    walls = {}
    for name, y_wall in (("bottom", 0.0), ("top", 1.0)):
        n_edge = int(round(nb * settings.boundary_edge_fraction))
        x = ell * _uniform(nb - n_edge, generator)
        if n_edge:
            x = torch.cat((x, _wall_edge_x(problem, y_wall, n_edge, generator)))
        walls[name] = torch.stack((x, torch.full_like(x, y_wall)), dim=1)
    ends, psi_eq = {}, {}
    for name, x_end in (("inlet", 0.0), ("outlet", ell)):
        # Periodic ends need the outlet only (pressure gauge); the inlet is the same line.
        n_end = nb if problem.ends == "reservoir" or name == "outlet" else 0
        y_end = _clustered_y(n_end - n_end // 2, n_end // 2, band, generator, settings.band_grading)
        ends[name] = torch.stack((torch.full_like(y_end, x_end), y_end), dim=1)
        if problem.ends == "reservoir":
            psi_eq[name] = torch.from_numpy(reservoir_profile(problem, name, y_end.numpy()))
        else:
            psi_eq[name] = torch.zeros_like(y_end)
    zeta = {w: torch.from_numpy(problem.zeta_wall(w, walls[w][:, 0].numpy()).astype(np.float64)) for w in walls}
    if split["edge"] or split["adaptive"]:
        adaptive = _uniform_points(ell, split["adaptive"], generator)
        interior = torch.cat((interior, _edge_points(problem, split["edge"], band, generator), adaptive))
    # Transition and end points: drawn last, placed before the adaptive points (which adaptive sampling replaces).
    later = [draw(problem, split[name], generator) for name, draw in (("transition", _transition_points),
                                                                      ("end", _end_points)) if split[name]]
    if later:
        n_before = interior.shape[0] - split["adaptive"]
        interior = torch.cat((interior[:n_before], *later, interior[n_before:]))
    sections = current_sections(problem, settings) if problem.open_circuit else (None, None, 0)
    rows = balance_rows(problem, settings, generator) if settings.balance_rows else None
    columns = balance_sections(problem, settings, generator) if settings.balance_sections else (None, None)
    return Collocation(
        interior=interior, n_uniform=split["uniform"], bottom=walls["bottom"], top=walls["top"],
        inlet=ends["inlet"], outlet=ends["outlet"], zeta_bottom=zeta["bottom"], zeta_top=zeta["top"],
        psi_inlet=psi_eq["inlet"], psi_outlet=psi_eq["outlet"],
        sections=sections[0], section_weights=sections[1], n_sections=sections[2],
        rows=rows, n_rows=settings.balance_rows,
        columns=columns[0], column_weights=columns[1], n_columns=settings.balance_sections,
        section_terms=settings.section_terms,
    )


def mirrored(points: Collocation) -> Collocation:
    """`points` with every interior point reflected into the lower half, y → min(y, 1 − y): where
    the fields are built mirror-symmetric about y = 1/2 (formulation symmetry "mirror") the
    residuals at (x, 1 − y) are those at (x, y), so the upper half's points would only repeat the
    lower half's; reflected, the same points sample the lower half twice as densely. Area means
    over the uniform points (the ion-content gauge) are unchanged by the symmetry. Walls, ends
    and cross-sections stay as drawn."""
    y = points.interior[:, 1]
    interior = torch.stack((points.interior[:, 0], torch.minimum(y, 1.0 - y)), dim=1)
    return dataclasses.replace(points, interior=interior)


def adapted(points: Collocation, n_adaptive: int, density, settings: PointSettings,
            problem: Problem, generator: torch.Generator) -> Collocation:
    """`points` with its last `n_adaptive` interior points redrawn by residual-based adaptive
    sampling (Wu et al., CMAME 403 (2023) 115671, "RAD"): from a uniform pool of
    adaptive_pool × n candidates, n drawn without replacement with probability
    ∝ r^k / mean(r^k) + c, r = density(candidates) ≥ 0 (a tensor per candidate)."""
    if n_adaptive == 0:
        return points
    n_pool = settings.adaptive_pool * n_adaptive
    pool = torch.stack((problem.length_ratio * _uniform(n_pool, generator), _uniform(n_pool, generator)), dim=1)
    pool = pool.to(points.interior)
    r = density(pool).detach().clamp_min(0.0) ** settings.adaptive_power
    weights = r / r.mean().clamp_min(torch.finfo(r.dtype).tiny) + settings.adaptive_floor
    chosen = torch.multinomial(weights.double().cpu(), n_adaptive, replacement=False, generator=generator)
    interior = torch.cat((points.interior[:-n_adaptive], pool[chosen.to(pool.device)]))
    return dataclasses.replace(points, interior=interior)
