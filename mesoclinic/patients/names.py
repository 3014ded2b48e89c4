"""Names as the front desk types them: the one fold that search and duplicate detection share."""

import re
import unicodedata

# Turkish has a dotted and a dotless i in both cases; all four are one letter here, and the
# other Turkish letters (ş ğ ç ö ü) lose their marks below, so "İNCEOĞLU" is "inceoglu".
_TURKISH_I = str.maketrans({"İ": "i", "I": "i", "ı": "i"})
# Letters that Unicode does not split into a letter and a mark, folded by hand (Søren, Łukasz).
_UNSPLIT = str.maketrans(
    {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe"}
)


def fold_name(text):
    """A name as the front desk might type it: case, accents and Turkish letters ignored,
    hyphens as spaces, other punctuation dropped ("O'Brien" is "obrien", "Şahin" is "sahin")."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_TURKISH_I).translate(_UNSPLIT))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = re.sub(r"[^\w\s]", "", re.sub(r"[-‐–_]", " ", text))
    return " ".join(text.split())
