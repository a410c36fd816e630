"""The networks: an input embedding shared by S = 4 tanh MLP blocks (method.md "Networks").

Blocks, as in arXiv 2605.23391: ψ (1 output), c₊ (1), c₋ (1) and the flow block (u, v, P) (3).
Each block is an MLP with tanh hidden layers, Xavier-uniform weights and zero biases.

The embedding maps a point (x, y) to the first layer's inputs. Every feature has the form
σ(a·x + b·y + c) with σ ∈ {identity, sin, cos, exp}, which keeps both the plain forward pass
and its Taylor-mode jet (derivatives.py) one short function:
- reservoir ends: (2x/ℓ − 1, 2y − 1), the affine map to [−1, 1]²;
- periodic ends: (cos 2πx/ℓ, sin 2πx/ℓ, 2y − 1), which makes every output exactly ℓ-periodic;
- optional Fourier features sin/cos(2π(k x/ℓ + b (2y − 1))) (k an integer harmonic when periodic);
- optional wall-layer features e^{−y/ε}, e^{−(1−y)/ε}: the shape of a thin double layer;
- pattern features: each patterned wall's ζ̂(x) continued into the channel, its edges widening
  with the distance from the wall (from the transition width, and optionally once more from a
  double layer's width: formulation.build_model).
Blocks named `plain_blocks` see only the features that are not double-layer shaped
(`Embedding.plain_features`): the 2D recipe keeps ψ's inputs plain.
A block may see the channel through the warped height w(y) = (1 − cos πy)/2 instead of y (every
feature evaluated at (x, w(y)); `Embedding.taylor(points, warped=True)` applies the chain rule):
w is monotone from 0 to 1 with w'(0) = w'(1) = 0, so every output of such a block has a zero
y-derivative on both walls, whatever its weights (the exact no-flux walls of formulation.py).
A mirrored embedding (`mirror`, formulation symmetry "mirror") sees every point at the folded height
f(y) = y(1 − y) (before any warp): f(1 − y) = f(y), so every block's output is even about the
centre line y = 1/2, whatever its weights. f ≈ y near the bottom wall and ≈ 1 − y near the top,
so one wall's features serve both: its y input is 8f − 1 ∈ [−1, 1], its wall-layer feature
e^{−f/ε} alone, and the pattern features of the bottom wall alone (build_model).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eofpinn.solvers.pinn.derivatives import autograd_jets, same_points, tanh_jet

IDENTITY, SINE, COSINE, EXPONENTIAL = 0, 1, 2, 3
BLOCK_OUTPUTS = {"psi": 1, "c_plus": 1, "c_minus": 1, "flow": 3}


class Embedding(nn.Module):
    """Features σ_k(a_k x + b_k y + c_k) of a point; fixed (buffers), not trained."""

    def __init__(
        self,
        length_ratio: float,
        periodic: bool,
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        wall_layer_width: float = 0.0,
        generator: torch.Generator | None = None,
        pattern_walls: tuple = (),
        mirror: bool = False,
    ):
        super().__init__()
        self.mirror = mirror
        # Pattern features: each patterned wall's ζ̂ continued into the channel (WallProfile.spread_jets,
        # edges widening with the distance from that wall), scaled to [−1, 1]; each entry is
        # (profile, wall, base): `base` the edges' width at the wall (None: the wall's transition).
        self.pattern_walls = tuple(pattern_walls)
        two_pi_over_l = 2.0 * math.pi / length_ratio
        rows: list[tuple[float, float, float, int]] = []  # (a, b, c, kind)
        if periodic:
            rows += [(two_pi_over_l, 0.0, 0.0, COSINE), (two_pi_over_l, 0.0, 0.0, SINE)]
        else:
            rows.append((2.0 / length_ratio, 0.0, -1.0, IDENTITY))
        rows.append((0.0, 8.0, -1.0, IDENTITY) if mirror else (0.0, 2.0, -1.0, IDENTITY))
        for _ in range(fourier_features):
            # Frequencies drawn on the mapped coordinates; in x an integer harmonic when periodic.
            kx = float(torch.randn((), generator=generator, dtype=torch.float64)) * fourier_scale
            ky = float(torch.randn((), generator=generator, dtype=torch.float64)) * fourier_scale
            if periodic:
                a, c = two_pi_over_l * round(kx * length_ratio / 2.0), 0.0
            else:
                a, c = 2.0 * math.pi * kx * 2.0 / length_ratio, -2.0 * math.pi * kx
            b, c = 2.0 * math.pi * ky * 2.0, c - 2.0 * math.pi * ky
            rows += [(a, b, c, SINE), (a, b, c, COSINE)]
        if wall_layer_width > 0.0:
            rows.append((0.0, -1.0 / wall_layer_width, 0.0, EXPONENTIAL))
            if not mirror:  # folded, e^{−f/ε} is the layer of both walls
                rows.append((0.0, 1.0 / wall_layer_width, -1.0 / wall_layer_width, EXPONENTIAL))
        coefficients = torch.tensor([r[:2] for r in rows], dtype=torch.float64).T  # (2, F)
        self.register_buffer("coefficients", coefficients)
        self.register_buffer("offsets", torch.tensor([r[2] for r in rows], dtype=torch.float64))
        self.register_buffer("kinds", torch.tensor([r[3] for r in rows], dtype=torch.long))

    @property
    def n_features(self) -> int:
        return int(self.kinds.numel()) + len(self.pattern_walls)

    def plain_features(self) -> list[int]:
        """Indices of the features that are not double-layer shaped: all but the wall-layer
        features e^{−y/ε}, e^{−(1−y)/ε} and the pattern features with a base width of their own."""
        layer = set(int(i) for i in torch.nonzero(self.kinds == EXPONENTIAL).flatten())
        start = int(self.kinds.numel())
        layer |= {start + k for k, (_, _, base) in enumerate(self.pattern_walls) if base is not None}
        return [i for i in range(self.n_features) if i not in layer]

    def _pattern_jets(self, points: Tensor) -> list[Tensor]:
        """Jets (5, N) of the pattern features (wall, distance, slope of the distance)."""
        x, y = points[:, 0], points[:, 1]
        out = []
        for profile, wall, base in self.pattern_walls:
            distance, slope = (y, 1.0) if wall == "bottom" else (1.0 - y, -1.0)
            values = [s.zeta_hat for s in profile.segments]
            middle, half = 0.5 * (max(values) + min(values)), 0.5 * (max(values) - min(values))
            jet = torch.stack(profile.spread_jets(x, distance, slope, xp=torch, base_width=base))
            jet[0] = jet[0] - middle
            out.append(jet / half)
        return out

    def _sigma(self, s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """σ(s), σ'(s), σ''(s) feature by feature."""
        kind = self.kinds
        sin, cos, exp = torch.sin(s), torch.cos(s), torch.exp(s)
        one, zero = torch.ones_like(s), torch.zeros_like(s)
        value = torch.where(kind == IDENTITY, s, torch.where(kind == SINE, sin, torch.where(kind == COSINE, cos, exp)))
        d1 = torch.where(kind == IDENTITY, one, torch.where(kind == SINE, cos, torch.where(kind == COSINE, -sin, exp)))
        d2 = torch.where(kind == IDENTITY, zero, torch.where(kind == SINE, -sin, torch.where(kind == COSINE, -cos, exp)))
        return value, d1, d2

    def forward(self, points: Tensor, warped: bool = False) -> Tensor:
        """Features (N, F) of points (N, 2); at (x, f(y)) when mirrored, then at (x, w(·)) when `warped`."""
        if self.mirror:
            points = fold_height(points)
        if warped:
            points = warp_height(points)
        features = self._sigma(points @ self.coefficients + self.offsets)[0]
        if not self.pattern_walls:
            return features
        return torch.cat((features, torch.stack([jet[0] for jet in self._pattern_jets(points)], dim=1)), dim=1)

    def taylor(self, points: Tensor, warped: bool = False) -> Tensor:
        """Feature jets (5, N, F): value, ∂x, ∂y, ∂xx, ∂yy; of the features at the folded height
        when mirrored, and at (x, w(·)) when `warped`, by the chain rule through each map h
        (∂y = h' ∂h, ∂yy = h'² ∂hh + h'' ∂h)."""
        maps = []  # (slope, curvature) of each height map, in the order applied
        if self.mirror:
            y = points[:, 1:2]
            maps.append((1.0 - 2.0 * y, torch.full_like(y, -2.0)))
            points = fold_height(points)
        if warped:
            y = math.pi * points[:, 1:2]
            maps.append((0.5 * math.pi * torch.sin(y), 0.5 * math.pi**2 * torch.cos(y)))
            points = warp_height(points)
        jets = self._taylor(points)
        for slope, curvature in reversed(maps):
            jets = torch.stack((jets[0], jets[1], slope * jets[2], jets[3],
                                slope * slope * jets[4] + curvature * jets[2]))
        return jets

    def _taylor(self, points: Tensor) -> Tensor:
        value, d1, d2 = self._sigma(points @ self.coefficients + self.offsets)
        a, b = self.coefficients[0], self.coefficients[1]
        jets = torch.stack((value, d1 * a, d1 * b, d2 * a * a, d2 * b * b))
        if not self.pattern_walls:
            return jets
        return torch.cat((jets, torch.stack(self._pattern_jets(points), dim=2)), dim=2)


