"""PDF rendering with WeasyPrint, with the app's own fonts embedded (no network)."""

import contextlib
import hashlib
import io
import os
import posixpath
import re
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils import translation
from django.utils.translation import gettext

STYLESHEET = "css/pdf.css"
# url("...") in a stylesheet, quoted or not.
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
# The language of the document: <html lang="tr">.
DOCUMENT_LANGUAGE = re.compile(r"""<html\b[^>]*\blang=["']?([A-Za-z-]+)""", re.IGNORECASE)


def static_path(name):
    """The file behind a static name: from the finders in development, the collected copy in production."""
    found = finders.find(name)
    if found:
        return Path(found)
    path = Path(staticfiles_storage.path(name))
    if not path.is_file() and hasattr(staticfiles_storage, "stored_name"):
        # WHITENOISE_KEEP_ONLY_HASHED_FILES leaves only the hashed copy (whose urls name hashed fonts).
        with contextlib.suppress(ValueError):  # ValueError: not in the manifest
            path = Path(staticfiles_storage.path(staticfiles_storage.stored_name(name)))
    if not path.is_file():
        # WeasyPrint would quietly fall back to a system font; a missing file is a broken install.
        raise FileNotFoundError(f"static file {name!r} is neither in the static folders nor collected at {path}")
    return path


@lru_cache(maxsize=1)
def _fonts():
    from weasyprint.text.fonts import FontConfiguration

    # One per process: building it loads fontconfig, which is most of a small PDF's cost.
    return FontConfiguration()


def pdf_stylesheet():
    """css/pdf.css with each relative url(...) turned into the file:// address of that static file.

    The stylesheet names its fonts relative to itself in the static tree ("../vendor/noto-sans/..."),
    as the browser's fonts.css does, so that collectstatic's manifest can process it. On disk the
    files do not sit in that tree in development (the finders gather them from node_modules), so
    each name is resolved the way `static_path` resolves any static file.
    """
    folder = posixpath.dirname(STYLESHEET)

    def absolute(match):
        target = match.group(2).strip()
        if target.startswith(("data:", "#", "/")) or "://" in target:
            return match.group(0)
        name = posixpath.normpath(posixpath.join(folder, target.split("#")[0].split("?")[0]))
        path = static_path(name)
        if path.suffix == ".woff2":
            return f'url("{_truetype(path).as_uri()}")'
        return f'url("{path.as_uri()}")'

    # The fonts are WOFF2 (what the browser gets); WeasyPrint would decompress all sixteen on every
    # PDF (seconds of a report's time), so each PDF reads the TrueType made once from it instead.
    return CSS_URL.sub(absolute, static_path(STYLESHEET).read_text()).replace('format("woff2")', 'format("truetype")')


@lru_cache(maxsize=64)
def _truetype(woff2: Path) -> Path:
    """The TrueType of a WOFF2 font, decompressed once into a cache folder shared by the app's
    processes (named by the WOFF2's contents, written atomically: a worker never reads half a file)."""
    from fontTools.ttLib import TTFont

    data = woff2.read_bytes()
    folder = Path(tempfile.gettempdir()) / "mesoclinic-pdf-fonts"
    folder.mkdir(exist_ok=True)
    target = folder / f"{woff2.stem}-{hashlib.sha256(data).hexdigest()[:16]}.ttf"
    if not target.is_file():
        font = TTFont(io.BytesIO(data))
        font.flavor = None
        partial = folder / f".{target.name}.{os.getpid()}"
        font.save(partial)
        os.replace(partial, target)
    return target


def page_footer_css(html):
    """The footer of every page ("Page 2 of 3") in the document's own language: CSS cannot say it
    in words that depend on the document, so the words come from the catalogue and the numbers
    stay CSS counters."""
    found = DOCUMENT_LANGUAGE.search(html)
    with translation.override(found[1] if found else None):
        words = gettext("Page %(page)s of %(pages)s") % {"page": "\0page\0", "pages": "\0pages\0"}
    parts = []
    for index, part in enumerate(words.split("\0")):
        if index % 2:  # between the markers: a counter's name
            parts.append(f"counter({part})")
        elif part:
            parts.append('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return f"@page {{ @bottom-center {{ content: {' '.join(parts)}; }} }}"


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML

    # Composed letters: "ş" typed (or pasted) as "s" + combining cedilla has no glyph in Noto Sans's
    # subsets, and the mark would come from a system font, misplaced. NFC leaves the markup alone.
    html = unicodedata.normalize("NFC", html)
    fonts = _fonts()
    base_url = static_path(STYLESHEET).parent.as_uri() + "/"
    stylesheets = [
        CSS(string=pdf_stylesheet(), base_url=base_url, font_config=fonts),
        CSS(string=page_footer_css(html), font_config=fonts),
    ]
    return HTML(string=html, base_url=base_url).write_pdf(stylesheets=stylesheets, font_config=fonts)
