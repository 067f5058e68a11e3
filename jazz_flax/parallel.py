"""Data-parallel training: a one-axis `Mesh` over the devices, each batch split along it.

    windows, state ──replicate──▶ every device
    each batch (Tx, batch_size) ──shard along "batch"──▶ (Tx, batch_size / N) per device

The training code does not change: `train_epochs` marks its batches with `split` and XLA's
partitioner (GSPMD) turns the jitted epochs into one SPMD program, the loss and the gradients
summed across devices. So the result equals the single-device run up to the order of float sums.

Several hosts: call `jax.distributed.initialize()` in every process before training (on Cloud TPU
and with SLURM it reads its settings from the environment), then `jax.devices()` lists every
host's devices and `make_mesh` spans them all. Each process builds the same windows from the same
data and seed, so nothing else is needed: run the same command on every host.
"""

from __future__ import annotations

import jax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jazz_flax.errors import JazzFlaxError

AXIS = "batch"


def make_mesh(devices: int, batch_size: int) -> Mesh | None:
    """A mesh of the first `devices` devices (0: all of them), or None for a single device."""
    available = jax.devices()
    count = len(available) if devices == 0 else devices
    if not 1 <= count <= len(available):
        raise JazzFlaxError(
            f"devices={devices}, but {len(available)} {available[0].platform} device(s) are "
            "available",
            hint="use --config.devices=0 for all of them",
        )
    if batch_size % count:
        raise JazzFlaxError(
            f"batch_size={batch_size} does not split evenly over {count} devices",
            hint=f"use a multiple of {count}",
        )
    if count == 1:
        return None
    # Auto: XLA places everything the batch does not fix (replicated parameters, summed gradients)
    return jax.make_mesh((count,), (AXIS,), (AxisType.Auto,), devices=available[:count])


def replicate(tree, mesh: Mesh | None):
    """`tree` with a copy on every device of the mesh (unchanged without one)."""
    return tree if mesh is None else jax.device_put(tree, NamedSharding(mesh, P()))


def split(x: jax.Array, mesh: Mesh | None, axis: int) -> jax.Array:
    """Inside jit: `x` split over the mesh's devices along its `axis` (unchanged without a mesh)."""
    if mesh is None:
        return x
    spec = P(*[AXIS if dim == axis else None for dim in range(x.ndim)])
    return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, spec))
