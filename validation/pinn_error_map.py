"""Where a PINN run is wrong against an FD run of the same case: by region along x, in the flow
rate through cross-sections, and on the centre line.

For a run directory (checkpoint.pt) and an FD run directory (fields.npz) this evaluates the PINN
at the checkpoint's parameters on the FD nodes and prints
1. each field's relative L2 error (the trapezoid weights of the FD grid, as `eofpinn validate`), over the whole channel and
   its share from five strips along x: the two end strips (x < 0.5, x > ℓ − 0.5), the middle
   fifth (0.4ℓ … 0.6ℓ, around a mid-channel ζ step) and the two strips between;
2. the flow rate Q(x) = ∫ u dy of both along the channel (FD conserves it to 1e-6): its spread
   over x says how far the PINN is from conserving volume;
3. u, p, the excess pressure P = p − Π, ψ, c± on the centre line along x (for zeta_step: the
   salt that accumulates at the step and the induced pressure), and the PINN's own Stokes-x,
   Nernst–Planck and continuity residuals there (exact derivatives of the networks);
4. how precise the velocity is in absolute terms: the rms over the channel of FD's u and v and
   of the PINN's errors in them (v's norm is small beside u's, so its relative error asks more),
   and v rebuilt from the PINN's own u by continuity, v_c(y) = −∫₀^y ∂u/∂x dy', against FD's v;
   where the walls change along x and some of the channel lies more than a channel height from
   every change (not on patterned_zeta), v's error there: its rms beside FD's rms v there, and
   that region's part of v's relative L2;
   where both walls are alike (FD's v odd about y = 1/2), the PINN's u and v errors split into
   their parts even and odd about the centre line (v's even part: a flow across it);
5. the PINN's flux of each ion through cross-sections at those x (Gauss–Legendre in y, exact
   derivatives of the networks, with the exact gauges applied as in the loss and the written
   fields: `PINNModel.gauged_jets`; every jet below is gauged), and the ions that leave through the walls over the
   middle fifth, which no-flux walls forbid (a source that could make the flux jump there);
6. the spread of each ion's flux over every x node of the FD grid (periodic: less the node that
   repeats x = 0), as `eofpinn validate` defines it — (max − min) / max(mean |Q±|, mean ∫|N±·e_x| dy)
   — but from the networks' own jets (exact derivatives, Gauss–Legendre in y as the training's
   sections, and again by a quadrature graded into the layers, 8 nodes on each piece between
   0, 0.001, 0.0025, …, 0.3 and 0.5 from either wall: whether the sections resolve a counter-ion
   crowded into a sliver of the layer), beside the spread
   `validate` reports from the run's sampled output fields (when RUN_DIR holds them). If the two
   agree, the spread is the networks', not the quadrature's; the x of the largest departure from
   the mean flux says where it sits;
7. each ion's flux through 41 equispaced sections (periodic: 40) less its mean over them, as a
   fraction of |mean|: its profile along x (an end layer at a reservoir end, a dip at a step);
8. the ions that leave through the walls (∫ n·N̂± dx on both walls, n out of the fluid; no-flux
   walls: 0) stretch by stretch — a channel height at a time, and within 0.1 and 0.5 of each x
   where a wall condition changes — as a fraction of each ion's mean flux: along a stretch the
   flux changes by the ions that leave through the walls plus the interior's residual, so this
   says which of the two makes a departure of item 7;
9. the other source, the interior's: ∫∫ ∇·N̂± over each of those stretches (the networks'
   Nernst–Planck residuals, Gauss–Legendre in y as the sections and two Gauss nodes in x in each
   of 200 cells per channel height), in the same units, and what the balance leaves,
   F(b) − F(a) + out − ∫∫ ∇·N̂± (the quadratures' error: 0 up to it); then the same integral split
   by the distance from the nearer wall (BANDS: within 0.02, 0.02–0.1, 0.1–0.25, beyond 0.25
   channel heights; each node counted in the band that holds it), which says whether the source
   sits in a double layer or in the core;
10. each PDE residual's mean square over the channel (the sections' quadrature at 200 stations per
   channel height) and its share from each of those bands: where each term of the loss lies
   (a residual that scales with a crowded counter-ion's concentration puts its loss in a sliver of
   the layer, and the core, which sets the flow, counts for nothing in it); Poisson's and the
   Nernst–Planck residuals also over the local (c₊ + c₋)/2.

    python validation/pinn_error_map.py RUN_DIR FD_RUN_DIR [--case CASE]
        (--case when RUN_DIR has no case.toml, e.g. a validation/pinn_targets.py run)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: validation.*, eofpinn

from eofpinn import io  # noqa: E402
from eofpinn.solution import trapezoid_weights  # noqa: E402
from eofpinn.validation.compare import balances, flux_scale  # noqa: E402
from eofpinn.solvers.pinn.collocation import sections_at  # noqa: E402
from eofpinn.physics.exact import osmotic_pressure  # noqa: E402
from eofpinn.physics.observables import condition_edges  # noqa: E402
from eofpinn.solvers.pinn.losses import ion_fluxes_x, ion_fluxes_y, pde_residuals, through_sections  # noqa: E402
from eofpinn.solvers.pinn.evaluation import predict  # noqa: E402
from validation.pinn_generalization import trained  # noqa: E402

FIELDS = ("psi", "c_plus", "c_minus", "u", "v", "p")
PROFILE_POINTS = 12
PROFILE_STATIONS = 40  # equispaced intervals of the flux profile along x (item 7 of the docstring)


def strips(x: np.ndarray, ell: float) -> dict[str, np.ndarray]:
    return {"x<0.5": x < 0.5, "to 0.4ℓ": (x >= 0.5) & (x < 0.4 * ell), "0.4ℓ-0.6ℓ": (x >= 0.4 * ell) & (x < 0.6 * ell),
            "to ℓ-0.5": (x >= 0.6 * ell) & (x < ell - 0.5), ">ℓ-0.5": x >= ell - 0.5}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("fd_run")
    parser.add_argument("--case", default=None)
    args = parser.parse_args(argv)
    trainer = trained(Path(args.run), args.case)
    problem = trainer.task.problem
    fd = dict(np.load(Path(args.fd_run) / "fields.npz"))
    x, y = fd["x"], fd["y"]
    X, Y = np.meshgrid(x, y, indexing="ij")
    points = torch.tensor(np.stack([X.ravel(), Y.ravel()], 1), dtype=next(trainer.model.parameters()).dtype)
    with torch.no_grad():
        values = predict(trainer.model, problem, points)
    pinn = {k: v.double().cpu().numpy().reshape(X.shape) for k, v in values.items()}
    weights = trapezoid_weights(x, y)
    regions = strips(X, problem.length_ratio)
    out = {"step": int(trainer.step), "errors": {}, "strips": {}}
    print(f"{args.run} at step {trainer.step} against {args.fd_run}")
    for name in FIELDS:
        norm = np.sqrt((weights * fd[name] ** 2).sum())
        error = weights * (pinn[name] - fd[name]) ** 2
        out["errors"][name] = float(np.sqrt(error.sum()) / norm)
        out["strips"][name] = {k: float(np.sqrt(error[m].sum()) / norm) for k, m in regions.items()}
        print(f"{name:8s} {out['errors'][name]:.2e} | " + "  ".join(f"{k} {v:.1e}" for k, v in out["strips"][name].items()))
    out["velocity"] = velocity_precision(trainer, fd, pinn, points, weights)
    velocity = out["velocity"]
    print(f"velocity rms over the channel: FD u {velocity['rms_u']:.2e}, v {velocity['rms_v']:.2e}; PINN error "
          f"u {velocity['rms_error_u']:.2e}, v {velocity['rms_error_v']:.2e}; v by continuity from the PINN's u "
          f"against FD's v: relative L2 {velocity['v_by_continuity_error']:.2e}")
    if "far_part_v" in velocity:
        print(f"v more than a channel height from every change of wall condition: rms error {velocity['far_rms_error_v']:.2e} "
              f"where FD's rms v is {velocity['far_rms_v']:.2e}; that part of v's relative L2 {velocity['far_part_v']:.2e}")
    if mirror_symmetric(fd["v"], y):
        out["mirror"] = {name: mirror_split(pinn[name] - fd[name], fd[name], weights) for name in ("u", "v")}
        print("walls alike (FD's v odd about y = 1/2): the PINN's error split about the centre line, relative L2 "
              + "; ".join(f"{name} even {part['even']:.2e}, odd {part['odd']:.2e}" for name, part in out["mirror"].items())
              + " (v's even part is a flow across the centre line, which the symmetry forbids)")
    flow = {"fd": np.trapezoid(fd["u"], y, axis=1), "pinn": np.trapezoid(pinn["u"], y, axis=1)}
    scale = np.abs(flow["fd"]).max()
    out["flow_rate_spread"] = {k: float((q.max() - q.min()) / scale) for k, q in flow.items()}
    out["flow_rate_mean_error"] = float((flow["pinn"].mean() - flow["fd"].mean()) / scale)
    every = max(1, len(x) // PROFILE_POINTS)
    print(f"flow rate Q(x): spread over x {out['flow_rate_spread']['pinn']:.2e} (FD {out['flow_rate_spread']['fd']:.1e}), "
          f"mean off by {out['flow_rate_mean_error']:+.2e} (relative to max |Q_FD|)")
    print("x              " + " ".join(f"{v:8.3f}" for v in x[::every]))
    for key in ("fd", "pinn"):
        print(f"Q {key:4s}         " + " ".join(f"{v:8.5f}" for v in flow[key][::every]))
    centre = len(y) // 2
    for fields in (fd, pinn):
        fields["P"] = fields["p"] - osmotic_pressure(problem, fields["c_plus"], fields["c_minus"])
    for name in ("u", "p", "P", "psi", "c_plus", "c_minus"):
        for key, fields in (("fd", fd), ("pinn", pinn)):
            print(f"{name:7s} {key:4s}   " + " ".join(f"{v:8.5f}" for v in fields[name][::every, centre]))
    out["centre_residuals"] = centre_residuals(trainer, x[::every])
    for name, values in out["centre_residuals"].items():
        print(f"{name:11s} pinn " + " ".join(f"{v:+8.4f}" for v in values))
    out["ion_fluxes"] = ion_fluxes(trainer, x[::every])
    for name, flux in out["ion_fluxes"].items():
        print(f"N{name[2:]:14s} " + " ".join(f"{v:8.5f}" for v in flux))
    out["wall_outflow"] = wall_outflow(trainer, 0.4 * problem.length_ratio, 0.6 * problem.length_ratio)
    print("ions out through the walls over 0.4ℓ-0.6ℓ (pinn; no-flux walls: 0): "
          + ", ".join(f"{k} {v:+.1e}" for k, v in out["wall_outflow"].items()))
    stations = x[:-1] if problem.ends == "periodic" else x
    out["station_spreads"] = station_flux_spreads(trainer, stations)
    out["graded_station_spreads"] = station_flux_spreads(trainer, stations, graded=True)
    sampled = validate_spreads(Path(args.run))
    for name, found in out["station_spreads"].items():
        by_validate = f"; validate on the run's output fields {sampled[name]:.3e}" if sampled else ""
        graded = out["graded_station_spreads"][name]
        print(f"flux spread of {name} over {stations.size} stations from the jets {found['spread']:.3e} "
              f"(mean {found['mean']:.5f}, largest departure {found['largest_departure']:+.2e} of the scale at "
              f"x = {found['x_of_largest']:.3f}); by a quadrature graded into the layers {graded['spread']:.3e} "
              f"(mean {graded['mean']:.5f}){by_validate}")
    out["validate_spreads"] = sampled
    along = np.linspace(0.0, problem.length_ratio, PROFILE_STATIONS + 1)
    along = along[:-1] if problem.ends == "periodic" else along  # x = ℓ is x = 0 there
    out["flux_profile"] = {name: values.tolist() for name, values in flux_profile(trainer, along).items()}
    print(f"each ion's flux along x less its mean there, in 1e-3 of |mean| ({along.size} equispaced sections)")
    print("x              " + " ".join(f"{v:6.2f}" for v in along))
    for name, values in out["flux_profile"].items():
        print(f"{name:14s} " + " ".join(f"{1e3 * v:6.1f}" for v in values))
    means = {name: found["mean"] for name, found in out["station_spreads"].items()}
    edges = leak_stretches(problem.length_ratio, condition_edges(problem))
    out["wall_leaks"] = wall_leaks(trainer, edges, means)
    print("ions out through the walls by stretch, in 1e-3 of each ion's |mean flux| (no-flux walls: 0)")
    print("from x         " + " ".join(f"{a:6.2f}" for a in edges[:-1]))
    print("to x           " + " ".join(f"{b:6.2f}" for b in edges[1:]))
    for name, values in out["wall_leaks"].items():
        print(f"{name:14s} " + " ".join(f"{1e3 * v:6.2f}" for v in values))
    by_band = interior_sources(trainer, edges, means, bands=BANDS)
    out["interior_sources"] = {name: [float(sum(v)) for v in values] for name, values in by_band.items()}
    out["interior_sources_by_band"] = {"bands": list(BANDS), **by_band}
    through = ion_fluxes(trainer, edges)
    print("∫∫ ∇·N over each stretch (the interior's residual), in the same units; then what the balance leaves;")
    print("then the residual's share from each band of distance to the nearer wall")
    labels = [f"{a:g}-{b:g}" for a, b in zip((0.0, *BANDS), (*BANDS, 0.5))]
    for name, values in out["interior_sources"].items():
        change = np.diff(np.array(through[name])) / abs(means[name])
        left = change + np.array(out["wall_leaks"][name]) - np.array(values)
        print(f"{name:14s} " + " ".join(f"{1e3 * v:6.2f}" for v in values))
        print(f"{'  left':14s} " + " ".join(f"{1e3 * v:6.2f}" for v in left))
        for k, label in enumerate(labels):
            print(f"{'  ' + label:14s} " + " ".join(f"{1e3 * v[k]:6.2f}" for v in by_band[name]))
    out["residual_shares"] = residual_shares(trainer)
    print("each PDE residual's mean square over the channel and its share from each band of distance to the nearer wall")
    print(f"{'':16s} {'mean square':>11s} " + " ".join(f"{label:>9s}" for label in labels))
    for name, found in out["residual_shares"].items():
        print(f"{name:16s} {found['mean_square']:11.2e} " + " ".join(f"{share:9.3f}" for share in found["shares"]))
    return out


def leak_stretches(ell: float, changes: np.ndarray) -> np.ndarray:
    """Edges of the stretches of item 8: every channel height from 0 to ℓ, except within 1/2 of
    a change of wall condition, where the stretches end 1/2 and 0.1 from it."""
    near = np.array([x + d for x in changes for d in (-0.5, -0.1, 0.1, 0.5)])
    heights = np.arange(0.0, np.floor(ell) + 1.0)
    far = heights[[np.all(np.abs(h - changes) >= 0.5) for h in heights]] if changes.size else heights
    edges = np.concatenate((far, near[(near > 0.0) & (near < ell)], [0.0, ell]))
    return np.unique(np.round(edges, 12))


BANDS = (0.02, 0.1, 0.25)  # item 9's split by the distance from the nearer wall (channel heights)


def wall_band(points: torch.Tensor, cuts: np.ndarray) -> np.ndarray:
    """Each point's band of distance to the nearer wall: 0 for [0, cuts[0]), …, len(cuts) beyond the last."""
    y = points[:, 1].double().cpu().numpy()
    return np.searchsorted(cuts, np.minimum(y, 1.0 - y), side="right")


