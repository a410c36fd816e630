"""How raw network outputs become the physical fields ψ, c±, u, v, P (method.md "Formulation").

With N_ψ, N_±, (N_u, N_v, N_P) the raw block outputs, d(y) = 4y(1 − y), ζ̂_b(x), ζ̂_t(x) the
wall potentials (eofpinn/physics/walls.py: uniform, or patterned with a smooth transition) and
L(x, y) = (1 − y) ζ̂_b(x) + y ζ̂_t(x) their linear blend:

    ψ  = B_ζ(x, y) + d N_ψ              (hard walls)      or  N_ψ            (soft)
       = B_ζ(x, y) + N_ψ                (charge walls: ψ_wall unknown; B_ζ of the Grahame ζ̂)
         B_ζ = L (psi_base "linear"), or (psi_base "gouy_chapman") the two walls' local
         Gouy–Chapman layers of the salt, 4 artanh(tanh(ζ̂(x)/4) e^{−d/ε}) for a z:z salt and the
         closed forms of exact.gouy_chapman for 2:1 and 1:2 (other salts: their layer found
         numerically, physics/salt_layer.py), made
         exact on both walls — the thin-layer solution, so the network starts from a resolved
         double layer and learns the departure (for ε ≤ 0.05 it is the exact straight-channel ψ
         to 1e-8)
    c± = exp(N_± − ẑ± ψ)                (Slotboom: c± = g± e^{−ẑ±ψ}, g± = e^{N_±} ≈ 1; ẑ± = ±1 but
                                          for a z₊:z₋ salt)
       = exp(N_±)                       (log)             or  N_±            (direct)
    u  = U d N_u + u_B,  v = s_v U d N_v  (hard no slip)  or  U N_u, s_v U N_v  (soft)
                         v times (1 − 2y) with symmetry "mirror" (the blocks' outputs are even about
                         y = 1/2 there, networks.py: v is made odd, ψ, c±, u, P are even)
                         v = s_v U d² N_v (normal_velocity "squared": ∂v/∂y = 0 on the walls too)
         s_v (normal_velocity_scale, default 1) scales v alone, which is smaller than u where walls change
         u_B = 0 (flow_base "none"), or (flow_base "electroosmotic") Ê (B_ζ − L) +
         Δp̂ y(1 − y)/(2ℓ): the electroosmotic flow of those layers plus the Poiseuille flow of
         the imposed drop, which vanishes on the walls and is the exact straight-channel u
    P  = Δp̂ (1 − x/ℓ) + s U N_P         (excess pressure, s = pressure_scale)
       = Δp̂ (1 − x/ℓ) + s U N_P − Π_s   (pressure "core"; Π_s = (λ − 1)/(|ẑ₊ẑ₋| ε²), the osmotic
         pressure of the local salt level λ = (c₊^{−ẑ₋} c₋^{ẑ₊})^{1/(ẑ₊−ẑ₋)}, which is the c₀ of
         Boltzmann ions c± = c₀ e^{−ẑ±ψ} whatever ψ: the network carries p − Π + Π_s, the pressure
         less the double layers' osmotic part only — where salt accumulates in an electroneutral
         core (concentration polarisation at a ζ step), P = p − Π there is p − Π_s, and with
         "excess" the network would have to carry the 1/ε²-amplified salt excess, consistent
         with the c± networks to the precision of the flow-driving pressure gradient)
    p  = Δp̂ (1 − x/ℓ) + s N_P,  P = p − Π   (paper layout: the network carries p itself)

With flow "stream" the flow block carries (N_Ψ, N_ω, N_P) and the velocity is the curl of a
stream function Ψ, so ∇·u = 0 and the volume flux through every cross-section are exact:

    Ψ  = Ψ_B + Q s(y) + U d² N_Ψ,   u = ∂Ψ/∂y,  v = −∂Ψ/∂x     (s = 3y² − 2y³; d² kills Ψ and ∂Ψ/∂y
                                                               on both walls: no slip; Q the volume
                                                               flux, a trainable scalar)
    ω  = ω_B + U N_ω                the vorticity v_x − u_y, tied to Ψ by the loss term ∇²Ψ + ω = 0
         Ψ_B = Ê (Λ(x, y) − s(y) Λ(x, 1)), Λ = ∫₀^y (B_ζ − L) dy′ (Gauss–Legendre in y): the stream
         function of the flow base's double layers, its x-varying flux moved into the Poiseuille
         shape s, which Q then carries (flow_base "none": Ψ_B = 0); ω_B = −∂²(Ψ_B + Q s)/∂y², the
         vorticity of the base less its ∂²/∂x² part (the x-derivative of ∂(B_ζ − L)/∂y by autograd
         on the base alone). In a straight channel Ψ_B + Q s and ω_B are the exact flow (physics.md
         §4) when Q is its flux, so N_Ψ = N_ω = 0 there.
    The momentum equations read ∇²u = −∂ω/∂y and ∇²v = ∂ω/∂x (exact once ∇²Ψ + ω = 0), so no
    derivative above the second is needed. The jets of u and v returned hold what the residuals
    read (physics.residuals): rows (f, x, y) of u are (Ψ_y, 0, Ψ_yy) and of v (−Ψ_x, −Ψ_xx, 0) —
    the mixed Ψ_xy is not formed; it cancels in ∇·u, which is zero — and their xx rows carry the
    whole Laplacian (−ω_y, ω_x), the yy rows 0. The jets of Ψ and ω are returned as "stream" and
    "vorticity" (ω's second-derivative rows are not formed).

With ion_flux "stream" each c± block carries a second output N_χ±, and each ion's flux has a
stream function of its own (an ion's steady flux is divergence-free, as the volume flux is):

    χ± = χ_B± + Q± y + d N_χ±,   N± ≟ (∂χ±/∂y, −∂χ±/∂x)   (Q± the ion's flux through every
                                                    section, a trainable scalar; χ± is 0 on the
                                                    bottom wall and Q± on the top, so no ion
                                                    crosses a wall)
         d N_χ± times (1 − 2y) with symmetry "mirror": N_χ± is even about y = 1/2 there, so χ± − Q±/2
         is odd, as the x-flux it carries is even (χ_B± − Q_B±/2 is odd by construction when the two
         walls are alike)
         χ_B± = Λ±(x, y) − y Λ±(x, 1), Λ± = ∫₀^y N_B±·e_x dy′ (Gauss–Legendre in y): the stream
         function of the base state's x-flux N_B±·e_x = δ± ẑ± Ê c_B± + Pe u_B c_B± (c_B± =
         e^{−ẑ±B_ζ}, the Boltzmann ions of the ψ base, whose diffusion and migration along x
         cancel), its x-varying flux moved into the linear shape y that Q± carries (hard walls;
         else χ_B± = 0; paper model: the ions carry neither field nor flow, χ_B± = 0). In a
         straight channel it is the exact ion stream function when Q± is the flux.
    The loss asks the flux of the fields, N± = −δ± (∇c± + ẑ± c± ∇φ) + Pe u c±, to equal that curl:
    two first-order residuals per ion (losses.pde_residuals) in place of the Nernst–Planck
    divergence, which a curl satisfies identically. What a section's flux feels is the x-residual
    itself, not its integral over the channel up to that section. The jet of χ± is returned as
    "chi_plus" / "chi_minus" (rows f, x, y; the residuals need no more); Q± starts at the base
    flux Λ±(x, 1) averaged along the channel.

U (flow_scale) is 1 by default; "auto" makes it the case's velocity scale max(|Ê| max|ζ̂|, |Δp̂|/(8ℓ)):
the flow a weak drive makes is small (Ê = 0.04 gives |u| ~ 0.02), and an optimiser whose steps have
a fixed size in parameter space (Adam, SOAP) moves small outputs by large relative amounts. On the
patterned case that did not make the flow more accurate (docs/method.md), hence off by default.

With no-flux walls the zero normal ion flux is a loss term, or (formulation.wall_flux "exact") exact:
the c± blocks see the height through w(y) = (1 − cos πy)/2 (networks.py), so ∂N±/∂y = 0 on both
walls, and with Slotboom ions at no-slip walls n·N± = −δ± c± ∂N±/∂y = 0 there.
With Boltzmann walls and hard walls the ions are hard too: N_± is multiplied by d (Slotboom;
log, around −ẑ± B_ζ) or the wall values exp(−ẑ± ζ̂) are blended in (direct). Hard values need a
smooth ζ̂ along each wall: a uniform wall, or a pattern with a transition width > 0; a sharp
pattern (width 0) makes ψ discontinuous there, and such cases fall back to soft penalties.
The linear pressure drop is the exact straight-channel P, so the network learns only the
departure from it, and with periodic ends it makes P periodic up to the jump Δp̂ exactly.
At open circuit Ê is not given: it is the model's trainable field (PINNModel.field), and u_B
uses it like the residuals do.
All maps act on jets (derivatives.py), so the residuals see exact derivatives of the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from eofpinn.cases.model import PINNSettings, Problem
from eofpinn.cases.pinn_settings import (CONCENTRATION_FORMS, PRESSURE_FORMS, PSI_BASES, FormulationSettings,
                                        check_problem)
from eofpinn.physics.exact import closed_layer
from eofpinn.physics.observables import condition_edges
from eofpinn.physics.walls import WallProfile
from eofpinn.solvers.pinn import derivatives as jets
from eofpinn.solvers.pinn.collocation import section_mean
from eofpinn.solvers.pinn.networks import Embedding, FieldNetworks

FIELDS = ("psi", "c_plus", "c_minus", "u", "v", "P")
V_ENVELOPE_FLOOR = FormulationSettings.normal_velocity_floor  # default e of v's envelope: its value far from every edge
ION_SIGNS = {"c_plus": 1.0, "c_minus": -1.0}
ION_EXPONENT_LIMIT = 1.0  # |ln⟨c± e^{ẑ±ψ}⟩| beyond which PINNModel.recentre_ions moves it out of the network
__all__ = ["FIELDS", "ION_SIGNS", "CONCENTRATION_FORMS", "PSI_BASES", "PRESSURE_FORMS", "Formulation", "PINNModel",
           "build_model", "values_as_jets"]


@dataclass(frozen=True)
class Formulation:
    """The choices of the module docstring, resolved for one problem."""

    walls: tuple[WallProfile, WallProfile] | None  # (bottom, top) ζ̂(x) of the bases (smooth hard walls), else None
    hard_velocity: bool
    hard_ions: bool
    concentrations: str
    pressure: str
    pressure_scale: float
    pressure_drop: float
    length_ratio: float
    debye_ratio: float
    field_hat: float
    paper_model: bool
    psi_base: str = "linear"
    flow_base: str = "none"
    exact_gauges: bool = False
    zeta_scale: float = 1.0  # continuation ([pinn.continuation]): every wall ζ̂ times this
    valences: tuple[float, float] = (1.0, -1.0)  # ẑ₊, ẑ₋ (the exact ion-content gauge weighs c± by e^{ẑ±ψ})
    charge_walls: bool = False  # a wall segment gives σ: ψ soft around the bases of the Grahame ζ̂
    velocity_scale: float = 1.0  # U: multiplies the flow block's outputs (flow_scale)
    field_scale: float = 10.0  # open circuit: Ê = field_scale · θ (PINNModel)
    exact_wall_flux: bool = False  # no-flux walls exact: the c± blocks see the warped height (networks.py)
    ion_residuals: str = "absolute"  # the NP residuals in the loss as they are, or over (c₊ + c₋)/2 (losses.pde_terms)
    poisson_residual: str = "absolute"  # Poisson's residual in the loss as it is, or over (c₊ + c₋)/2
    slotboom_brackets: bool = False  # ion_brackets "slotboom": jets "slotboom_plus/minus" (N±) formed for the losses
    stream: bool = False  # flow "stream": the flow block carries Ψ, ω, P (module docstring)
    ion_stream: bool = False  # ion_flux "stream": the c± blocks carry N± and N_χ± (module docstring)
    flux_force: bool = False  # body_force "ion_flux": Stokes takes its body force from χ± (losses.pde_residuals)
    squared_v: bool = False  # normal_velocity "squared": v = U d² N_v
    v_scale: float = 1.0  # normal_velocity_scale s: v = s U d N_v
    v_edges: tuple[float, ...] = ()  # normal_velocity_envelope: x of every change of wall condition (and images)
    v_envelope_width: float = 0.0  # w of the envelope E(x) that multiplies v; 0: none
    v_envelope_floor: float = V_ENVELOPE_FLOOR  # e: E's value far from every edge (normal_velocity_floor)
    ion_scale: float = 1.0  # s: the exponent of "slotboom"/"log" ions takes s N± (ion_scale)
    mirror: bool = False  # symmetry "mirror": the blocks see the folded height, v = … (1 − 2y) N_v is odd
    diffusivities: tuple[float, float] = (1.0, 1.0)  # δ± (the base ion fluxes of ion_flux "stream")
    peclet: float = 1.0
    quadrature_nodes: int = 64  # Gauss–Legendre nodes of the stream function's base Λ = ∫₀^y (B_ζ − L) dy′
    # The stream base of the last few point sets (stream_base_jets): it depends on the points alone.
    base_cache: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def build(cls, problem: Problem, settings: FormulationSettings) -> Formulation:
        profiles = (problem.wall_profile("bottom"), problem.wall_profile("top"))
        walls = profiles if settings.hard_walls and all(p.smooth for p in profiles) else None
        # Charge walls (issue 13): ψ is not known on the wall, so ψ stays soft (wall_charge loss);
        # the bases still start from the double layers of the segments' Grahame ζ̂.
        charge_walls = problem.has_charge()
        return cls(
            walls=walls,
            charge_walls=charge_walls,
            hard_velocity=settings.hard_walls,
            squared_v=settings.normal_velocity == "squared",
            v_scale=settings.normal_velocity_scale,
            v_edges=(envelope_edges(problem, settings.normal_velocity_envelope)
                     if settings.normal_velocity_envelope > 0.0 else ()),
            v_envelope_width=settings.normal_velocity_envelope,
            v_envelope_floor=settings.normal_velocity_floor,
            # Hard Boltzmann ions impose exp(−ẑ± ζ̂) on the walls.
            hard_ions=walls is not None and not charge_walls and problem.ion_wall == "boltzmann",
            concentrations=settings.concentrations,
            pressure=settings.pressure,
            pressure_scale=settings.pressure_scale,
            pressure_drop=problem.pressure_drop_hat,
            length_ratio=problem.length_ratio,
            debye_ratio=problem.debye_ratio,
            field_hat=problem.field_hat,
            paper_model=problem.paper_model,
            psi_base=settings.psi_base,
            flow_base=settings.flow_base,
            exact_gauges=settings.gauges == "exact",
            valences=tuple(problem.valences),
            velocity_scale=flow_scale(problem, settings.flow_scale),
            field_scale=settings.field_scale,
            exact_wall_flux=settings.wall_flux == "exact" and problem.ion_wall == "no_flux",
            ion_residuals=settings.ion_residuals,
            poisson_residual=settings.poisson_residual,
            slotboom_brackets=settings.slotboom_brackets,
            stream=settings.flow == "stream",
            ion_stream=settings.ion_flux == "stream",
            flux_force=settings.body_force == "ion_flux",
            ion_scale=settings.ion_scale,
            mirror=settings.symmetry == "mirror",
            diffusivities=(problem.delta_plus, problem.delta_minus),
            peclet=problem.peclet,
        )

    def v_envelope_jet(self, x: Tensor) -> Tensor:
        """Jet of E(x) = e + (1 − e) Σ_k sech((x − x_k)/w) (normal_velocity_envelope w, normal_velocity_floor e)."""
        w = self.v_envelope_width
        value, d1, d2 = (torch.zeros_like(x) for _ in range(3))
        for edge in self.v_edges:
            s = (x - edge) / w
            sech, tanh = 1.0 / torch.cosh(s), torch.tanh(s)
            value = value + sech
            d1 = d1 - sech * tanh / w
            d2 = d2 + sech * (tanh**2 - sech**2) / w**2
        floor = self.v_envelope_floor
        share = 1.0 - floor
        return jets.jet_of_x(floor + share * value, share * d1, share * d2)

    @property
    def hard_psi(self) -> bool:
        """ψ takes its wall values exactly (B_ζ + d N_ψ); with charge walls ψ = B_ζ + N_ψ is soft."""
        return self.walls is not None and not self.charge_walls

    def wall_values(self, points: Tensor, transform=None) -> tuple[Tensor, Tensor]:
        """Jets of ζ̂ carried into the channel from the bottom and the top wall: each wall's
        ζ̂(x) with its pattern edges widening with the distance d from it (WallProfile.spread_jets;
        the wall's own ζ̂(x) at d = 0) — or of transform(ζ̂) given as (F, F', F'') of ζ̂, e.g. the
        Boltzmann wall concentration e^{−ẑ±ζ̂}."""
        x, y = points[:, 0], points[:, 1]
        out = []
        for profile, distance, slope in zip(self.walls, (y, 1.0 - y), (1.0, -1.0)):
            zeta = self.zeta_scale * torch.stack(profile.spread_jets(x, distance, slope, xp=torch))
            out.append(zeta if transform is None else jets.compose(*transform(zeta[0]), zeta))
        return out[0], out[1]

    def psi_wall_jet(self, points: Tensor) -> Tensor:
        """B_ζ(x, y): the part of a hard ψ that carries the wall values — the linear blend of the
        two walls' ζ̂, or the two walls' Gouy–Chapman layers (exact on both walls). The layers of a
        salt without a closed form are found by root-finding (physics/salt_layer.py), several times
        the cost of a step: they are parameter-free, so kept per point set like the stream base."""
        if self.psi_base == "gouy_chapman":
            if not closed_layer(self.valences) and not points.requires_grad:
                return self._cached("psi", points, self._gouy_chapman_base)
            return self._gouy_chapman_base(points)
        return jets.wall_blend_jet(points[:, 1], *self.wall_values(points))

    def _gouy_chapman_base(self, points: Tensor) -> Tensor:
        y, ones = points[:, 1], torch.ones_like(points[:, 1])
        bottom, top = self.wall_values(points)
        far = [self.zeta_scale * torch.stack(p.spread_jets(points[:, 0], ones, 0.0, xp=torch))
               for p in self.walls]  # ζ̂ at the other wall
        return jets.gouy_chapman_jet(y, (bottom, far[0]), (top, far[1]), self.debye_ratio, self.valences)

    def flow_base_jet(self, points: Tensor, field_hat: Tensor | float | None = None) -> Tensor | None:
        """u_B(x, y) = Ê (B_ζ − blend of ζ̂) + Δp̂ y(1 − y)/(2ℓ): the electroosmotic flow of the
        local double layers plus the Poiseuille flow of the imposed drop — the exact u of a
        straight channel when B_ζ is its double layer (physics.md §4) — or None (flow_base "none").
        Ê is `field_hat` (an open circuit's trainable field), else the formulation's."""
        if self.flow_base == "none":
            return None
        field = self.field_hat if field_hat is None else field_hat
        return field * self._layers(points) + self._poiseuille_jet(points[:, 1])

    def _poiseuille_jet(self, y: Tensor) -> Tensor:
        """Jet of Δp̂ y(1 − y)/(2ℓ), the Poiseuille flow of the imposed pressure drop."""
        scale = self.pressure_drop / (2.0 * self.length_ratio)
        return jets.jet_of_y(scale * y * (1.0 - y), scale * (1.0 - 2.0 * y), torch.full_like(y, -2.0 * scale))

    def _layers(self, points: Tensor, psi_base: Tensor | None = None) -> Tensor:
        """Jet of B_ζ − L: the double layers of the ψ base less the wall blend (zero on both walls);
        `psi_base` the jet of B_ζ at the points when the caller has it already."""
        psi_base = self.psi_wall_jet(points) if psi_base is None else psi_base
        return psi_base - jets.wall_blend_jet(points[:, 1], *self.wall_values(points))

    def layer_flux(self, x: Tensor) -> Tensor:
        """x-jet of Λ(x, 1) = ∫₀¹ (B_ζ − L) dy: the volume flux of the base's layers per unit Ê."""
        nodes, weights = _gauss_legendre(self.quadrature_nodes, x)
        n = nodes.numel()
        points = torch.stack((x.repeat_interleave(n), nodes.repeat(x.numel())), dim=1)
        layers = self._layers(points).reshape(5, x.numel(), n)
        flux = layers @ weights
        return jets.jet_of_x(flux[0], flux[1], flux[3])

    def stream_base_jets(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """Jets of Ψ_B and ω_B per unit Ê (module docstring): Λ(x, y) − s(y) Λ(x, 1), and its
        −∂²/∂y², −∂(B_ζ − L)/∂y + s''(y) Λ(x, 1), whose x-derivative needs ∂²(B_ζ − L)/∂x∂y (taken
        by autograd; rows xx, yy of ω_B are not formed). Parameter-free, so kept for the last few
        point sets (a training batch is the same points step after step): recomputed, it would be
        nearly half the cost of a step."""
        return self._cached("flow", points, self._stream_base_jets)

    @torch.compiler.disable
    def _cached(self, kind: str, points: Tensor, compute):
        """compute(points), kept in `base_cache` for the last few point sets (keyed by `kind`, the
        points and the continuation's ζ̂ scale). Never traced by torch.compile (the compiled loss
        calls it as a plain function): its look-up guards on every cached tensor, so each new point
        set and the polish's float64 recompiled it until dynamo's recompile limit, with a page of
        warnings, and the root-found layers of a salt without a closed form break its graph anyway."""
        points, key = points.detach(), (kind, self.zeta_scale)
        for cached_points, cached_key, result in self.base_cache:
            if cached_key == key and jets.same_points(cached_points, points):
                return result
        result = compute(points)
        self.base_cache.insert(0, (points.clone(), key, result))
        del self.base_cache[8:]
        return result

    def _stream_base_jets(self, points: Tensor) -> tuple[Tensor, Tensor]:
        x, y = points[:, 0], points[:, 1]
        nodes, weights = _gauss_legendre(self.quadrature_nodes, points)
        n = nodes.numel()
        inner = torch.stack((x.repeat_interleave(n), (y[:, None] * nodes[None, :]).reshape(-1)), dim=1)
        integral = y * (self._layers(inner).reshape(5, x.numel(), n) @ weights)  # (5, N): rows f, x, ·, xx, ·
        with torch.enable_grad():
            x_grad = x.clone().requires_grad_(True)
            here = self._layers(torch.stack((x_grad, y), dim=1))
            (mixed,) = torch.autograd.grad(here[2].sum(), x_grad)  # ∂²(B_ζ − L)/∂x∂y, point by point
        here = here.detach()
        local = torch.stack((integral[0], integral[1], here[0], integral[3], here[2]))  # Λ: ∂Λ/∂y = B_ζ − L
        shape, flux = _poiseuille_shape(y), self.layer_flux(x)
        stream = local - jets.product(shape, flux)
        zero = torch.zeros_like(y)
        # −∂²/∂y² of that stream function: −∂(B_ζ − L)/∂y + s''(y) Λ(x, 1), and its x- and y-derivatives.
        vorticity = torch.stack((-here[2] + shape[4] * flux[0], -mixed + shape[4] * flux[1],
                                 -here[4] - 12.0 * flux[0], zero, zero))
        return stream, vorticity

    def stream_flow(self, flow: Tensor, points: Tensor, distance: Tensor, field_hat: Tensor | float | None,
                    volume_flux: Tensor) -> dict[str, Tensor]:
        """u, v, Ψ and ω jets of flow "stream" from the flow block's raw jets (module docstring)."""
        scale = self.velocity_scale
        stream = scale * jets.product(jets.product(distance, distance), flow[..., 0])
        shape = _poiseuille_shape(points[:, 1])
        stream = stream + volume_flux * shape
        zero = torch.zeros_like(shape[0])
        # ω of Q s(y): −Q s''(y), whose y-derivative is −Q s''' = 12 Q.
        vorticity = scale * flow[..., 1] - volume_flux * torch.stack((shape[4], zero, zero - 12.0, zero, zero))
        if self.flow_base != "none" and self.walls is not None:
            field = self.field_hat if field_hat is None else field_hat
            stream_base, vorticity_base = self.stream_base_jets(points)
            stream, vorticity = stream + field * stream_base, vorticity + field * vorticity_base
        u = torch.stack((stream[2], zero, stream[4], -vorticity[2], zero))
        v = torch.stack((-stream[1], -stream[3], zero, vorticity[1], zero))
        return {"u": u, "v": v, "stream": stream, "vorticity": vorticity}

    def _base_ion_fluxes_x(self, points: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per ion, jets of N_B±·e_x = δ± ẑ± Ê c_B± + Pe u_B c_B± (module docstring), split into the
        part per unit Ê and the part of the imposed pressure drop (Ê may be a trainable
        parameter); one evaluation of the ψ base serves both ions."""
        psi = self.psi_wall_jet(points)
        layers = None
        if self.flow_base != "none":
            layers, poiseuille = self._layers(points, psi), self._poiseuille_jet(points[:, 1])
        out = []
        for z, delta in zip(self.valences, self.diffusivities):
            ions = jets.exponential(-z * psi)
            if layers is None:
                out.append((delta * z * ions, torch.zeros_like(ions)))
            else:
                out.append((delta * z * ions + self.peclet * jets.product(layers, ions),
                            self.peclet * jets.product(poiseuille, ions)))
        return out

    def ion_stream_base_jets(self, points: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per ion, the jets (rows f, x, y) of χ_B± per unit Ê and of its pressure-drop part
        (module docstring). Parameter-free: kept for the last few point sets, as the flow's."""
        return self._cached("ions", points, self._ion_stream_base_jets)

    def _base_ion_integrals(self, points: Tensor, heights: Tensor) -> list[list[Tensor]]:
        """Per ion and part (per unit Ê, pressure drop), rows f and x of Λ±(x, h) = ∫₀^h N_B±·e_x dy′
        at the points' x and `heights`."""
        x = points[:, 0]
        nodes, weights = _gauss_legendre(self.quadrature_nodes, points)
        n = nodes.numel()
        inner = torch.stack((x.repeat_interleave(n), (heights[:, None] * nodes[None, :]).reshape(-1)), dim=1)
        return [[heights * (part[:2].reshape(2, x.numel(), n) @ weights) for part in ion]
                for ion in self._base_ion_fluxes_x(inner)]

    def _ion_stream_base_jets(self, points: Tensor) -> list[tuple[Tensor, Tensor]]:
        y = points[:, 1]
        local, whole = self._base_ion_integrals(points, y), self._base_ion_integrals(points, torch.ones_like(y))
        out = []
        for ion_local, ion_whole, ion_here in zip(local, whole, self._base_ion_fluxes_x(points)):
            parts = [torch.stack((a[0] - y * b[0], a[1] - y * b[1], flux[0] - b[0]))
                     for a, b, flux in zip(ion_local, ion_whole, ion_here)]
            out.append((parts[0], parts[1]))
        return out

    def initial_ion_fluxes(self) -> tuple[float, float]:
        """Q± to start from: the base x-flux through a section, Λ±(x, 1), averaged along the
        channel (without hard walls: the bulk conduction flux δ± ẑ± Ê); 0 in the paper model."""
        if self.paper_model:
            return 0.0, 0.0
        if self.walls is None:
            return tuple(float(d * z * self.field_hat) for d, z in zip(self.diffusivities, self.valences))
        x = torch.linspace(0.0, self.length_ratio, 129, dtype=torch.float64)
        sections = torch.stack((x, torch.zeros_like(x)), dim=1)
        through = self._base_ion_integrals(sections, torch.ones_like(x))
        plus, minus = (float((self.field_hat * per_field[0] + fixed[0]).mean()) for per_field, fixed in through)
        return plus, minus

    def initial_volume_flux(self) -> float:
        """Q to start from: the base layers' flux averaged along the channel, times Ê, plus the
        Poiseuille flux Δp̂/(12ℓ) of the imposed drop (0 with flow_base "none" but for the drop)."""
        flux = self.pressure_drop / (12.0 * self.length_ratio)
        if self.flow_base != "none" and self.walls is not None:
            x = torch.linspace(0.0, self.length_ratio, 257, dtype=torch.float64)
            flux += self.field_hat * float(self.layer_flux(x)[0].mean())
        return flux

    def ion_exponent(self, raw: Tensor, distance: Tensor) -> Tensor:
        """The jet of s N± (s d N± with hard walls): the exponent of "log" ions, and of "slotboom"
        ions before −ẑ±ψ, i.e. their Slotboom exponent ln c± + ẑ±ψ up to the content gauge's constant."""
        raw = self.ion_scale * raw
        return jets.product(distance, raw) if self.hard_ions else raw

    def _concentration(self, raw: Tensor, valence: float, psi: Tensor, distance: Tensor, points: Tensor,
                       exponent: Tensor | None) -> Tensor:
        """c₊ or c₋ (of dimensionless valence ẑ±) from its raw jet and, for "slotboom" and "log"
        ions, its `ion_exponent`; see the module docstring."""
        if self.concentrations == "direct":
            if not self.hard_ions:
                return raw

            def boltzmann(zeta):
                value = torch.exp(-valence * zeta)
                return value, -valence * value, valence**2 * value

            wall = jets.wall_blend_jet(points[:, 1], *self.wall_values(points, boltzmann))
            return wall + jets.product(distance, raw)
        if self.concentrations == "slotboom":
            exponent = exponent - valence * psi
        elif self.hard_ions:
            exponent = exponent - valence * self.psi_wall_jet(points)  # Boltzmann ions of B_ζ at the walls
        return jets.exponential(exponent)

    def fields(self, raw: dict[str, Tensor], points: Tensor, field_hat: Tensor | float | None = None,
               volume_flux: Tensor | float = 0.0, ion_fluxes: Tensor | None = None) -> dict[str, Tensor]:
        """Physical jets (5, N) keyed by FIELDS (and, flow "stream", "stream" and "vorticity";
        ion_flux "stream", "chi_plus" and "chi_minus") from the blocks' raw jets (5, N, K);
        `field_hat` the Ê of the flow base (None: the formulation's); `volume_flux` Q of flow
        "stream"; `ion_fluxes` (Q₊, Q₋) of ion_flux "stream" (None: χ± not formed, as evaluation
        needs no χ± and its base costs a y-quadrature at every point)."""
        x, y = points[:, 0], points[:, 1]
        distance = jets.wall_distance_jet(y)
        psi = raw["psi"][..., 0]
        if self.walls is not None:
            psi = self.psi_wall_jet(points) + (jets.product(distance, psi) if self.hard_psi else psi)
        out = {"psi": psi}
        for name, valence in zip(ION_SIGNS, self.valences):
            ion = raw[name][..., 0]
            exponent = None if self.concentrations == "direct" else self.ion_exponent(ion, distance)
            out[name] = self._concentration(ion, valence, psi, distance, points, exponent)
            if self.slotboom_brackets:
                out[f"slotboom_{name[2:]}"] = exponent
        # 1 − 2y, odd about the centre line: what makes v (and χ± − Q±/2) odd under symmetry "mirror"
        odd = jets.jet_of_y(1.0 - 2.0 * y, torch.full_like(y, -2.0), torch.zeros_like(y)) if self.mirror else None
        if self.ion_stream and ion_fluxes is not None:
            height = jets.jet_of_y(y, torch.ones_like(y), torch.zeros_like(y))
            bases = self.ion_stream_base_jets(points) if self.walls is not None and not self.paper_model else None
            for k, name in enumerate(ION_SIGNS):
                learned = jets.product(distance, raw[name][..., 1])
                if self.mirror:  # N_χ± is even about y = 1/2: χ± − Q±/2 is made odd (the base's is)
                    learned = jets.product(odd, learned)
                chi = ion_fluxes[k] * height + learned
                if bases is not None:
                    per_field, fixed = bases[k]
                    base = (self.field_hat if field_hat is None else field_hat) * per_field + fixed
                    chi = chi + torch.cat((base, torch.zeros_like(base[:2])))
                out[f"chi_{name[2:]}"] = chi
        flow = raw["flow"]
        if self.stream:
            out.update(self.stream_flow(flow, points, distance, field_hat, volume_flux))
        else:
            out["u"] = self.velocity_scale * flow[..., 0]
            out["v"] = (self.v_scale * self.velocity_scale) * flow[..., 1]
            if self.hard_velocity:
                out["u"], out["v"] = jets.product(distance, out["u"]), jets.product(distance, out["v"])
                if self.squared_v:
                    out["v"] = jets.product(distance, out["v"])
            if self.v_edges:
                out["v"] = jets.product(self.v_envelope_jet(x), out["v"])
            if self.mirror:  # the block's N_v is even about y = 1/2: v is made odd
                out["v"] = jets.product(odd, out["v"])
            base = self.flow_base_jet(points, field_hat) if self.walls is not None else None
            if base is not None:
                out["u"] = out["u"] + base
        scale = self.pressure_scale * (self.velocity_scale if self.pressure in ("excess", "core") else 1.0)
        pressure = scale * flow[..., 2] + self.pressure_drop_jet(x)
        if self.pressure == "total" and not self.paper_model:
            # Π = (c₊ + c₋ − 2)/(2ε²), a linear combination of jets.
            ions = out["c_plus"] + out["c_minus"] - jets.constant_jet(2.0, pressure)
            pressure = pressure - ions / (2.0 * self.debye_ratio**2)
        elif self.pressure == "core" and not self.paper_model:
            pressure = pressure - self.salt_osmotic_jet(out["c_plus"], out["c_minus"])
        out["P"] = pressure
        return out

    def salt_osmotic_jet(self, c_plus: Tensor, c_minus: Tensor) -> Tensor:
        """Jet of Π_s = (λ − 1)/(|ẑ₊ẑ₋| ε²), λ = (c₊^{−ẑ₋} c₋^{ẑ₊})^{1/(ẑ₊−ẑ₋)} the local salt level
        (module docstring): Π at c± = λ, i.e. the osmotic pressure of Boltzmann ions at salt level λ
        less that of their double layer."""
        z_plus, z_minus = self.valences
        log_level = (-z_minus * jets.logarithm(c_plus) + z_plus * jets.logarithm(c_minus)) / (z_plus - z_minus)
        level = jets.exponential(log_level)
        return (level - jets.constant_jet(1.0, level)) / (abs(z_plus * z_minus) * self.debye_ratio**2)

    def pressure_drop_jet(self, x: Tensor) -> Tensor:
        """Jet of Δp̂ (1 − x/ℓ), the straight-channel excess pressure carried outside the network."""
        drop = self.pressure_drop / self.length_ratio
        zero = torch.zeros_like(x)
        return torch.stack((self.pressure_drop - drop * x, zero - drop, zero, zero, zero))


def envelope_edges(problem: Problem, width: float) -> tuple[float, ...]:
    """x of every change of wall condition (observables.condition_edges), with periodic ends also
    their images kℓ for |k| ≤ K, K large enough that an image beyond it adds below e^{−32} to the
    envelope of v on [0, ℓ] (as WallProfile does for its edges): the envelope is then periodic."""
    edges = condition_edges(problem)
    if problem.ends != "periodic" or edges.size == 0:
        return tuple(float(e) for e in edges)
    ell = problem.length_ratio
    images = int(np.ceil(32.0 * width / ell)) + 1
    shifted = {round(float(e) + k * ell, 12) for e in edges for k in range(-images, images + 1)}
    return tuple(sorted(shifted))


def values_as_jets(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
    """Block outputs (N, K) as jets (5, N, K) whose derivative rows are zero: what the maps of
    `Formulation.fields` take when only the fields' values are wanted."""
    return {name: torch.cat((out.unsqueeze(0), out.new_zeros((4,) + out.shape))) for name, out in outputs.items()}


def _poiseuille_shape(y: Tensor) -> Tensor:
    """Jet of s(y) = 3y² − 2y³: the stream function of a unit-flux Poiseuille flow (s = s' = 0 at
    y = 0, s = 1 and s' = 0 at y = 1)."""
    return jets.jet_of_y(y * y * (3.0 - 2.0 * y), 6.0 * y * (1.0 - y), 6.0 - 12.0 * y)


def _gauss_legendre(n: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """n Gauss–Legendre nodes and weights on [0, 1], in `like`'s dtype and device."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (torch.as_tensor(0.5 * (nodes + 1.0), dtype=like.dtype, device=like.device),
            torch.as_tensor(0.5 * weights, dtype=like.dtype, device=like.device))


def flow_scale(problem: Problem, setting: str | float) -> float:
    """U of [pinn.formulation] flow_scale: 1 ("none"), the case's `velocity_scale` ("auto"), or
    the number given."""
    if setting == "none":
        return 1.0
    return velocity_scale(problem) if setting == "auto" else float(setting)


def velocity_scale(problem: Problem) -> float:
    """U = max(|Ê| max|ζ̂|, |Δp̂|/(8ℓ)): the Helmholtz–Smoluchowski speed of the strongest wall and
    the centre-line speed of the imposed pressure drop (1 when the case drives no flow). A charge
    segment counts with its Grahame ζ̂; an open circuit's Ê is unknown and counts as 0."""
    zetas = [abs(s.zeta_hat) for wall in ("bottom", "top") for s in problem.zeta_segments(wall)]
    field = 0.0 if problem.open_circuit else abs(problem.field_hat)
    scale = max(field * max(zetas, default=0.0), abs(problem.pressure_drop_hat) / (8.0 * problem.length_ratio))
    return scale if scale > 0.0 else 1.0


def apply_gauges(fields: dict[str, Tensor], content: dict[str, Tensor] | None,
                 outlet: tuple[dict[str, Tensor], Tensor] | None,
                 valences: tuple[float, float] = (1.0, -1.0)) -> dict[str, Tensor]:
    """The gauges of physics.md §3 made exact: c± divided by the mean of c± e^{ẑ±ψ} over the
    `content` jets (the uniform interior points), the outlet section's mean of P subtracted from P,
    `outlet` being (the jets at the outlet points, their heights): the trapezoid rule over the
    heights (collocation.section_mean), since those points are clustered at the walls. Each None
    when the problem does not need it. Acts on jets (all rows) or values."""
    out = dict(fields)
    if content is not None:
        for name, z in zip(ION_SIGNS, valences):
            scale = torch.mean(content[name][0] * torch.exp(z * content["psi"][0]))
            out[name] = fields[name] / scale
    if outlet is not None:
        shifted = fields["P"].clone()
        jets_there, heights = outlet
        shifted[0] = shifted[0] - section_mean(jets_there["P"][0], heights)
        out["P"] = shifted
    return out


class PINNModel(nn.Module):
    """Networks + formulation: points (N, 2) → physical jets or values.

    With exact gauges (`Formulation.exact_gauges`), `gauge_points` holds the points their means
    are taken over ({"content": uniform interior points, "outlet": outlet points}, set by the
    task for the current collocation); training takes the means from its own batch (the same
    points), evaluation from these.

    An open circuit (`open_circuit`) makes the field a trainable scalar parameter θ
    (`scaled_field`), Ê = field_scale · θ ([pinn.formulation] field_scale: an Adam-type step moves
    θ by about the learning rate), started at the formulation's Ê (the case's field_hat: 0 for a
    `current = "0 A"` case file) and fixed by the zero_current loss term; being a parameter, it
    is in the state dict (checkpoints, resume, warm start) and seen by every optimiser. `field`
    is the Ê every map and residual uses: field_scale · θ, or the applied field of a closed circuit.
    With flow "stream" the volume flux Q = U · θ_Q is a trainable scalar too (`scaled_flux`,
    started at `Formulation.initial_volume_flux`), and with ion_flux "stream" the ion fluxes
    (Q₊, Q₋) (`ion_fluxes`, started at `Formulation.initial_ion_fluxes`).
    """

    def __init__(self, networks: FieldNetworks, formulation: Formulation, derivatives: str = "taylor",
                 open_circuit: bool = False):
        super().__init__()
        self.networks = networks
        self.formulation = formulation
        self.derivatives = derivatives
        self.gauge_points: dict[str, Tensor | None] = {}
        if open_circuit:
            start = formulation.field_hat / formulation.field_scale
            self.scaled_field = nn.Parameter(torch.tensor(start, dtype=torch.float64))
        else:
            self.register_parameter("scaled_field", None)
        if formulation.stream:
            start = formulation.initial_volume_flux() / formulation.velocity_scale
            self.scaled_flux = nn.Parameter(torch.tensor(start, dtype=torch.float64))
        else:
            self.register_parameter("scaled_flux", None)
        if formulation.ion_stream:
            self.ion_fluxes = nn.Parameter(torch.tensor(formulation.initial_ion_fluxes(), dtype=torch.float64))
        else:
            self.register_parameter("ion_fluxes", None)

    @property
    def field(self) -> Tensor | float:
        """Ê: the trainable field of an open circuit (a scalar tensor), else the applied field."""
        if self.scaled_field is None:
            return self.formulation.field_hat
        return self.formulation.field_scale * self.scaled_field

    @property
    def volume_flux(self) -> Tensor | float:
        """Q of flow "stream" (U · θ_Q, a scalar tensor), else 0 (unused)."""
        return 0.0 if self.scaled_flux is None else self.formulation.velocity_scale * self.scaled_flux

    def forward(self, points: Tensor) -> dict[str, Tensor]:
        """Jets (5, N) of ψ, c±, u, v and the excess pressure P (gauges not applied)."""
        return self.formulation.fields(self.networks.raw_jets(points, self.derivatives), points, self.field,
                                       self.volume_flux, self.ion_fluxes)

    def _raw_values(self, points: Tensor) -> dict[str, Tensor]:
        raw = values_as_jets(self.networks.raw_values(points))
        return self.formulation.fields(raw, points, self.field, self.volume_flux)  # no χ±: not a field

    def _jet_values(self, points: Tensor) -> dict[str, Tensor]:
        """The full jets, detached (flow "stream": u and v are derivatives of Ψ); no χ±."""
        with torch.enable_grad() if self.derivatives == "autograd" else torch.no_grad():
            fields = self.formulation.fields(self.networks.raw_jets(points, self.derivatives), points, self.field,
                                             self.volume_flux)
            return {name: jet.detach() for name, jet in fields.items()}

    @torch.no_grad()
    def recentre_ions(self, limit: float = ION_EXPONENT_LIMIT) -> list[str]:
        """Move the constant of each ion's exponent out of its network when it has drifted.

        With the exact content gauge (no-flux walls, periodic ends) and ions of the form
        c± = exp(s N± − …) that the walls do not pin (not hard), c± is divided by ⟨c± e^{ẑ±ψ}⟩, so
        adding a constant to N± changes no field and no loss: a null direction, along which an
        optimiser's rounding noise can walk. On cacl2_channel it walked N₊ to 74 by step 4241 and
        e^{s N₊} overflowed float32 (measured: docs/method.md "A 2:1 salt"). When
        |ln⟨c± e^{ẑ±ψ}⟩| over the gauge's points exceeds `limit`, that logarithm is subtracted
        from the bias of N± (the block's output 0): the gauged fields stay what they were, to
        rounding. Returns the ions recentred."""
        form, points = self.formulation, self.gauge_points.get("content")
        if points is None or not form.exact_gauges or form.hard_ions or form.concentrations == "direct":
            return []
        moved = []
        for name, shift in self.ion_exponent_constants().items():
            if abs(shift) > limit:
                self.networks.blocks[name].layers[-1].bias[0] -= shift / form.ion_scale
                moved.append(name)
        return moved

    @torch.no_grad()
    def ion_exponent_constants(self) -> dict[str, float]:
        """ln⟨c± e^{ẑ±ψ}⟩ over the content gauge's points, before the gauge divides it out: the
        free constant of each ion's exponent (`recentre_ions`)."""
        fields = self._raw_values(self.gauge_points["content"])
        return {name: float(torch.log(torch.mean(fields[name][0] * torch.exp(valence * fields["psi"][0]))))
                for name, valence in zip(ION_SIGNS, self.formulation.valences)}

    @torch.no_grad()
    def values(self, points: Tensor) -> dict[str, Tensor]:
        """Field values (N,) for evaluation: a plain forward pass (the formulation's maps act on
        jets whose derivative rows are left zero; only row 0 is read) — with flow "stream" the
        jets themselves, u and v being derivatives of Ψ — gauges applied (their means need only
        ψ, c± and P, so they come from plain passes)."""
        fields = self._jet_values(points) if self.formulation.stream else self._raw_values(points)
        if self.gauged:
            fields = apply_gauges(fields, *self.gauge_inputs(self._raw_values), self.formulation.valences)
        return {name: value[0] for name, value in fields.items()}

    @property
    def gauged(self) -> bool:
        """Whether evaluation applies the exact gauges (exact gauges, and points bound for them)."""
        return bool(self.formulation.exact_gauges and self.gauge_points)

    def gauged_jets(self, points: Tensor) -> dict[str, Tensor]:
        """The jets (5, N) at `points` with the exact gauges applied, as the loss and the written
        fields have them: a periodic channel's raw c± carry the content gauge's constant, which
        the gauge divides out (for diagnostics that need derivatives; `values` for values)."""
        jets = self(points)
        return apply_gauges(jets, *self.gauge_inputs(self), self.formulation.valences) if self.gauged else jets

    def gauge_inputs(self, evaluate) -> tuple[dict[str, Tensor] | None, tuple[dict[str, Tensor], Tensor] | None]:
        """`apply_gauges`' content and outlet arguments at the `gauge_points`: `evaluate` (points →
        jets) at the content points, and (its jets at the outlet points, their heights); each None
        where the problem has no such gauge."""
        content, outlet = self.gauge_points.get("content"), self.gauge_points.get("outlet")
        return (None if content is None else evaluate(content),
                None if outlet is None else (evaluate(outlet), outlet[:, 1]))


def build_model(problem: Problem, settings: PINNSettings, generator: torch.Generator) -> PINNModel:
    """The networks and formulation a case and its settings ask for (parameters in float64,
    cast by the caller to the run's dtype and device)."""
    net = settings.network
    wall_width = problem.debye_ratio if net.wall_features else 0.0
    patterns = ()
    mirror = settings.formulation.symmetry == "mirror"
    if net.pattern_features:
        # Mirrored, the folded height brings the bottom wall's features to the top wall too.
        patterned = [(profile, wall) for wall in (("bottom",) if mirror else ("bottom", "top"))
                     if not (profile := problem.wall_profile(wall)).uniform and profile.smooth]
        patterns = tuple((profile, wall, None) for profile, wall in patterned)
        if net.pattern_layer_features:
            patterns += tuple((profile, wall, max(profile.width, problem.debye_ratio)) for profile, wall in patterned)
    embedding = Embedding(problem.length_ratio, problem.ends == "periodic", net.fourier_features,
                          net.fourier_scale, wall_width, generator, patterns, mirror)
    check_problem(settings, problem)
    formulation = Formulation.build(problem, settings.formulation)
    warped = tuple(ION_SIGNS) if formulation.exact_wall_flux else ()
    outputs = {name: 2 for name in ION_SIGNS} if formulation.ion_stream else {}  # N± and N_χ±
    # nn.init draws from the global RNG: fork it, so that the run's generator alone decides the
    # initial weights and the caller's random state is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (), generator=generator)))
        plain = () if net.psi_layer_features else ("psi",)
        networks = FieldNetworks(embedding, net.width, net.depth, net.output_gain, warped, outputs, plain)
    return PINNModel(networks, formulation, settings.derivatives, problem.open_circuit)
