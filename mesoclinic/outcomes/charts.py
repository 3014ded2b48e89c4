"""One measure's progress as a chart: the patient's values by session, the documents' figure beside.

Server-rendered SVG (pygal) so that the chart prints, goes into a PDF and needs no script: pygal's
JavaScript is switched off and the SVG carries its own <style>. Pages show it as
<img src="{{ chart.src }}" alt="{{ chart.alt }}">: an <img> may show an SVG with its own <style>,
whereas a <style> inside an inline <svg> would be refused (style-src 'self'). The staff pages'
`src` is the chart's own URL (`facts`: the picture is drawn on that request, so a page with four
charts does not wait for four drawings); the patient's report and its PDF carry the picture as
a data: URI (`render`).

What is drawn, and what is not:
- the patient's series: one dot per session measured, joined by a solid line;
- each document's change figure, as a dashed band at the value this patient would reach from
  their own baseline (`Reference.target`), at the study's session count; where the study gives
  none, at the plan's planned count, and the label says "sessions not given";
- a share (85% satisfied), an "improved" finding and a "no benefit" one have no value on this
  patient's scale: they are words beside the chart (templates/outcomes/_measure.html), and a
  "no benefit" one is also written above the plot so that a printed chart never shows the
  figure without the caveat.
It must read in black and white: the patient's line is solid with filled dots, a reference band
dashed with a hollow marker, and the legend's boxes are filled and outlined to match.
"""

import base64
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

import pygal
from django.utils import formats, translation
from django.utils.translation import gettext, ngettext, pgettext
from pygal.style import Style

from mesoclinic.plans.models import Finding
from mesoclinic.screening import bilingual

WIDTH, HEIGHT = 520, 300
SCALE_RANGE = re.compile(r"^\d+\s*-\s*\d+$")  # GAIS's "1-5"
PYGAL_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>|<script\b[^>]*/>", re.DOTALL)
CAVEAT_LINE = 18  # px per caveat line written under the legend
FONT = "'Noto Sans', 'DejaVu Sans', Arial, sans-serif"
INK = "#1d2939"
# The patient's line, then one per reference: dark enough to print grey, told apart by dashes.
COLOURS = ("#0e5a60", "#7a2e0e", "#475467", "#6941c6")
DASHES = ("8, 5", "3, 4", "12, 4, 3, 4")

CHART_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground=INK,
    foreground_strong=INK,
    foreground_subtle="#98a2b3",
    font_family=FONT,
    label_font_size=15,
    major_label_font_size=15,
    value_font_size=14,
    legend_font_size=15,
    title_font_size=14,
    colors=COLOURS,
    guide_stroke_color="#d0d5dd",
    major_guide_stroke_color="#d0d5dd",
    # Lines drawn full strength: pygal's default (thin, 80% opacity) greys out on paper.
    stroke_width=3,
    stroke_width_hover=3,
    stroke_opacity=1,
    stroke_opacity_hover=1,
    opacity=1,
    opacity_hover=1,
)


@dataclass(frozen=True)
class TableRow:
    """One line of the chart's table alternative, its numbers worded as the chart words them."""

    number: int
    day: object  # a date
    value: str  # "0.44 R2"
    change: str  # "+10%", or "" for the baseline and for a measure that is not a change
    by_patient: bool


@dataclass(frozen=True)
class ChartFacts:
    """What a page says about one chart without drawing it: the picture is fetched from `src`
    (outcomes:chart, drawn on that request), the words and numbers are on the page itself."""

    src: str  # where the picture is: a URL, or for a RenderedChart its data: URI
    alt: str  # one plain sentence: the series and the reference, in the reader's language
    # The same numbers for the table alternative and the caption, so chart, table and PDF agree.
    table: tuple = ()  # (TableRow, ...)
    change: str = ""  # the latest change from the baseline, "−15%", or ""
    labels: tuple = ()  # the reference labels drawn, "basaksehir-2025: −18% after 6 sessions"


@dataclass(frozen=True)
class RenderedChart(ChartFacts):
    """The facts and the picture itself, for what must carry it inline (the patient's report and
    its PDF, which WeasyPrint renders without fetching anything)."""

    svg: str = ""  # the SVG document, self-contained (its own <style>, no script)

    @property
    def data_uri(self):
        return self.src  # data:image/svg+xml;base64,... for <img src>


def render(row, *, language=None, sessions_planned=None, for_patient=False) -> RenderedChart:
    """The chart of one MeasureProgress (outcomes.progress) in `language` (the active one by default).

    `sessions_planned` is the plan's course length: the x axis reaches it, and a document figure
    without a session count is drawn there. Without it the axis ends at the last session drawn.
    `for_patient`: the patient's own report, whose legend says "You", not "This patient".
    """
    with translation.override(language or translation.get_language()):
        return _render(row, sessions_planned, for_patient)


