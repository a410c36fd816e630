"""Study: surface-charge walls, streaming, Onsager reciprocity and nanochannel conductance (issue 13).

Five sections of validation/RESULTS.md (figures under --out):

1. `charge_walls` — charge (σ) walls, mixed ζ|σ walls and a 2:1 salt in a straight channel: FD
   (9 × 162, the default y grid, and 9 × 322) against the exact solution of physics.md §4/§7.
2. `streaming` — a σ-wall slit (KCl, σ = −20 mC/m², H = 100 nm) from 10 µM to 1 M: the streaming
   current per pressure drop and the open-circuit streaming potential, exact (EDL resolved)
   against Helmholtz–Smoluchowski (thin layer, ζ = the exact wall potential, bulk κ), and FD
   open-circuit solves (the bordered zero-current row) against the exact ones.
3. `onsager` — L12 (flow per voltage at Δp = 0) against L21 (current per pressure drop at ΔV = 0):
   exact and FD on straight channels, FD on the shipped zeta_step and patterned_zeta cases and a
   σ-step variant (central differences in the drives about equilibrium).
4. `conductance` — G(c) of σ-wall slits (KCl, σ = −20 mC/m²; H = 50 nm … 1 µm) from 1 µM to 1 M,
   EDL-resolved (exact) against the thin-layer estimate (1/L)[κH + 2μ_counter|σ|]: the bulk line,
   the height-independent plateau and the crossover c* ∝ |σ|/H that Stein, Kruithof & Dekker,
   Phys. Rev. Lett. 93, 035901 (2004) measured in silica channels (compared in form; their data
   points are not reproduced here).

5. `open_circuit_pinn` — the PINN at open circuit (Ê a trainable unknown fixed by the zero_current
   loss): the σ-wall straight channel of section 1's PINN rows driven by Δp̂ = 50, and the
   1 mM slit of section 2 (the shipped streaming_potential case's channel at 1 kPa): its Ê and
   streaming potential against the exact ones.

The PINN (charge walls soft, with the wall_charge loss; z₊:z₋ through the shared residuals) is
reported at a fixed budget (--pinn-steps) on two straight channels, for the Onsager pair of a
straight σ slit and at open circuit (section 5).

    python validation/charge_transport.py                 # all five, about 35 minutes on 2 cores
    python validation/charge_transport.py --only conductance streaming --pinn-steps 0
    python validation/charge_transport.py --only open_circuit_pinn    # about 3 minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: `validation.*`, eofpinn

from eofpinn import solve  # noqa: E402
from eofpinn.cases import (  # noqa: E402
    ChargeSegment, Electrolyte, ZetaSegment, case_from_problem, load_case, straight_problem, with_settings,
)
from eofpinn.cases import scalings as sc  # noqa: E402
from eofpinn.physics.electrolyte import grahame_zeta  # noqa: E402
from eofpinn.physics.exact import exact_transport, open_circuit_field, wall_potentials  # noqa: E402
from eofpinn.physics.observables import observables  # noqa: E402
from eofpinn.physics.thin_layer import (  # noqa: E402
    bulk_conductivity, crossover_concentration, smoluchowski_streaming_current, smoluchowski_streaming_potential,
    thin_layer_conductance,
)
from eofpinn.validation.charge_transport import exact_response, fd_response, reciprocity_error  # noqa: E402
from eofpinn.validation.compare import field_errors  # noqa: E402
from validation.results_page import RESULTS_PATH, markdown_table, shown_path, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
KCL = Electrolyte(1.0, 1, 1.96e-9, 2.03e-9, 78.5, 298.15, 0.89e-3, 997.0)
CACL2 = dataclasses.replace(KCL, valence_plus=2, valence_minus=-1, diffusivity_plus_m2_s=0.792e-9)
SIGMA = -0.02  # C/m², silica-like
PINN_NOTE = ("PINN at open circuit (Ê a trainable unknown fixed by a zero-current loss term): the section "
             "\"The PINN at open circuit\" (`--only open_circuit_pinn`).")
PINN_SETTINGS = {"network.width": 32, "points.n_interior": 1000}


def pinn_solution(case, steps: int):
    """A PINN solve at the study's fixed budget (CPU, one thread, seed 0), and its wall time."""
    import torch

    torch.set_num_threads(1)
    tic = time.perf_counter()
    solution = solve(case, "pinn", steps=steps, seed=0, device="cpu", progress=False, settings=PINN_SETTINGS)
    return solution, time.perf_counter() - tic


