"""fastdl.images (also fastdl.utils and keras.utils): image arrays to files and back, load_img's
conversions and resizing, image_grid's layout, the errors, working without Pillow, and the
same calls run through Keras 3's own functions where it is installed.

The Python that runs Keras need not have Pillow: there Keras's functions run against a stand-in
``PIL.Image`` that records what they ask of Pillow (the array and mode given to ``fromarray``,
the conversions, the resizing with its box and filter, the format saved), and the recorded
steps are replayed here with the real Pillow and compared with fastdl's results."""
import doctest
import io
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
import fastdl
from fastdl import images, keras
from fastdl.utils import array_to_img, image_grid, img_to_array, load_img, save_img
from keras_reference import requires_keras, run_keras

# The fastdl this test imports (the source tree's, or the installed package), for a child process.
PYTHON_DIR = pathlib.Path(fastdl.__file__).resolve().parents[1]


@pytest.fixture
def Image():
    """Pillow's Image module; the test is skipped where Pillow is not installed."""
    return pytest.importorskip("PIL.Image")


def pixels(shape, seed=0, high=256):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype("float32")


def round_trip(tmp_path, x, name="image.png", color_mode="rgb", data_format=None, **save):
    path = tmp_path / name
    save_img(path, x, data_format=data_format, **save)
    return img_to_array(load_img(path, color_mode=color_mode), data_format=data_format)


def test_the_keras_namespace_has_them():
    for name in ("array_to_img", "img_to_array", "save_img", "load_img", "image_grid"):
        assert getattr(keras.utils, name) is getattr(images, name)


# --- round trips through files -------------------------------------------------------------

@pytest.mark.parametrize("channels, color_mode, mode", [
    (1, "grayscale", "L"), (3, "rgb", "RGB"), (4, "rgba", "RGBA")])
def test_round_trip_through_png_keeps_pixels(Image, tmp_path, channels, color_mode, mode):
    x = pixels((5, 7, channels))
    assert array_to_img(x, scale=False).mode == mode
    back = round_trip(tmp_path, x, color_mode=color_mode, scale=False)
    assert back.dtype == np.float32 and back.shape == (5, 7, channels)
    np.testing.assert_array_equal(back, x)


def test_round_trip_channels_first(Image, tmp_path):
    x = pixels((3, 4, 6), seed=1)
    back = round_trip(tmp_path, x, data_format="channels_first", scale=False)
    assert back.shape == (3, 4, 6)
    np.testing.assert_array_equal(back, x)
    gray = round_trip(tmp_path, x[:1], color_mode="grayscale", data_format="channels_first",
                      scale=False)
    np.testing.assert_array_equal(gray, x[:1])


def test_scale_stretches_to_the_full_range_and_truncates(Image, tmp_path):
    x = np.array([[[-1.0], [0.0]], [[1.5], [3.0]]], dtype="float32")
    expected = ((x + 1) / 4 * 255).astype("uint8")  # 0, 63.75, 159.375, 255
    np.testing.assert_array_equal(expected[..., 0], [[0, 63], [159, 255]])
    np.testing.assert_array_equal(round_trip(tmp_path, x, color_mode="grayscale"), expected)
    assert np.asarray(array_to_img(np.full((2, 2, 3), 5.0))).max() == 0  # constant: all 0
    unscaled = np.asarray(array_to_img(np.array([[[-3.0, 7.9, 300.0]]]), scale=False))
    np.testing.assert_array_equal(unscaled, [[[0, 7, 255]]])  # clipped, then truncated


def test_grayscale_over_255_is_a_32_bit_image(Image, tmp_path):
    x = np.array([[[0.0], [1000.0]], [[70000.0], [5.0]]])
    image = array_to_img(x, scale=False)
    assert image.mode == "I"
    back = round_trip(tmp_path, x, name="deep.tif", color_mode="grayscale", scale=False)
    np.testing.assert_array_equal(back, x)


