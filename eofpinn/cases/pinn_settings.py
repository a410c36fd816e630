"""The `[pinn]` section of a case file: PINN solver settings, one frozen dataclass per sub-section.

    [pinn]                 steps, seed, device, dtype, threads, derivatives, compile, time_limit_s
    [pinn.network]         width, depth, output_gain, fourier_features, fourier_scale, wall_features
    [pinn.formulation]     hard_walls, psi_base, concentrations, pressure, pressure_scale
    [pinn.points]          n_interior, n_boundary, wall_band, wall_fraction, resample_every
    [pinn.optimizer]       name, learning_rate, final_lr_factor, warmup_steps, + the optimiser's options
    [pinn.balancing]       name, + the balancer's options
    [pinn.polish]          steps, dtype, name, learning_rate, blocks, + the optimiser's options (a final phase)
    [pinn.continuation]    steps, zeta_from (start from weaker walls)
    [pinn.records]         log_every, checkpoint_every, eval_nx, eval_ny, conflict_diagnostics, snapshot_every

Every field checks its own range when the dataclass is built (a `SettingError` naming the key),
so a bad value fails when the case loads, wherever the settings come from (case file, `--set`,
a script). The optimiser and balancer names and their own options are checked against the
registries (eofpinn/solvers/pinn/optimizers.py, balancing.py) by `validate_choices`; this
module stays free of torch so that loading a case stays fast.

Settings are changed by dotted keys (`replace(settings, {"network.width": 32})`, the CLI's
`--set pinn.network.width=32`); a key of an optimiser or balancer option
(`optimizer.betas`) lands in that section's `options`. The flat keys of eofpinn 0.1
(`optimizer = "soap"`, `gn_frequency = 100`, `width = 64`, ...) are still read, each with a
deprecation warning naming its new key (`LEGACY_KEYS`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eofpinn.physics.electrolyte import boltzmann

DTYPES = ("float32", "float64")
RECIPES = ("auto", "none")
DEVICES = ("auto", "cpu", "cuda")
DERIVATIVES = ("taylor", "autograd")
PSI_BASES = ("linear", "gouy_chapman")
CONCENTRATION_FORMS = ("slotboom", "log", "direct")
PRESSURE_FORMS = ("excess", "core", "total")
FLOW_BASES = ("none", "electroosmotic")
FLOW_FORMS = ("velocity", "stream")
ION_FLUX_FORMS = ("divergence", "stream")
BODY_FORCES = ("fields", "ion_flux")
GAUGES = ("penalty", "exact")
WALL_FLUXES = ("penalty", "exact")
NORMAL_VELOCITIES = ("distance", "squared")
ION_RESIDUALS = ("absolute", "ionic_strength")
ION_BRACKETS = ("auto", "expanded", "slotboom")
SECTION_TERMS = ("divergence", "spread", "both")
SECTION_PLACEMENTS = ("stratified", "transitions", "ends")
UNIFORM_DRAWS = ("random", "stratified")
ADAPTERS = ("none", "per_loss")
ADAPTER_ROUTINGS = ("routed", "unrouted")
SYMMETRIES = ("none", "mirror")


class SettingError(ValueError):
    """A setting outside its allowed values; `key` is its dotted name inside [pinn]."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"[pinn.{key}] {message}" if "." in key else f"[pinn] {key} {message}")


def _require(ok: bool, key: str, allowed: str, value: Any) -> None:
    if not ok:
        raise SettingError(key, f"must be {allowed}; got {value!r}")


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_fields(obj: Any, prefix: str, rules: Mapping[str, tuple[Any, str]]) -> None:
    """Check every field named in `rules` ({name: (predicate, allowed-text)}) of a settings object."""
    for name, (predicate, allowed) in rules.items():
        value = getattr(obj, name)
        _require(predicate(value), f"{prefix}{name}", allowed, value)


def at_least(low: float, integer: bool = True):
    kind = _integer if integer else _number
    return lambda v: kind(v) and v >= low


def in_range(low: float, high: float, integer: bool = False, open_low: bool = False):
    kind = _integer if integer else _number
    return lambda v: kind(v) and (v > low if open_low else v >= low) and v <= high


def one_of(options: tuple[str, ...]):
    return lambda v: v in options


def choices_text(options: tuple[str, ...] | list[str]) -> str:
    return "one of " + ", ".join(repr(o) for o in options)


FLAG = (lambda v: isinstance(v, bool), "true or false")


@dataclass(frozen=True)
class NetworkSettings:
    """S = 4 tanh MLP blocks (ψ; c₊; c₋; flow → u, v, P) of `depth` hidden layers × `width`.

    `output_gain` scales the Xavier init of each block's output layer (small: start near the
    formulation's base state — wall values or double layers, Boltzmann ions, base flow; 0: start
    exactly there; 1: plain Xavier, the paper's);
    `fourier_features` pairs of random Fourier features of scale `fourier_scale`;
    `wall_features` adds e^{−y/ε}, e^{−(1−y)/ε} to the inputs (the shape of a thin double layer);
    `pattern_features` adds, for each patterned wall (with a transition width > 0), its ζ̂
    continued into the channel with edges widening with the distance from it, scaled to [−1, 1]
    (the shape of the fields near the corners where ζ̂ changes);
    `pattern_layer_features` adds the same continuation once more with edges as wide as a double
    layer at the wall (ε + d, or w + d where the transition w is wider than ε): the x-scale over
    which the double layers and their ions change at an edge;
    `psi_layer_features` false keeps those two kinds of double-layer features (wall and
    layer-wide pattern) from the ψ block: it sees the plain inputs only;
    `adapters` = "per_loss" adds one rank-`adapter_rank` adapter per loss term to every
    hidden-to-hidden weight of every block, W_eff = W + Σ_k B_k A_k (B_k = 0 at the start), and
    `adapter_routing` "routed" trains adapter k with ∇L_k alone, "unrouted" with the weighted
    sum like the trunk (eofpinn/solvers/pinn/adapters.py; arXiv 2605.10136).
    """

    width: int = 64
    depth: int = 4
    output_gain: float = 0.0
    fourier_features: int = 0
    fourier_scale: float = 1.0
    wall_features: bool = False
    pattern_features: bool = True
    pattern_layer_features: bool = False
    psi_layer_features: bool = True
    adapters: str = "none"
    adapter_rank: int = 4
    adapter_routing: str = "routed"

    def __post_init__(self) -> None:
        check_fields(self, "network.", {
            "pattern_features": FLAG,
            "pattern_layer_features": FLAG,
            "psi_layer_features": FLAG,
            "width": (in_range(1, 4096, integer=True), "an integer in [1, 4096]"),
            "depth": (in_range(1, 64, integer=True), "an integer in [1, 64]"),
            "output_gain": (in_range(0.0, 10.0), "a number in [0, 10] (0: every block starts at exactly 0)"),
            "fourier_features": (in_range(0, 1024, integer=True), "an integer in [0, 1024]"),
            "fourier_scale": (in_range(0.0, 1e3, open_low=True), "a number in (0, 1000]"),
            "wall_features": FLAG,
            "adapters": (one_of(ADAPTERS), choices_text(ADAPTERS)),
            "adapter_rank": (in_range(1, 1024, integer=True), "an integer in [1, 1024]"),
            "adapter_routing": (one_of(ADAPTER_ROUTINGS), choices_text(ADAPTER_ROUTINGS)),
        })
        if self.adapters != "none":
            _require(self.depth >= 2, "network.adapters", f"{self.adapters!r} with depth ≥ 2 (the adapters sit on the "
                     f"hidden-to-hidden weights; depth {self.depth} has none), or \"none\"", self.adapters)
            _require(self.adapter_rank <= self.width, "network.adapter_rank",
                     f"at most width = {self.width} (a rank above the width adds nothing)", self.adapter_rank)