def slit_case(concentration_mol_m3: float, height_m: float, length_m: float = 1e-6, charge_C_m2: float = SIGMA,
              electrolyte: Electrolyte = KCL, **options):
    """A straight σ-wall slit in SI terms, its dimensionless numbers (Pe, δ±) from the electrolyte."""
    e = dataclasses.replace(electrolyte, concentration_mol_m3=concentration_mol_m3)
    eps = sc.debye_length(e) / height_m
    d_ref = sc.reference_diffusivity(e)
    z_plus, z_minus = e.dimensionless_valences
    charge_hat = charge_C_m2 / sc.charge_scale(e, height_m)
    wall = ChargeSegment(0.0, length_m / height_m, grahame_zeta(charge_hat * eps, z_plus, z_minus), charge_hat)
    problem = straight_problem(eps, 0.0, field_hat=0.0, length_ratio=length_m / height_m,
                               peclet=sc.velocity_scale(e, height_m) * height_m / d_ref,
                               delta_plus=e.diffusivity_plus_m2_s / d_ref, delta_minus=e.diffusivity_minus_m2_s / d_ref,
                               **options)
    problem = dataclasses.replace(problem, zeta_bottom=(wall,), zeta_top=(wall,), valence_plus=z_plus,
                                  valence_minus=z_minus)
    return case_from_problem(problem, electrolyte=e)


# ---- 1. charge walls against the exact solution ------------------------------------------
def _straight(eps, bottom, top, valences, **options):
    problem = straight_problem(eps, 0.0, **{"field_hat": 1.0, "length_ratio": 2.0, "peclet": 0.5,
                                            "pressure_drop_hat": 5.0, "delta_plus": 0.8, "delta_minus": 1.2,
                                            **options})
    return case_from_problem(dataclasses.replace(problem, zeta_bottom=(bottom,), zeta_top=(top,),
                                                 valence_plus=valences[0], valence_minus=valences[1]))


def _charge(eps, sigma_debye, valences=(1.0, -1.0)):
    """A charge segment of σ λ_D/(ε_w V_T) = sigma_debye."""
    return ChargeSegment(0.0, 2.0, grahame_zeta(sigma_debye, *valences), sigma_debye / eps)


