"""Wrapper: the base of the layers that hold another layer and run it their own way
(TimeDistributed, SpectralNormalization), as Keras's ``keras.layers.Wrapper``."""
from __future__ import annotations

from typing import Any

from fastdl.layers.base import Layer
from fastdl.layers.serialization import deserialize, serialize


class Wrapper(Layer):
    """Holds ``layer`` as ``self.layer``: its weights are the wrapper's, it is built on the
    wrapper's input shape (unless the subclass builds it otherwise), and the config carries
    the wrapped layer's, so that :meth:`from_config` rebuilds both.

    >>> import fastdl
    >>> layer = fastdl.layers.TimeDistributed(fastdl.layers.Dense(3, name="proj"))
    >>> copy = fastdl.layers.TimeDistributed.from_config(layer.get_config())
    >>> type(copy.layer).__name__, copy.layer.units, copy.layer is layer.layer
    ('Dense', 3, False)
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: layer must be a fastdl.layers.Layer "
                             f"instance; received {layer!r} (of type {type(layer).__name__})")
        super().__init__(**kwargs)
        self.layer = layer

    @property
    def _integer_inputs(self) -> bool:
        """Inputs reach the wrapper as the wrapped layer takes them (token ids stay integers
        for an Embedding)."""
        return self.layer._integer_inputs

    def build(self, input_shape: Any) -> None:
        self.build_wrapped(input_shape)

    def build_wrapped(self, input_shape: Any) -> None:
        """Builds the wrapped layer on ``input_shape`` unless it is built, its weights on the
        wrapper's device."""
        if not self.layer.built:
            if self.layer._device is None:
                self.layer._device = self._device  # its weights go where the inputs are
            self.layer.build(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> "Wrapper":
        """A new wrapper over a new layer made from the config of the wrapped one (a layer of
        :mod:`fastdl.layers`)."""
        config = dict(config)
        inner = config.pop("layer")
        return cls(deserialize(inner) if isinstance(inner, dict) else inner, **config)