@dataclass(frozen=True)
class FormulationSettings:
    """How raw network outputs become ψ, c±, u, v, P (eofpinn/solvers/pinn/formulation.py).

    `hard_walls`: Dirichlet wall values through the distance d = 4y(1 − y), with `psi_base`
    ("linear" | "gouy_chapman": the local double layers) carrying ψ's wall values and
    `flow_base` ("none" | "electroosmotic": the flow those double layers drive) added to u;
    `concentrations` "slotboom"
    (c± = g± e^{∓ψ}) | "log" (c± = e^N) | "direct"; `pressure` "excess" (network carries
    P = p − Π) | "core" (network carries p − Π_EDL: the osmotic pressure of the local salt level
    stays in p, so in an electroneutral core the network carries p itself; not with "direct"
    concentrations) | "total" (network carries p, the paper's layout); `pressure_scale` multiplies
    the pressure output. The paper's layout: hard_walls = false, concentrations = "direct",
    pressure = "total", pressure_scale = 1 (with network.output_gain = 1). `gauges`: the gauges of
    physics.md §3 (ion content with no-flux walls and periodic ends; the outlet pressure with
    periodic ends) as loss terms ("penalty"), or exact by construction ("exact": c± divided by
    the mean of c± e^{±ψ} over the uniform interior points, the outlet section's mean subtracted
    from P: the trapezoid rule over the outlet points' heights, collocation.section_mean_weights).
    `wall_flux` (no-flux walls): n·N± = 0 as the loss term `wall_ions` ("penalty"), or exact by
    construction ("exact": the c± blocks see the height through w(y) = (1 − cos πy)/2, so
    ∂g±/∂y = 0 on both walls, which with Slotboom concentrations and no-slip walls is n·N± = 0;
    not with "log" or "direct" concentrations, nor with soft walls).
    `ion_residuals`: the Nernst–Planck residuals enter the loss as they are ("absolute"), or
    divided by the local (c₊ + c₋)/2 ("ionic_strength"): inside a double layer of ζ̂ = −2 that
    is cosh 2 = 3.8, so the core's residuals are no longer outweighed 14-fold by the layers'; the
    2D recipe takes it where a counter-ion is crowded at a wall (CROWDED_LAYER_RECIPE). With
    ion_flux "stream" it divides the flux residuals (an ion's flux, as its divergence, is of the
    order of its concentration).
    `poisson_residual`: Poisson's residual enters the loss as it is ("absolute"), or divided by the
    same local (c₊ + c₋)/2 ("ionic_strength"): it scales with the charge density, so where a
    counter-ion is crowded into a sliver of the layer that sliver holds nearly all of Poisson's loss
    and the core's potential, which sets the flow there, counts for nothing; the 2D recipe takes it
    with the ionic-strength Nernst–Planck residuals (CROWDED_LAYER_RECIPE; docs/method.md "Poisson
    over the ionic strength").
    `ion_brackets`: each ion's bracket ∇c± + ẑ± c±∇φ (its flux without advection, over −δ±, in
    the Nernst–Planck residuals, Stokes' body force and the no-flux walls' term) formed as written
    ("expanded"), or from the Slotboom exponent N± = ln c± + ẑ±ψ as c±(∇N± − ẑ± Ê e_x)
    ("slotboom"; concentrations = "slotboom" only), or "auto" (default): "slotboom" with Slotboom
    concentrations, "expanded" with "log" or "direct" ones. The two are equal; inside a double layer
    the expanded one is the difference of two terms of order c±|∇ψ|, whose float32 rounding is larger
    than the bracket (docs/method.md "Residuals below float32's rounding").
    `flow_scale` is U, which multiplies the flow block's outputs (u, v, and the excess pressure P):
    "none" (default) U = 1; "auto" the case's velocity scale U = max(|Ê| max|ζ̂|, |Δp̂|/(8ℓ)) (the
    Helmholtz–Smoluchowski speed and the Poiseuille centre-line speed; 1 when both vanish), so that
    the network's outputs are O(1) however weak the drive; a number sets U itself.
    `field_scale` (open circuits): the trainable field is Ê = field_scale · θ. Adam-type steps
    move a parameter by about the learning rate whatever its gradient, so Ê moves by about
    field_scale × lr per step: 10 lets it follow the fields while the double layer forms.
    `flow`: the flow block carries (u, v, P) ("velocity"), or a stream function Ψ, the vorticity
    ω and P ("stream": u = ∂Ψ/∂y, v = −∂Ψ/∂x, so ∇·u = 0 and the volume flux through every
    cross-section are exact; the residual ∇²Ψ + ω joins the loss and the momentum equations take
    ∇²u = −∂ω/∂y, ∇²v = ∂ω/∂x; hard walls only, no inertia).
    `ion_flux`: the Nernst–Planck equations enter the loss as the divergence of each ion's flux
    ("divergence"), or in flux form ("stream": each c± block carries a second output, an ion
    stream function χ± = χ_B± + Q± y + d N_χ± with χ_B± that of the base state and Q± a
    trainable flux, and the loss asks the flux of the fields to equal its curl,
    N± = (∂χ±/∂y, −∂χ±/∂x): two first-order residuals per ion, and the flux through a section
    differs from Q± by the x-residual integrated across that section only; no-flux walls only).
    `body_force`: where the Stokes equations take the electric body force from: "fields" (default)
    from the gradients of c± and φ, each ion's (∇c± + ẑ± c±∇φ)/ẑ±, a difference of terms of order
    1/ε inside a double layer; "ion_flux" (ion_flux = "stream" only) from the ion stream functions,
    (Pe u c± − curl χ±)/(δ± ẑ±), the same quantity where the flux residuals vanish, but built from the
    fluxes themselves, which are of the order of the drive. The flux residuals then carry the
    disagreement of c± and φ with the fluxes, and the flow sees it only through them.
    `normal_velocity` (hard walls, flow "velocity"): v = U d N_v ("distance"), which vanishes on
    the walls, or v = U d² N_v ("squared"), whose ∂v/∂y vanishes there too, as continuity asks of
    any no-slip wall (u = 0 along it, so ∂v/∂y = −∂u/∂x = 0): near a wall v grows as y², not y.
    `normal_velocity_scale` s multiplies v alone (v = s U d N_v; flow "velocity" only): where the
    walls change along x v is smaller than u (FD: max |v| / max |u| 0.08 on zeta_step, 0.27–0.30 on
    the shipped periodic patterns, 0.64 on the held-out issue_asym), and with s = 0.1 the flow
    block's v output is ten times larger for the same v, so the optimiser's noise in that output
    moves v ten times less (docs/method.md "The 2D recipe, revised").
    `normal_velocity_envelope` w > 0 (flow "velocity" only) multiplies v by an envelope along the
    channel, E(x) = e + (1 − e) Σ_k sech((x − x_k)/w), x_k the places where a wall condition changes
    (their periodic images with periodic ends), e = `normal_velocity_floor` (default 0.05):
    the flow that a change of wall condition stirs up decays within about a channel height of it,
    and far from every change v is a small fraction of its value there, so the envelope spares the
    flow block from holding v near zero over most of the channel to the precision it needs at the
    changes. 0 (default), and channels whose walls do not change along x: no envelope; the 2D recipe
    adds w = 0.5. Measured (docs/method.md "Where v's error lies along the channel"): with w = 0.5
    and symmetry "mirror", zeta_step's v 1.5e-2 on two seeds (2.2e-2 and 1.7e-2 without it);
    without the symmetry worse. `normal_velocity_floor` e in (0, 1] is the envelope's value far
    from every change (its share of v there); off the recipe (docs/method.md "The flow block's
    precision").
    `ion_scale` s multiplies the c± blocks' output N± in the exponent of "slotboom" and "log"
    ions (c± = exp(s d N± ∓ ψ) with hard walls), as flow_scale does for the flow: with s = 0.05
    a departure of log g± by 0.05 is an output of 1 (not with "direct" concentrations).
    `symmetry` "mirror" (two walls alike: [walls] bottom = top) builds the mirror symmetry about the
    centre line y = 1/2 into the fields: every block sees the channel through the folded height
    f(y) = y(1 − y), so ψ, c±, u and P are even about y = 1/2, and v = s U d (1 − 2y) N_v is odd;
    the interior points are reflected into y ≤ 1/2, whose residuals are those of the upper half
    (with ion_flux "stream" χ± = … + d (1 − 2y) N_χ±, so χ± − Q±/2 is odd; flow "stream" not
    supported). "none" (default; the 2D recipe adds "mirror" where
    the walls are alike): the fields are free on the whole height. Measured (docs/method.md "The
    mirror symmetry"): with the 2D recipe of before it brought patterned_zeta's ψ, c±, u and v
    1.6–2.5× closer to FD, and zeta_step's ψ and c± 1.5–2×, but zeta_step's v, P and flux spreads
    further from it; with v's envelope and the flow polish it is part of the 2D recipe (docs/method.md
    "The 2D recipe, fourth revision").
    """

    hard_walls: bool = True
    psi_base: str = "gouy_chapman"
    flow_base: str = "electroosmotic"
    concentrations: str = "slotboom"
    pressure: str = "excess"
    pressure_scale: float = 1.0
    gauges: str = "exact"
    wall_flux: str = "penalty"
    ion_residuals: str = "absolute"
    poisson_residual: str = "absolute"
    ion_brackets: str = "auto"
    flow_scale: str | float = "none"
    field_scale: float = 10.0
    flow: str = "velocity"
    ion_flux: str = "divergence"
    body_force: str = "fields"
    ion_scale: float = 1.0
    normal_velocity: str = "distance"
    normal_velocity_scale: float = 1.0
    normal_velocity_envelope: float = 0.0
    normal_velocity_floor: float = 0.05
    symmetry: str = "none"

    def __post_init__(self) -> None:
        check_fields(self, "formulation.", {
            "symmetry": (one_of(SYMMETRIES), choices_text(SYMMETRIES)),
            "normal_velocity": (one_of(NORMAL_VELOCITIES), choices_text(NORMAL_VELOCITIES)),
            "ion_scale": (in_range(0.0, 1e3, open_low=True), "a number in (0, 1000]"),
            "normal_velocity_scale": (in_range(0.0, 1e3, open_low=True), "a number in (0, 1000]"),
            "normal_velocity_envelope": (in_range(0.0, 100.0), "a number in [0, 100] (channel heights; 0: no envelope)"),
            "normal_velocity_floor": (in_range(0.0, 1.0, open_low=True), "a number in (0, 1] (the envelope's value far "
                                                                          "from every change of wall condition)"),
            "flow_scale": (lambda v: v in ("none", "auto") or in_range(0.0, 1e6, open_low=True)(v),
                           "\"none\", \"auto\" or a number in (0, 1e6]"),
            "field_scale": (in_range(0.0, 1e6, open_low=True), "a number in (0, 1e6]"),
            "gauges": (one_of(GAUGES), choices_text(GAUGES)),
            "wall_flux": (one_of(WALL_FLUXES), choices_text(WALL_FLUXES)),
            "ion_residuals": (one_of(ION_RESIDUALS), choices_text(ION_RESIDUALS)),
            "poisson_residual": (one_of(ION_RESIDUALS), choices_text(ION_RESIDUALS)),
            "ion_brackets": (one_of(ION_BRACKETS), choices_text(ION_BRACKETS)),
            "hard_walls": FLAG,
            "psi_base": (one_of(PSI_BASES), choices_text(PSI_BASES)),
            "flow_base": (one_of(FLOW_BASES), choices_text(FLOW_BASES)),
            "flow": (one_of(FLOW_FORMS), choices_text(FLOW_FORMS)),
            "ion_flux": (one_of(ION_FLUX_FORMS), choices_text(ION_FLUX_FORMS)),
            "body_force": (one_of(BODY_FORCES), choices_text(BODY_FORCES)),
            "concentrations": (one_of(CONCENTRATION_FORMS), choices_text(CONCENTRATION_FORMS)),
            "pressure": (one_of(PRESSURE_FORMS), choices_text(PRESSURE_FORMS)),
            "pressure_scale": (in_range(0.0, 1e6, open_low=True), "a number in (0, 1e6]"),
        })
        _require(not (self.pressure == "core" and self.concentrations == "direct"), "formulation.pressure",
                 '"excess" or "total" with concentrations = "direct" ("core" takes the logarithm of c±, '
                 'which direct outputs do not keep positive)', self.pressure)
        _require(self.wall_flux == "penalty" or (self.concentrations == "slotboom" and self.hard_walls),
                 "formulation.wall_flux", '"penalty", or "exact" with concentrations = "slotboom" and hard_walls = true '
                 '(a zero ∂g±/∂y on the walls is a zero ion flux only for Slotboom ions at no-slip walls)',
                 self.wall_flux),
        _require(self.normal_velocity == "distance" or (self.hard_walls and self.flow == "velocity"),
                 "formulation.normal_velocity", '"distance", or "squared" with hard_walls = true and flow = "velocity" '
                 '(the stream function\'s v already vanishes with its y-derivative on the walls)', self.normal_velocity)
        _require(self.normal_velocity_scale == 1.0 or self.flow == "velocity", "formulation.normal_velocity_scale",
                 '1 with flow = "stream" (the stream function gives u and v together)', self.normal_velocity_scale)
        _require(self.normal_velocity_envelope == 0.0 or self.flow == "velocity", "formulation.normal_velocity_envelope",
                 '0 with flow = "stream" (the stream function gives u and v together)', self.normal_velocity_envelope)
        _require(self.flow == "velocity" or self.hard_walls, "formulation.flow",
                 '"velocity", or "stream" with hard_walls = true (no slip is built into the stream function)', self.flow)
        _require(self.ion_brackets != "slotboom" or self.concentrations == "slotboom", "formulation.ion_brackets",
                 '"auto" or "expanded", or "slotboom" with concentrations = "slotboom" (the brackets are formed from the '
                 'Slotboom exponent)', self.ion_brackets)
        _require(self.ion_scale == 1.0 or self.concentrations != "direct", "formulation.ion_scale",
                 '1 with concentrations = "direct" (it scales the exponent of "slotboom" and "log" ions)',
                 self.ion_scale)
        _require(self.symmetry == "none" or self.mirror_forms,
                 "formulation.symmetry", '"none" with flow = "stream" (its stream function is not built odd about '
                 'the centre line)', self.symmetry)
        _require(self.body_force == "fields" or self.ion_flux == "stream", "formulation.body_force",
                 '"fields", or "ion_flux" with ion_flux = "stream" (the force is taken from the ion stream functions)',
                 self.body_force)

    @property
    def mirror_forms(self) -> bool:
        """True when the blocks' forms take symmetry "mirror": flow "velocity" (the flow's stream
        function is not built odd about the centre line; the ions' are)."""
        return self.flow == "velocity"

    @property
    def slotboom_brackets(self) -> bool:
        """True when the ions' brackets are formed from the Slotboom exponent: ion_brackets
        "slotboom", or "auto" with Slotboom concentrations."""
        return self.ion_brackets == "slotboom" or (self.ion_brackets == "auto" and self.concentrations == "slotboom")


