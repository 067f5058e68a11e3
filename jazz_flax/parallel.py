"""Data-parallel training: a one-axis `Mesh` over the devices, each batch split along it.

    windows, state ──replicate──▶ every device
    each batch (Tx, batch_size) ──shard_map along "batch"──▶ (Tx, batch_size / N) per device
    per-device gradients ──one all-reduce of the flattened gradient and the loss──▶ every device

`value_and_grad` is `jax.value_and_grad` of the batch loss with the batch split over the mesh:
each device differentiates its share, and a single `psum` sums the losses and all the gradients
(one flat vector), so the result equals the single-device run up to the order of float sums.
(Leaving the split to XLA's partitioner instead gathers the activations and runs the head and
the weight gradients whole on every device: slower than one device on a 2-core CPU.)

On a CPU, `split_cpu` makes one JAX device per core before JAX starts (the command line does
this), so the recurrence of each half of a batch runs on its own core: XLA:CPU runs each small
matmul of the recurrence on one core. A performance choice for CPUs (figures in
experiments/BENCHMARKS.md, "Both cores"); `value_and_grad`'s one-vector all-reduce is another.

Several hosts: call `jax.distributed.initialize()` in every process before training (on Cloud TPU
and with SLURM it reads its settings from the environment), then `jax.devices()` lists every
host's devices and `make_mesh` spans them all. Each process builds the same windows from the same
data and seed, so nothing else is needed: run the same command on every host.
"""

from __future__ import annotations

import os

import jax
from jax.flatten_util import ravel_pytree
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jazz_flax.errors import JazzFlaxError

AXIS = "batch"
MIN_CPU_SHARE = 16  # windows of a batch per CPU device at least: smaller shares are unmeasured


def cpu_devices(devices: int, batch_size: int) -> int:
    """How many devices `split_cpu` makes of this machine's CPU: `devices`, or for 0 one per core,
    as long as each keeps MIN_CPU_SHARE windows of a batch and the batch splits evenly."""
    if devices:
        return devices
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return most_that_split(batch_size, min(cores or 1, batch_size // MIN_CPU_SHARE))


def most_that_split(batch_size: int, at_most: int) -> int:
    """The largest device count up to `at_most` (at least 1) that splits the batch evenly."""
    return max(n for n in range(1, max(1, at_most) + 1) if batch_size % n == 0)


def split_cpu(devices: int, batch_size: int) -> bool:
    """Makes the CPU `cpu_devices(devices, batch_size)` JAX devices; False, changing nothing, once
    JAX has started (the count is fixed then) or when XLA_FLAGS sets the count. Other platforms'
    devices are unaffected."""
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return False
    try:
        jax.config.update("jax_num_cpu_devices", cpu_devices(devices, batch_size))
    except RuntimeError:  # JAX has run something already
        return False
    return True


def make_mesh(devices: int, batch_size: int) -> Mesh | None:
    """A mesh of `devices` devices, or None for a single device.

    0: as many of the available devices as split the batch evenly.
    """
    available = jax.devices()
    if devices == 0:
        devices = most_that_split(batch_size, len(available))
    if not 1 <= devices <= len(available):
        raise JazzFlaxError(
            f"devices={devices}, but {len(available)} {available[0].platform} device(s) are "
            "available",
            hint="use --config.devices=0 for all of them",
        )
    if jax.process_count() > 1 and devices < len(available):
        raise JazzFlaxError(
            f"devices={devices} leaves out some of the {len(available)} devices of the "
            f"{jax.process_count()} processes",
            hint=f"use --config.devices=0 and a batch_size that {len(available)} divides",
        )
    if batch_size % devices:
        raise JazzFlaxError(
            f"batch_size={batch_size} does not split evenly over {devices} devices",
            hint=f"use a multiple of {devices}",
        )
    if devices == 1:
        return None
    return jax.make_mesh((devices,), (AXIS,), (AxisType.Auto,), devices=available[:devices])


def replicate(tree, mesh: Mesh | None):
    """`tree` with a copy on every device of the mesh (unchanged without one)."""
    return tree if mesh is None else jax.device_put(tree, NamedSharding(mesh, P()))


def value_and_grad(loss_fn, mesh: Mesh | None, batch_axes):
    """`jax.value_and_grad(loss_fn)` for loss_fn(params, batch, key) → a scalar that sums over the
    batch's rows, with each batch split over the mesh (unchanged without one).

    batch_axes: a tree like the batch, each array's batch axis. Each device's dropout key is `key`
    folded with its index.
    """
    grad_fn = jax.value_and_grad(loss_fn)
    if mesh is None:
        return grad_fn

    def on_each_device(params, batch, key):
        key = jax.random.fold_in(key, jax.lax.axis_index(AXIS))
        loss, grads = grad_fn(params, batch, key)
        # one vector, so one all-reduce: XLA:CPU runs a psum of a tuple as one per element
        flat, unflatten = ravel_pytree((loss, grads))
        return unflatten(jax.lax.psum(flat, AXIS))

    batch_specs = jax.tree.map(_spec, batch_axes)
    # check_vma=False: the model's scans start from a zero carry that it does not mark as
    # varying over the mesh; every value inside is the device's own, and the psum sums them
    return jax.shard_map(
        on_each_device,
        mesh=mesh,
        in_specs=(P(), batch_specs, P()),
        out_specs=(P(), P()),
        check_vma=False,
    )


def _spec(axis: int) -> P:
    """The PartitionSpec that splits an array's `axis` over the mesh."""
    return P(*[None] * axis, AXIS)