def test_dtypes(Image, tmp_path):
    x = pixels((3, 4, 3), seed=2)
    save_img(tmp_path / "a.png", x, scale=False)
    image = load_img(tmp_path / "a.png")
    for dtype in ("uint8", "int32", "float64"):
        array = img_to_array(image, dtype=dtype)
        assert array.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(array, x)
    assert img_to_array(image).flags.writeable
    # dtype is the arithmetic's type: integer images scale too.
    np.testing.assert_array_equal(np.asarray(array_to_img([[[0], [2]]], dtype="int64")),
                                  [[0, 255]])
    np.testing.assert_array_equal(
        np.asarray(array_to_img(np.array([[[0.0], [0.5], [1.0]]]), dtype="float64")),
        [[0, 127, 255]])


def test_paths_file_objects_and_formats(Image, tmp_path):
    x = pixels((4, 4, 3), seed=3)
    stream = io.BytesIO()
    save_img(stream, x, file_format="png", scale=False)
    stream.seek(0)
    np.testing.assert_array_equal(img_to_array(load_img(stream)), x)
    for path in (str(tmp_path / "s.PNG"), bytes(tmp_path / "b.png")):
        save_img(path, x, scale=False)
        np.testing.assert_array_equal(img_to_array(load_img(path)), x)
    save_img(tmp_path / "photo.jpg", x, quality=95)
    assert Image.open(tmp_path / "photo.jpg").format == "JPEG"
    with pytest.warns(UserWarning, match="save_img: JPEG has no alpha channel"):
        save_img(tmp_path / "alpha.jpeg", pixels((4, 4, 4)))
    assert Image.open(tmp_path / "alpha.jpeg").mode == "RGB"


# --- load_img: colour modes and sizes ------------------------------------------------------

def saved(tmp_path, array, name="in.png"):
    images_module = pytest.importorskip("PIL.Image")
    images_module.fromarray(np.asarray(array, dtype="uint8")).save(tmp_path / name)
    return tmp_path / name


def test_color_mode_conversions(Image, tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]])
    path = saved(tmp_path, rgb)
    gray = img_to_array(load_img(path, color_mode="grayscale"))[0, :, 0]
    luma = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R 601-2, as Pillow converts to "L"
    assert np.abs(gray - luma[0]).max() <= 1
    np.testing.assert_array_equal(gray, [76, 150, 29, 18])
    rgba = img_to_array(load_img(path, color_mode="rgba"))
    np.testing.assert_array_equal(rgba[..., :3], rgb)
    np.testing.assert_array_equal(rgba[..., 3], 255)  # opaque
    path = saved(tmp_path, [[7, 200]], "gray.png")
    np.testing.assert_array_equal(img_to_array(load_img(path)), [[[7] * 3, [200] * 3]])
    path = saved(tmp_path, [[[1, 2, 3, 4]]], "rgba.png")
    np.testing.assert_array_equal(img_to_array(load_img(path)), [[[1, 2, 3]]])
    assert load_img(path, color_mode="rgba").mode == "RGBA"


def test_target_size_nearest_and_keep_aspect_ratio(Image, tmp_path):
    grid = np.arange(32).reshape(4, 8)  # value = 8 * row + column
    path = saved(tmp_path, grid)
    up = img_to_array(load_img(path, color_mode="grayscale", target_size=(8, 16)))[..., 0]
    np.testing.assert_array_equal(up, np.repeat(np.repeat(grid, 2, 0), 2, 1))
    down = img_to_array(load_img(path, color_mode="grayscale", target_size=(2, 4)))[..., 0]
    np.testing.assert_array_equal(down, grid[1::2, 1::2])  # the pixels under the centres
    # keep_aspect_ratio: the centred 4x4 region (columns 2..5) first, then 2x2.
    square = load_img(path, color_mode="grayscale", target_size=(2, 2), keep_aspect_ratio=True)
    np.testing.assert_array_equal(np.asarray(square), [[11, 13], [27, 29]])
    squashed = load_img(path, color_mode="grayscale", target_size=(2, 2))
    np.testing.assert_array_equal(np.asarray(squashed), [[10, 14], [26, 30]])
    for name in ("bilinear", "bicubic", "hamming", "box", "lanczos"):
        image = load_img(path, target_size=(3, 5), interpolation=name)
        assert image.size == (5, 3) and image.mode == "RGB"
    same = load_img(path, color_mode="grayscale", target_size=[4, 8], interpolation="bicubic")
    np.testing.assert_array_equal(np.asarray(same), grid)  # no resizing to the same size


