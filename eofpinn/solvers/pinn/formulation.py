"""How raw network outputs become the physical fields ψ, c±, u, v, P (method.md "Formulation").

With N_ψ, N_±, (N_u, N_v, N_P) the raw block outputs, d(y) = 4y(1 − y) and B(y) the linear
blend of the two wall values:

    ψ  = B_ζ(y) + d N_ψ                 (hard walls)      or  N_ψ            (soft)
         B_ζ: linear blend of the wall values, or (psi_base = "gouy_chapman") the sum of the
         two walls' Gouy–Chapman layers made exact at both walls — the thin-layer solution,
         so the network starts from a resolved double layer and learns the departure
    c± = exp(N_± ∓ ψ)                   (Slotboom: c± = g± e^{∓ψ}, g± = e^{N_±} ≈ 1)
       = exp(N_±)                       (log)             or  N_±            (direct)
    u, v = d N_u, d N_v                 (hard no slip)    or  N_u, N_v      (soft)
    P  = Δp̂ (1 − x/ℓ) + s N_P           (excess pressure, s = pressure_scale)
    p  = Δp̂ (1 − x/ℓ) + s N_P,  P = p − Π   (paper layout: the network carries p itself)

With Boltzmann walls and hard walls the ions are hard too: N_± is multiplied by d (Slotboom;
log, around ∓B_ζ) or the wall values exp(∓ζ̂) are blended in (direct). Hard values need one uniform ζ̂ per
wall; a patterned wall makes ψ discontinuous there, so those cases fall back to soft penalties.
The linear pressure drop is the exact straight-channel P, so the network learns only the
departure from it, and with periodic ends it makes P periodic up to the jump Δp̂ exactly.
All maps act on jets (derivatives.py), so the residuals see exact derivatives of the fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from eofpinn.cases.model import PINNSettings, Problem
from eofpinn.cases.pinn_settings import CONCENTRATION_FORMS, PRESSURE_FORMS, PSI_BASES, FormulationSettings
from eofpinn.solvers.pinn import derivatives as jets
from eofpinn.solvers.pinn.networks import Embedding, FieldNetworks

FIELDS = ("psi", "c_plus", "c_minus", "u", "v", "P")
ION_SIGNS = {"c_plus": 1.0, "c_minus": -1.0}
__all__ = ["FIELDS", "ION_SIGNS", "CONCENTRATION_FORMS", "PSI_BASES", "PRESSURE_FORMS", "Formulation", "PINNModel",
           "build_model"]


@dataclass(frozen=True)
class Formulation:
    """The choices of the module docstring, resolved for one problem."""

    wall_zeta: tuple[float, float] | None  # (ζ̂_bottom, ζ̂_top) when ψ is hard, else None
    hard_velocity: bool
    hard_ions: bool
    concentrations: str
    pressure: str
    pressure_scale: float
    pressure_drop: float
    length_ratio: float
    debye_ratio: float
    paper_model: bool
    psi_base: str = "linear"

    @classmethod
    def build(cls, problem: Problem, settings: FormulationSettings) -> Formulation:
        bottom = {s.zeta_hat for s in problem.zeta_bottom}
        top = {s.zeta_hat for s in problem.zeta_top}
        uniform_walls = len(bottom) == 1 and len(top) == 1
        wall_zeta = (bottom.pop(), top.pop()) if settings.hard_walls and uniform_walls else None
        return cls(
            wall_zeta=wall_zeta,
            hard_velocity=settings.hard_walls,
            hard_ions=wall_zeta is not None and problem.ion_wall == "boltzmann",
            concentrations=settings.concentrations,
            pressure=settings.pressure,
            pressure_scale=settings.pressure_scale,
            pressure_drop=problem.pressure_drop_hat,
            length_ratio=problem.length_ratio,
            debye_ratio=problem.debye_ratio,
            paper_model=problem.paper_model,
            psi_base=settings.psi_base,
        )

    @property
    def hard_psi(self) -> bool:
        return self.wall_zeta is not None

    def psi_wall_jet(self, y: Tensor) -> Tensor:
        """B_ζ(y): the part of a hard ψ that carries the wall values (linear or Gouy–Chapman)."""
        if self.psi_base == "gouy_chapman":
            return jets.gouy_chapman_jet(y, *self.wall_zeta, self.debye_ratio)
        return jets.wall_blend_jet(y, *self.wall_zeta)

    def _concentration(self, raw: Tensor, sign: float, psi: Tensor, distance: Tensor, y: Tensor) -> Tensor:
        """c₊ (sign +1) or c₋ (sign −1) from its raw jet; see the module docstring."""
        if self.concentrations == "direct":
            if not self.hard_ions:
                return raw
            zb, zt = self.wall_zeta
            wall = jets.wall_blend_jet(y, math.exp(-sign * zb), math.exp(-sign * zt))
            return wall + jets.product(distance, raw)
        exponent = jets.product(distance, raw) if self.hard_ions else raw
        if self.concentrations == "slotboom":
            exponent = exponent - sign * psi
        elif self.hard_ions:
            exponent = exponent - sign * self.psi_wall_jet(y)  # Boltzmann ions of B_ζ at the walls
        return jets.exponential(exponent)

    def fields(self, raw: dict[str, Tensor], points: Tensor) -> dict[str, Tensor]:
        """Physical jets (5, N) keyed by FIELDS from the blocks' raw jets (5, N, K)."""
        x, y = points[:, 0], points[:, 1]
        distance = jets.wall_distance_jet(y)
        psi = raw["psi"][..., 0]
        if self.hard_psi:
            psi = self.psi_wall_jet(y) + jets.product(distance, psi)
        out = {"psi": psi}
        for name, sign in ION_SIGNS.items():
            out[name] = self._concentration(raw[name][..., 0], sign, psi, distance, y)
        flow = raw["flow"]
        out["u"], out["v"] = flow[..., 0], flow[..., 1]
        if self.hard_velocity:
            out["u"], out["v"] = jets.product(distance, out["u"]), jets.product(distance, out["v"])
        pressure = self.pressure_scale * flow[..., 2] + self.pressure_drop_jet(x)
        if self.pressure == "total" and not self.paper_model:
            # Π = (c₊ + c₋ − 2)/(2ε²), a linear combination of jets.
            ions = out["c_plus"] + out["c_minus"] - jets.constant_jet(2.0, pressure)
            pressure = pressure - ions / (2.0 * self.debye_ratio**2)
        out["P"] = pressure
        return out

    def pressure_drop_jet(self, x: Tensor) -> Tensor:
        """Jet of Δp̂ (1 − x/ℓ), the straight-channel excess pressure carried outside the network."""
        drop = self.pressure_drop / self.length_ratio
        zero = torch.zeros_like(x)
        return torch.stack((self.pressure_drop - drop * x, zero - drop, zero, zero, zero))


