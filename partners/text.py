"""Text folding and French stemming shared by the search index, the queries and place names."""

import functools
import re
import unicodedata
from pathlib import Path

import snowballstemmer

_NON_WORD = re.compile(r"[^a-z0-9]+")
# "C.H.R.S." is the acronym CHRS, not four letters.
_DOTTED_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}(?:[a-z]\b)?")
# PostgreSQL's own French stop words (tsearch_data/french.stop, from Snowball), folded like the text:
# SQLite drops the same words as the french_unaccent configuration, at index and query time.
_STOPWORDS_PATH = Path(__file__).resolve().parent / "data" / "french_stopwords.txt"


def normalize(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used for accent-insensitive lookups.

    "Saint-Étienne-du-Rouvray" -> "saint etienne du rouvray"; "L'Haÿ-les-Roses" -> "l hay les roses";
    "C.H.R.S." -> "chrs".
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_text = ascii_text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    ascii_text = _DOTTED_ACRONYM.sub(lambda match: match.group(0).replace(".", ""), ascii_text.lower())
    return _NON_WORD.sub(" ", ascii_text).strip()


STOPWORDS = frozenset(
    normalize(line) for line in _STOPWORDS_PATH.read_text(encoding="utf-8").split() if line.strip()
)

_stemmer = snowballstemmer.stemmer("french")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Snowball French stem of an accent-free word, as PostgreSQL's french_unaccent computes it
    (unaccent, then french_stem): "logements" -> "log", "dettes" -> "det"."""
    return _stemmer.stemWord(word)


def content_words(text: str) -> list[str]:
    """Accent-free words of ``text`` without French stop words ("la", "de", "pour"…)."""
    return [word for word in normalize(text).split() if word not in STOPWORDS]


def stemmed(text: str | None) -> str:
    """``text`` as the SQLite full-text index stores it: folded, stop words out, each word stemmed."""
    return " ".join(stem(word) for word in content_words(text or ""))