def interior_sources(trainer, edges: np.ndarray, means: dict[str, float], per_unit: int = 200,
                     chunk: int = 20000, bands: tuple[float, ...] = ()) -> dict[str, list]:
    """∫∫ ∇·N̂± over each stretch [edges[i], edges[i+1]] (the networks' Nernst–Planck residual r
    is −∇·N̂±), over |means[ion]|: sections at two Gauss nodes in x per cell, `per_unit` cells
    per channel height, each integrated in y as `sections_at` lays it out. With `bands` (edges in
    distance from the nearer wall, 0 < b₁ < … < 1/2), each stretch's value is a list over the
    bands [0, b₁), [b₁, b₂), …, [b_k, 1/2] instead, each quadrature node counted in the band that
    holds it (their sum is the stretch's total)."""
    problem, model = trainer.task.problem, trainer.model
    g, gw = np.polynomial.legendre.leggauss(2)
    cuts = np.asarray(bands, dtype=float)
    out = {name: [] for name in means}
    for a, b in zip(edges[:-1], edges[1:]):
        cells = np.linspace(a, b, max(1, int(np.ceil(per_unit * (b - a)))) + 1)
        half, mid = 0.5 * np.diff(cells), 0.5 * (cells[1:] + cells[:-1])
        xs = (mid[:, None] + half[:, None] * g[None, :]).ravel()
        wx = (half[:, None] * gw[None, :]).ravel()
        points, wy = sections_at(problem, trainer.settings.points, xs)
        weights = wy.numpy() * np.repeat(wx, wy.numel() // xs.size)  # the points section by section
        band = wall_band(points, cuts)
        total = {name: np.zeros(cuts.size + 1) for name in means}
        for start in range(0, points.shape[0], chunk):
            with torch.no_grad():
                res = pde_residuals(problem, model.gauged_jets(points[start:start + chunk].to(trainer.dtype)), model.field,
                                    model.formulation.flux_force)
            rows = slice(start, start + chunk)
            for name in means:
                r = res["np_" + name[2:]].double().cpu().numpy().ravel()
                total[name] -= np.bincount(band[rows], weights=weights[rows] * r, minlength=cuts.size + 1)
        for name in means:
            value = total[name] / abs(means[name])
            out[name].append(value.tolist() if bands else float(value.sum()))
    return out


def residual_shares(trainer, per_unit: int = 200, bands: tuple[float, ...] = BANDS) -> dict[str, dict]:
    """Each PDE residual's mean square over the channel (sections at `per_unit` stations per channel
    height, each integrated in y as `sections_at` lays it out, gauged jets) and the share of it from
    each band of distance to the nearer wall ([0, b₁), …, [b_k, 1/2]); "<name> / I" for Poisson's
    and the Nernst–Planck residuals divided by the local (c₊ + c₋)/2 (formulation
    poisson_residual / ion_residuals "ionic_strength")."""
    problem, model = trainer.task.problem, trainer.model
    xs = (np.arange(int(np.ceil(per_unit * problem.length_ratio))) + 0.5) / per_unit
    cuts = np.asarray(bands, dtype=float)
    totals: dict[str, np.ndarray] = {}
    for start in range(0, xs.size, 40):
        points, w = sections_at(problem, trainer.settings.points, xs[start:start + 40])
        band = wall_band(points, cuts)
        with torch.no_grad():
            jets = model.gauged_jets(points.to(trainer.dtype))
            res = pde_residuals(problem, jets, model.field, model.formulation.flux_force)
        salt = (0.5 * (jets["c_plus"][0] + jets["c_minus"][0])).double().cpu().numpy()
        squares = {name: r.double().cpu().numpy() ** 2 for name, r in res.items()}
        squares.update({f"{name} / I": squares[name] / salt**2 for name in ("poisson", "np_plus", "np_minus")
                        if name in squares})
        for name, r2 in squares.items():
            totals[name] = totals.get(name, 0.0) + np.bincount(band, weights=w.numpy() * r2, minlength=cuts.size + 1)
    return {name: {"mean_square": float(t.sum() / xs.size), "shares": (t / t.sum()).tolist() if t.sum() > 0 else []}
            for name, t in totals.items()}


def wall_leaks(trainer, edges: np.ndarray, means: dict[str, float]) -> dict[str, list[float]]:
    """∫ n·N̂± dx on both walls over each stretch [edges[i], edges[i+1]] (`wall_outflow`), over
    |means[ion]|."""
    leaks = {name: [] for name in means}
    for a, b in zip(edges[:-1], edges[1:]):
        for name, value in wall_outflow(trainer, float(a), float(b), n=max(401, int(2000 * (b - a)) + 1)).items():
            leaks[name].append(value / abs(means[name]))
    return leaks


def station_flux_spreads(trainer, stations: np.ndarray, chunk: int = 40,
                         graded: bool = False) -> dict[str, dict[str, float]]:
    """Each ion's flux Q±(x) = ∫ N±·e_x dy through the sections at `stations`, from the networks'
    jets, reduced as `eofpinn validate` reduces its sampled fluxes: spread = (max − min) / scale,
    scale = max(mean |Q±|, mean ∫|N±·e_x| dy) (compare.flux_scale, which `balances` uses). Also the mean flux and where
    Q± departs most from it (as a fraction of the scale)."""
    out = {}
    for name, (flux, magnitude) in station_fluxes(trainer, stations, chunk, graded).items():
        scale = flux_scale(flux, magnitude)
        departure = (flux - flux.mean()) / scale
        worst = int(np.argmax(np.abs(departure)))
        out[name] = {"spread": float(np.ptp(flux) / scale), "mean": float(flux.mean()),
                     "largest_departure": float(departure[worst]), "x_of_largest": float(stations[worst])}
    return out


def flux_profile(trainer, stations: np.ndarray) -> dict[str, np.ndarray]:
    """Each ion's flux through the sections at `stations` (from the jets) less its mean over
    them, as a fraction of |mean|: where along the channel Q±(x) departs (an end layer, a step)."""
    out = {}
    for name, (flux, _) in station_fluxes(trainer, stations).items():
        out[name] = (flux - flux.mean()) / abs(flux.mean())
    return out


GRADED_EDGES = (0.0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.5)  # distance from a wall


def graded_sections(xs: np.ndarray, per_piece: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and weights of sections at `xs` laid out as `sections_at` lays them out (section by
    section), but with `per_piece` Gauss–Legendre nodes on each piece between GRADED_EDGES from
    either wall: a quadrature that resolves a layer a few thousandths of the height thick."""
    edges = np.array(GRADED_EDGES)
    edges = np.concatenate((edges, 1.0 - edges[-2::-1]))
    g, gw = np.polynomial.legendre.leggauss(per_piece)
    y = np.concatenate([0.5 * (a + b) + 0.5 * (b - a) * g for a, b in zip(edges[:-1], edges[1:])])
    w = np.concatenate([0.5 * (b - a) * gw for a, b in zip(edges[:-1], edges[1:])])
    points = np.stack((np.repeat(xs, y.size), np.tile(y, xs.size)), axis=1)
    return torch.tensor(points, dtype=torch.float64), torch.tensor(np.tile(w, xs.size), dtype=torch.float64)


def station_fluxes(trainer, stations: np.ndarray, chunk: int = 40,
                   graded: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each ion's (∫ N±·e_x dy, ∫ |N±·e_x| dy) through the sections at `stations` (Gauss–Legendre
    in y as the training's sections, or `graded_sections`; the networks' jets)."""
    problem, model = trainer.task.problem, trainer.model
    totals: dict[str, list[np.ndarray]] = {}
    for start in range(0, stations.size, chunk):
        xs = stations[start:start + chunk]
        points, w = graded_sections(xs) if graded else sections_at(problem, trainer.settings.points, xs)
        w = w.to(trainer.dtype)
        with torch.no_grad():
            jets = model.gauged_jets(points.to(trainer.dtype))
        for name, parts in ion_fluxes_x(problem, jets, model.field).items():
            density = sum(parts.values())
            totals.setdefault(name, []).append(np.stack([
                through_sections(w, density, xs.size).double().cpu().numpy(),
                through_sections(w, density.abs(), xs.size).double().cpu().numpy()]))
    return {name: tuple(np.concatenate(pieces, axis=1)) for name, pieces in totals.items()}


def validate_spreads(run_dir: Path) -> dict[str, float] | None:
    """The ion-flux spreads `eofpinn validate` reports for the run's own output fields (None
    when the run directory has no fields, e.g. a run stopped before it wrote them)."""
    if not (run_dir / "fields.npz").exists():
        return None
    found = balances(io.read_run(run_dir))
    return {name: found[f"ion_flux_spread_{name}"] for name in ("c_plus", "c_minus")}


def mirror_symmetric(v: np.ndarray, y: np.ndarray, tol: float = 1e-8) -> bool:
    """Whether the grid's y nodes mirror about y = 1/2 and `v` (axis 1 is y) is odd about it to
    `tol` of its norm: FD's v of a channel whose two walls are alike."""
    if not np.allclose(y, 1.0 - y[::-1], rtol=0.0, atol=1e-12):
        return False
    norm = np.linalg.norm(v)  # 0 for a straight channel: nothing to split against
    return bool(norm > 0.0 and np.linalg.norm(v + v[:, ::-1]) <= tol * norm)


def mirror_split(error: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """The parts of `error` even and odd about y = 1/2 (on a grid whose y nodes mirror, weights
    mirror too), each as a relative L2 against `reference`; the two parts are orthogonal, so their
    squares add up to the square of the whole error's."""
    even = 0.5 * (error + error[:, ::-1])
    odd = 0.5 * (error - error[:, ::-1])
    norm = np.sqrt((weights * reference**2).sum())
    return {"even": float(np.sqrt((weights * even**2).sum()) / norm),
            "odd": float(np.sqrt((weights * odd**2).sum()) / norm)}


def v_by_continuity(u_x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """v(x, y) = −∫₀^y ∂u/∂x dy' on a grid (axis 1 is y, v = 0 on the bottom wall): the v that
    continuity makes of ∂u/∂x (trapezoid rule)."""
    from scipy.integrate import cumulative_trapezoid

    return -cumulative_trapezoid(u_x, y, axis=1, initial=0.0)


def velocity_precision(trainer, fd: dict, pinn: dict, points: torch.Tensor, weights: np.ndarray) -> dict[str, float]:
    """Rms over the channel of FD's u, v and of the PINN's errors in them (`pinn`: its fields at
    `points`, the FD nodes), and the relative L2 error against FD's v of the v that continuity
    makes of the PINN's ∂u/∂x (`v_by_continuity`; ∂u/∂x from the networks' jets). A stream-function
    flow is divergence-free by construction (its jets carry no ∂u/∂x): continuity rebuilds its own v."""
    with torch.no_grad():
        jets = trainer.model.gauged_jets(points.to(trainer.dtype))
    u, v = pinn["u"], pinn["v"]
    area = weights.sum()
    rms = lambda f: float(np.sqrt((weights * f**2).sum() / area))  # noqa: E731
    if "stream" in jets:
        rebuilt = v
    else:
        rebuilt = v_by_continuity(jets["u"][1].double().cpu().numpy().reshape(fd["u"].shape), fd["y"])
    out = {"rms_u": rms(fd["u"]), "rms_v": rms(fd["v"]), "rms_error_u": rms(u - fd["u"]),
           "rms_error_v": rms(v - fd["v"]), "v_by_continuity_error": rms(rebuilt - fd["v"]) / rms(fd["v"])}
    edges = condition_edges(trainer.task.problem)
    X = np.broadcast_to(fd["x"][:, None], weights.shape)
    far = np.abs(X[..., None] - edges).min(axis=-1) > 1.0 if edges.size else np.zeros(weights.shape, bool)
    if far.any():  # v far from every change of wall condition (more than a channel height; none on patterned_zeta)
        far_rms = lambda f: float(np.sqrt((weights * f**2)[far].sum() / weights[far].sum()))  # noqa: E731
        out.update({"far_rms_v": far_rms(fd["v"]),
                    "far_rms_error_v": far_rms(v - fd["v"]),
                    "far_part_v": float(np.sqrt((weights * (v - fd["v"]) ** 2)[far].sum() / (weights * fd["v"] ** 2).sum()))})
    return out


def centre_residuals(trainer, xs: np.ndarray) -> dict[str, list[float]]:
    """The PINN's PDE residuals (physics/residuals.py, on the networks' jets) at y = 1/2 and `xs`
    (a stream-function flow has no continuity residual: ∇²Ψ + ω instead; ion stream functions
    replace the Nernst–Planck residuals by the x-components of N± − curl χ±)."""
    problem, model = trainer.task.problem, trainer.model
    points = torch.tensor(np.stack((xs, np.full_like(xs, 0.5)), 1), dtype=trainer.dtype)
    with torch.no_grad():
        residuals = pde_residuals(problem, model.gauged_jets(points), model.field, model.formulation.flux_force)
    return {name: residuals[name].double().cpu().tolist()
            for name in ("stokes_x", "np_plus", "np_minus", "flux_plus_x", "flux_minus_x", "continuity", "vorticity")
            if name in residuals}


def ion_fluxes(trainer, xs: np.ndarray) -> dict[str, list[float]]:
    """∫ N̂±·e_x dy through the cross-sections at `xs`, from the networks' jets, and each part of it
    (diffusion, conduction, convection: `plus diffusion`, …)."""
    problem, model = trainer.task.problem, trainer.model
    points, w = sections_at(problem, trainer.settings.points, np.asarray(xs, dtype=float))
    with torch.no_grad():
        jets = model.gauged_jets(points.to(trainer.dtype))
    out = {}
    for name, parts in ion_fluxes_x(problem, jets, model.field).items():
        through = {k: through_sections(w.to(trainer.dtype), v, len(xs)) for k, v in parts.items()}
        out[name] = sum(through.values()).tolist()
        out.update({f"{name} {k}": v.tolist() for k, v in through.items()})
    return out


def wall_outflow(trainer, a: float, b: float, n: int = 4001) -> dict[str, float]:
    """∫ n·N̂± dx over a ≤ x ≤ b on both walls (n out of the fluid), from the networks' jets."""
    problem, model = trainer.task.problem, trainer.model
    x = np.linspace(a, b, n)
    total = {"c_plus": 0.0, "c_minus": 0.0}
    for y_wall, sign in ((0.0, -1.0), (1.0, 1.0)):  # n = −e_y at the bottom, +e_y on top
        points = torch.tensor(np.stack((x, np.full_like(x, y_wall)), 1), dtype=trainer.dtype)
        with torch.no_grad():
            jets = model.gauged_jets(points)
        for name, flux_y in ion_fluxes_y(problem, jets).items():
            total[name] += float(np.trapezoid(sign * flux_y.double().cpu().numpy(), x))
    return total


if __name__ == "__main__":
    main()