# --- image_grid ----------------------------------------------------------------------------

def test_image_grid_layout_on_a_tiny_batch():
    batch = np.arange(1, 6, dtype="uint8").reshape(5, 1, 1) * np.ones((1, 2, 3), "uint8")
    grid = image_grid(batch, cols=3, padding=1, pad_value=9)  # 2 rows x 3 columns
    assert grid.shape == (2 * 2 + 3, 3 * 3 + 4, 1) and grid.dtype == np.uint8
    expected = np.full((7, 13), 9, dtype="uint8")
    for i in range(5):
        r, c = divmod(i, 3)
        top, left = 1 + r * 3, 1 + c * 4
        expected[top:top + 2, left:left + 3] = i + 1
    np.testing.assert_array_equal(grid[..., 0], expected)
    assert grid[1, 1, 0] == 1 and grid[4, 5, 0] == 5  # image 4: row 1, column 1, at (4, 5)
    assert grid[4, 9, 0] == 9 and grid[0, 0, 0] == 9  # the empty cell and the border


def test_image_grid_shapes_rows_and_cols():
    batch = np.zeros((7, 3, 2))
    assert image_grid(batch).shape == (3 * 4 + 1, 3 * 3 + 1, 1)   # 3 columns, 3 rows
    assert image_grid(batch, rows=1).shape == (3 + 2, 7 * 3 + 1, 1)
    assert image_grid(batch, cols=2).shape == (4 * 4 + 1, 2 * 3 + 1, 1)
    assert image_grid(batch, rows=2, cols=4, padding=0).shape == (6, 8, 1)
    assert image_grid(np.zeros((1, 5, 5, 3)), padding=2).shape == (9, 9, 3)


def test_image_grid_channels_first_and_pad_per_channel():
    nhwc = pixels((4, 3, 2, 3), seed=4).astype("uint8")
    nchw = nhwc.transpose(0, 3, 1, 2)
    grid = image_grid(nchw, data_format="channels_first", pad_value=(255, 0, 10))
    np.testing.assert_array_equal(grid, image_grid(nhwc, pad_value=(255, 0, 10)))
    np.testing.assert_array_equal(grid[0, 0], [255, 0, 10])
    np.testing.assert_array_equal(grid[1:4, 1:3], nhwc[0])
    np.testing.assert_array_equal(grid[5:8, 4:6], nhwc[3])


def test_image_grid_value_ranges():
    def one(values, **kwargs):
        return image_grid(np.array(values, dtype=kwargs.pop("dtype", "float64"))[None, None],
                          padding=0, **kwargs)[0, :, 0]

    np.testing.assert_array_equal(one([0.0, 0.5, 1.0]), [0, 128, 255])  # rounded
    np.testing.assert_array_equal(one([0.0, 2.0, 255.0]), [0, 2, 255])  # over 1: 0..255
    np.testing.assert_array_equal(one([0, 7, 255], dtype="int32"), [0, 7, 255])
    np.testing.assert_array_equal(one([-1.0, 0.0, 1.0], value_range=(-1, 1)), [0, 128, 255])
    np.testing.assert_array_equal(one([-2.0, np.nan, 0.25], value_range=(0, 1)), [0, 0, 64])
    np.testing.assert_array_equal(one([False, True], dtype=bool), [0, 255])
    batch = pixels((2, 3, 3, 3), seed=5).astype("uint8")
    assert image_grid(batch, padding=0, cols=2)[:, :3].tolist() == batch[0].tolist()


