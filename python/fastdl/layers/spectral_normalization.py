"""SpectralNormalization: Keras 3's wrapper that keeps a layer's kernel at a spectral norm of
about 1, which steadies a GAN's discriminator."""
from __future__ import annotations

from typing import Any

from fastdl.autograd import no_grad
from fastdl.backend import array_module
from fastdl.initializers import TruncatedNormal
from fastdl.layers.base import InputSpec, Layer, _unique
from fastdl.layers.wrapper import Wrapper
from fastdl.tensor import Tensor

#: Keras's floor on a vector's norm when normalizing it (its backend epsilon).
_EPSILON = 1e-7


class SpectralNormalization(Wrapper):
    """Divides the wrapped layer's kernel (``kernel``, or ``embeddings`` for an Embedding) by
    an estimate of its largest singular value, as Keras 3 does: at every training call,
    ``power_iterations`` steps of power iteration on the kernel viewed as a matrix of its last
    axis's columns refine the vector ``vector_u`` (a non-trainable weight, kept from call to
    call), and the kernel variable itself is divided by the estimate, in place, before the
    layer runs. The division is not differentiated: the gradient reaches the kernel through
    the layer alone. An all-zero kernel is left as it is; inference calls change nothing.

    >>> import numpy as np, fastdl
    >>> fastdl.manual_seed(0)
    >>> dense = fastdl.layers.SpectralNormalization(fastdl.layers.Dense(3))
    >>> for _ in range(5):  # each training call refines the estimate
    ...     _ = dense(np.ones((2, 4), np.float32), training=True)
    >>> round(float(np.linalg.svd(dense.layer.kernel.numpy(), compute_uv=False)[0]), 2)
    1.0
    >>> [w.name for w in dense.weights]
    ['kernel', 'vector_u', 'bias']
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        if int(power_iterations) != power_iterations or power_iterations <= 0:
            raise ValueError(f"SpectralNormalization: power_iterations should be a whole "
                             f"number greater than zero; received {power_iterations!r}")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape: Any) -> None:
        self.build_wrapped(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"SpectralNormalization: the wrapped layer "
                             f"{type(self.layer).__name__} ({self.layer.name!r}) has neither "
                             f"a 'kernel' nor an 'embeddings' weight to normalize")
        self.kernel = kernel
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]),
                                        initializer=TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u", dtype=kernel.dtype)

    @property
    def weights(self) -> list:
        """Keras 3's order: the normalized kernel (which Keras tracks as the wrapper's own
        weight too), ``vector_u``, then the wrapped layer's other weights."""
        if not self.built:
            return super().weights
        return _unique([self.kernel, *super().weights])

    def call(self, inputs: Tensor, training: bool = False) -> Any:
        if training:
            with no_grad():
                self._normalize_kernel()
        return self.layer(inputs)

    def _normalize_kernel(self) -> None:
        kernel = self.kernel.data
        xp = array_module(kernel)
        if not xp.any(kernel):
            return
        weights = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u.data
        for _ in range(self.power_iterations):
            v = _normalized(u @ weights.T, xp)
            u = _normalized(v @ weights, xp)
        sigma = (v @ weights) @ u.T  # (1, 1): the estimate of the largest singular value
        self.vector_u.assign(u)
        self.kernel.assign(kernel / sigma[0, 0])

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _normalized(x: Any, xp: Any) -> Any:
    """``x`` over its L2 norm, a norm below Keras's epsilon counting as the epsilon."""
    return x / xp.maximum(xp.sqrt(xp.sum(x * x)), _EPSILON)