def charge_walls_study(progress, pinn_steps: int) -> tuple[list[dict], str]:
    cases = [
        ("σ walls, 1:1", 0.1, _charge(0.1, -3.0), _charge(0.1, -3.0), (1.0, -1.0), {}),
        ("σ walls, 1:1", 0.02, _charge(0.02, -3.0), _charge(0.02, -3.0), (1.0, -1.0), {}),
        ("σ walls, 1:1, strong", 0.1, _charge(0.1, -20.0), _charge(0.1, -20.0), (1.0, -1.0), {}),
        ("σ walls, 1:1, overlapping", 0.5, _charge(0.5, -3.0), _charge(0.5, -3.0), (1.0, -1.0), {}),
        ("ζ bottom, σ top", 0.1, ZetaSegment(0, 2, -2.0), _charge(0.1, 1.0), (1.0, -1.0), {}),
        ("σ walls, 2:1 (CaCl₂)", 0.05, _charge(0.05, -3.0, (2.0, -1.0)), _charge(0.05, -3.0, (2.0, -1.0)),
         (2.0, -1.0), {}),
        ("σ walls, reservoirs, Boltzmann", 0.1, _charge(0.1, -3.0), _charge(0.1, -3.0), (1.0, -1.0),
         {"ends": "reservoir", "ion_wall": "boltzmann"}),
        ("σ walls, open circuit", 0.1, _charge(0.1, -3.0), _charge(0.1, -3.0), (1.0, -1.0),
         {"open_circuit": True, "field_hat": 0.0, "pressure_drop_hat": 50.0}),
    ]
    rows = []
    for label, eps, bottom, top, valences, options in cases:
        case = _straight(eps, bottom, top, valences, **options)
        exact = solve(case, "exact", nx=9, ny=401)
        row = {"case": label, "ε": eps, "ζ̂ wall (exact)": f"{exact['psi'][0, 0]:.4f}"}
        for ny in (162, 322):
            tic = time.perf_counter()
            fd = solve(case, "fd", nx=9, ny=ny)
            errors = field_errors(fd, exact)
            row[f"mean L2, ny={ny}"] = errors["paper_mean"]["relative_l2"]
            row[f"max, ny={ny}"] = max(errors[f]["max_error"] for f in ("phi", "psi", "c_plus", "c_minus", "u", "p"))
            row[f"s, ny={ny}"] = time.perf_counter() - tic
            if case.problem.open_circuit:
                row["Ê rel. error"] = abs(fd.case.problem.field_hat / exact.case.problem.field_hat - 1.0)
        rows.append(row)
        progress(f"charge walls: {label} ε = {eps}: mean L2 {row['mean L2, ny=322']:.2e} (ny = 322)")
    pinn_rows = []
    if pinn_steps:
        for label, eps, bottom, top, valences in (
                ("σ walls, 1:1", 0.2, _charge(0.2, -2.0), _charge(0.2, -2.0), (1.0, -1.0)),
                ("ζ walls, 2:1 (CaCl₂)", 0.2, ZetaSegment(0, 2, -1.0), ZetaSegment(0, 2, -1.0), (2.0, -1.0))):
            case = _straight(eps, bottom, top, valences, pressure_drop_hat=0.0, peclet=1.0, delta_plus=1.0,
                             delta_minus=1.0)
            pinn, seconds = pinn_solution(case, pinn_steps)
            exact = solve(case, "exact", nx=pinn.x.size, ny=pinn.y.size)
            errors = field_errors(pinn, exact)
            pinn_rows.append({"case": label, "ε": eps, "steps": pinn_steps, "mean L2": errors["paper_mean"]["relative_l2"],
                              "ψ L2": errors["psi"]["relative_l2"], "u L2": errors["u"]["relative_l2"],
                              "ψ wall": f"{pinn['psi'][0, 0]:.4f}", "ψ wall exact": f"{exact['psi'][0, 0]:.4f}",
                              "s": seconds})
            progress(f"charge walls: PINN {label}: mean L2 {pinn_rows[-1]['mean L2']:.2e}")
    columns = ["case", "ε", "ζ̂ wall (exact)", "mean L2, ny=162", "max, ny=162", "mean L2, ny=322", "max, ny=322",
               "s, ny=322", "Ê rel. error"]
    body = (
        "### Charge walls: FD against the exact straight channel\n\n"
        "σ given as σ λ_D/(ε_w V_T) = −3 (−20 for 'strong'; +1 on the σ top of the mixed case), Ê = 1, Δp̂ = 5, "
        "Pe = 0.5, δ± = 0.8/1.2, ℓ = 2. FD on 9 nodes along x and 162 (default) or 322 across (tanh β = 3); "
        "errors: mean relative L2 over (φ, c₊, c₋, u) and the largest max error of (φ, ψ, c₊, c₋, u, p), each "
        "relative to the field's peak. The wall potential of a σ wall is an output; its O(h²) error (the "
        "charge integral of the layer on the cells) sets the FD error, which drops 4× from 162 to 322 "
        "(second order).\n\n"
        + markdown_table(rows, columns, {c: ".2e" for c in columns[3:7] + ["Ê rel. error"]} | {"s, ny=322": ".1f"})
        + ("\n\nPINN (soft ψ on charge walls with the `wall_charge` loss −∂ψ/∂n = σ̂; CPU, one thread, seed 0, "
           f"width 32, 1000 interior points, {pinn_steps} steps; ℓ = 2, Ê = 1, Pe = 1, δ± = 1, Δp̂ = 0; relative "
           "L2 against the exact solution):\n\n"
           + markdown_table(pinn_rows, list(pinn_rows[0]), {"mean L2": ".2e", "ψ L2": ".2e", "u L2": ".2e", "s": ".0f"})
           if pinn_rows else "")
        + f"\n\n{PINN_NOTE}"
    )
    return rows + pinn_rows, body


