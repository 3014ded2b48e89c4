"""PDF rendering with WeasyPrint, with the app's own fonts embedded (no network)."""

import posixpath
import re
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

STYLESHEET = "css/pdf.css"
FONT_FILE = "vendor/noto-sans/noto-sans-latin-400-normal.woff2"
# url("...") in a stylesheet, quoted or not.
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")


def static_path(name):
    """The file behind a static name: from the finders in development, the collected copy in production."""
    found = finders.find(name)
    if found:
        return Path(found)
    path = Path(staticfiles_storage.path(name))
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
        return f'url("{static_path(name).as_uri()}")'

    return CSS_URL.sub(absolute, static_path(STYLESHEET).read_text())


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML

    fonts = _fonts()
    base_url = static_path(STYLESHEET).parent.as_uri() + "/"
    stylesheet = CSS(string=pdf_stylesheet(), base_url=base_url, font_config=fonts)
    return HTML(string=html, base_url=base_url).write_pdf(stylesheets=[stylesheet], font_config=fonts)