@dataclass(frozen=True)
class PointSettings:
    """Collocation: `n_interior` points, a fraction `wall_fraction` of them in two wall bands
    of height `wall_band` (0: min(5√2 ε, 0.3)), at distance h s^k from the wall, s uniform in
    [0, 1] and k = `band_grading` (1: uniform in the band; k > 1 packs them towards the wall with
    density ∝ d^(1/k − 1), where a crowded counter-ion's layer is a sliver of the band; the ends'
    and the balance rows' band points alike), a fraction `edge_fraction` near the pattern
    edges of the walls (within a few max(w, ε) of each corner where ζ̂ changes; a fraction
    `boundary_edge_fraction` of each wall's `n_boundary` points are drawn about that wall's own
    corners alike, the rest uniform in x, where the wall conditions are imposed), a fraction
    `transition_fraction` across the whole height within about half a channel height of each x
    where a wall's ζ̂ changes (the core there carries the current and flux balances between two
    wall conditions), a fraction `end_fraction` across the whole height within about a channel
    height of each reservoir end (where the ions enter and leave; periodic ends: uniform), a
    fraction `adaptive_fraction` redrawn every `adaptive_every` steps by residual-based adaptive sampling
    (0: never; a pool of `adaptive_pool` candidates per point, drawn with probability
    ∝ r^k / mean(r^k) + c, k = `adaptive_power`, c = `adaptive_floor`, r the loss-weighted sum of
    squared PDE residuals), the rest uniform; `n_boundary` per wall and per end; all of them
    redrawn every `resample_every` steps (default 100; 0: fixed points, the paper's — a fixed
    set of 1000 points is overfitted, method.md "Where the flow error comes from").
    `balance_rows` > 0 adds the loss term `stokes_x_mean`: the Stokes-x residual averaged along
    x on that many rows (y drawn like the interior, half in the wall bands), each of
    `balance_nodes` equispaced x with a random offset — the x-averaged momentum balance that
    sets the mean velocity profile, as a term of its own (0: off). `balance_sections` > 0 adds
    the terms `section_continuity`, `section_np_plus`, `section_np_minus`: the continuity and
    Nernst–Planck residuals integrated across that many cross-sections at random x (Gauss–Legendre
    in y, as the zero-current sections), i.e. the x-derivatives of the volume and ion fluxes
    through them, which must vanish (0: off). `section_terms` says which terms the sections
    carry: "divergence" (those three), "spread" (`spread_volume`, `spread_plus`, `spread_minus`:
    the variance over the sections of the volume flux and of each ion's flux through them, which
    are the same through every section of a steady channel with impermeable walls — a condition
    that spans the channel, where the divergence terms are local), or "both". `section_placement`
    says where the sections fall: "stratified" (one uniform draw in each of balance_sections
    equal parts of [0, ℓ]) or "transitions" (half of them, rounded down, about the x where a
    wall's ζ̂ changes, as the transition points; the rest stratified; a channel without such a
    change: all stratified) or "ends" (with reservoir ends and at least 3 sections, two of them
    the end cross-sections x = 0 and x = ℓ, through which the ions enter and leave; the rest
    stratified; periodic ends: all stratified). `uniform` says how the uniform interior points are
    drawn: "random" (independent, uniform over the channel) or "stratified" (a jittered grid: the
    channel cut into n_x × n_y equal cells, n_x n_y their number and n_x/n_y as near ℓ as a divisor
    of it allows, one uniform point in each). Their mean is the ion-content gauge's quadrature, so
    on a periodic channel with no-flux walls the gauge's error is that of the draw
    (collocation.stratified_uniform; docs/method.md "The content gauge's quadrature")."""

    n_interior: int = 1000
    n_boundary: int = 200
    wall_band: float = 0.0
    wall_fraction: float = 0.5
    band_grading: float = 1.0
    edge_fraction: float = 0.0
    boundary_edge_fraction: float = 0.0
    transition_fraction: float = 0.0
    end_fraction: float = 0.0
    adaptive_fraction: float = 0.0
    adaptive_every: int = 0
    adaptive_pool: int = 8
    adaptive_power: float = 1.0
    adaptive_floor: float = 1.0
    resample_every: int = 100
    balance_rows: int = 0
    balance_nodes: int = 32
    balance_sections: int = 0
    section_terms: str = "divergence"
    section_placement: str = "stratified"
    uniform: str = "random"

    def __post_init__(self) -> None:
        check_fields(self, "points.", {
            "n_interior": (in_range(2, 10_000_000, integer=True), "an integer in [2, 1e7]"),
            "n_boundary": (in_range(2, 1_000_000, integer=True), "an integer in [2, 1e6]"),
            "wall_band": (in_range(0.0, 0.5), "a number in [0, 0.5] (0: min(5√2 ε, 0.3))"),
            "wall_fraction": (in_range(0.0, 1.0), "a number in [0, 1]"),
            "band_grading": (in_range(1.0, 10.0), "a number in [1, 10] (1: uniform in the wall bands)"),
            "edge_fraction": (in_range(0.0, 1.0), "a number in [0, 1]"),
            "boundary_edge_fraction": (in_range(0.0, 1.0), "a number in [0, 1]"),
            "transition_fraction": (in_range(0.0, 1.0), "a number in [0, 1]"),
            "end_fraction": (in_range(0.0, 1.0), "a number in [0, 1]"),
            "adaptive_fraction": (in_range(0.0, 1.0), "a number in [0, 1]"),
            "adaptive_every": (at_least(0), "an integer ≥ 0 (0: no adaptive sampling)"),
            "adaptive_pool": (in_range(1, 1000, integer=True), "an integer in [1, 1000]"),
            "adaptive_power": (in_range(0.0, 10.0), "a number in [0, 10]"),
            "adaptive_floor": (in_range(0.0, 1e6), "a number in [0, 1e6]"),
            "resample_every": (at_least(0), "an integer ≥ 0 (0: fixed points)"),
            "balance_rows": (in_range(0, 100_000, integer=True), "an integer in [0, 1e5] (0: no x-averaged balance term)"),
            "balance_nodes": (in_range(2, 100_000, integer=True), "an integer in [2, 1e5]"),
            "balance_sections": (in_range(0, 100_000, integer=True),
                                 "an integer in [0, 1e5] (0: no flux-balance terms)"),
            "section_terms": (one_of(SECTION_TERMS), choices_text(SECTION_TERMS)),
            "section_placement": (one_of(SECTION_PLACEMENTS), choices_text(SECTION_PLACEMENTS)),
            "uniform": (one_of(UNIFORM_DRAWS), choices_text(UNIFORM_DRAWS)),
        })
        parts = (self.wall_fraction, self.edge_fraction, self.transition_fraction, self.end_fraction,
                 self.adaptive_fraction)
        total = sum(parts)
        if total > 0.9 + 1e-12:
            # Named by its first share, the one a case most often gives; the recipe may add edge_fraction.
            raise SettingError("points.wall_fraction",
                               "+ edge_fraction + transition_fraction + end_fraction + adaptive_fraction must be at most 0.9 (a tenth "
                               "of the points stays uniform: area means such as the ion-content gauge use them); got "
                               + " + ".join(f"{v:g}" for v in parts) + f" = {total:g} (where the walls "
                               "change along x, [pinn] recipe = \"auto\" adds edge_fraction = "
                               f"{WALL_PATTERN_RECIPE['points.edge_fraction']:g} unless the case gives it)")


