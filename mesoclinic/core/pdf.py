"""PDF rendering with WeasyPrint, with the app's own fonts embedded (no network)."""

from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

FONT_FILE = "vendor/noto-sans/noto-sans-latin-400-normal.woff2"


def static_path(name):
    """The file behind a static name: from the finders in development, the collected copy in production."""
    found = finders.find(name)
    if found:
        return Path(found)
    return Path(staticfiles_storage.path(name))


@lru_cache(maxsize=1)
def _fonts():
    from weasyprint.text.fonts import FontConfiguration

    # One per process: building it loads fontconfig, which is most of a small PDF's cost.
    return FontConfiguration()


def pdf_stylesheet():
    return static_path("css/pdf.css").read_text()


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML

    fonts = _fonts()
    font_folder = static_path(FONT_FILE).parent.as_uri() + "/"
    stylesheet = CSS(string=pdf_stylesheet(), base_url=font_folder, font_config=fonts)
    return HTML(string=html, base_url=font_folder).write_pdf(stylesheets=[stylesheet], font_config=fonts)
