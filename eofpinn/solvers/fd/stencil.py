"""Sparse forward-mode differentiation of grid expressions ("stencil AD").

A `Stencil` is an array of values together with its exact derivatives with respect to the
discrete unknowns, stored as a few *slots*: pairs (cols, d) of arrays shaped like the values,
meaning ∂value[k]/∂z[cols[k]] = d[k] (cols = −1: no dependence). A finite-volume residual
entry depends on a handful of unknowns only, so a few slots carry its whole Jacobian row.
Arithmetic applies the chain and product rules slot by slot; shifts, slices and
concatenations move the slots with the values. Evaluating the discrete residual once on a
`Stencil` input therefore yields every Jacobian entry: the rows are the residual entries and
the (cols, d) of all slots are the columns and values — exact, with no colouring, no finite
differences and no dense matrix.

Slots whose `cols` array is the very same object (the same unknown reached along two paths,
e.g. the drift in both Bernoulli factors of a Scharfetter–Gummel flux) are merged.
"""

from __future__ import annotations

import numpy as np

Slot = tuple[np.ndarray, np.ndarray]


def _merge(slots: list[Slot]) -> list[Slot]:
    merged: dict[int, Slot] = {}
    for cols, d in slots:
        key = id(cols)
        merged[key] = (cols, merged[key][1] + d) if key in merged else (cols, d)
    return list(merged.values())


def _value(x):
    return x.val if isinstance(x, Stencil) else np.asarray(x, dtype=float)


class Stencil:
    """Values with sparse first derivatives (see module docstring)."""

    __array_ufunc__ = None  # make numpy defer to the reflected operators below

    def __init__(self, val: np.ndarray, slots: list[Slot]):
        self.val = val
        self.slots = slots

    @classmethod
    def unknowns(cls, values: np.ndarray) -> Stencil:
        """The independent variables z (1D), ∂z_k/∂z_k = 1."""
        values = np.asarray(values, dtype=float)
        return cls(values, [(np.arange(values.size), np.ones(values.size))])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.val.shape

    # ---- structure ------------------------------------------------------------------------
    def _broadcast(self, shape) -> list[Slot]:
        if self.val.shape == tuple(shape):
            return self.slots
        return [(np.broadcast_to(c, shape), np.broadcast_to(d, shape)) for c, d in self.slots]

    def __getitem__(self, key) -> Stencil:
        return Stencil(self.val[key], [(c[key], d[key]) for c, d in self.slots])

    def reshape(self, *shape) -> Stencil:
        return Stencil(self.val.reshape(*shape), [(c.reshape(*shape), d.reshape(*shape)) for c, d in self.slots])

    def roll(self, shift: int) -> Stencil:
        return Stencil(np.roll(self.val, shift, 0), [(np.roll(c, shift, 0), np.roll(d, shift, 0)) for c, d in self.slots])

    @staticmethod
    def cat(items: list, axis: int) -> Stencil:
        """Concatenate Stencils and constant arrays; slot k of every piece shares slot k."""
        vals = [_value(item) for item in items]
        n_slots = max(len(item.slots) for item in items if isinstance(item, Stencil))
        slots = []
        for k in range(n_slots):
            cols, ds = [], []
            for item, val in zip(items, vals):
                if isinstance(item, Stencil) and k < len(item.slots):
                    cols.append(np.broadcast_to(item.slots[k][0], val.shape))
                    ds.append(np.broadcast_to(item.slots[k][1], val.shape))
                else:
                    cols.append(np.full(val.shape, -1))
                    ds.append(np.zeros(val.shape))
            slots.append((np.concatenate(cols, axis), np.concatenate(ds, axis)))
        return Stencil(np.concatenate(vals, axis), slots)

    def apply(self, value_fn, derivative_fn) -> Stencil:
        """f(self) for an elementwise f with derivative f'."""
        slope = derivative_fn(self.val)
        return Stencil(value_fn(self.val), [(c, d * slope) for c, d in self.slots])

    # ---- arithmetic -----------------------------------------------------------------------
    def __neg__(self) -> Stencil:
        return Stencil(-self.val, [(c, -d) for c, d in self.slots])

    def __add__(self, other) -> Stencil:
        if not isinstance(other, Stencil):
            return Stencil(self.val + _value(other), self._broadcast(np.broadcast_shapes(self.shape, np.shape(other))))
        val = self.val + other.val
        return Stencil(val, _merge(self._broadcast(val.shape) + other._broadcast(val.shape)))

    __radd__ = __add__

    def __sub__(self, other) -> Stencil:
        return self + (-other)

    def __rsub__(self, other) -> Stencil:
        return (-self) + other

    def __mul__(self, other) -> Stencil:
        if not isinstance(other, Stencil):
            other = _value(other)
            val = self.val * other
            return Stencil(val, [(c, d * other) for c, d in self._broadcast(val.shape)])
        val = self.val * other.val
        slots = [(c, d * other.val) for c, d in self._broadcast(val.shape)]
        slots += [(c, d * self.val) for c, d in other._broadcast(val.shape)]
        return Stencil(val, _merge(slots))

    __rmul__ = __mul__

    def __truediv__(self, other) -> Stencil:
        if isinstance(other, Stencil):
            return self * other.apply(lambda v: 1.0 / v, lambda v: -1.0 / v**2)
        return self * (1.0 / _value(other))

    def __rtruediv__(self, other) -> Stencil:
        return self.apply(lambda v: 1.0 / v, lambda v: -1.0 / v**2) * other

    # ---- read-out -------------------------------------------------------------------------
    def triplets(self, row_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, values) of every dependence of a 1D Stencil (rows = entry index)."""
        rows, cols, vals = [], [], []
        index = np.arange(self.val.size) + row_offset
        for c, d in self.slots:
            c, d = np.ravel(c), np.ravel(d)
            keep = c >= 0
            rows.append(index[keep])
            cols.append(c[keep])
            vals.append(d[keep])
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