def test_image_grid_of_a_tensor_and_saving_it(Image, tmp_path):
    import fastdl
    grid = image_grid(fastdl.ones(4, 2, 2), pad_value=0)
    assert grid.shape == (7, 7, 1) and grid[1, 1, 0] == 255
    save_img(tmp_path / "grid.png", grid, scale=False)
    np.testing.assert_array_equal(img_to_array(load_img(tmp_path / "grid.png", "grayscale")),
                                  grid)


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: image_grid(np.zeros((2, 2))), r"image_grid: .*received shape \(2, 2\)"),
    (lambda: image_grid(np.zeros((0, 2, 2))), "image_grid: no images"),
    (lambda: image_grid(np.zeros((5, 2, 2)), rows=2, cols=2), "room for 4 images, received 5"),
    (lambda: image_grid(np.zeros((2, 2, 2)), rows=0), "image_grid: rows must be .* 0"),
    (lambda: image_grid(np.zeros((2, 2, 2)), padding=-1), "image_grid: padding .* -1"),
    (lambda: image_grid(np.zeros((2, 2, 2)), pad_value=300), "image_grid: pad_value .* 300"),
    (lambda: image_grid(np.zeros((2, 2, 2, 3)), pad_value=(1, 2)), r"pad_value .* \(1, 2\)"),
    (lambda: image_grid(np.zeros((2, 2, 2)), value_range=(1, 1)), r"value_range .* \(1, 1\)"),
    (lambda: image_grid(np.zeros((2, 2, 2)), data_format="nhwc"), "image_grid: data_format"),
    (lambda: img_to_array(np.zeros(3)), r"img_to_array: .*received shape \(3,\)"),
    (lambda: img_to_array(np.zeros((1, 2, 2, 3))), r"received shape \(1, 2, 2, 3\)"),
    (lambda: img_to_array(np.zeros((2, 2)), data_format="NCHW"), "img_to_array: .*'NCHW'"),
    (lambda: load_img("x.png", color_mode="bgr"), "load_img: color_mode .* 'bgr'"),
    (lambda: load_img("x.png", interpolation="area"), "load_img: interpolation .* 'area'"),
    (lambda: load_img("x.png", target_size=(0, 3)), r"load_img: target_size .* \(0, 3\)"),
    (lambda: load_img("x.png", target_size=5), "load_img: target_size .* 5"),
])
def test_bad_arguments_are_value_errors_naming_the_function(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_images_for_pillow_functions(Image, tmp_path):
    with pytest.raises(ValueError, match=r"array_to_img: .*rank 3.*shape \(2, 2\)"):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(channels, height, width\).*\(1, 2, 2, 3\)"):
        array_to_img(np.zeros((1, 2, 2, 3)), data_format="channels_first")
    with pytest.raises(ValueError, match=r"array_to_img: .*received 2 \(array of shape"):
        array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="array_to_img: data_format .* 'last'"):
        array_to_img(np.zeros((2, 2, 3)), data_format="last")
    with pytest.raises(ValueError, match="save_img: .*noext.*extension ''"):
        save_img(tmp_path / "noext", np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"save_img: .*extension '\.xyz'.*pass file_format"):
        save_img(tmp_path / "a.xyz", np.zeros((2, 2, 3)))
    with pytest.raises(TypeError, match="load_img: path must be .* int"):
        load_img(3)


def test_without_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    for call in (lambda: array_to_img(np.zeros((2, 2, 3))),
                 lambda: save_img("a.png", np.zeros((2, 2, 3))),
                 lambda: load_img("a.png")):
        with pytest.raises(ImportError, match=r'needs Pillow.*pip install "fastdl\[images\]"'):
            call()
    assert img_to_array(np.zeros((2, 3))).shape == (2, 3, 1)
    assert image_grid(np.zeros((2, 2, 2))).shape == (4, 7, 1)


