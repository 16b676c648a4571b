"""Layers with Keras's names, arguments and defaults, usable inside models or called directly
on Tensors and arrays.

>>> import fastdl
>>> layer = fastdl.layers.Dense(10, activation="softmax")
>>> layer(fastdl.ones(2, 4)).shape
(2, 10)
"""
from fastdl.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from fastdl.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from fastdl.layers.base import InputSpec, Layer, Variable
from fastdl.layers.convolutional import Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose
from fastdl.layers.core import (Activation, Dense, Dropout, Flatten, Identity, Input, InputLayer,
                                Reshape)
from fastdl.layers.einsum_dense import EinsumDense
from fastdl.layers.embedding import Embedding
from fastdl.layers.merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from fastdl.layers.noise import GaussianDropout, GaussianNoise
from fastdl.layers.normalization import BatchNormalization, LayerNormalization, RMSNormalization
from fastdl.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from fastdl.layers.recurrent import GRU, LSTM, RNN, Bidirectional, SimpleRNN
from fastdl.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell
from fastdl.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from fastdl.layers.sequence import Masking, RepeatVector, TimeDistributed
from fastdl.layers.serialization import deserialize, serialize
from fastdl.layers.spectral_normalization import SpectralNormalization
from fastdl.layers.symbolic import SymbolicTensor
from fastdl.layers.wrapper import Wrapper

# Keras's aliases.
Convolution2D = Conv2D
Convolution1D = Conv1D
MaxPool2D = MaxPooling2D
Convolution2DTranspose = Conv2DTranspose
Convolution1DTranspose = Conv1DTranspose
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D

__all__ = ["Layer", "Variable", "InputSpec", "SymbolicTensor", "Dense", "Activation", "Dropout",
           "Flatten", "Reshape", "InputLayer", "Input", "Conv2D", "Conv1D", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "BatchNormalization", "LayerNormalization", "RMSNormalization", "MultiHeadAttention",
           "Attention", "AdditiveAttention", "Identity", "EinsumDense",
           "Convolution2D",
           "Convolution1D", "MaxPool2D", "AvgPool2D",
           "GlobalAvgPool2D", "GlobalMaxPool2D", "MaxPooling1D", "AveragePooling1D",
           "GlobalMaxPooling1D", "GlobalAveragePooling1D", "MaxPool1D", "AvgPool1D",
           "GlobalMaxPool1D", "GlobalAvgPool1D", "Add", "Subtract", "Multiply", "Average",
           "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract", "multiply", "average",
           "maximum", "minimum", "concatenate", "dot", "Embedding", "Masking", "RepeatVector",
           "TimeDistributed", "Conv2DTranspose", "Conv1DTranspose", "Convolution2DTranspose",
           "Convolution1DTranspose", "RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
           "SimpleRNNCell", "LSTMCell", "GRUCell", "LeakyReLU", "ReLU", "ELU", "PReLU",
           "Softmax", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D",
           "Cropping1D", "Cropping2D", "GaussianNoise", "GaussianDropout", "Wrapper",
           "SpectralNormalization", "serialize", "deserialize"]
