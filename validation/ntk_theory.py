"""Validation study 4: NTK theory of arXiv 2605.23391, checked numerically (float64, CPU).

Runs, with small Xavier tanh MLPs (one per field):

* 1D thermoelasticity, γ ∈ {1, 2, 5, 10, 20, 50}, S = 2, in two settings:
  ``many``  — N = 16 interior points (the ranges of the two blocks do not intersect:
  λ_max(K_P) = 1 + cos θ_min < 2, weakly γ-dependent);
  ``few``   — N = 8 interior points (rank(J_T) + rank(J_u) > M: λ_max(K_P) = 2 exactly);
* 1D PNP, ε ∈ {0.2, 0.1, 0.05, 0.02}, S = 3, Poisson residual in the ε²-form (eofpinn's
  scaling) and in the 1/ε²-form (coupling γ = 1/ε²), N = 16; plus N = 3 (contains the
  centre point y = 1/2, where the init Wronskian vanishes → λ_max(K_P) = 3).

Prints tables, fits log-log slopes of λ_max(K) against the coupling, and writes
``ntk_theory.json`` and ``ntk_theory.png`` into ``--out`` (default ``validation/out/ntk``).
See ``validation/ntk.py`` for the mathematics.

    PYTHONPATH=. python validation/ntk_theory.py [--out DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from validation.ntk import (  # noqa: E402
    fit_loglog_slope,
    pnp_sweep,
    thermoelastic_residual_jacobian,
    thermoelastic_sweep,
)

GAMMAS = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
EPSILONS = [0.2, 0.1, 0.05, 0.02]
WIDTH, DEPTH, RCOND = 32, 2, 1e-10


def _print_thermo(rows: list[dict], title: str) -> None:
    print(f"\n== thermoelasticity, {title}: N={rows[0]['n_points']}, M={rows[0]['n_residuals']}, "
          f"{rows[0]['params_per_block']} params/block, rcond={rows[0]['rcond']:g} ==")
    print(f"{'gamma':>6} {'lmax(K)':>12} {'lmax(K)/g^2':>12} {'lmax(K_P)':>18} "
          f"{'2-lmax(K_P)':>11} {'1+cos(th)':>18} {'est 2-1/4Ng2':>14} {'ranks':>9}")
    for r in rows:
        print(f"{r['gamma']:6g} {r['lambda_max_K']:12.5e} {r['lambda_max_K_over_coupling2']:12.5e} "
              f"{r['lambda_max_KP']:18.14f} {2 - r['lambda_max_KP']:11.3e} "
              f"{r['one_plus_cos_min_angle']:18.14f} {r['kp_estimate_linear_T_quadratic_u']:14.10f} "
              f"{str(r['block_ranks']):>9}")


def _print_pnp(rows: list[dict], title: str) -> None:
    print(f"\n== PNP, {title}: Poisson form '{rows[0]['poisson_form']}', N={rows[0]['n_points']}, "
          f"M={rows[0]['n_residuals']}, zeta={rows[0]['zeta']:g} ==")
    print(f"{'eps':>6} {'1/eps^2':>8} {'lmax(K)':>12} {'lmax(K)*eps^4':>14} {'lmax(K_P)':>18} "
          f"{'3-lmax(K_P)':>11} {'min|W(y_i)|':>11} {'ranks':>12}")
    for r in rows:
        print(f"{r['epsilon']:6g} {r['coupling']:8.0f} {r['lambda_max_K']:12.5e} "
              f"{r['lambda_max_K_over_coupling2']:14.5e} {r['lambda_max_KP']:18.14f} "
              f"{3 - r['lambda_max_KP']:11.3e} {r['min_abs_wronskian_at_points']:11.2e} "
              f"{str(r['block_ranks']):>12}")


def _slope(rows: list[dict], min_coupling: float = 0.0) -> float:
    sel = [r for r in rows if r["coupling"] >= min_coupling]
    return fit_loglog_slope([r["coupling"] for r in sel], [r["lambda_max_K"] for r in sel])


def _write_results_section(result: dict, argv: list[str] | None) -> None:
    """The NTK section of validation/RESULTS.md, from this run's numbers only."""
    from validation.results_page import markdown_table, write_section

    rows = result["rows"]
    thermo = markdown_table(
        [{"γ": r["gamma"], "λmax(K)": r["lambda_max_K"], "λmax(K)/γ²": r["lambda_max_K_over_coupling2"],
          "λmax(K_P), N=16": r["lambda_max_KP"], "λmax(K_P), N=8": f["lambda_max_KP"]}
         for r, f in zip(rows["thermo_many"], rows["thermo_few"])],
        ["γ", "λmax(K)", "λmax(K)/γ²", "λmax(K_P), N=16", "λmax(K_P), N=8"],
        {"λmax(K)": ".4e", "λmax(K)/γ²": ".2f", "λmax(K_P), N=16": ".6f", "λmax(K_P), N=8": ".12f"})
    pnp = markdown_table(
        [{"ε": a["epsilon"], "λmax(K), ε² form": a["lambda_max_K"], "λmax(K_P), ε² form": a["lambda_max_KP"],
          "λmax(K), 1/ε² form": b["lambda_max_K"], "λmax(K_P), 1/ε² form": b["lambda_max_KP"]}
         for a, b in zip(rows["pnp_eps2"], rows["pnp_inv_eps2"])],
        ["ε", "λmax(K), ε² form", "λmax(K_P), ε² form", "λmax(K), 1/ε² form", "λmax(K_P), 1/ε² form"],
        {"λmax(K), ε² form": ".4e", "λmax(K_P), ε² form": ".6f", "λmax(K), 1/ε² form": ".4e",
         "λmax(K_P), 1/ε² form": ".4f"})
    sl = result["slopes"]
    body = (
        "### NTK theory checks (arXiv 2605.23391), float64, tanh width 32 depth 2, at initialisation\n\n"
        "1D thermoelasticity −κT'' = f_T, −Eu'' + γT' = f_u, S = 2 blocks:\n\n" + thermo +
        f"\n\nlog-log slope of λmax(K) vs γ (γ ≥ 10): **{sl['thermo_many_gamma>=10']:.5f}** (claim: 2). "
        "λmax(K_P) = S holds exactly only when the blocks' ranges share a vector (N = 8 points); with N = 16 it is "
        "2 − 1/(4Nγ²), bounded by S but not exactly γ-independent.\n\n"
        "1D PNP (S = 3 blocks), Poisson written as ε²φ'' + (c₊ − c₋)/2 (eofpinn) or divided by ε²:\n\n" + pnp +
        f"\n\nslope of λmax(K) vs 1/ε²: {sl['pnp_eps2_vs_coupling']:.4f} (ε² form), "
        f"{sl['pnp_inv_eps2_vs_coupling']:.4f} (1/ε² form). λmax(K_P) stays below S = 3: a common vector of all "
        "three ranges would need the NP rows to vanish together, which the coupled φ derivatives forbid."
    )
    write_section("ntk_theory", "python validation/ntk_theory.py " + " ".join(argv or []), body)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "ntk"),
                        help="output directory (default validation/out/ntk in the repo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (matrices are tiny; 1 is fastest)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    common = dict(width=WIDTH, depth=DEPTH, seed=args.seed, rcond=RCOND)
    thermo_many = thermoelastic_sweep(GAMMAS, n_points=16, **common)
    thermo_few = thermoelastic_sweep(GAMMAS, n_points=8, **common)
    pnp_eps2 = pnp_sweep(EPSILONS, n_points=16, poisson_form="eps2", **common)
    pnp_inv = pnp_sweep(EPSILONS, n_points=16, poisson_form="inv_eps2", **common)
    pnp_centre = pnp_sweep(EPSILONS, n_points=3, poisson_form="eps2", **common)
    pnp_centre_inv = pnp_sweep(EPSILONS, n_points=3, poisson_form="inv_eps2", **common)

    _print_thermo(thermo_many, "many points (ranges do not intersect)")
    _print_thermo(thermo_few, "few points (ranges intersect)")

    # γ → ∞ limit of λ_max(K)/γ²: σ_max of the u-equation rows of J_T (γ = 1)².
    J1, sl = thermoelastic_residual_jacobian(1.0, 16, WIDTH, DEPTH, args.seed)
    limit = float(torch.linalg.svdvals(J1[16:32, sl[0]])[0] ** 2)

    slopes = {
        "thermo_many_gamma>=10": _slope(thermo_many, 10.0),
        "thermo_many_gamma_10_20_40": fit_loglog_slope(
            [10, 20, 40],
            [r["lambda_max_K"] for r in thermoelastic_sweep([10, 20, 40], n_points=16, **common)],
        ),
        "thermo_few_gamma>=10": _slope(thermo_few, 10.0),
        "thermo_many_all": _slope(thermo_many),
    }
    local = [
        math.log(b["lambda_max_K"] / a["lambda_max_K"]) / math.log(b["gamma"] / a["gamma"])
        for a, b in zip(thermo_many[:-1], thermo_many[1:])
    ]
    print(f"\nlog-log slope of lmax(K) vs gamma (N=16): gamma>=10 fit {slopes['thermo_many_gamma>=10']:.5f}, "
          f"gamma in {{10,20,40}} {slopes['thermo_many_gamma_10_20_40']:.5f}, all {slopes['thermo_many_all']:.5f}")
    print("local slopes between consecutive gammas: " + ", ".join(f"{s:.4f}" for s in local))
    print(f"limit lmax(K)/gamma^2 -> sigma_max(u-rows of J_T)^2 = {limit:.5e} "
          f"(at gamma=50: {thermo_many[-1]['lambda_max_K_over_coupling2']:.5e})")
    spread = lambda rows: (max(r["lambda_max_KP"] for r in rows) - min(r["lambda_max_KP"] for r in rows))  # noqa: E731
    print(f"spread of lmax(K_P) over gamma: many points {spread(thermo_many):.3e}, "
          f"few points {spread(thermo_few):.3e}")

    _print_pnp(pnp_eps2, "eofpinn scaling")
    _print_pnp(pnp_inv, "coupling 1/eps^2")
    _print_pnp(pnp_centre, "N=3 incl. centre y=1/2")
    _print_pnp(pnp_centre_inv, "N=3 incl. centre y=1/2")
    slopes["pnp_eps2_vs_coupling"] = _slope(pnp_eps2)
    slopes["pnp_inv_eps2_vs_coupling"] = _slope(pnp_inv)
    print(f"\nlog-log slope of lmax(K) vs 1/eps^2: eps2-form {slopes['pnp_eps2_vs_coupling']:.5f}, "
          f"1/eps^2-form {slopes['pnp_inv_eps2_vs_coupling']:.5f}")

    result = {
        "settings": {"width": WIDTH, "depth": DEPTH, "rcond": RCOND, "seed": args.seed,
                     "activation": "tanh", "init": "xavier_uniform, zero bias", "dtype": "float64"},
        "slopes": slopes,
        "local_slopes_thermo_many": local,
        "thermo_limit_lambda_over_gamma2": limit,
        "rows": {"thermo_many": thermo_many, "thermo_few": thermo_few, "pnp_eps2": pnp_eps2,
                 "pnp_inv_eps2": pnp_inv, "pnp_centre_eps2": pnp_centre,
                 "pnp_centre_inv_eps2": pnp_centre_inv},
    }
    (out / "ntk_theory.json").write_text(json.dumps(result, indent=2))
    _write_results_section(result, argv)

    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        ax = axes[0]
        g = [r["gamma"] for r in thermo_many]
        ax.loglog(g, [r["lambda_max_K"] for r in thermo_many], "o-", label=r"$\lambda_{max}(K)$, N=16")
        ax.loglog(g, [r["lambda_max_K"] for r in thermo_few], "s--", label=r"$\lambda_{max}(K)$, N=8")
        ax.loglog(g, [limit * x**2 for x in g], "k:", label=r"$\gamma^2\,\sigma_{max}(J_T^{u})^2$")
        ax.loglog(g, [r["lambda_max_KP"] for r in thermo_many], "o-", label=r"$\lambda_{max}(K_P)$, N=16")
        ax.loglog(g, [r["lambda_max_KP"] for r in thermo_few], "s--", label=r"$\lambda_{max}(K_P)$, N=8")
        ax.axhline(2.0, color="grey", lw=0.8)
        ax.set_xlabel(r"coupling $\gamma$")
        ax.set_title(f"thermoelasticity, S=2 (slope {slopes['thermo_many_gamma>=10']:.3f})")
        ax.legend(fontsize=8)
        ax = axes[1]
        c = [r["coupling"] for r in pnp_inv]
        ax.loglog(c, [r["lambda_max_K"] for r in pnp_inv], "o-", label=r"$\lambda_{max}(K)$, $\phi''+(c_+-c_-)/2\varepsilon^2$")
        ax.loglog(c, [r["lambda_max_K"] for r in pnp_eps2], "s--", label=r"$\lambda_{max}(K)$, $\varepsilon^2\phi''+(c_+-c_-)/2$")
        ax.loglog(c, [r["lambda_max_KP"] for r in pnp_inv], "o-", label=r"$\lambda_{max}(K_P)$, 1/$\varepsilon^2$ form")
        ax.loglog(c, [r["lambda_max_KP"] for r in pnp_eps2], "s--", label=r"$\lambda_{max}(K_P)$, $\varepsilon^2$ form")
        ax.axhline(3.0, color="grey", lw=0.8)
        ax.set_xlabel(r"coupling $1/\varepsilon^2$")
        ax.set_title("PNP at init, S=3, N=16")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "ntk_theory.png", dpi=130)
        plt.close(fig)

    print(f"\nwrote {out / 'ntk_theory.json'}" + ("" if args.no_plot else f" and {out / 'ntk_theory.png'}")
          + f" in {time.time() - t0:.1f} s")
    return result


if __name__ == "__main__":
    main()
