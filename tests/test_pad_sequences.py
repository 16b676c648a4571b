"""fastdl.utils.pad_sequences (also keras.utils.pad_sequences): values worked out by hand,
the errors, and the same calls run through Keras 3 where it is installed."""
import numpy as np
import pytest
from fastdl import keras
from fastdl.utils import pad_sequences
from keras_reference import requires_keras, run_keras

SEQUENCES = [[1], [2, 3], [4, 5, 6]]


def check(got, expected, dtype="int32"):
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.array(expected, dtype=dtype))
    assert got.shape == np.array(expected, dtype=dtype).shape


def test_keras_namespace():
    assert keras.utils.pad_sequences is pad_sequences


def test_defaults_pad_and_truncate_before():
    check(pad_sequences(SEQUENCES), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    check(pad_sequences(SEQUENCES, maxlen=2), [[0, 1], [2, 3], [5, 6]])


@pytest.mark.parametrize("padding, truncating, expected", [
    ("pre", "pre", [[0, 0, 1], [0, 2, 3], [5, 6, 7]]),
    ("post", "pre", [[1, 0, 0], [2, 3, 0], [5, 6, 7]]),
    ("pre", "post", [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
    ("post", "post", [[1, 0, 0], [2, 3, 0], [4, 5, 6]]),
])
def test_sides(padding, truncating, expected):
    got = pad_sequences([[1], [2, 3], [4, 5, 6, 7]], maxlen=3, padding=padding,
                        truncating=truncating)
    check(got, expected)


def test_value_maxlen_longer_than_all_and_empty_sequences():
    check(pad_sequences([[], [7, 8]], maxlen=4, value=-1), [[-1, -1, -1, -1], [-1, -1, 7, 8]])
    check(pad_sequences([[], []]), np.zeros((2, 0)))
    check(pad_sequences([], maxlen=3), np.zeros((0, 3)))
    check(pad_sequences(SEQUENCES, maxlen=0), np.zeros((3, 0)))
    check(pad_sequences(SEQUENCES, maxlen=np.int64(1)), [[1], [3], [6]])


def test_dtypes_convert_as_numpy_does():
    check(pad_sequences([[1.7, -2.9], [0.5]]), [[1, -2], [0, 0]])  # int32 truncates
    check(pad_sequences([[1.5], [2.5, 3.5]], dtype="float32", value=0.25),
          [[0.25, 1.5], [2.5, 3.5]], "float32")
    check(pad_sequences([[1], [2, 3]], dtype=np.int64, value=9), [[9, 1], [2, 3]], "int64")
    check(pad_sequences([[True], [False, True]], dtype=bool, value=False),
          [[False, True], [False, True]], bool)


def test_strings_need_an_object_or_string_dtype():
    got = pad_sequences([["to", "be"], ["or"]], dtype=object, value="<pad>", padding="post")
    assert got.dtype == object
    assert got.tolist() == [["to", "be"], ["or", "<pad>"]]
    got = pad_sequences([["a", "b", "c"]], maxlen=2, dtype="<U5", value="")
    assert got.tolist() == [["b", "c"]]


def test_sequences_of_vectors():
    got = pad_sequences([[[1, 2], [3, 4]], [[5, 6]], []], dtype="float32", value=-1)
    check(got, [[[1, 2], [3, 4]], [[-1, -1], [5, 6]], [[-1, -1], [-1, -1]]], "float32")


def test_collections_of_any_kind():
    as_arrays = [np.array([1, 2, 3]), np.array([4])]
    check(pad_sequences(as_arrays, maxlen=2), [[2, 3], [0, 4]])
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1, 2, 3], [4]
    check(pad_sequences(ragged), [[1, 2, 3], [0, 0, 4]])
    check(pad_sequences(((1, 2), (3,)), padding="post"), [[1, 2], [3, 0]])
    check(pad_sequences(np.arange(6).reshape(2, 3), maxlen=2), [[1, 2], [4, 5]])


@pytest.mark.parametrize("kwargs, message", [
    ({"padding": "middle"}, "pad_sequences: padding must be 'pre' or 'post', received 'middle'"),
    ({"truncating": "both"}, "pad_sequences: truncating must be 'pre' or 'post', received 'both'"),
    ({"padding": None}, "padding must be 'pre' or 'post', received None"),
    ({"value": "x"}, "pad_sequences: a string value \\('x'\\) needs a string or object dtype"),
    ({"maxlen": -1}, "pad_sequences: maxlen must be >= 0, received -1"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pad_sequences(SEQUENCES, **kwargs)


def test_bad_sides_are_reported_even_without_a_sequence_to_pad():
    with pytest.raises(ValueError, match="truncating must be"):
        pad_sequences([[], []], truncating="start")


@pytest.mark.parametrize("maxlen", [2.5, "3", True])
def test_maxlen_must_be_an_int(maxlen):
    with pytest.raises(TypeError, match=f"pad_sequences: maxlen must be an int or None, "
                                        f"received {maxlen!r}"):
        pad_sequences(SEQUENCES, maxlen=maxlen)


def test_bad_dtype():
    with pytest.raises(TypeError, match="pad_sequences: dtype 'int33' is not a NumPy dtype"):
        pad_sequences(SEQUENCES, dtype="int33")


@pytest.mark.parametrize("sequences, received", [
    (5, "int"), (None, "NoneType"), ("abc", "str"), ((s for s in SEQUENCES), "generator"),
])
def test_not_a_collection_of_sequences(sequences, received):
    with pytest.raises(ValueError, match=f"pad_sequences: sequences must be a list .* "
                                         f"received {received}"):
        pad_sequences(sequences)


def test_an_item_that_is_not_a_sequence():
    with pytest.raises(ValueError, match="pad_sequences: .* the item at position 1 is 3 "
                                         "\\(int\\), which has no length"):
        pad_sequences([[1], 3])


def test_items_of_different_shapes():
    with pytest.raises(ValueError, match="pad_sequences: the items of the sequence at position "
                                         "1 have shape \\(3,\\), expected \\(2,\\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


def test_no_sequences_and_no_maxlen():
    with pytest.raises(ValueError, match="pad_sequences: no sequences to take maxlen from"):
        pad_sequences([])


# Calls whose results Keras and fastdl must agree on. Left out on purpose, where fastdl differs
# for a reason: maxlen=0 with truncating="pre" (Keras slices s[-0:], the whole sequence, and
# fails to fit it in zero columns; fastdl returns the empty columns) and dtype="object" given as
# a string with a string value (Keras only accepts the type object itself).
KERAS_CASES = [
    ((SEQUENCES,), {}),
    ((SEQUENCES,), {"maxlen": 2}),
    ((SEQUENCES,), {"maxlen": 5, "value": -1}),
    ((SEQUENCES,), {"padding": "post"}),
    ((SEQUENCES,), {"maxlen": 2, "truncating": "post"}),
    ((SEQUENCES,), {"maxlen": 2, "padding": "post", "truncating": "post", "value": 7}),
    (([[1, 2, 3, 4], [], [5]],), {"maxlen": 3}),
    (([[1, 2, 3, 4], [], [5]],), {"maxlen": 0, "truncating": "post"}),
    (([[1.7, -2.9], [0.5]],), {}),
    (([[1.5], [2.5, 3.5]],), {"dtype": "float32", "value": 0.25}),
    (([[1.5], [2.5, 3.5]],), {"dtype": "float64", "value": np.nan, "padding": "post"}),
    (([[1], [2, 3]],), {"dtype": "int64", "value": 9.9}),
    (([["to", "be"], ["or"]],), {"dtype": object, "value": "<pad>"}),
    (([[[1, 2], [3, 4]], [[5, 6]], []],), {"dtype": "float32", "value": -1}),
    (([np.array([1, 2, 3]), np.array([4])],), {"maxlen": 2}),
    ((np.arange(12).reshape(3, 4),), {"maxlen": 3, "truncating": "post"}),
    ((((1, 2), (3,)),), {"padding": "post"}),
    (([[1], [2, 3]],), {"dtype": "uint8", "value": 255}),
    # errors in both
    ((SEQUENCES,), {"padding": "middle"}),
    ((SEQUENCES,), {"truncating": "both"}),
    ((5,), {}),
    (([[1], 3],), {}),
    (([[[1, 2]], [[1, 2, 3]]],), {}),
    ((SEQUENCES,), {"value": "x"}),
    (([],), {}),
]

KERAS_SCRIPT = """
from keras.utils import pad_sequences
result = []
for args, kwargs in payload:
    try:
        result.append(("ok", pad_sequences(*args, **kwargs)))
    except Exception as error:
        result.append(("error", type(error).__name__))
"""


@requires_keras
def test_same_results_as_keras():
    expected = run_keras(KERAS_SCRIPT, KERAS_CASES)
    assert len(expected) == len(KERAS_CASES)
    for (args, kwargs), (status, keras_result) in zip(KERAS_CASES, expected):
        case = f"pad_sequences(*{args!r}, **{kwargs!r})"
        if status == "error":
            with pytest.raises(ValueError):
                pad_sequences(*args, **kwargs)
            assert keras_result == "ValueError", case
            continue
        got = pad_sequences(*args, **kwargs)
        assert got.dtype == keras_result.dtype and got.shape == keras_result.shape, case
        if got.dtype == object:
            assert got.tolist() == keras_result.tolist(), case
        else:
            np.testing.assert_array_equal(got, keras_result, err_msg=case)