# ---- 2. streaming current and potential ------------------------------------------------
def streaming_study(progress, out: Path) -> tuple[list[dict], str]:
    height, length = 100e-9, 1e-6
    rows = []
    for c in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0):
        case = slit_case(c, height, length)
        e, s = case.electrolyte, case.scalings
        response = exact_response(case)
        zeta = wall_potentials(case.problem)[0] * s.thermal_voltage_V
        permittivity = sc.permittivity(e)
        hs_current = smoluchowski_streaming_current(permittivity, e.viscosity_Pa_s, zeta, 1.0, height, length)
        hs_potential = smoluchowski_streaming_potential(permittivity, e.viscosity_Pa_s, zeta, 1.0,
                                                        bulk_conductivity(e))
        potential = -response["L21"] / response["L22"]
        row = {"c (mM)": c, "ε": case.problem.debye_ratio, "ζ (mV)": zeta * 1e3,
               "I_s/Δp exact": response["L21"], "I_s/Δp HS": hs_current, "ratio I": response["L21"] / hs_current,
               "ΔV_s/Δp exact": potential, "ΔV_s/Δp HS": hs_potential, "ratio V": potential / hs_potential}
        if 0.02 <= case.problem.debye_ratio <= 0.5:  # FD open circuit where 322 cells resolve the layer
            oc = dataclasses.replace(case.problem, open_circuit=True, pressure_drop_hat=1e3 / s.pressure_scale_Pa)
            oc_case = case_from_problem(oc, electrolyte=e)
            fd = solve(oc_case, "fd", nx=9, ny=322)
            fd_potential = fd.case.problem.field_hat * oc.length_ratio * s.thermal_voltage_V / 1e3
            row["ΔV_s/Δp FD"] = fd_potential
            row["FD rel. error"] = abs(fd_potential / potential - 1.0)
        rows.append(row)
        progress(f"streaming: c = {c} mM, ε = {case.problem.debye_ratio:.3g}, ratio V {row['ratio V']:.3f}")
    _plot_streaming(rows, out / "streaming.png")
    columns = ["c (mM)", "ε", "ζ (mV)", "I_s/Δp exact", "I_s/Δp HS", "ratio I", "ΔV_s/Δp exact", "ΔV_s/Δp HS",
               "ratio V", "ΔV_s/Δp FD", "FD rel. error"]
    formats = {c: ".4g" for c in columns} | {"FD rel. error": ".1e"}
    body = (
        "### Streaming current and streaming potential of a σ-wall slit\n\n"
        f"KCl, σ = {SIGMA * 1e3:g} mC/m² on both walls, H = 100 nm, L = 1 µm; per unit depth, I_s/Δp in A/(m Pa), "
        "ΔV_s/Δp = Φ(0) − Φ(L) per Δp at zero current in V/Pa. Exact: the EDL-resolved straight channel "
        "(ζ is the solved wall potential); HS: Helmholtz–Smoluchowski, I_s = −(ε_w ζ/μ)(Δp/L)H and "
        "ΔV_s = ε_w ζ Δp/(μκ) with that ζ and the bulk conductivity κ. FD: `current = 0` solved with the "
        "bordered zero-current row (9 × 322), where 322 cells resolve the layer. The streaming current tends "
        "to HS as ε → 0 (ratio → 1 at 1 M); the streaming potential falls below HS as soon as surface "
        "conduction adds to κ (Du = |σ|/(F c H) ≳ 0.1), and the overlapping layers of the dilute end carry "
        "less than the plug flow of HS.\n\n"
        + markdown_table(rows, columns, formats)
        + f"\n\nFigure: `{shown_path(out)}/streaming.png`. {PINN_NOTE}"
    )
    return rows, body