def test_the_package_imports_without_pillow():
    script = ("import sys; sys.modules['PIL'] = None; import numpy as np; "
              "from fastdl import keras; print(keras.utils.image_grid(np.ones((3, 2, 2))).shape)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PYTHON_DIR)},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(7, 7, 1)"


def test_the_examples_that_need_pillow_run_with_it(Image):
    # The docstrings mark them +SKIP so that the documentation's tests pass without Pillow.
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    skipped = 0
    for test in doctest.DocTestFinder().find(images):
        for example in test.examples:
            skipped += example.options.pop(doctest.SKIP, False)
        runner.run(test)
    assert skipped >= 8
    assert runner.failures == 0


# --- against Keras 3 -----------------------------------------------------------------------

KERAS_BODY = r"""
import sys, types, warnings
import numpy as np


class StandIn:
    # What Keras asks of a Pillow image, recorded in a log shared by the images made from it.
    def __init__(self, mode, size, log):
        self.mode, self.size, self.log = mode, tuple(size), log

    def convert(self, mode):
        self.log.append(("convert", mode))
        return StandIn(mode, self.size, self.log)

    def resize(self, size, resample, box=None):
        self.log.append(("resize", tuple(size), resample, None if box is None else tuple(box)))
        return StandIn(self.mode, size, self.log)

    def save(self, path, format=None, **kwargs):
        self.log.append(("save", format, self.mode, kwargs))


made = []


def fromarray(array, mode=None):
    made.append((np.array(array), mode, []))
    return StandIn(mode, array.shape[1::-1], made[-1][2])


def open_(stream):
    mode, size = pickle.loads(stream.read())
    return StandIn(mode, size, [])


pil, image = types.ModuleType("PIL"), types.ModuleType("PIL.Image")
pil.Image, image.fromarray, image.open = image, fromarray, open_
image.Resampling = types.SimpleNamespace(**{name: name for name in (
    "NEAREST", "BILINEAR", "BICUBIC", "HAMMING", "BOX", "LANCZOS")})
sys.modules.update({"PIL": pil, "PIL.Image": image})
import keras

result = {"to_array": [keras.utils.img_to_array(a, **kw) for a, kw in payload["to_array"]]}
result["to_img"] = []
for x, kw in payload["to_img"]:
    keras.utils.array_to_img(x, **kw)
    result["to_img"].append(made[-1][:2])
result["load"] = []
for index, (opened, kw) in enumerate(payload["load"]):
    with open(f"image{index}", "wb") as stream:
        pickle.dump(opened, stream)
    loaded = keras.utils.load_img(f"image{index}", **kw)
    result["load"].append((loaded.log, loaded.mode, loaded.size))
result["save"] = []
for path, x, kw in payload["save"]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keras.utils.save_img(path, x, **kw)
    result["save"].append((made[-1][2], len(caught)))
"""

RNG = np.random.default_rng(7)
TO_ARRAY = [(RNG.integers(0, 256, (3, 4)).astype("uint8"), {}),
            (RNG.integers(0, 256, (3, 4)).astype("uint8"), {"data_format": "channels_first"}),
            (RNG.random((3, 4, 3)), {"data_format": "channels_first", "dtype": "float64"}),
            (RNG.integers(0, 256, (2, 5, 4)).astype("uint8"), {"dtype": "int32"})]
TO_IMG = [(RNG.random((4, 5, 3)), {}),
          (RNG.normal(size=(3, 4, 5)) * 100, {"data_format": "channels_first"}),
          (RNG.random((4, 5, 4)) * 255, {"scale": False}),
          (RNG.normal(size=(6, 2, 1)), {}),
          (RNG.random((3, 3, 1)) * 1000, {"scale": False}),
          (np.full((2, 3, 3), 4.0), {}),
          (RNG.random((5, 4, 3)) * 255, {"scale": True, "dtype": "float64"}),
          ((RNG.random((4, 4, 1)) * 255).astype("uint8"), {"scale": False, "dtype": "uint8"})]
LOAD = [("RGB", (8, 6), {}),
        ("RGBA", (8, 6), {"color_mode": "grayscale"}),
        ("L", (8, 6), {"color_mode": "rgba", "target_size": (4, 4)}),
        ("RGB", (8, 6), {"target_size": (3, 5), "interpolation": "bilinear"}),
        ("RGB", (9, 6), {"target_size": (4, 4), "keep_aspect_ratio": True,
                         "interpolation": "bicubic"}),
        ("L", (5, 12), {"color_mode": "grayscale", "target_size": (6, 4),
                        "keep_aspect_ratio": True, "interpolation": "lanczos"}),
        ("P", (7, 7), {"target_size": (7, 7), "interpolation": "box"}),
        ("I;16", (6, 4), {"color_mode": "grayscale", "target_size": (2, 3),
                          "interpolation": "hamming"})]
SAVE = [("a.png", RNG.random((3, 4, 3)), {}),
        ("b.JPG", RNG.random((3, 4, 4)), {"quality": 90}),
        ("c.jpeg", RNG.random((3, 4, 1)), {"scale": False}),
        ("d.bin", RNG.random((3, 4, 4)), {"file_format": "png"}),
        ("e.bmp", RNG.random((3, 4, 2)).transpose(2, 0, 1)[:1], {"data_format":
                                                                   "channels_first"})]


def real_image(Image, mode, size, seed):
    """A PNG of the mode and size (width, height), and the image Pillow opens from it."""
    shape = (size[1], size[0]) + {"RGB": (3,), "RGBA": (4,)}.get(mode, ())
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, shape).astype("uint16"))
    else:
        image = Image.fromarray(rng.integers(0, 256, shape).astype("uint8"))
        if mode == "P":
            image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    stream = io.BytesIO()
    image.save(stream, format="png")
    return stream.getvalue()


