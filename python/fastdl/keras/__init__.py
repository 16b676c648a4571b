"""Keras's namespace on fastdl: scripts written for Keras run with the import changed to
``from fastdl import keras``.

>>> from fastdl import keras
>>> model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
>>> model.output_shape
(None, 10)
"""
from fastdl.keras import (  # noqa: F401
    activations,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    utils,
)
from fastdl.layers import Input, Layer
from fastdl.models import Model, Sequential

__all__ = ["activations", "callbacks", "datasets", "initializers", "layers", "losses",
           "metrics", "models", "ops", "optimizers", "random", "utils", "Input", "Layer", "Model",
           "Sequential"]