def _plot_streaming(rows: list[dict], path: Path) -> None:
    c = [r["c (mM)"] * 1e-3 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].loglog(c, [r["I_s/Δp exact"] for r in rows], "o-", label="exact (EDL resolved)")
    axes[0].loglog(c, [r["I_s/Δp HS"] for r in rows], "s--", label="Helmholtz–Smoluchowski")
    axes[0].set(xlabel="KCl concentration (M)", ylabel="streaming current / Δp (A m⁻¹ Pa⁻¹)")
    axes[1].loglog(c, [-r["ΔV_s/Δp exact"] for r in rows], "o-", label="exact")
    axes[1].loglog(c, [-r["ΔV_s/Δp HS"] for r in rows], "s--", label="Helmholtz–Smoluchowski (bulk κ)")
    fd = [(r["c (mM)"] * 1e-3, -r["ΔV_s/Δp FD"]) for r in rows if "ΔV_s/Δp FD" in r]
    if fd:
        axes[1].loglog(*zip(*fd), "k^", label="FD open circuit")
    axes[1].set(xlabel="KCl concentration (M)", ylabel="−streaming potential / Δp (V/Pa)")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("σ = −20 mC/m², H = 100 nm")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---- 5. the PINN at open circuit ---------------------------------------------------------
def open_circuit_cases() -> list[tuple[str, object]]:
    """The PINN's open circuits: section 1's σ-wall PINN channel driven by Δp̂ = 50 at zero
    current, and the 1 mM slit of section 2 (the streaming_potential case's channel) at 1 kPa."""
    walls = _straight(0.2, _charge(0.2, -2.0), _charge(0.2, -2.0), (1.0, -1.0), field_hat=0.0, pressure_drop_hat=50.0,
                      peclet=1.0, delta_plus=1.0, delta_minus=1.0, open_circuit=True)
    slit = slit_case(1.0, 100e-9, 1e-6)
    problem = dataclasses.replace(slit.problem, open_circuit=True,
                                  pressure_drop_hat=1e3 / slit.scalings.pressure_scale_Pa)
    return [("σ walls, Δp̂ = 50 (section 1's PINN channel)", walls),
            ("1 mM KCl slit, 1 kPa (section 2)", case_from_problem(problem, electrolyte=slit.electrolyte))]


def open_circuit_pinn_study(progress, pinn_steps: int) -> tuple[list[dict], str]:
    rows = []
    for label, case in open_circuit_cases() if pinn_steps else []:
        exact_field = open_circuit_field(case.problem)
        pinn, seconds = pinn_solution(case, pinn_steps)
        exact = solve(case, "exact", nx=pinn.x.size, ny=pinn.y.size)
        errors = field_errors(pinn, exact)
        field = pinn.case.problem.field_hat
        potential, exact_potential = (observables(sol)["streaming_potential_V"] for sol in (pinn, exact))
        rows.append({"case": label, "ε": case.problem.debye_ratio, "ℓ": case.problem.length_ratio,
                     "Δp̂": case.problem.pressure_drop_hat, "steps": pinn_steps, "Ê exact": exact_field, "Ê PINN": field,
                     "Ê rel. error": abs(field / exact_field - 1.0), "ΔV_s exact (mV)": exact_potential * 1e3,
                     "ΔV_s PINN (mV)": potential * 1e3, "mean L2": errors["paper_mean"]["relative_l2"],
                     "ψ L2": errors["psi"]["relative_l2"], "s": seconds})
        progress(f"open circuit PINN: {label}: Ê rel. error {rows[-1]['Ê rel. error']:.2e}, "
                 f"mean L2 {rows[-1]['mean L2']:.2e}")
    formats = {"ε": ".3g", "Δp̂": ".4g", "Ê exact": ".5g", "Ê PINN": ".5g", "Ê rel. error": ".1e",
               "ΔV_s exact (mV)": ".4g", "ΔV_s PINN (mV)": ".4g", "mean L2": ".2e", "ψ L2": ".2e", "s": ".0f"}
    case_scale = with_settings(open_circuit_cases()[0][1], PINN_SETTINGS).pinn.formulation.field_scale
    body = (
        "### The PINN at open circuit: the streaming field as a trainable unknown\n\n"
        f"`current = 0`: the PINN's field Ê = {case_scale:g} θ (θ trainable, started at Ê = 0) enters the residuals and the "
        "flow base, and the `zero_current` loss term asks the net current ∫ (N̂₊ − N̂₋)·e_x dy through three "
        "cross-sections (64 Gauss–Legendre nodes each) to vanish. CPU, one thread, seed 0, width 32, 1000 "
        "interior points, SOAP + GN at its default learning rate; errors against the exact solution at its "
        "zero-current field (physics.md §7). ΔV_s = Φ(0) − Φ(L) = Ê ℓ V_T, the streaming potential of the "
        "summary's observables. The σ-wall channel: ℓ = 2, Pe = 1, δ± = 1, σ λ_D/(ε_w V_T) = −2 (as section 1's "
        "PINN rows, Ê = 1 applied there); the slit: KCl, σ = −20 mC/m², H = 100 nm, L = 1 µm.\n\n"
        + (markdown_table(rows, list(rows[0]), formats) if rows else "(not run: --pinn-steps 0)")
    )
    return rows, body