@pytest.fixture(scope="module")
def from_keras():
    """Keras's results on the cases above, run once; the modes of the images as Pillow opens
    them are what the stand-in tells Keras (no load_img cases where Pillow is missing here)."""
    try:
        from PIL import Image
    except ImportError:
        Image = None
    files = [real_image(Image, mode, size, seed) for seed, (mode, size, _) in enumerate(LOAD)
             if Image is not None]
    opened = [(Image.open(io.BytesIO(data)).mode, Image.open(io.BytesIO(data)).size)
              for data in files]
    payload = {"to_array": TO_ARRAY, "to_img": TO_IMG, "save": SAVE,
               "load": [(o, kw) for o, (_, _, kw) in zip(opened, LOAD)]}
    return files, run_keras(KERAS_BODY, payload)


@requires_keras
def test_img_to_array_matches_keras(from_keras):  # without Pillow too: Keras's takes arrays
    for (a, kw), expected in zip(TO_ARRAY, from_keras[1]["to_array"]):
        got = img_to_array(a, **kw)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


@requires_keras
def test_array_to_img_matches_keras(from_keras, Image):
    for (x, kw), (array, mode) in zip(TO_IMG, from_keras[1]["to_img"]):
        image = array_to_img(x, **kw)
        assert image.mode == mode
        np.testing.assert_array_equal(np.asarray(image), array)


@requires_keras
def test_load_img_matches_keras_replayed_with_pillow(from_keras, Image):
    files, results = from_keras
    for data, (mode, size, kw), (log, keras_mode, keras_size) in zip(files, LOAD,
                                                                      results["load"]):
        expected = Image.open(io.BytesIO(data))
        for step in log:
            if step[0] == "convert":
                expected = expected.convert(step[1])
            else:
                _, new_size, resample, box = step
                expected = expected.resize(new_size, getattr(Image.Resampling, resample),
                                           box=box)
        got = load_img(io.BytesIO(data), **kw)
        assert (got.mode, got.size) == (keras_mode, keras_size) == (expected.mode,
                                                                     expected.size)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@requires_keras
def test_save_img_matches_keras(from_keras, Image, monkeypatch):
    saves = []
    monkeypatch.setattr(Image.Image, "save",
                        lambda self, path, format=None, **kw: saves.append((format, self.mode,
                                                                           kw)))
    for (path, x, kw), (log, warned) in zip(SAVE, from_keras[1]["save"]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            save_img(path, x, **kw)
        assert len(caught) == warned
        _, keras_format, keras_mode, keras_kwargs = log[-1]
        assert (saves[-1][0].lower(), saves[-1][1], saves[-1][2]) == (
            keras_format.lower(), keras_mode, keras_kwargs)