def fold_height(points: Tensor) -> Tensor:
    """(x, f(y)) with f(y) = y(1 − y): a height even about the centre line y = 1/2."""
    y = points[:, 1]
    return torch.stack((points[:, 0], y * (1.0 - y)), dim=1)


def warp_height(points: Tensor) -> Tensor:
    """(x, w(y)) with w(y) = (1 − cos πy)/2: a height whose derivative vanishes on both walls."""
    return torch.stack((points[:, 0], 0.5 * (1.0 - torch.cos(math.pi * points[:, 1]))), dim=1)


class MLP(nn.Module):
    """tanh multilayer perceptron: `depth` hidden layers of `width`, linear output layer;
    optionally per-loss low-rank adapters on its hidden-to-hidden weights (adapters.py)."""

    def __init__(self, n_in: int, width: int, depth: int, n_out: int, output_gain: float = 1.0):
        super().__init__()
        sizes = [n_in] + [width] * depth + [n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        for layer in self.layers:
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        # A small output layer starts every field at its formulation's base state (ψ at the
        # wall value, Boltzmann ions, fluid at rest) instead of at a random O(1) function.
        self.layers[-1].weight.data.mul_(output_gain)
        self.adapters = nn.ModuleDict()  # layer index → adapters.LayerAdapters; empty: none

    def attach_adapters(self, n_terms: int, rank: int, generator: torch.Generator) -> None:
        """One rank-`rank` adapter per loss term on each hidden-to-hidden weight (B_k = 0)."""
        from eofpinn.solvers.pinn.adapters import LayerAdapters

        for index in range(1, len(self.layers) - 1):
            weight = self.layers[index].weight
            self.adapters[str(index)] = LayerAdapters(weight.shape[0], weight.shape[1], n_terms, rank, generator)

    def effective_weight(self, index: int) -> Tensor:
        """W_eff = W + Σ_k B_k A_k of layer `index` (W itself without adapters)."""
        weight = self.layers[index].weight
        key = str(index)
        return weight + self.adapters[key].delta() if key in self.adapters else weight

    @property
    def weights_and_biases(self) -> list[tuple[Tensor, Tensor]]:
        return [(self.effective_weight(i), layer.bias) for i, layer in enumerate(self.layers)]

    def forward(self, z: Tensor) -> Tensor:
        return mlp_values(self.weights_and_biases, z)

    def taylor(self, jet: Tensor) -> Tensor:
        """Push an input jet (1 + 2d, N, n_in) through the network (`mlp_jets`)."""
        return mlp_jets(self.weights_and_biases, jet)


def mlp_values(layers: list[tuple[Tensor, Tensor]], z: Tensor) -> Tensor:
    """Outputs (N, n_out) of the tanh MLP with `layers` [(W, b), ...] at inputs z (N, n_in)."""
    *hidden, (weight, bias) = layers
    for w, b in hidden:
        z = torch.tanh(F.linear(z, w, b))
    return F.linear(z, weight, bias)


def mlp_jets(layers: list[tuple[Tensor, Tensor]], jet: Tensor) -> Tensor:
    """Push an input jet (1 + 2d, N, n_in) through the tanh MLP with `layers` [(W, b), ...]:
    output jet (1 + 2d, N, n_out) — the one Taylor-mode network of eofpinn (the 2D channel,
    the 1D studies and the NTK checks all call it).

    Rows: value, d first derivatives, d pure second derivatives (d = 2 in the plane: x, y,
    xx, yy; d = 1 on a line). The bias enters the value row only. Inside, the three row groups
    are separate tensors: one (1 + 2d)-row jet per layer would cost a concatenation forward and,
    backward, a zero-filled gradient for every slice of it — a quarter of the time of a step at
    the paper's size (benchmarks/pinn_step_benchmark.py).
    """
    *hidden, (weight, bias) = layers
    d = (jet.shape[0] - 1) // 2
    value, first, second = jet[0], jet[1:1 + d], jet[1 + d:]
    for w, b in hidden:
        value, first, second = tanh_jet(torch.addmm(b, value, w.T), first @ w.T, second @ w.T)
    return torch.cat(((value @ weight.T + bias).unsqueeze(0), first @ weight.T, second @ weight.T))


class FieldNetworks(nn.Module):
    """The S = 4 blocks on one shared embedding; `raw_jets` gives each block's output jets. The
    blocks named in `warped_blocks` see the embedding at the warped height (`warp_height`);
    `outputs` overrides BLOCK_OUTPUTS for the blocks it names (the c± blocks of ion stream
    functions carry two)."""

    def __init__(self, embedding: Embedding, width: int, depth: int, output_gain: float = 1.0,
                 warped_blocks: tuple[str, ...] = (), outputs: dict[str, int] | None = None,
                 plain_blocks: tuple[str, ...] = ()):
        super().__init__()
        self.embedding = embedding
        self.warped_blocks = tuple(warped_blocks)
        # Blocks that see only the embedding's plain features (Embedding.plain_features).
        self.plain_blocks = tuple(plain_blocks)
        self.register_buffer("plain_index", torch.tensor(embedding.plain_features(), dtype=torch.long),
                             persistent=False)
        n_plain = int(self.plain_index.numel())
        self.blocks = nn.ModuleDict(
            {name: MLP(n_plain if name in self.plain_blocks else embedding.n_features, width, depth, n_out, output_gain)
             for name, n_out in {**BLOCK_OUTPUTS, **(outputs or {})}.items()}
        )
        self.hold(())

    def hold(self, names) -> None:
        """Treat the blocks `names` as constants (a polishing phase that moves the other blocks on
        fixed points): `raw_jets` forms their Taylor jets once and reuses them while the points,
        the dtype and the blocks' parameters stay what they were (torch's version counter of each
        parameter tells an in-place change, e.g. a loaded state). `hold(())` releases them."""
        names = tuple(names)
        unknown = set(names) - set(self.blocks)
        if unknown:
            raise ValueError(f"hold: no block named {sorted(unknown)}; the blocks are {list(self.blocks)}")
        self.held = frozenset(names)
        self._held_jets: dict[str, tuple] = {}

    def _held_jet(self, name: str, points: Tensor, block_input: Tensor) -> Tensor:
        """The Taylor jet of held block `name` at `points`: the stored one while it still holds."""
        block = self.blocks[name]
        versions = tuple(p._version for p in block.parameters())
        stored = self._held_jets.get(name)
        if stored is None or stored[0] != versions or not same_points(stored[1], points):
            with torch.no_grad():
                stored = (versions, points.detach().clone(), block.taylor(block_input))
            self._held_jets[name] = stored
        return stored[2]

    def _block_inputs(self, embed, points: Tensor) -> dict[str, Tensor]:
        """Each block's input, `embed(points, warped=…)`: computed once plain and (when some block
        is warped) once warped; the plain blocks take the plain features of it."""
        features = {False: embed(points)}
        if self.warped_blocks:
            features[True] = embed(points, warped=True)
        return {name: features[name in self.warped_blocks].index_select(-1, self.plain_index)
                if name in self.plain_blocks else features[name in self.warped_blocks] for name in self.blocks}

    def raw_values(self, points: Tensor) -> dict[str, Tensor]:
        """Block outputs (N, K) at points (N, 2), no derivatives."""
        inputs = self._block_inputs(self.embedding, points)
        return {name: block(inputs[name]) for name, block in self.blocks.items()}

    def raw_jets(self, points: Tensor, mode: str = "taylor") -> dict[str, Tensor]:
        """Block output jets (5, N, K) at points (N, 2), by Taylor mode (held blocks: `hold`) or
        nested autograd."""
        if mode == "taylor":
            inputs = self._block_inputs(self.embedding.taylor, points)
            return {name: self._held_jet(name, points, inputs[name]) if name in self.held
                    else block.taylor(inputs[name]) for name, block in self.blocks.items()}
        if mode != "autograd":
            raise ValueError(f"derivatives must be 'taylor' or 'autograd', got {mode!r}")
        points = points.detach().requires_grad_(True)
        return {name: autograd_jets(out, points) for name, out in self.raw_values(points).items()}

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