# ---- 3. Onsager reciprocity ----------------------------------------------------------------
def _sigma_step(case):
    """zeta_step with charge walls: σ = −20 → −5 mC/m² at mid-channel (same grid, reservoir ends)."""
    p, e, s = case.problem, case.electrolyte, case.scalings
    scale = sc.charge_scale(e, s.height_m)

    def wall(segments):
        out = []
        for seg, sigma in zip(segments, (-0.02, -0.005)):
            charge_hat = sigma / scale
            out.append(ChargeSegment(seg.x_start, seg.x_end, grahame_zeta(charge_hat * p.debye_ratio), charge_hat))
        return tuple(out)

    problem = dataclasses.replace(p, zeta_bottom=wall(p.zeta_bottom), zeta_top=wall(p.zeta_top))
    return dataclasses.replace(case_from_problem(problem, name="sigma_step", fd=case.fd, electrolyte=e),
                               source=case.source)


def pinn_response(case, steps: int) -> dict:
    """L12 and L21 of a straight channel from two PINN solves (its response is exactly linear):
    Q at V̂ = 0.5, Δp̂ = 0 and I at Δp̂ = 6, V̂ = 0 (node-field observables)."""
    from eofpinn.physics.observables import observables

    ell = case.problem.length_ratio
    out, scale = {}, sc.thermal_voltage(case.electrolyte.temperature_K, case.electrolyte.valence)
    for key, field, drop in (("L12", 0.5 / ell, 0.0), ("L21", 0.0, 6.0)):
        problem = dataclasses.replace(case.problem, field_hat=field, pressure_drop_hat=drop)
        solution, _ = pinn_solution(case_from_problem(problem, electrolyte=case.electrolyte), steps)
        values = observables(solution)
        if key == "L12":
            out[key] = values["flow_rate_per_depth_m2_s"] / (0.5 * scale)
        else:
            out[key] = values["ionic_current_per_depth_A_m"] / values["pressure_drop_Pa"]
    return out