class PINNModel(nn.Module):
    """Networks + formulation: points (N, 2) → physical jets or values."""

    def __init__(self, networks: FieldNetworks, formulation: Formulation, derivatives: str = "taylor"):
        super().__init__()
        self.networks = networks
        self.formulation = formulation
        self.derivatives = derivatives

    def forward(self, points: Tensor) -> dict[str, Tensor]:
        """Jets (5, N) of ψ, c±, u, v and the excess pressure P."""
        return self.formulation.fields(self.networks.raw_jets(points, self.derivatives), points)

    @torch.no_grad()
    def values(self, points: Tensor) -> dict[str, Tensor]:
        """Field values (N,) for evaluation: a plain forward pass; the formulation's maps act
        on jets whose derivative rows are left zero (only row 0 is read)."""
        raw = {name: torch.cat((out.unsqueeze(0), out.new_zeros((4,) + out.shape)))
               for name, out in self.networks.raw_values(points).items()}
        return {name: value[0] for name, value in self.formulation.fields(raw, points).items()}


def build_model(problem: Problem, settings: PINNSettings, generator: torch.Generator) -> PINNModel:
    """The networks and formulation a case and its settings ask for (parameters in float64,
    cast by the caller to the run's dtype and device)."""
    net = settings.network
    wall_width = problem.debye_ratio if net.wall_features else 0.0
    embedding = Embedding(problem.length_ratio, problem.ends == "periodic", net.fourier_features,
                          net.fourier_scale, wall_width, generator)
    # nn.init draws from the global RNG: fork it, so that the run's generator alone decides the
    # initial weights and the caller's random state is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (), generator=generator)))
        networks = FieldNetworks(embedding, net.width, net.depth, net.output_gain)
    return PINNModel(networks, Formulation.build(problem, settings.formulation), settings.derivatives)