def facts(row, src, *, language=None, sessions_planned=None) -> ChartFacts:
    """The chart's words and numbers (alt text, table, change, labels) as `render` gives them,
    without drawing it: drawing is most of a chart's cost (pygal), and a page showing several
    charts lets the browser fetch each picture from `src` on a request of its own."""
    with translation.override(language or translation.get_language()):
        drawn = drawn_references(row, sessions_planned)
        return ChartFacts(src=src, **_words(row, drawn))


def _words(row, drawn):
    measure = row.measure
    return {
        "alt": alt_text(row, drawn, row.caveats),
        "table": tuple(
            TableRow(
                p.number,
                p.day,
                with_unit(p.value, measure),
                signed_percent(p.change) if p.change is not None else "",
                p.by_patient,
            )
            for p in row.points
        ),
        "change": signed_percent(row.change) if row.change is not None else "",
        "labels": tuple(reference_label(ref) for ref, _at in drawn),
    }


def number(value, decimals):
    """`value` with the measure's decimals, in the reader's notation (0,40 in Turkish). A float
    from pygal's axis goes through its shortest repr (0.35, not 0.34999...) and is rounded, not cut."""
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    return formats.number_format(exact, decimal_pos=decimals, use_l10n=True)


def signed_percent(change):
    """+25% / −18% (Turkish: +%25 / −%18), with a true minus sign."""
    change = Decimal(change)
    sign = "+" if change > 0 else ("\u2212" if change < 0 else "")
    amount = formats.number_format(abs(change).normalize(), use_l10n=True)
    return gettext("%(sign)s%(number)s%%") % {"sign": sign, "number": amount}


def with_unit(value, measure):
    """ "0.44 R2", "7/10"; a scale's range ("1-5") is no unit to write after each value."""
    unit = bilingual.text(measure, "unit")
    amount = number(value, measure.decimals)
    if not unit or SCALE_RANGE.match(unit):
        return amount
    return f"{amount}{unit}" if unit.startswith("/") else f"{amount} {unit}"


def reference_label(reference):
    """ "basaksehir-2025: −18% after 6 sessions", or "..., sessions not given"."""
    source = ", ".join(reference.documents)
    change = signed_percent(reference.value)
    if reference.sessions:
        return ngettext(
            "%(source)s: %(change)s after %(count)s session",
            "%(source)s: %(change)s after %(count)s sessions",
            reference.sessions,
        ) % {"source": source, "change": change, "count": reference.sessions}
    return gettext("%(source)s: %(change)s, sessions not given") % {"source": source, "change": change}


def caveat_label(reference):
    """ "guide-2024: some studies found no benefit": what is written on the chart. The documents
    word it as a small study, or smaller studies, that showed no (significant) benefit."""
    return gettext("%(source)s: some studies found no benefit") % {"source": ", ".join(reference.documents)}


def drawn_references(row, sessions_planned):
    """[(reference, session it is drawn at)]: the change figures with a target on this scale."""
    drawn = []
    for reference in row.references:
        if reference.finding != Finding.CHANGE or reference.target is None:
            continue
        at = reference.sessions or sessions_planned or (row.latest.number if row.latest else 1)
        drawn.append((reference, at))
    return drawn


def _render(row, sessions_planned, for_patient=False):
    measure = row.measure
    drawn = drawn_references(row, sessions_planned)
    caveats = row.caveats
    last = max([p.number for p in row.points] + [at for _ref, at in drawn] + [sessions_planned or 1, 1])
    values = [p.value for p in row.points] + [ref.target for ref, _at in drawn]
    ticks = _ticks(measure, values)

    chart = pygal.XY(
        style=CHART_STYLE,
        width=WIDTH,
        height=HEIGHT + CAVEAT_LINE * len(caveats),
        margin_top=20 + CAVEAT_LINE * len(caveats),
        js=[],  # no script: nothing to load, nothing the CSP would refuse
        disable_xml_declaration=True,
        explicit_size=True,
        show_legend=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=1,
        legend_box_size=14,
        truncate_legend=-1,
        truncate_label=-1,
        x_title=gettext("Session"),
        y_title=bilingual.text(measure, "unit") or None,
        # Room on the right for the label of a reference drawn at the last session.
        xrange=(0.6, last + (1.0 if any(at == last for _ref, at in drawn) else 0.4)),
        range=(ticks[0], ticks[-1]),
        y_labels=ticks,
        x_labels=list(range(1, last + 1)),
        x_value_formatter=lambda x: str(round(x)),
        value_formatter=lambda y: number(y, measure.decimals),
        include_x_axis=False,
        show_x_guides=False,
        dots_size=5,
        print_labels=True,
        css=[*pygal.Config().css, f"inline:{_extra_css(len(drawn))}"],
    )
    chart.add(
        pgettext("the patient's own line on their progress chart", "You") if for_patient else gettext("This patient"),
        [
            {
                "value": (p.number, float(p.value)),
                "label": _point_label(p, measure),
            }
            for p in row.points
        ],
        stroke_style={"width": 3, "linecap": "round"},
    )
    for index, (reference, at) in enumerate(drawn):
        target = float(reference.target)
        edge = {"r": 0}
        chart.add(
            reference_label(reference),
            [
                {"value": (at - 0.35, target), "node": edge},
                {
                    "value": (at, target),
                    "node": {"r": 6},
                    "style": "fill: #ffffff; stroke-width: 2.5",
                    "label": with_unit(reference.target, measure),
                },
                {"value": (at + 0.35, target), "node": edge},
            ],
            stroke_style={"width": 3, "dasharray": DASHES[index % len(DASHES)]},
        )
    # pygal writes its configuration as an inline <script> even with js=[]: nothing would run it
    # in an <img>, but the chart is meant to be script-free wherever it is copied.
    svg = PYGAL_SCRIPT.sub("", chart.render(is_unicode=True))
    if caveats:
        svg = _write_caveats(svg, [caveat_label(ref) for ref in caveats])
    return RenderedChart(
        svg=svg,
        src="data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii"),
        **_words(row, drawn),
    )