def onsager_study(progress, quick: bool, pinn_steps: int) -> tuple[list[dict], str]:
    rows = []
    straight = [("straight, σ walls, 1:1", slit_case(1.0, 100e-9, 200e-9)),
                ("straight, σ walls, 2:1", slit_case(1.0, 100e-9, 200e-9, electrolyte=CACL2)),
                ("straight_channel (ζ walls)", load_case("straight_channel"))]
    for label, case in straight:
        exact = exact_response(case)
        tic = time.perf_counter()
        fd = fd_response(case, 9, 322)
        rows.append({"case": label, "solver": "exact", "grid": "—", "L12": exact["L12"], "L21": exact["L21"],
                     "rel. diff": reciprocity_error(exact), "s": 0.0})
        rows.append({"case": label, "solver": "FD", "grid": "9x322", "L12": fd["L12"], "L21": fd["L21"],
                     "rel. diff": reciprocity_error(fd), "s": time.perf_counter() - tic})
        progress(f"onsager: {label}: FD {reciprocity_error(fd):.1e}")
        if pinn_steps and label == "straight, σ walls, 1:1":
            tic = time.perf_counter()
            pinn = pinn_response(case, pinn_steps)
            rows.append({"case": label, "solver": f"PINN ({pinn_steps} steps)", "grid": "—", "L12": pinn["L12"],
                         "L21": pinn["L21"], "rel. diff": reciprocity_error(pinn), "s": time.perf_counter() - tic})
            progress(f"onsager: {label}: PINN {reciprocity_error(pinn):.1e}")
    two_d = [("zeta_step", load_case("zeta_step"), None), ("σ step (zeta_step geometry)", None, "sigma"),
             ("patterned_zeta", load_case("patterned_zeta"), None)]
    for label, case, kind in two_d:
        if kind == "sigma":
            case = _sigma_step(load_case("zeta_step"))
        nx, ny = (case.fd.nx, case.fd.ny)
        if quick:
            nx, ny = (nx - 1) // 2 + 1, (ny - 2) // 2 + 2
        tic = time.perf_counter()
        fd = fd_response(case, nx, ny)
        rows.append({"case": label, "solver": "FD", "grid": f"{nx}x{ny}", "L12": fd["L12"], "L21": fd["L21"],
                     "rel. diff": reciprocity_error(fd), "s": time.perf_counter() - tic})
        progress(f"onsager: {label}: FD {reciprocity_error(fd):.1e} ({nx}x{ny})")
    body = (
        "### Onsager reciprocity: electroosmotic flow per voltage = streaming current per pressure drop\n\n"
        "L12 = Q/ΔV at Δp = 0 (m²/(s V) per unit depth), L21 = I/Δp at ΔV = 0 (A/(m Pa)); ΔV = Φ(0) − Φ(L), "
        "Δp = p_in − p_out. Exact: the straight channel's coefficients (physics.md §7). FD: central differences "
        "in each drive about equilibrium (V̂ = ±0.01, Δp̂ = ±0.12), Q and I the scheme's conserved face fluxes. "
        "The straight σ slits are 1 mM, H = 100 nm, L = 200 nm, σ = −20 mC/m²; the σ step has −20 → −5 mC/m² "
        "in the zeta_step geometry (1 mM KCl, H = 100 nm, L = 1 µm, reservoir ends). Targets: ≤ 1e-4 "
        "(straight), ≤ 1e-3 (2D). PINN: one solve per drive (the straight channel's response is linear), "
        "V̂ = 0.5 and Δp̂ = 6, Q and I from its node fields.\n\n"
        + markdown_table(rows, ["case", "solver", "grid", "L12", "L21", "rel. diff", "s"],
                         {"L12": ".6e", "L21": ".6e", "rel. diff": ".1e", "s": ".1f"})
        + f"\n\n{PINN_NOTE}"
    )
    return rows, body