@dataclass(frozen=True)
class OptimizerSettings:
    """The optimiser (`name`, from the registry in eofpinn/solvers/pinn/optimizers.py) and its
    learning-rate schedule: lr(step) = lr₀ · final_lr_factor^(step/steps) after a linear warm-up
    over `warmup_steps`; lr₀ = `learning_rate`, or the optimiser's default when absent. With
    `average_last` = f > 0 the main phase ends on the uniform average of its iterates over its
    last f·steps steps (tail averaging), not on the last iterate. `options` holds the
    optimiser's own keys as given (e.g. betas, precondition_frequency); the registry supplies
    defaults and checks them."""

    name: str = "soap"
    learning_rate: float | None = None
    final_lr_factor: float = 1.0
    warmup_steps: int = 0
    average_last: float = 0.1
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self, "optimizer.", {
            "name": (lambda v: isinstance(v, str) and v != "", "an optimiser name"),
            "learning_rate": (lambda v: v is None or in_range(0.0, 100.0, open_low=True)(v),
                              "a number in (0, 100] (absent: the optimiser's default)"),
            "final_lr_factor": (in_range(0.0, 1.0, open_low=True), "a number in (0, 1]"),
            "warmup_steps": (at_least(0), "an integer ≥ 0"),
            "average_last": (lambda v: in_range(0.0, 1.0)(v) and v < 1.0, "a number in [0, 1) (0: the last iterate)"),
        })
        object.__setattr__(self, "options", dict(self.options))


@dataclass(frozen=True)
class BalancingSettings:
    """The loss balancer (`name`, from the registry in eofpinn/solvers/pinn/balancing.py) and its
    own options as given (e.g. every, momentum); the registry supplies defaults and checks them."""

    name: str = "gn"
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and self.name != "", "balancing.name", "a balancer name", self.name)
        object.__setattr__(self, "options", dict(self.options))


@dataclass(frozen=True)
class ContinuationSettings:
    """Continuation in the wall potentials: over the first `steps` steps every wall ζ̂ (and what
    follows from it: wall and reservoir values, Boltzmann wall ions, the double-layer base) is
    ζ̂ × s with s rising linearly from `zeta_from` to 1; 0 steps: the case's ζ̂ throughout."""

    steps: int = 0
    zeta_from: float = 0.25

    def __post_init__(self) -> None:
        check_fields(self, "continuation.", {
            "steps": (at_least(0), "an integer ≥ 0 (0: no continuation)"),
            "zeta_from": (in_range(0.0, 1.0), "a number in [0, 1]"),
        })

    def zeta_scale(self, step: int) -> float:
        if step >= self.steps:
            return 1.0
        return self.zeta_from + (1.0 - self.zeta_from) * step / self.steps


