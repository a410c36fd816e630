"""How much of a PINN run's flow error its ions and potential alone would cause.

The Stokes equations are linear in (u, v, P) once ψ and c± are given: the ions enter only
through the electric body force. This script takes the FD discretisation of a case (its own
grid, `[fd]` of the case), solves the full FD problem, then replaces ψ and c± by the PINN's
values at the FD cell centres and solves the FD flow block (Stokes-x, Stokes-y, continuity
and the pressure gauge) again for (u, v, P) with everything else fixed — one linear solve with
the exact Jacobian block. The flow that comes out is the flow the PINN's ψ, c± imply; its error
against FD's flow is the part of the PINN's flow error inherited from ψ, c±, whatever the flow
network does. Swapping in only ψ, or only c±, says which of them carries it. Two more swaps
split them the way the body force does: with the Slotboom factors g± = c± e^{ẑ± ψ}, the force
of each ion is e^{−ẑ± ψ} ∇g± (plus its applied-field part), so its curl, which drives v, is
−ẑ± e^{−ẑ± ψ} ∇ψ × ∇g±. "g±" keeps FD's ψ and takes the PINN's g± (c± = g±_PINN e^{−ẑ± ψ_FD});
"psi, g± FD" takes the PINN's ψ with FD's g± (c± = g±_FD e^{−ẑ± ψ_PINN}). "g± FD at y=½" is FD's
ψ with FD's own g± made uniform across the channel (their value at mid-height at each x): what
the flow would miss if g± did not vary across the double layers. "g₊" and "g₋" keep FD's ψ and
FD's factor of the other ion and take the PINN's g of one ion: which ion carries the error. Last,
for each ion,
the relative L2 difference of the PINN's g± and of ∂g±/∂x from FD's, over the FD cells (each
weighted by its area; ∂/∂x by central differences along the cell centres), and each ion's
electrochemical gradient along the channel, ∂μ±/∂x = ∂ln g±/∂x − ẑ±Ê, FD's and the PINN's, on
the bottom wall's first cells and on the centre row at x = ℓ/8, 3ℓ/8, 5ℓ/8, 7ℓ/8
(`electrochemical_gradients`).

"psi, c± jets" takes the PINN's ψ and c± as "psi, c±" does and replaces the body force the FD
rows form from their values (Scharfetter–Gummel differences across each face) by the force the
networks' own derivatives give at the same faces (central differences of the networks' values a
step `JET_STEP` apart, their derivatives to ~1e-10 in float64), added as a source of the Stokes
rows: the flow the PINN's flow equations would have with its ions, on FD's grid. Beside it, the
relative L2 difference of the two forces over the faces, and its part within 2ε of a wall.

Prints, for each swap, the relative L2 error (trapezoid weights of the FD nodes, as `eofpinn
validate`) of u, v and P against FD, beside the PINN's own flow errors, and the relative L2
difference of ψ, c± swapped in.

    python validation/flow_from_ions.py RUN_DIR [--case CASE] [--nx NX] [--ny NY]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.sparse.linalg as spla
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn.physics.exact import osmotic_pressure  # noqa: E402
from eofpinn.solution import trapezoid_weights  # noqa: E402
from eofpinn.solvers.fd.grid import StaggeredGrid  # noqa: E402
from eofpinn.solvers.fd.jacobian import JacobianAssembler  # noqa: E402
from eofpinn.solvers.fd.fluxes import x_face_pairs  # noqa: E402
from eofpinn.solvers.fd.output import node_fields  # noqa: E402
from eofpinn.solvers.fd.residual import DiscreteProblem, excess_force, field_of, potential_drops, residual  # noqa: E402
from eofpinn.solvers.fd.solver import solve_system  # noqa: E402
from eofpinn.solvers.pinn.evaluation import predict  # noqa: E402
from validation.pinn_generalization import trained  # noqa: E402

ION_BLOCKS = ("psi", "c_plus", "c_minus")
FLOW_BLOCKS = ("u", "v", "P")
SWAPS = {"psi, c±": ION_BLOCKS, "psi": ("psi",), "c±": ("c_plus", "c_minus")}
SLOTBOOM_SWAPS = ("g±", "g₊", "g₋", "psi, g± FD", "g± FD at y=½")  # see the module docstring
ONE_ION = {"g₊": "c_plus", "g₋": "c_minus"}  # swaps that take one ion's g from the PINN
JETS_SWAP = "psi, c± jets"
# The central-difference step of the networks' derivatives, by the networks' dtype.
JET_STEP = {torch.float64: 1e-6, torch.float32: 3e-3}


def force_bracket(valences: tuple[float, float], c_plus, c_minus, dc_plus, dc_minus, dphi) -> np.ndarray:
    """(∂c₊ + ẑ₊c₊∂φ)/ẑ₊ − (∂c₋ + ẑ₋c₋∂φ)/ẑ₋ along one axis: the bracket of the excess-pressure
    body force, as the FD Stokes rows write it (residual.py)."""
    z_plus, z_minus = valences
    return (dc_plus + z_plus * c_plus * dphi) / z_plus - (dc_minus + z_minus * c_minus * dphi) / z_minus


def fd_force_brackets(dp, f: dict) -> tuple[np.ndarray, np.ndarray]:
    """The brackets the FD Stokes-x (u faces) and Stokes-y (interior v faces) rows form from the
    cell values in `f` (residual.stokes_x, stokes_y)."""
    dphi_x, dpsi_y = potential_drops(dp, f["psi"], field_of(dp, f))
    periodic = dp.geometry.periodic
    ca, cb = x_face_pairs(f["c_plus"], periodic, dp.end("c_plus", "in"), dp.end("c_plus", "out"))
    ma, mb = x_face_pairs(f["c_minus"], periodic, dp.end("c_minus", "in"), dp.end("c_minus", "out"))
    force_x = excess_force(dp, ca, cb, ma, mb, dphi_x, dp.geometry.dx_centres)
    c, m = f["c_plus"], f["c_minus"]
    force_y = excess_force(dp, c[:, :-1], c[:, 1:], m[:, :-1], m[:, 1:], dpsi_y[:, 1:-1], dp.geometry.dy_centres)
    return np.asarray(force_x), np.asarray(force_y)


def jet_force_brackets(problem, grid, values_at, step: float) -> tuple[np.ndarray, np.ndarray]:
    """The same brackets from the networks' own derivatives at the same faces: Stokes-x at
    (x_u, y_centres), Stokes-y at (x_unknown, interior y_faces); `values_at(xs, ys)` the PINN's
    fields on the grid xs × ys."""
    out = []
    for axis, xs, ys in ((0, grid.x_u, grid.y_centres), (1, grid.x_unknown, grid.y_faces[1:-1])):
        shift = np.array([step, 0.0] if axis == 0 else [0.0, step])
        here = values_at(xs, ys)
        ahead, behind = values_at(xs + shift[0], ys + shift[1]), values_at(xs - shift[0], ys - shift[1])
        d = {name: (ahead[name] - behind[name]) / (2.0 * step) for name in ION_BLOCKS}
        field = problem.field_hat if axis == 0 and not problem.paper_model else 0.0
        out.append(force_bracket(problem.valences, here["c_plus"], here["c_minus"], d["c_plus"], d["c_minus"],
                                 d["psi"] - field))
    return out[0], out[1]


def with_ions(system, values: dict) -> np.ndarray:
    """A copy of the solved unknowns with the cell values of `values` (some of ψ, c±) put in."""
    z = system.z.copy()
    swapped = system.dp.layout.unpack(z)
    for name, value in values.items():
        swapped[name][...] = value
    return z


def near_walls(y: np.ndarray, layer: float) -> np.ndarray:
    """Columns (a row mask) of the points within `layer` of a wall."""
    return (np.minimum(y, 1.0 - y) < layer)[None, :]


def relative_difference(a: np.ndarray, b: np.ndarray, area: np.ndarray, near: np.ndarray | None = None) -> float:
    """‖a − b‖ / ‖b‖ with cell areas as weights; with `near`, only the part of a − b there."""
    part = a - b if near is None else np.where(near, a - b, 0.0)
    return float(np.sqrt(np.sum(area * part ** 2) / np.sum(area * b ** 2)))


def slotboom_factor(fields: dict, name: str, valence: float) -> np.ndarray:
    """g± = c± e^{ẑ± ψ} (name "c_plus" or "c_minus")."""
    return fields[name] * np.exp(valence * fields["psi"])


def slotboom_errors(fd: dict, pinn: dict, x: np.ndarray, y: np.ndarray, valences: tuple[float, float],
                    layer: float = 0.0) -> dict:
    """Per ion, the relative L2 difference of the PINN's g± and of ∂g±/∂x from FD's on cells
    centred at (x, y) (arrays indexed [x, y]), each cell weighted by its area; with `layer` > 0
    also "g_x_layers", the part of the latter from the cells within `layer` of a wall (its
    square and that of the rest add up to the square of "g_x")."""
    area = np.gradient(x)[:, None] * np.gradient(y)[None, :]
    out = {}
    for name, z in zip(("c_plus", "c_minus"), valences):
        g_fd, g_pinn = slotboom_factor(fd, name, z), slotboom_factor(pinn, name, z)
        gx_fd, gx_pinn = np.gradient(g_fd, x, axis=0), np.gradient(g_pinn, x, axis=0)
        out[name] = {"g": relative_difference(g_pinn, g_fd, area), "g_x": relative_difference(gx_pinn, gx_fd, area)}
        if layer > 0.0:
            out[name]["g_x_layers"] = relative_difference(gx_pinn, gx_fd, area, near_walls(y, layer))
    return out


def slotboom_swap(label: str, fd: dict, pinn: dict, valences: tuple[float, float], mid_row: int = 0) -> dict:
    """ψ and c± of a Slotboom swap (arrays indexed [x, y]): "g±" FD's ψ with the PINN's g±;
    "g₊" ("g₋") FD's ψ and FD's g of the other ion with the PINN's g₊ (g₋); "psi, g± FD" the
    reverse of "g±"; "g± FD at y=½" FD's ψ with FD's g± of row `mid_row` at every y."""
    psi_from = pinn if label == "psi, g± FD" else fd
    out = {"psi": psi_from["psi"]}
    for name, z in zip(("c_plus", "c_minus"), valences):
        g_from = pinn if label == "g±" or ONE_ION.get(label) == name else fd
        g = slotboom_factor(g_from, name, z)
        if label == "g± FD at y=½":
            g = np.repeat(g[:, mid_row:mid_row + 1], g.shape[1], axis=1)
        out[name] = g * np.exp(-z * psi_from["psi"])
    return out


def electrochemical_gradients(fields: dict, x: np.ndarray, valences: tuple[float, float], field_hat: float,
                              rows: dict[str, int], columns: list[int]) -> dict[str, np.ndarray]:
    """Each ion's ∂μ±/∂x = ∂ln g±/∂x − ẑ±Ê (μ± = ln c± + ẑ±φ, φ = ψ + Ê(ℓ − x)) on cells centred at
    x (arrays indexed [x, y]), by central differences along x, at the `columns` of each of `rows`
    (label → y index): {"c_plus@label": values at the columns, …}. The x-force of an ion on the
    fluid is −c± ∂μ±/∂x: where an ion nearly balances the applied field along a wall (∂μ±/∂x
    ≪ ẑ±Ê), a small error of ∂ln g±/∂x is a large one of that force."""
    out = {}
    for name, z in zip(("c_plus", "c_minus"), valences):
        slope = np.gradient(np.log(slotboom_factor(fields, name, z)), x, axis=0) - z * field_hat
        for label, j in rows.items():
            out[f"{name}@{label}"] = slope[columns, j]
    return out


def flow_indices(layout) -> np.ndarray:
    """Unknowns (and residual rows: same block order) of the flow: u, v, P and the pressure gauge."""
    parts = [np.arange(*layout.offsets[name]) for name in FLOW_BLOCKS]
    if "lambda_P" in layout.multipliers:
        parts.append(np.arange(*layout.offsets["lambda_P"]))
    return np.concatenate(parts)


def flow_given(system, z: np.ndarray) -> np.ndarray:
    """z with its flow unknowns solved from the FD flow rows, the other unknowns held at z's values
    (Stokes is linear in the flow: one Newton step is the solution)."""
    dp = system.dp
    index = flow_indices(dp.layout)
    start, jacobian = JacobianAssembler(dp.layout.size)(dp, z)
    block = jacobian[index][:, index].tocsc()
    out = z.copy()
    out[index] -= spla.spsolve(block, start[index])
    check = residual(out, dp)
    scale = max(np.abs(start[index]).max(), 1e-300)
    if np.abs(check[index]).max() > 1e-8 * scale + 1e-12:
        raise RuntimeError(f"flow rows not solved: max residual {np.abs(check[index]).max():.2e}")
    return out


def jets_flow(system, problem, grid, centres: dict, values_at, step: float) -> tuple[np.ndarray, dict]:
    """The "psi, c± jets" swap: ψ, c± of `centres` in the cells, the Stokes rows' body force taken
    from the derivatives of `values_at` (a source adding the jet bracket less the FD one), the
    flow solved; returns the unknowns and the relative L2 differences of the two brackets (over
    the faces, and the part within 2ε of a wall)."""
    layout, scale = system.dp.layout, 1.0 / (system.dp.valence_span * problem.debye_ratio ** 2)
    z = with_ions(system, {name: centres[name] for name in ION_BLOCKS})
    fd_x, fd_y = fd_force_brackets(system.dp, layout.unpack(z))
    jet_x, jet_y = jet_force_brackets(problem, grid, values_at, step)
    # The FD row is ∇²u − ∇P − scale·fd; row − source = ∇²u − ∇P − scale·jet ⇔ source = scale·(jet − fd).
    sources = {"stokes_x": scale * (jet_x - fd_x), "stokes_y": scale * (jet_y - fd_y)}
    dp = DiscreteProblem.build(problem, layout, system.boundary, sources)
    solved = flow_given(SimpleNamespace(dp=dp), z)  # (flow_given reads the system's discrete problem)
    layer = 2.0 * problem.debye_ratio
    near_x, near_y = near_walls(grid.y_centres, layer), near_walls(grid.y_faces[1:-1], layer)
    area_x = grid.dx_centres.reshape(-1, 1) * grid.dy[None, :]
    area_y = grid.dx.reshape(-1, 1) * grid.dy_centres[None, :]
    return solved, {"force_x": relative_difference(jet_x, fd_x, area_x),
                    "force_x_layers": relative_difference(jet_x, fd_x, area_x, near_x),
                    "force_y": relative_difference(jet_y, fd_y, area_y),
                    "force_y_layers": relative_difference(jet_y, fd_y, area_y, near_y)}


def excess(problem, fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`fields` with P = p − Π(c±), the excess pressure, added."""
    return {**fields, "P": fields["p"] - osmotic_pressure(problem, fields["c_plus"], fields["c_minus"])}


