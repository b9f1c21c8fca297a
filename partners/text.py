import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used for accent-insensitive lookups.

    "Saint-Étienne-du-Rouvray" -> "saint etienne du rouvray"; "L'Haÿ-les-Roses" -> "l hay les roses".
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_text = ascii_text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    return _NON_WORD.sub(" ", ascii_text.lower()).strip()
