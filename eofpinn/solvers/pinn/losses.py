"""The loss terms: one mean square per PDE residual and one per boundary-condition group.

PDE terms (physics.residuals, on the interior points): poisson, np_plus, np_minus, stokes_x,
stokes_y, continuity — with flow "stream" (formulation.py) continuity holds exactly and its place
is taken by vorticity, ∇²Ψ + ω = 0 (section_continuity and spread_volume are left out too); with
ion_flux "stream" np_plus and np_minus give way to flux_plus and flux_minus, the mean square of
N± − (∂χ±/∂y, −∂χ±/∂x), both components (section_np_plus/minus are left out too).
Boundary groups (physics.md §3), each present only when the case has it and the formulation does
not already satisfy it exactly:

    wall_psi        ψ = ζ̂_wall(x)                               (soft walls; ζ segments only)
    wall_charge     −∂ψ/∂n = σ̂_wall(x), n into the fluid        (charge segments, physics.md §7)
    wall_ions       n·N± = 0, i.e. δ±(∂c±/∂y + ẑ± c± ∂φ/∂y) − Pe v c± = 0   (no-flux walls;
                                                                  none when formulation.wall_flux is "exact")
                    or c± = exp(−ẑ± ψ_wall)                      (Boltzmann walls, soft; ψ_wall = ζ̂,
                                                                  or the network's ψ on a charge wall)
    wall_velocity   u = v = 0                                    (soft walls)
    end_psi         ψ = ψ_eq(y)                                  (reservoir ends, both)
    end_ions        c± = exp(∓ψ_eq(y))
    end_velocity    ∂u/∂x = 0, v = 0
    end_pressure    P = Δp̂ at x = 0, P = 0 at x = ℓ (pressure "core": P + Π_s, the core pressure,
                    equal to P for ions in equilibrium with the reservoir)
    pressure_gauge  the outlet section's mean of P = 0            (periodic ends)
    content_plus/minus  area mean of c± e^{ẑ±ψ} = 1              (no-flux walls + periodic ends)
    stokes_x_mean   the mean over rows of (the Stokes-x residual averaged along x on the row)²
                    ([pinn.points] balance_rows > 0: the x-averaged momentum balance)
    section_continuity, section_np_plus, section_np_minus
                    the mean over cross-sections of (∫ residual dy)²: d/dx of the volume and
                    ion fluxes through them ([pinn.points] balance_sections > 0,
                    section_terms "divergence" or "both")
    spread_volume, spread_plus, spread_minus
                    the variance over those cross-sections of the volume flux ∫ u dy and of
                    each ion's flux ∫ N̂±·e_x dy (section_terms "spread" or "both"; the ion
                    terms with no-flux walls only: Boltzmann walls exchange ions)
    zero_current    the mean over the cross-sections of Î², Î = ∫ (N̂₊ − N̂₋)·e_x dy,
                    N̂± = −δ± (∂c±/∂x + ẑ± c± ∂φ/∂x) + Pe u c±, ∂φ/∂x = ∂ψ/∂x − Ê
                                                                 (open circuit, physics.md §7)

An open circuit's field Ê is the model's trainable parameter (formulation.PINNModel.field): it
enters the PDE residuals, the flow base and the zero-current term, which fixes it.

Periodicity itself is exact (input embedding) and so is the jump Δp̂ of P (formulation.py).
In the paper model the ions carry neither the applied field nor advection, so the wall flux is
δ±(∂c±/∂y ± c± ∂ψ/∂y) and P = p at the ends.

Most terms are mean squares of point-by-point residuals. A Gauss–Newton or Levenberg–Marquardt
step needs those residuals themselves, not their mean squares: inside `recording_residuals()`
each such term remembers them, and `term_residuals` hands them back by term name (the flux
spreads, sections, gauges and content terms are not point-by-point mean squares and are left out).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from eofpinn.cases.model import Problem
from eofpinn.physics.observables import current_density_x, ion_flux_x_parts
from eofpinn.physics.residuals import residuals
from eofpinn.solvers.pinn.collocation import Collocation, section_mean
from eofpinn.solvers.pinn.derivatives import as_derivatives
from eofpinn.solvers.pinn.formulation import FIELDS, ION_SIGNS, PINNModel, apply_gauges

Jets = dict[str, Tensor]


_RECORD: list[tuple[Tensor, tuple[Tensor, ...]]] | None = None  # set inside recording_residuals()


def _mean_square(*values: Tensor) -> Tensor:
    out = sum(torch.mean(v * v) for v in values)
    if _RECORD is not None:
        _RECORD.append((out, values))
    return out


@contextmanager
def recording_residuals() -> Iterator[list]:
    """Within the block every mean-square term records (its value, the residuals it averages);
    pass the yielded record to `term_residuals`. Not thread-safe: one recording at a time."""
    global _RECORD
    previous, _RECORD = _RECORD, []
    try:
        yield _RECORD
    finally:
        _RECORD = previous


def term_residuals(terms: dict[str, Tensor], record: list) -> dict[str, tuple[Tensor, ...]]:
    """For each term of `terms` that is a recorded mean square, the residual tensors whose mean
    squares it sums (term = Σ mean(r²)); terms built otherwise are absent."""
    by_value = {id(out): values for out, values in record}
    return {name: by_value[id(term)] for name, term in terms.items() if id(term) in by_value}


# The flow's own equations: the terms that, with ψ and c± given, fix u, v and P (Stokes,
# continuity or the stream function's vorticity, the flow's boundary conditions and gauge, and
# the balances of the volume flux). Every other term is an equation of the ions (Poisson,
# Nernst–Planck, the ions' boundary conditions, their flux balances, the zero current), although
# some of them (the advection Pe u·∇c±) also read the flow.
FLOW_TERMS = frozenset({"stokes_x", "stokes_y", "continuity", "vorticity", "wall_velocity", "end_velocity",
                        "end_pressure", "pressure_gauge", "stokes_x_mean", "section_continuity", "spread_volume"})


def own_terms(part: str, names: list[str]) -> list[str]:
    """The terms of `names` that are the equations of `part`: "all" every one, "flow" the flow's
    (FLOW_TERMS), "ions" the rest. A phase that moves one part and freezes the other solves that
    part's own equations, as a block Gauss–Seidel sweep does: a frozen part's equations would
    pull the moving one towards whatever makes the frozen part's residuals small (measured in
    docs/method.md, "Each part its own equations")."""
    if part == "all":
        return list(names)
    if part not in ("flow", "ions"):
        raise ValueError(f"own_terms: part must be all, flow or ions; got {part!r}")
    return [name for name in names if (name in FLOW_TERMS) == (part == "flow")]


def _region(jets: Jets, where: slice) -> Jets:
    return {name: jet[:, where] for name, jet in jets.items()}


# ion_flux "stream": the residual components and the loss term each belongs to.
ION_FLUX_COMPONENTS = {"flux_plus_x": "flux_plus", "flux_plus_y": "flux_plus",
                       "flux_minus_x": "flux_minus", "flux_minus_y": "flux_minus"}


def pde_residuals(problem: Problem, interior: Jets, field_hat: Tensor | float | None = None,
                  flux_force: bool = False) -> dict[str, Tensor]:
    """The six PDE residuals at every interior point (physics.residuals on the jets); `field_hat`
    the Ê they use (None: the problem's). With ion stream functions (jets "chi_plus", "chi_minus")
    the Nernst–Planck residuals are the flux residuals N± − curl χ±, by component
    (ION_FLUX_COMPONENTS); with `flux_force` (body_force "ion_flux") the Stokes residuals take each
    ion's (∇c± + ẑ± c±∇φ) as (Pe u c± − curl χ±)/δ±, which differs from it by the flux residual
    over δ±: Stokes-x/y minus (1/((ẑ₊ − ẑ₋)ε²)) Σ± (flux residual)/(δ± |ẑ±|)."""
    bundles = {name: as_derivatives(interior[name]) for name in FIELDS}
    slotboom = (tuple(as_derivatives(interior[f"slotboom_{name[2:]}"]) for name in ION_SIGNS)
                if "slotboom_plus" in interior else None)
    out = residuals(problem, bundles["psi"], bundles["c_plus"], bundles["c_minus"], bundles["u"], bundles["v"],
                    bundles["P"], field_hat, slotboom)
    if "stream" in interior:  # flow "stream": ∇·u = 0 by construction; Ψ and ω are tied instead
        del out["continuity"]
        stream = interior["stream"]
        out["vorticity"] = stream[3] + stream[4] + interior["vorticity"][0]
    if "chi_plus" in interior:  # ion_flux "stream": ∇·N± = 0 is ∇·curl χ± = 0, exact; N± = curl χ± asked
        field = problem.field_hat if field_hat is None else field_hat
        along, across = ion_fluxes_x(problem, interior, field), ion_fluxes_y(problem, interior)
        for name in ION_SIGNS:
            del out[f"np_{name[2:]}"]
            chi = interior[f"chi_{name[2:]}"]
            out[f"flux_{name[2:]}_x"] = sum(along[name].values()) - chi[2]
            out[f"flux_{name[2:]}_y"] = across[name] + chi[1]
            if flux_force:
                scale = 1.0 / ((problem.valence_plus - problem.valence_minus) * problem.debye_ratio**2)
                weight = scale / (_diffusivities(problem)[name] * abs(_valences(problem)[name]))
                out["stokes_x"] = out["stokes_x"] - weight * out[f"flux_{name[2:]}_x"]
                out["stokes_y"] = out["stokes_y"] - weight * out[f"flux_{name[2:]}_y"]
    return out


def scaled_residuals(problem: Problem, interior: Jets, field_hat: Tensor | float | None = None,
                     ion_residuals: str = "absolute", flux_force: bool = False,
                     poisson_residual: str = "absolute") -> dict[str, Tensor]:
    """Each PDE residual at the interior points as the loss counts it: with `ion_residuals`
    "ionic_strength" the Nernst–Planck residuals (divergences, or with ion stream functions the
    flux components) are divided by the local (c₊ + c₋)/2, with `poisson_residual`
    "ionic_strength" Poisson's."""
    res = pde_residuals(problem, interior, field_hat, flux_force)
    over_salt = ("poisson",) if poisson_residual == "ionic_strength" else ()
    if ion_residuals == "ionic_strength":  # the divergences, or the flux components that stand for them
        over_salt += tuple(name for name in ("np_plus", "np_minus", *ION_FLUX_COMPONENTS) if name in res)
    if over_salt:
        salt = 0.5 * (interior["c_plus"][0] + interior["c_minus"][0])
        res.update({name: res[name] / salt for name in over_salt})
    return res


def pde_terms(problem: Problem, interior: Jets, field_hat: Tensor | float | None = None,
              ion_residuals: str = "absolute", flux_force: bool = False,
              poisson_residual: str = "absolute") -> dict[str, Tensor]:
    """The mean square of each PDE residual over the interior points (`scaled_residuals`)."""
    res = scaled_residuals(problem, interior, field_hat, ion_residuals, flux_force, poisson_residual)
    terms = {name: _mean_square(r) for name, r in res.items() if name not in ION_FLUX_COMPONENTS}
    for name, term in ION_FLUX_COMPONENTS.items():
        if name in res:
            terms[term] = terms.get(term, 0.0) + _mean_square(res[name])
    return terms


def through_sections(weights: Tensor, density: Tensor, n_sections: int) -> Tensor:
    """∫ density dy through each cross-section (n_sections,): Σ w · density over its points (the
    points section by section, as collocation.sections_at lays them out)."""
    return (weights * density).reshape(n_sections, -1).sum(dim=1)


def ion_fluxes_x(problem: Problem, jets: Jets, field_hat: Tensor | float) -> dict[str, dict[str, Tensor]]:
    """Each ion's N̂±·e_x at the points of `jets`, term by term (physics.observables.ion_flux_x_parts,
    ∂φ/∂x = ∂ψ/∂x − Ê); in the paper model the ions carry neither the applied field nor advection."""
    peclet = 0.0 if problem.paper_model else problem.peclet
    phi_x = jets["psi"][1] - (0.0 if problem.paper_model else field_hat)
    return {name: ion_flux_x_parts(z, _diffusivities(problem)[name], peclet, jets[name][0], jets[name][1], phi_x,
                                   jets["u"][0])
            for name, z in _valences(problem).items()}


def ion_fluxes_y(problem: Problem, jets: Jets) -> dict[str, Tensor]:
    """Each ion's N̂±·e_y = −δ±(∂c±/∂y + ẑ± c± ∂ψ/∂y) + Pe v c± at the points of `jets` (φ_y = ψ_y:
    the applied field is along x; no advection in the paper model); with the jets of the Slotboom
    exponents N± (formulation ion_brackets "slotboom") the bracket is c± ∂N±/∂y."""
    peclet = 0.0 if problem.paper_model else problem.peclet
    psi_y, v = jets["psi"][2], jets["v"][0]
    brackets = {name: (jets[f"slotboom_{name[2:]}"][2] * jets[name][0] if "slotboom_plus" in jets
                       else jets[name][2] + z * jets[name][0] * psi_y) for name, z in _valences(problem).items()}
    return {name: -_diffusivities(problem)[name] * brackets[name] + peclet * v * jets[name][0] for name in brackets}


def section_currents(problem: Problem, sections: Jets, weights: Tensor, n_sections: int,
                     field_hat: Tensor | float) -> Tensor:
    """Î through each cross-section (n_sections,): the quadrature Σ w (N̂₊ − N̂₋)·e_x over its
    points (physics.observables.current_density_x, ∂φ/∂x = ∂ψ/∂x − Ê)."""
    c_plus, c_minus = sections["c_plus"], sections["c_minus"]
    density = current_density_x(problem, c_plus[0], c_minus[0], c_plus[1], c_minus[1],
                                sections["psi"][1] - field_hat, sections["u"][0])
    return through_sections(weights, density, n_sections)


def zero_current_term(problem: Problem, sections: Jets, weights: Tensor, n_sections: int,
                      field_hat: Tensor | float) -> Tensor:
    """The open circuit's condition: the mean over the cross-sections of Î²."""
    return torch.mean(section_currents(problem, sections, weights, n_sections, field_hat) ** 2)


def x_averaged_balance_term(problem: Problem, rows: Jets, n_rows: int, field_hat: Tensor | float | None,
                            flux_force: bool = False) -> Tensor:
    """The mean over the rows of (the row's mean Stokes-x residual)²: the x-averaged momentum
    balance, which alone fixes the x-mean velocity profile of a periodic channel."""
    stokes_x = pde_residuals(problem, rows, field_hat, flux_force)["stokes_x"]
    return torch.mean(stokes_x.reshape(n_rows, -1).mean(dim=1) ** 2)


FLUX_BALANCES = ("continuity", "np_plus", "np_minus")
ION_SPREAD_TERMS = ("spread_plus", "spread_minus")  # flux_spread_terms' ion terms (balancing's ion_spread_factor)


def flux_balance_terms(problem: Problem, columns: Jets, weights: Tensor, n_columns: int,
                       field_hat: Tensor | float | None) -> dict[str, Tensor]:
    """For continuity and each Nernst–Planck equation, the mean over the cross-sections of
    (Σ w r)², the residual's quadrature across the section: the x-derivative of the flux through
    it (volume, ions), zero for a solution (with no-flux, no-slip walls)."""
    res = pde_residuals(problem, columns, field_hat)
    return {f"section_{name}": torch.mean(through_sections(weights, res[name], n_columns) ** 2)
            for name in FLUX_BALANCES if name in res}


def flux_spread_terms(problem: Problem, columns: Jets, weights: Tensor, n_columns: int,
                      field_hat: Tensor | float) -> dict[str, Tensor]:
    """The variance over the cross-sections of the volume flux and of each ion's x-flux through
    them (quadrature Σ w · density per section). A steady channel with no-slip, impermeable walls
    carries the same fluxes through every section; unlike the divergence terms, which see the
    fluxes change only where a section happens to fall, a difference between two sections on
    either side of a change of wall condition shows wherever they are."""
    def spread(density: Tensor) -> Tensor:
        flux = through_sections(weights, density, n_columns)
        return torch.mean((flux - flux.mean()) ** 2)

    out = {} if "stream" in columns else {"spread_volume": spread(columns["u"][0])}  # exact with a stream function
    if problem.ion_wall == "no_flux":
        for name, parts in ion_fluxes_x(problem, columns, field_hat).items():
            out[f"spread_{name[2:]}"] = spread(sum(parts.values()))
    return out


def residual_density(problem: Problem, model: PINNModel, points: Tensor, weights: dict[str, float]) -> Tensor:
    """Σ_i λ_i r_i² at each of `points` (N, 2): the pointwise share of the weighted PDE loss
    (adaptive sampling draws where it is large), with the residuals as the loss has them: on the
    gauged fields and with the formulation's ionic-strength scalings."""
    form = model.formulation
    # Taylor-mode jets need no autograd; nested-autograd jets do (then the result is detached).
    with torch.set_grad_enabled(model.derivatives == "autograd"):
        res = scaled_residuals(problem, model.gauged_jets(points), model.field, form.ion_residuals,
                               form.flux_force, form.poisson_residual)
    return sum(weights.get(ION_FLUX_COMPONENTS.get(name, name), 1.0) * r.detach().square() for name, r in res.items())


def _valences(problem: Problem) -> dict[str, float]:
    return {"c_plus": problem.valence_plus, "c_minus": problem.valence_minus}


def _diffusivities(problem: Problem) -> dict[str, float]:
    return {"c_plus": problem.delta_plus, "c_minus": problem.delta_minus}


def wall_charges(problem: Problem, x_bottom: Tensor, x_top: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """At the wall points (bottom, then top): the 0/1 mask of charge segments, σ̂(x) there, and
    the sign s of ∂ψ/∂y in −∂ψ/∂n = s ∂ψ/∂y (n into the fluid: s = −1 at the bottom, +1 on top)."""
    masks, charges = [], []
    for wall, x in (("bottom", x_bottom), ("top", x_top)):
        mask = problem.charge_mask(wall, x.detach().cpu().numpy())
        masks.append(torch.as_tensor(mask, dtype=x.dtype, device=x.device))
        charges.append(problem.charge_profile(wall).value(x, xp=torch) if problem.has_charge(wall) else x * 0.0)
    signs = torch.cat((-torch.ones_like(x_bottom), torch.ones_like(x_top)))
    return torch.cat(masks), torch.cat(charges), signs


def wall_terms(problem: Problem, model: PINNModel, walls: Jets, zeta: Tensor,
               charges: tuple[Tensor, Tensor, Tensor] | None = None) -> dict[str, Tensor]:
    """The wall groups; `charges` (mask, σ̂, sign; `wall_charges`) when a wall has charge segments."""
    form, out = model.formulation, {}
    psi, u, v = walls["psi"], walls["u"], walls["v"]
    valences = _valences(problem)
    psi_wall = zeta
    if charges is not None:
        mask, sigma, sign_n = charges
        out["wall_charge"] = _mean_square(mask * (sign_n * psi[2] - sigma))
        psi_wall = mask * psi[0] + (1.0 - mask) * zeta
        if not form.hard_psi:
            out["wall_psi"] = _mean_square((1.0 - mask) * (psi[0] - zeta))
    elif not form.hard_psi:
        out["wall_psi"] = _mean_square(psi[0] - zeta)
    if problem.ion_wall == "no_flux":
        # The walls are at y = 0 and 1, n = ∓e_y; the sign of n does not matter for a zero-flux penalty.
        if not form.exact_wall_flux:
            out["wall_ions"] = _mean_square(*ion_fluxes_y(problem, walls).values())
    elif not form.hard_ions:
        out["wall_ions"] = _mean_square(*(walls[name][0] - torch.exp(-z * psi_wall) for name, z in valences.items()))
    if not form.hard_velocity:
        out["wall_velocity"] = _mean_square(u[0], v[0])
    return out


def reservoir_terms(problem: Problem, inlet: Jets, outlet: Jets, psi_in: Tensor, psi_out: Tensor) -> dict[str, Tensor]:
    ends = ((inlet, psi_in), (outlet, psi_out))
    return {
        "end_psi": _mean_square(*(end["psi"][0] - psi_eq for end, psi_eq in ends)),
        "end_ions": _mean_square(*(end[name][0] - torch.exp(-z * psi_eq)
                                   for end, psi_eq in ends for name, z in _valences(problem).items())),
        "end_velocity": _mean_square(*(r for end, _ in ends for r in (end["u"][1], end["v"][0]))),
        "end_pressure": _mean_square(inlet["P"][0] - problem.pressure_drop_hat, outlet["P"][0]),
    }


def ion_content_terms(interior_uniform: Jets, valences: dict[str, float] | None = None) -> dict[str, Tensor]:
    """(⟨c± e^{ẑ±ψ}⟩ − 1)², the area mean taken over the uniformly drawn interior points."""
    psi = interior_uniform["psi"][0]
    valences = valences or ION_SIGNS
    return {
        f"content_{name[2:]}": (torch.mean(interior_uniform[name][0] * torch.exp(z * psi)) - 1.0) ** 2
        for name, z in valences.items()
    }


def loss_terms(problem: Problem, model: PINNModel, points: Collocation) -> dict[str, Tensor]:
    """Every active loss term (scalar tensors), from one network pass over all points."""
    batch, slices = points.stacked()
    jets = model(batch)
    exact_gauges = model.formulation.exact_gauges
    if exact_gauges:
        content = None if problem.fixes_ion_content else _region(jets, slice(0, points.n_uniform))
        outlet = (_region(jets, slices["outlet"]), points.outlet[:, 1]) if problem.ends == "periodic" else None
        jets = apply_gauges(jets, content, outlet, model.formulation.valences)
    interior = _region(jets, slices["interior"])
    terms = pde_terms(problem, interior, model.field, model.formulation.ion_residuals, model.formulation.flux_force,
                      model.formulation.poisson_residual)
    walls = {name: torch.cat((jets[name][:, slices["bottom"]], jets[name][:, slices["top"]]), dim=1) for name in jets}
    scale = model.formulation.zeta_scale  # continuation: wall and reservoir targets follow the scaled ζ̂
    charges = wall_charges(problem, points.bottom[:, 0], points.top[:, 0]) if problem.has_charge() else None
    terms.update(wall_terms(problem, model, walls, scale * torch.cat((points.zeta_bottom, points.zeta_top)), charges))
    inlet, outlet = _region(jets, slices["inlet"]), _region(jets, slices["outlet"])
    if problem.ends == "reservoir":
        if model.formulation.pressure == "core" and not problem.paper_model:
            # The end condition on the core pressure p − Π_EDL = P + Π_s (the same for reservoir
            # ions, λ = 1): on P itself it would carry the ions' end errors times 1/ε².
            inlet, outlet = ({**end, "P": end["P"] + model.formulation.salt_osmotic_jet(end["c_plus"], end["c_minus"])}
                             for end in (inlet, outlet))
        terms.update(reservoir_terms(problem, inlet, outlet, scale * points.psi_inlet, scale * points.psi_outlet))
    elif not exact_gauges:
        terms["pressure_gauge"] = section_mean(outlet["P"][0], points.outlet[:, 1]) ** 2
    if not problem.fixes_ion_content and not exact_gauges:
        terms.update(ion_content_terms(_region(interior, slice(0, points.n_uniform)), _valences(problem)))
    if points.rows is not None:
        terms["stokes_x_mean"] = x_averaged_balance_term(problem, _region(jets, slices["rows"]), points.n_rows,
                                                         model.field, model.formulation.flux_force)
    if points.columns is not None:
        columns = _region(jets, slices["columns"])
        if points.section_terms in ("divergence", "both"):
            terms.update(flux_balance_terms(problem, columns, points.column_weights, points.n_columns, model.field))
        if points.section_terms in ("spread", "both"):
            terms.update(flux_spread_terms(problem, columns, points.column_weights, points.n_columns, model.field))
    if problem.open_circuit:
        terms["zero_current"] = zero_current_term(problem, _region(jets, slices["sections"]), points.section_weights,
                                                  points.n_sections, model.field)
    return terms