def relative_l2(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sqrt((weights * (a - b) ** 2).sum() / (weights * b ** 2).sum()))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--case", default=None)
    parser.add_argument("--nx", type=int, default=None, help="FD x nodes (default: the case's [fd] nx)")
    parser.add_argument("--ny", type=int, default=None, help="FD y nodes (default: the case's [fd] ny)")
    args = parser.parse_args(argv)
    trainer = trained(Path(args.run), args.case)
    case = trainer.task.case
    problem, settings = case.problem, case.fd
    grid = StaggeredGrid.build(problem, args.nx or settings.nx, args.ny or settings.ny, settings.wall_stretch,
                               settings.edge_stretch)
    system = solve_system(problem, grid, settings)
    layout = system.dp.layout
    reference = excess(problem, node_fields(problem, layout, system.boundary, system.unknowns))
    x, y = grid.x_nodes, grid.y_nodes
    weights = trapezoid_weights(x, y)
    dtype = next(trainer.model.parameters()).dtype

    def pinn_at(xs: np.ndarray, ys: np.ndarray) -> dict[str, np.ndarray]:
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        points = torch.tensor(np.stack([X.ravel(), Y.ravel()], 1), dtype=dtype)
        with torch.no_grad():
            values = predict(trainer.model, problem, points)
        return {k: v.double().cpu().numpy().reshape(X.shape) for k, v in values.items()}

    def flow_errors(solved: np.ndarray) -> dict[str, float]:
        fields = excess(problem, node_fields(problem, layout, system.boundary, layout.unpack(solved)))
        return {name: relative_l2(fields[name], reference[name], weights) for name in FLOW_BLOCKS}

    own = excess(problem, pinn_at(x, y))
    centres = pinn_at(grid.x_unknown, grid.y_centres)
    out = {"pinn": {name: relative_l2(own[name], reference[name], weights) for name in FLOW_BLOCKS}}
    print(f"{args.run} at step {trainer.step}; FD {grid.nx}x{grid.m + 2} ({case.name})")
    print(f"{'swapped in':12s} " + " ".join(f"{'d' + n:>9s}" for n in ION_BLOCKS) + "   "
          + " ".join(f"{n:>9s}" for n in ("u", "v", "P")))
    print(f"{'(PINN flow)':12s} " + " " * 30 + "   " + " ".join(f"{out['pinn'][n]:9.2e}" for n in FLOW_BLOCKS))
    unknowns = layout.unpack(system.z)
    fd_ions = {n: unknowns[n] for n in ION_BLOCKS}  # views of system.z: the swaps below write into copies
    mid_row = int(np.argmin(np.abs(grid.y_centres - 0.5)))
    for label in (*SWAPS, *SLOTBOOM_SWAPS):
        if label in SWAPS:
            values = {name: centres[name] for name in SWAPS[label]}
        else:
            values = slotboom_swap(label, fd_ions, centres, problem.valences, mid_row)
        z = with_ions(system, values)
        swapped = layout.unpack(z)
        differences = [np.sqrt(np.sum((swapped[n] - unknowns[n]) ** 2) / np.sum(unknowns[n] ** 2)) for n in ION_BLOCKS]
        errors = flow_errors(flow_given(system, z))
        out[label] = {"differences": dict(zip(ION_BLOCKS, map(float, differences))), "errors": errors}
        print(f"{label:12s} " + " ".join(f"{d:9.2e}" for d in differences) + "   "
              + " ".join(f"{errors[n]:9.2e}" for n in FLOW_BLOCKS))
    solved, row = jets_flow(system, problem, grid, centres, pinn_at, JET_STEP[dtype])
    row["errors"] = flow_errors(solved)
    out[JETS_SWAP] = row
    print(f"{JETS_SWAP:12s} " + " " * 30 + "   " + " ".join(f"{row['errors'][n]:9.2e}" for n in FLOW_BLOCKS)
          + f"   (jet vs FD force: x {row['force_x']:.2e}, {row['force_x_layers']:.2e} within 2ε of a wall;"
          f" y {row['force_y']:.2e}, {row['force_y_layers']:.2e})")
    layer = 2.0 * problem.debye_ratio
    out["slotboom"] = slotboom_errors(fd_ions, centres, grid.x_unknown, grid.y_centres, problem.valences, layer)
    for name, errors in out["slotboom"].items():
        print(f"g of {name}: relative L2 off FD {errors['g']:.2e}, of its x-derivative {errors['g_x']:.2e} "
              f"({errors['g_x_layers']:.2e} of it within 2ε of a wall)")
    xc = grid.x_unknown
    columns = [int(np.argmin(np.abs(xc - problem.length_ratio * k / 8.0))) for k in (1, 3, 5, 7)]
    rows = {"wall": 0, "centre": mid_row}
    field = 0.0 if problem.paper_model else problem.field_hat
    gradients = {who: electrochemical_gradients(ions, xc, problem.valences, field, rows, columns)
                 for who, ions in (("fd", fd_ions), ("pinn", centres))}
    out["electrochemical_gradients"] = {"x": xc[columns].tolist(), "y": {k: float(grid.y_centres[j]) for k, j in rows.items()},
                                        **{who: {k: v.tolist() for k, v in g.items()} for who, g in gradients.items()}}
    print("∂μ±/∂x = ∂ln g±/∂x − ẑ±Ê, FD / PINN, on the bottom wall's first cells (y = "
          f"{grid.y_centres[0]:.2e}) and the centre row, at x = " + ", ".join(f"{v:.3g}" for v in xc[columns]))
    for key in gradients["fd"]:
        print(f"  {key:18s} " + "  ".join(f"{a: .4e} / {b: .4e}" for a, b in zip(gradients["fd"][key], gradients["pinn"][key])))
    return out


if __name__ == "__main__":
    main()