POLISH_DTYPES = ("same", "float64")
POLISH_BLOCKS = ("all", "flow", "ions")


@dataclass(frozen=True)
class PolishSettings:
    """An optional final phase: the last `steps` of the run's [pinn] steps use another optimiser
    (`name`, by default full-batch L-BFGS with a strong-Wolfe line search; its options as in
    [pinn.optimizer]) with the loss weights frozen at their last values and the points fixed,
    in float64 when `dtype` = "float64" (the model, points and weights are converted when the
    phase starts). `learning_rate` absent: the optimiser's default (1 for L-BFGS). `blocks` =
    "flow" moves only the flow block (u, v, P) and minimises only the flow's own terms (Stokes,
    continuity, the flow's boundary and balance terms; losses.FLOW_TERMS): ψ and c± stay where the
    main phase left them, so the phase solves the Stokes equations with those ions — a linear
    problem in the flow's outputs (validation/flow_from_ions.py measures how far the fields of that
    flow lie from FD's). `blocks` = "ions" is the converse: the ψ and c± blocks (and an open
    circuit's field, and the ion fluxes Q± of ion_flux "stream") move with the flow frozen and
    minimise every other term, so the phase solves Poisson and Nernst–Planck in the frozen flow.
    `continuity_factor` multiplies the frozen weight of the continuity term over the phase (1: as
    the main phase left it; measured in docs/method.md "The flow block's precision", not in the
    recipe)."""

    steps: int = 0
    dtype: str = "same"
    name: str = "lbfgs"
    learning_rate: float | None = None
    blocks: str = "all"
    continuity_factor: float = 1.0
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self, "polish.", {
            "blocks": (one_of(POLISH_BLOCKS), choices_text(POLISH_BLOCKS)),
            "continuity_factor": (in_range(0.0, 1e6, open_low=True), "a number in (0, 1e6]"),
            "steps": (at_least(0), "an integer ≥ 0 (0: no polishing phase)"),
            "dtype": (one_of(POLISH_DTYPES), choices_text(POLISH_DTYPES)),
            "name": (lambda v: isinstance(v, str) and v != "", "an optimiser name"),
            "learning_rate": (lambda v: v is None or in_range(0.0, 100.0, open_low=True)(v),
                              "a number in (0, 100] (absent: the optimiser's default)"),
        })
        object.__setattr__(self, "options", dict(self.options))

    def optimizer(self) -> OptimizerSettings:
        """The phase's optimiser as [pinn.optimizer] settings (constant learning rate)."""
        return OptimizerSettings(name=self.name, learning_rate=self.learning_rate, options=self.options)


@dataclass(frozen=True)
class RecordSettings:
    """What a run records: a history row every `log_every` steps (with `conflict_diagnostics`
    the gradient alignment score and pairwise cosines of arXiv 2502.00604), a checkpoint every
    `checkpoint_every` steps, errors and the returned fields on an `eval_nx` × `eval_ny` grid
    (eval_nx = 0, "auto": the x nodes of the case's FD grid where the walls change along x, which
    resolve the double layers at the changes; 50 uniform ones where they do not;
    solvers/pinn/evaluation.py `eval_grid`),
    and with `snapshot_every` > 0 the fields every that many steps (snapshots/, .pvd)."""

    log_every: int = 50
    checkpoint_every: int = 500
    eval_nx: int = 0
    eval_ny: int = 200
    conflict_diagnostics: bool = True
    snapshot_every: int = 0

    def __post_init__(self) -> None:
        check_fields(self, "records.", {
            "log_every": (at_least(1), "an integer ≥ 1"),
            "checkpoint_every": (at_least(1), "an integer ≥ 1"),
            "eval_nx": (lambda v: (type(v) is int and v == 0) or in_range(2, 100_000, integer=True)(v),
                        "an integer in [2, 100000], or 0 (auto: the FD grid's x nodes where the walls change along x, else 50)"),
            "eval_ny": (in_range(2, 100_000, integer=True), "an integer in [2, 100000]"),
            "conflict_diagnostics": FLAG,
            "snapshot_every": (at_least(0), "an integer ≥ 0 (0: no snapshots)"),
        })


SECTIONS = {
    "network": NetworkSettings,
    "formulation": FormulationSettings,
    "points": PointSettings,
    "optimizer": OptimizerSettings,
    "balancing": BalancingSettings,
    "polish": PolishSettings,
    "continuation": ContinuationSettings,
    "records": RecordSettings,
}
# Sections whose keys beyond the dataclass fields are the named component's own options.
OPTION_SECTIONS = ("optimizer", "balancing", "polish")