# ---- 4. conductance against concentration ------------------------------------------------
def conductance_study(progress, out: Path) -> tuple[dict, str]:
    concentrations = np.logspace(-3, 3, 25)  # mol/m³: 1 µM … 1 M
    heights = (50e-9, 100e-9, 200e-9, 1e-6)
    length = 1e-6
    curves = {}
    for height in heights:
        exact, thin = [], []
        for c in concentrations:
            case = slit_case(float(c), height, length)
            exact.append(exact_response(case)["L22"])
            thin.append(thin_layer_conductance(case.electrolyte, height, length, SIGMA))
        curves[height] = {"exact": np.array(exact), "thin": np.array(thin),
                          "c_star": crossover_concentration(dataclasses.replace(KCL), height, SIGMA)}
        progress(f"conductance: H = {height * 1e9:g} nm, plateau {exact[0]:.3e} S/m")
    _plot_conductance(concentrations, curves, out / "conductance.png")
    plateau_thin = thin_layer_conductance(dataclasses.replace(KCL, concentration_mol_m3=1e-12), 1e-7, length, SIGMA)
    rows = []
    for height, curve in curves.items():
        g_low, g_high = curve["exact"][0], curve["exact"][-1]
        bulk_high = bulk_conductivity(dataclasses.replace(KCL, concentration_mol_m3=1000.0)) * height / length
        # Crossover of the exact curve: where it is twice its bulk part (surface = bulk), by interpolation.
        bulk = np.array([bulk_conductivity(dataclasses.replace(KCL, concentration_mol_m3=c)) * height / length
                         for c in concentrations])
        ratio = curve["exact"] / bulk
        c_cross = float(np.exp(np.interp(0.0, np.log(ratio - 1.0)[::-1], np.log(concentrations)[::-1])))
        rows.append({"H (nm)": height * 1e9, "G(1 µM) exact (S/m)": g_low, "plateau thin (S/m)": plateau_thin,
                     "G(1 M)/bulk": g_high / bulk_high, "c* exact (mM)": c_cross, "c* thin (mM)": curve["c_star"],
                     "c*·H (mM·µm)": c_cross * height * 1e6})
    body = (
        "### Conductance against concentration: bulk line, surface-charge plateau, crossover\n\n"
        f"KCl slits, σ = {SIGMA * 1e3:g} mC/m² on both walls, L = 1 µm, per unit depth; 1 µM … 1 M. Exact: "
        "I/ΔV of the EDL-resolved straight channel (conduction and electroosmotic convection, overlap "
        "included). Thin layer: G = (1/L)[(μ₊ + μ₋) F c₀ H + 2 μ_K⁺ |σ|]. c*: where the surface part equals the "
        "bulk part (exact: G = 2 × bulk, interpolated). As in Stein, Kruithof & Dekker (PRL 93, 035901, 2004), "
        "G follows the bulk line at high concentration and saturates at low concentration on a plateau that "
        "does not depend on H (∝ |σ|), the crossover c* scaling as |σ|/H (c*·H constant). The resolved plateau "
        "lies above the thin-layer estimate: the electroosmotic flow of the counter-ion layer carries current "
        "too, which the estimate leaves out.\n\n"
        + markdown_table(rows, list(rows[0]), {k: ".4g" for k in rows[0]})
        + f"\n\nFigure (log–log): `{shown_path(out)}/conductance.png`. {PINN_NOTE}"
    )
    return {str(h): {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in cv.items()}
            for h, cv in curves.items()}, body


def _plot_conductance(concentrations, curves, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    molar = concentrations * 1e-3
    for height, curve in curves.items():
        line, = ax.loglog(molar, curve["exact"], "-", label=f"H = {height * 1e9:g} nm, exact")
        ax.loglog(molar, curve["thin"], "--", color=line.get_color(), alpha=0.7)
        ax.axvline(curve["c_star"] * 1e-3, color=line.get_color(), ls=":", alpha=0.5)
    ax.set(xlabel="KCl concentration (M)", ylabel="conductance per unit depth (S/m)",
           title="σ = −20 mC/m²: exact (solid), thin layer (dashed), c* (dotted)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


STUDIES = ("charge_walls", "streaming", "onsager", "conductance", "open_circuit_pinn")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "validation" / "out" / "charge_transport"))
    parser.add_argument("--only", nargs="+", choices=STUDIES, default=list(STUDIES))
    parser.add_argument("--quick", action="store_true", help="the 2D Onsager cases on grids with half the cells")
    parser.add_argument("--pinn-steps", type=int, default=1000, help="PINN training steps per solve (0: no PINN)")
    parser.add_argument("--results-page", default=str(RESULTS_PATH))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def progress(line: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {line}", flush=True)

    argv = sys.argv[1:] if argv is None else argv
    command = " ".join(["python validation/charge_transport.py", *argv])
    results = {}
    for name in args.only:
        if name == "charge_walls":
            data, body = charge_walls_study(progress, args.pinn_steps)
        elif name == "streaming":
            data, body = streaming_study(progress, out)
        elif name == "onsager":
            data, body = onsager_study(progress, args.quick, args.pinn_steps)
        elif name == "open_circuit_pinn":
            data, body = open_circuit_pinn_study(progress, args.pinn_steps)
        else:
            data, body = conductance_study(progress, out)
        results[name] = data
        print("\n" + body + "\n")
        write_section(f"charge_{name}" if not name.startswith("charge") else name, command, body,
                      Path(args.results_page))
    (out / "charge_transport.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"wrote {out}/charge_transport.json, figures and sections of {args.results_page} "
          f"({time.perf_counter() - start:.0f} s)")
    return results


if __name__ == "__main__":
    main()