def _point_label(point, measure):
    """Printed beside each dot: the change from the baseline where there is one."""
    if point.change is None:
        return gettext("baseline") if point.number == 1 and measure.from_baseline else ""
    return signed_percent(point.change)


NICE_STEPS = (1, 2, 2.5, 5)


def _ticks(measure, values, most=6):
    """The y axis's labels: round steps (1, 2, 2.5 or 5 times a power of ten, never finer than the
    measure's decimals) around the values drawn, with some air, inside the measure's sensible range."""
    finest = Decimal(1).scaleb(-measure.decimals)
    if not values:
        values = [measure.minimum, measure.maximum]
    low, high = Decimal(min(values)), Decimal(max(values))
    air = (high - low) * Decimal("0.15") or max(abs(high) * Decimal("0.1"), finest)
    low, high = max(low - air, measure.minimum), min(high + air, measure.maximum)
    span = high - low
    power = Decimal(1).scaleb(span.adjusted() - 1)
    step = next(
        (
            candidate
            for scale in (power, power * 10, power * 100)
            for candidate in (Decimal(str(n)) * scale for n in NICE_STEPS)
            if candidate >= finest and candidate % finest == 0 and span / candidate <= most
        ),
        span,
    )
    first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    last = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    count = int((last - first) / step)
    return [float(first + step * index) for index in range(count + 1)]


def _extra_css(references):
    """Legend boxes that say the same in grey as in colour: the patient's filled, each
    reference's outlined with its line's dashes; a hollow dot for the reference marker."""
    rules = [
        ".legends .legend rect { stroke-width: 0 !important; }",
        "text.value, .text-overlay text { fill: #1d2939 !important; font-size: 14px !important; }",
    ]
    for index in range(references):
        rules.append(
            f".legends .legend:nth-of-type({index + 2}) rect {{ fill: #ffffff !important; stroke-width: 2.5 !important;"
            f" stroke-dasharray: {DASHES[index % len(DASHES)].replace(',', '')}; }}"
        )
    return "\n".join(rules)


def _write_caveats(svg, lines):
    """The "no benefit" findings written above the plot, inside the image: a printed or copied
    chart never shows a figure without its caveat."""
    texts = []
    for index, line in enumerate(lines):
        y = 18 + CAVEAT_LINE * index
        texts.append(
            f'<text class="caveat" x="20" y="{y}" font-family="{escape(FONT, {chr(34): "&quot;"})}" '
            f'font-size="15" font-style="italic" fill="{INK}">\u26a0 {escape(line)}</text>'
        )
    return svg.replace("</svg>", "".join(texts) + "</svg>", 1)


def alt_text(row, drawn, caveats):
    """One sentence: the measure, each value with its change, then what the documents report."""
    measure = row.measure
    label = bilingual.text(measure, "label")
    if not row.points:
        return gettext("%(measure)s: not measured yet.") % {"measure": label}
    parts = []
    for point in row.points:
        value = with_unit(point.value, measure)
        if point.change is None:
            parts.append(gettext("%(value)s at session %(number)s") % {"value": value, "number": point.number})
        else:
            parts.append(
                gettext("%(value)s at session %(number)s (%(change)s)")
                % {"value": value, "number": point.number, "change": signed_percent(point.change)}
            )
    sentence = gettext("%(measure)s: %(values)s") % {"measure": label, "values": ", ".join(parts)}
    for reference, _at in drawn:
        sentence += "; " + (
            gettext("%(reference)s, which from this baseline would be %(target)s")
            % {"reference": reference_label(reference), "target": with_unit(reference.target, measure)}
        )
    for reference in caveats:
        sentence += "; " + caveat_label(reference)
    return sentence + "."