@dataclass(frozen=True)
class PINNSettings:
    """Settings of the PINN solver: run-wide keys plus one object per sub-section.

    `steps` optimisation steps; `seed` seeds network initialisation and collocation draws;
    `device` "auto" | "cpu" | "cuda"; `dtype` "float32" | "float64"; `threads` > 0 sets torch's
    CPU threads for the run (0: torch's default); `derivatives` "taylor" (forward jets) |
    "autograd" (nested reverse mode); `compile` wraps the loss in torch.compile;
    `time_limit_s` > 0 stops a run at that training wall time; `recipe` "auto" lets the case's
    geometry add the settings measured for it where the case does not give them
    (`recipe_changes`), "none" leaves every default as it is.
    """

    steps: int = 5000
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    threads: int = 0
    derivatives: str = "taylor"
    compile: bool = False
    time_limit_s: float = 0.0
    recipe: str = "auto"
    network: NetworkSettings = field(default_factory=NetworkSettings)
    formulation: FormulationSettings = field(default_factory=FormulationSettings)
    points: PointSettings = field(default_factory=PointSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    balancing: BalancingSettings = field(default_factory=BalancingSettings)
    polish: PolishSettings = field(default_factory=PolishSettings)
    continuation: ContinuationSettings = field(default_factory=ContinuationSettings)
    records: RecordSettings = field(default_factory=RecordSettings)

    def __post_init__(self) -> None:
        check_fields(self, "", {
            "steps": (in_range(1, 100_000_000, integer=True), "an integer in [1, 1e8]"),
            "seed": (at_least(0), "an integer ≥ 0"),
            "device": (one_of(DEVICES), choices_text(DEVICES)),
            "dtype": (one_of(DTYPES), choices_text(DTYPES)),
            "threads": (in_range(0, 1024, integer=True), "an integer in [0, 1024] (0: torch's default)"),
            "derivatives": (one_of(DERIVATIVES), choices_text(DERIVATIVES)),
            "compile": FLAG,
            "time_limit_s": (at_least(0.0, integer=False), "a number ≥ 0 (0: no limit)"),
            "recipe": (one_of(RECIPES), choices_text(RECIPES)),
        })
        for name, cls in SECTIONS.items():
            _require(isinstance(getattr(self, name), cls), name, f"a [pinn.{name}] table", getattr(self, name))
        if self.polish.steps >= self.steps:
            raise SettingError("polish.steps", f"must be less than [pinn] steps = {self.steps} (the polishing phase "
                                               f"is the end of the run); got {self.polish.steps}")

    @property
    def main_steps(self) -> int:
        """Steps of the main phase (all of them without polishing)."""
        return self.steps - self.polish.steps


TOP_LEVEL = tuple(f.name for f in dataclasses.fields(PINNSettings) if f.name not in SECTIONS)

# eofpinn 0.1's flat [pinn] keys → their dotted keys now.
LEGACY_KEYS = {
    "optimizer": "optimizer.name", "learning_rate": "optimizer.learning_rate",
    "final_lr_factor": "optimizer.final_lr_factor", "warmup_steps": "optimizer.warmup_steps",
    "betas": "optimizer.betas", "precondition_frequency": "optimizer.precondition_frequency",
    "weighting": "balancing.name", "gn_frequency": "balancing.every", "gn_momentum": "balancing.momentum",
    "gn_init_from_first": "balancing.init_from_first",
    **{k: f"network.{k}" for k in ("width", "depth", "output_gain", "fourier_features", "fourier_scale",
                                     "wall_features")},
    **{k: f"formulation.{k}" for k in ("hard_walls", "psi_base", "concentrations", "pressure", "pressure_scale")},
    **{k: f"points.{k}" for k in ("n_interior", "n_boundary", "wall_band", "wall_fraction", "resample_every")},
    **{k: f"records.{k}" for k in ("log_every", "checkpoint_every", "eval_nx", "eval_ny", "conflict_diagnostics",
                                     "snapshot_every")},
}


def _coerce(value: Any, default: Any) -> Any:
    """TOML → field type: an integer where a float is expected, a list where a tuple is."""
    if isinstance(default, float) and _integer(value):
        return float(value)
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(float(v) if _integer(v) else v for v in value)
    return value


def _type_name(value: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            tuple: "a list"}.get(type(value), type(value).__name__)


def _typed(key: str, value: Any, default: Any, number_ok: bool = False) -> Any:
    """`value` converted to the type of `default`, or a SettingError naming `key`. A default of
    None stands for an optional number."""
    shown = "" if default is None else f" (default {default!r})"
    if default is None:
        default = 0.0
    if number_ok and _number(value):  # a key declared `str | float`: a word or a number
        return float(value)
    value = _coerce(value, default)
    if type(value) is not type(default):
        raise SettingError(key, f"must be {_type_name(default)}{shown}; got {value!r}")
    return value


def build_section(cls: type, table: Mapping[str, Any], prefix: str, extra_ok: bool = False) -> tuple[Any, dict]:
    """Build the dataclass `cls` from a raw table; keys it does not have are returned as extras
    (an error unless `extra_ok`). Types follow the defaults; ranges are checked by `cls`."""
    defaults = cls()
    types = {f.name: f.type for f in dataclasses.fields(cls) if f.name != "options"}
    names = list(types)
    values, extras = {}, {}
    for key, value in table.items():
        if key in names:
            values[key] = _typed(f"{prefix}{key}", value, getattr(defaults, key), types[key] == "str | float")
        elif extra_ok:
            extras[key] = value
        else:
            where = f"[pinn.{prefix[:-1]}]" if prefix else "[pinn]"
            allowed = f"allowed: {', '.join(names)}" if names else "this choice takes no options"
            raise SettingError(f"{prefix}{key}", f"is not a key of {where}; {allowed}")
    return cls(**values), extras


def option_values(options_cls: type, given: Mapping[str, Any], prefix: str) -> Any:
    """The options dataclass of a registered optimiser or balancer from the keys a case gave;
    errors name the key inside the section `prefix` ("optimizer.", "polish.", ...)."""
    try:
        built, _ = build_section(options_cls, given, prefix)
    except SettingError as exc:
        if exc.key.startswith(prefix):
            raise
        raise SettingError(prefix + exc.key.split(".", 1)[-1], exc.message) from None
    return built


def from_table(table: Mapping[str, Any]) -> tuple[PINNSettings, list[str]]:
    """PINNSettings from the raw [pinn] table of a case file, and deprecation warnings for
    flat keys of eofpinn 0.1. Raises SettingError (names and ranges only: the optimiser and
    balancer choices are checked by `validate_choices`). No recipe is applied (`load_section`
    does that, knowing the case)."""
    dotted, warnings = dotted_keys(table)
    return replace(PINNSettings(), dotted), warnings


# What `recipe = "auto"` adds for a channel whose walls change along x (ζ patterns, ζ steps, σ
# patches: anything but physics.md §4's straight channel). Measured on both 2D cases, two seeds
# each, against FD (docs/method.md "The 2D recipe"): the flux spreads over 8 sections cut u's
# error 1.6–2.2× on both; GN weights clipped to 1000× the smallest build zeta_step's induced pressure
# (u 4.7e-2 → 8.6e-3) and leave patterned_zeta within the scatter between its seeds. Revised
# 2026-12-05 (docs/method.md "The 2D recipe, revised"): the ion-flux spread terms weighted 10×
# above the clip and v scaled by 0.1 bring zeta_step's P 3.9–5.2×, u 1.6–2.3× and v 1.4–1.6× closer
# to FD on both seeds and keep patterned_zeta within its targets. Revised again (docs/method.md
# "Inputs as wide as a double layer"): wall-layer and layer-wide pattern inputs for the c± and flow
# blocks roughly halve the error of ∂g±/∂x on zeta_step, and bring u, v, P and the flux spreads closer to FD
# on both of its seeds and patterned_zeta's ion-flux spreads under 1e-2. Revised a third time
# (docs/method.md "Points at the corners"): 100 points about the corners where a wall's ζ̂ changes,
# on top of the 500 uniform and 500 wall-band points; of 100, 200, 250 and 500 such points (four
# seeds of 100 and 250), 100 brought zeta_step's flow closest to FD (four-seed medians u 2.0e-3, v 2.2e-2,
# volume-flux spread 8.0e-3 against 3.3e-3, 3.3e-2, 1.3e-2 with 250) with ψ and c± about 4× closer than
# without corner points, and kept every patterned_zeta target met. With those, 16 flux-balance
# sections instead of 8 (docs/method.md "Sixteen sections") brought zeta_step's v, P and ion-flux
# spreads closer to FD on both seeds measured (v 1.9 / 2.1e-2 → 1.5 / 1.7e-2, larger ion-flux
# spread 1.7 / 3.6e-2 → 1.2 / 1.0e-2), a tenth more time per step side by side; alone on one thread
# the recipe's zeta_step run trains in 730 s (578 s with 250 corner points and 8 sections).
# Revised a fourth time (docs/method.md "The 2D recipe, fourth revision"): the mirror symmetry where
# the walls are alike, v's envelope (w = 0.5) and 6000 steps whose last 1500 are a float64 L-BFGS
# polish of the flow block. On four seeds of zeta_step every field came closer to FD (medians: v
# 1.7e-2 → 1.4e-2, u 1.9e-3 → 5.6e-4, ψ 8.9e-4 → 4.8e-4, the volume-flux spread 8.2e-3 → 1.2e-3) at
# the cost of its ion-flux spreads (9.7e-3 → 1.5e-2); on four seeds of patterned_zeta every field
# and flux spread closer or level (ψ 1.5e-3 → 6.2e-4, v 2.0e-3 → 1.1e-3, the larger ion-flux spread
# 4.2e-3 → 1.4e-3), every target met by every seed. Alone on the 2 cores (two threads) zeta_step's
# run trains in 728 s.
# Revised a fifth time (docs/method.md "The 2D recipe, fifth revision"): a block polish now forms
# the frozen blocks' jets once (0.62 of the cost per evaluation), and the time it saves goes to 1000
# more SOAP steps before the same polish: 7000 steps, the last 1500 the polish. On four seeds of
# zeta_step every field came closer or level (medians: v 1.4e-2 → 1.3e-2, u 5.6e-4 → 3.6e-4, P
# 7.1e-3 → 4.0e-3, the larger ion-flux spread 1.5e-2 → 1.3e-2); on four seeds of patterned_zeta
# every target is still met by every seed, p closer (1.5e-3 → 1.0e-3) and u further (7.2e-4 →
# 1.9e-3, within the scatter of its seeds). Alone on the 2 cores (two threads) zeta_step's run
# trains in 718 s.
# Revised a sixth time (docs/method.md "The 2D recipe, sixth revision"): the loss compiled
# (torch.compile, eager where compiling fails) halves the cost of a step, and on a channel between
# reservoirs the time goes to twice the steps: 14000, the last 3000 the polish. On four seeds of
# zeta_step the larger ion-flux spread 1.3e-2 → 6.0e-3 (every seed within its target) and v
# 1.3e-2 → 1.03e-2 (medians); seed 0 trains in 819 s alone on the 2 cores (two threads).
# A periodic channel keeps 7000 steps, the last 1500 the polish: at 14000 patterned_zeta trains in
# 1182 s, over the 15 minutes, and every target of it was already met at 7000.
# The 2D recipe's run length and its flow polish by the channel's ends; a case or command that
# gives its own steps keeps the polish's share of them (steps × 3 // 14), so a short run is not
# refused for a polish longer than itself.
RECIPE_RUN = {"reservoir": (14000, 3000), "periodic": (7000, 1500)}  # ends: (steps, polish.steps)
# Revised an eighth time (docs/method.md "The recipe ablation rerun"): a periodic channel polishes
# the flow only where a counter-ion is crowded (COUNTER_ION_CROWDING below); elsewhere all 7000
# steps are SOAP steps. The polish was chosen for zeta_step's v at its reservoir ends; on
# patterned_zeta (seeds 0, 1) the run without it came closer to FD in ψ (2.5×), u (3.0×) and v
# (1.7×) in the medians, on charge_patches likewise, at about half the training time, the
# volume-flux spread 2–3× further (still ≥ 9× inside its 1e-2); on patterned_lacl3 (La³⁺ 343×
# its bulk) u went from 3.8e-3 to 4.4e-2 without it, so a crowded case keeps it.
# Revised a tenth time (docs/method.md "The GN cap starves Poisson"): the clip at 1000× the
# smallest estimate (Stokes-x's, which grows with Ê/ε²) leaves Poisson out. On the held-out
# issue_asym (Ê = 1, ε = 0.04, |ζ̂| ≤ 0.2) the clip held Poisson ~170× under its estimate all run:
# u 0.11 / 0.14 and v 0.20 / 0.26 off FD on seeds 0 / 1; with Poisson out of it 5.0 / 7.8e-3 and
# 4.0 / 5.4e-3. On patterned_zeta, zeta_step (seed 0 each) and patterned_lacl3 (seeds 0, 1)
# every field stayed within its target.
WALL_PATTERN_RECIPE = {
    "points.balance_sections": 16,
    "points.section_terms": "spread",
    "balancing.max_ratio": 1000,
    "balancing.ion_spread_factor": 10,
    "balancing.cap_poisson": False,  # the tenth revision (below)
    "formulation.normal_velocity_scale": 0.1,
    "network.wall_features": True,
    "network.pattern_layer_features": True,
    "network.psi_layer_features": False,
    "points.n_interior": 1100,  # 500 uniform, round(1100 · 0.4545) = 500 wall-band, round(1100 · 0.0909) = 100 corner
    "points.wall_fraction": 0.4545,
    "points.edge_fraction": 0.0909,
    # the fourth revision: the symmetry (walls alike), v's envelope, a float64 flow polish at the end
    "formulation.symmetry": "mirror",
    "formulation.normal_velocity_envelope": 0.5,
    "polish.dtype": "float64",
    "polish.blocks": "flow",
    # the sixth revision: the loss compiled (steps and polish.steps: RECIPE_RUN)
    "compile": True,
}

# Revised a seventh time (docs/method.md "A trivalent counter-ion's drive"): where a counter-ion is
# crowded into a wall's double layer (its Boltzmann factor e^{−ẑζ̂} above COUNTER_ION_CROWDING on
# some wall), the Nernst–Planck residuals are taken over the local (c₊ + c₋)/2. Those residuals
# scale with the ion's concentration, so the layers and the corners then outweigh the core, whose
# transport sets the flow: on a 2D LaCl₃ pattern at −50 mV (La³⁺ 343× its bulk at the wall) u came
# 4.5–7.6× closer to FD on two seeds (2.9e-2 / 1.7e-2 → 3.8e-3 / 3.7e-3). With CaCl₂ on the same
# walls (Ca²⁺ 49×) u went 1.4–1.5× further on both seeds, and on zeta_step's KCl (7×) it was mixed
# ("At the step"): the bound lies between 49 and 343, untested inside.
# Revised once more (docs/method.md "Poisson over the ionic strength"): Poisson's residual, which
# scales with the charge density, put 95–100 % of its loss within 0.02 channel heights of the walls
# on that LaCl₃ pattern; over the same (c₊ + c₋)/2 it brought ψ 4–10× closer to FD on four seeds
# of four (3.6e-4 median), u 2–10× (1.2e-2 → 4.3e-3 median) and v into its target on three.
CROWDED_LAYER_RECIPE = {"formulation.ion_residuals": "ionic_strength", "formulation.poisson_residual": "ionic_strength"}
COUNTER_ION_CROWDING = 100.0

# Revised a ninth time (docs/method.md "The content gauge's quadrature"): where the ion-content gauge
# applies (no-flux walls, periodic ends) its mean is taken over uniform points drawn on a jittered
# grid, whose mean errs 10-100x less than that of independent points (on trained runs 1e-4 for KCl
# patterns, 5e-4 - 1e-3 for LaCl3's, as a relative error of every written c±). On two seeds each of
# patterned_zeta, charge_patches and patterned_lacl3, c± came closer on all six runs, ψ on five,
# v on four (patterned_zeta's two 1.2-1.5x further, 14x inside its target), u on three;
# patterned_lacl3's v 1.2 / 1.7e-2 -> 0.95 / 1.03e-2.
GAUGE_QUADRATURE_RECIPE = {"points.uniform": "stratified"}


def counter_ion_crowding(problem: Any) -> float:
    """The largest Boltzmann factor e^{−ẑ± ζ̂} of either ion on any wall segment (a charge segment
    at its Grahame ζ̂): how many times its bulk concentration the most crowded counter-ion reaches
    at a wall (7 for KCl at −50 mV, 49 for CaCl₂, 343 for LaCl₃)."""
    segments = (*problem.zeta_bottom, *problem.zeta_top)
    return max(float(boltzmann(s.zeta_hat, z)) for s in segments for z in problem.valences)


def recipe_changes(settings: PINNSettings, problem: Any) -> dict[str, Any]:
    """The dotted keys that `settings.recipe` adds for `problem` (a cases.model.Problem):
    WALL_PATTERN_RECIPE and the run length of RECIPE_RUN for its ends when its walls change
    along x, nothing for a straight channel or with recipe "none"; CROWDED_LAYER_RECIPE too where
    `counter_ion_crowding` exceeds COUNTER_ION_CROWDING and the ions' residuals are divergences
    (measured in that form only),
    GAUGE_QUADRATURE_RECIPE where the ion-content gauge applies (no-flux walls, periodic ends).
    A periodic channel gets no polish (polish.steps 0) unless a counter-ion is that crowded.
    Balancer options only go with the balancer they belong to (gn), the scale and the envelope of
    v only with a flow block that carries v (flow "velocity"), the mirror symmetry only where the
    two walls are alike and the flow block is not a stream function."""
    if settings.recipe == "none" or problem.is_straight_channel:
        return {}
    form = settings.formulation
    velocity_block = form.flow == "velocity"
    goes = {"formulation.normal_velocity_scale": velocity_block,
            "formulation.normal_velocity_envelope": velocity_block,
            "formulation.symmetry": problem.mirror_symmetric and form.mirror_forms}
    steps, polish_steps = RECIPE_RUN[problem.ends]
    changes = {key: value for key, value in WALL_PATTERN_RECIPE.items()
               if (not key.startswith("balancing.") or settings.balancing.name == "gn") and goes.get(key, True)}
    crowded = counter_ion_crowding(problem) > COUNTER_ION_CROWDING
    if form.ion_flux == "divergence" and crowded:
        changes.update(CROWDED_LAYER_RECIPE)
    if not problem.fixes_ion_content:
        changes.update(GAUGE_QUADRATURE_RECIPE)
    if problem.ends == "periodic" and not crowded:
        polish_steps = 0  # the eighth revision: no flow polish (RECIPE_RUN's comment)
    return {**changes, "steps": steps, "polish.steps": polish_steps}


def recipe_additions(settings: PINNSettings, given: Mapping[str, Any], problem: Any) -> dict[str, Any]:
    """The keys of `recipe_changes` that the case does not give itself (`given`, dotted). Where
    the case gives `steps` and not `polish.steps`, the polish keeps the recipe's share of them
    (steps × polish.steps // steps of RECIPE_RUN: 3 // 14 where the recipe polishes)."""
    changes = recipe_changes(settings, problem)
    added = {key: value for key, value in changes.items() if key not in given}
    steps = given.get("steps")
    if "polish.steps" in added and isinstance(steps, int) and not isinstance(steps, bool):
        # (a steps of another type is refused by its own check)
        added["polish.steps"] = steps * changes["polish.steps"] // changes["steps"]
    return added


def resolve(given: Mapping[str, Any], problem: Any = None) -> PINNSettings:
    """The settings of a case that gives the dotted keys `given`: the defaults, then what the
    recipe adds for `problem` (None: nothing), then `given` itself, which always wins; checked
    against the problem (`check_problem`)."""
    # What the recipe adds depends on the given recipe, balancer and flow form; the polish's
    # length is checked against the run's steps only with the recipe's steps in (a given polish
    # longer than the default steps but shorter than the recipe's is not refused here).
    settings = replace(PINNSettings(), {k: v for k, v in given.items() if k != "polish.steps"})
    added = {} if problem is None else recipe_additions(settings, given, problem)
    settings = replace(PINNSettings(), {**added, **given})
    if problem is not None:
        check_problem(settings, problem)
    return settings


def check_problem(settings: PINNSettings, problem: Any) -> None:
    """Refuse settings the case's physics rules out (a SettingError): the stream-function flow
    with inertia, ion stream functions with Boltzmann walls."""
    if settings.formulation.flow == "stream" and problem.inertia:
        raise SettingError("formulation.flow", 'must be "velocity" with [model] inertia = true (the stream function '
                           "form carries no mixed derivative, which (u·∇)u needs); got 'stream'")
    if settings.formulation.ion_flux == "stream" and problem.ion_wall != "no_flux":
        raise SettingError("formulation.ion_flux", 'must be "divergence" with [model] ion_wall = "boltzmann" (an ion '
                           "stream function is constant along a wall only where no ion crosses it); got 'stream'")
    if settings.formulation.symmetry == "mirror" and not problem.mirror_symmetric:
        raise SettingError("formulation.symmetry", 'must be "none" where the two walls differ (the mirror symmetry '
                           "about y = 1/2 needs [walls] bottom = top); got 'mirror'")
    if settings.formulation.body_force == "ion_flux" and problem.paper_model:
        raise SettingError("formulation.body_force", 'must be "fields" with [model] equations = "paper" (that model\'s '
                           "body force is Ê(c₊ − c₋) alone, not a flux); got 'ion_flux'")


def merge_keys(given: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The dotted keys `given` changed by `changes`. Where `changes` picks another optimiser or
    balancer, the options `given` holds for the old one are dropped, as `replace` drops them."""
    merged = dict(given)
    for section in OPTION_SECTIONS:
        name = changes.get(f"{section}.name")
        if name is None or name == given.get(f"{section}.name", getattr(PINNSettings(), section).name):
            continue
        fields = {f.name for f in dataclasses.fields(SECTIONS[section])}
        merged = {key: value for key, value in merged.items()
                  if not (key.startswith(f"{section}.") and key.partition(".")[2] not in fields)}
    return {**merged, **changes}


def dotted_keys(table: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The raw [pinn] table as dotted keys ("network.width"), legacy flat keys mapped to their
    places (with a deprecation warning each)."""
    dotted: dict[str, Any] = {}
    warnings = []
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, Mapping):
            dotted.update({f"{key}.{k}": v for k, v in value.items()})
        elif key in LEGACY_KEYS:
            warnings.append(f"[pinn] {key} is deprecated; write it as {_toml_key(LEGACY_KEYS[key])}")
            dotted[LEGACY_KEYS[key]] = value
        elif key in TOP_LEVEL:
            dotted[key] = value
        else:
            allowed = ", ".join(TOP_LEVEL) + "; sub-sections " + ", ".join(f"[pinn.{s}]" for s in SECTIONS)
            raise SettingError(key, f"is not a [pinn] key; allowed: {allowed}")
    return dotted, warnings


def _toml_key(dotted: str) -> str:
    section, _, key = dotted.partition(".")
    return f"{key} in [pinn.{section}]"


def replace(settings: PINNSettings, changes: Mapping[str, Any]) -> PINNSettings:
    """A copy of `settings` with dotted keys changed: "steps", "network.width", "optimizer.betas"
    (an optimiser option: kept in `optimizer.options`). Raises SettingError for unknown keys,
    wrong types or values out of range."""
    top: dict[str, Any] = {}
    per_section: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        section, dot, name = key.partition(".")
        if not dot:
            if key not in TOP_LEVEL:
                raise SettingError(key, f"is not a [pinn] key; allowed: {', '.join(TOP_LEVEL)} "
                                        f"or SECTION.KEY with SECTION one of {', '.join(SECTIONS)}")
            top[key] = value
        elif section in SECTIONS:
            per_section.setdefault(section, {})[name] = value
        else:
            raise SettingError(key, f"has no section {section!r}; sections: {', '.join(SECTIONS)}")
    defaults = PINNSettings()
    top = {key: _typed(key, value, getattr(defaults, key)) for key, value in top.items()}
    sections = {}
    for section, given in per_section.items():
        current = getattr(settings, section)
        merged = {k: v for k, v in dataclasses.asdict(current).items() if k != "options"}
        options = dict(getattr(current, "options", {}))
        built, extras = build_section(type(current), given, f"{section}.", extra_ok=section in OPTION_SECTIONS)
        merged.update({k: getattr(built, k) for k in given if k not in extras})
        options.update(extras)
        if section in OPTION_SECTIONS and given.get("name", current.name) != current.name:
            options = extras  # another optimiser or balancer: the old one's options do not apply
        sections[section] = type(current)(**merged, **({"options": options} if section in OPTION_SECTIONS else {}))
    return dataclasses.replace(settings, **top, **sections)


def as_table(settings: PINNSettings) -> dict[str, Any]:
    """The settings as a nested plain dict (summary.json, checkpoints): options merged into
    their section as they were given."""
    table = {name: getattr(settings, name) for name in TOP_LEVEL}
    for name in SECTIONS:
        section = dataclasses.asdict(getattr(settings, name))
        options = section.pop("options", {})
        table[name] = {**section, **{k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}}
    return table


def with_default_keys(table: dict[str, Any]) -> dict[str, Any]:
    """A recorded `as_table` (a checkpoint's, run.json's) with the keys added since it was
    recorded (e.g. [pinn.points] transition_fraction) at their defaults, which are what that run
    ran with: a new setting's default keeps the former behaviour."""
    defaults = as_table(PINNSettings())
    return {**defaults, **{k: ({**defaults[k], **v} if isinstance(v, dict) and isinstance(defaults.get(k), dict) else v)
                           for k, v in table.items()}}


def recorded_settings(table: dict[str, Any]) -> PINNSettings:
    """The settings `as_table` recorded (a checkpoint's or summary.json's), rebuilt and checked:
    what a run directory was trained with, --set overrides included. The table has the shape
    of a case file's [pinn] table except for the None of unset keys (e.g. the optimiser's
    learning_rate), which a case file leaves out."""
    given = {name: ({key: v for key, v in value.items() if v is not None} if isinstance(value, Mapping) else value)
             for name, value in table.items()}
    return from_table(given)[0]


def validate_choices(settings: PINNSettings) -> None:
    """Check the optimiser and balancer names and their options against the registries
    (imports torch: called only for cases that configure the PINN)."""
    from eofpinn.solvers.pinn.balancing import make_balancer
    from eofpinn.solvers.pinn.optimizers import optimizer_options

    optimizer_options(settings.optimizer)
    make_balancer(settings.balancing)
    if settings.polish.steps:
        optimizer_options(settings.polish.optimizer(), prefix="polish.")


def load_section(source: str, table: Mapping[str, Any],
                 problem: Any = None) -> tuple[PINNSettings, dict[str, Any], list[str]]:
    """The [pinn] section of the case file `source`, validated: the settings (`resolve`: with the
    case's `problem`, the recipe fills in what the table does not give), the keys the table gives
    (dotted) and deprecation warnings. A bad key or value is a CaseError naming the file, the
    key and what is allowed."""
    from eofpinn.errors import CaseError

    if not isinstance(table, Mapping):
        raise CaseError(source, "pinn", "must be a table (a [pinn] header)")
    try:
        dotted, warnings = dotted_keys(table)
        settings = resolve(dotted, problem)
        if table:  # the recipe's own keys are valid choices: no need to import torch to check them
            validate_choices(settings)
    except SettingError as exc:
        raise CaseError(source, f"pinn.{exc.key}", exc.message) from None
    return settings, dotted, warnings
