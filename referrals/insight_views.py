"""Insight pages of a network (``/reseaux/<id>/analyse/``): coordinators of the network and administrators.

Each page shows a chart (``graphique.svg`` at the page's URL, same filters), the same figures as a
table, and answers ``?format=csv`` with that table (``&tableau=<slug>`` for a page's other tables).
Anybody else gets a 404: the network is loaded through ``Network.objects.coordinated_by(user)``.
"""

import csv
from dataclasses import dataclass, field

from csp.decorators import csp_replace
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_GET

from partners.models import Network

from . import insight, insight_charts
from .insight_forms import InsightFilterForm


def _percent(value):
    return "—" if value is None else f"{value * 100:.1f}".replace(".", ",") + " %"


def _number(value, digits=1):
    if value is None:
        return "—"
    text = f"{value:.{digits}f}".replace(".", ",")
    return text[: -digits - 1] if text.endswith("," + "0" * digits) else text


def cell(text, *, count=None, rate=None, over=None, url="", links=(), heat=None, export=True):
    """A table cell.

    ``count`` cells read "< 5" from 1 to 4 in exports and on pages that mask (the gaps page).
    ``rate=(numerator, denominator)`` marks a figure computed on counts (a share, a median: numerator
    None): it reads "masqué" when computed on fewer than 5 referrals, everywhere; where counts are
    masked, also when its numerator is masked or ``over`` (the column of its denominator in the row)
    is a total masked to protect a small cell.
    """
    return {
        "text": text if count is None else count,
        "count": count,
        "rate": rate,
        "over": over,
        "url": url,
        "links": list(links),
        "heat": heat,
        "export": export,
    }


def _small(count):
    return count is not None and 0 < count < insight.MASK_BELOW


@dataclass
class Table:
    """A page's table. ``totals`` maps a total column to the count columns it adds up: where counts are
    masked, a total whose row has a masked count is masked too ("masqué"), or the small count would
    be the total minus the others (secondary suppression)."""

    slug: str
    caption: str
    headers: list
    rows: list = field(default_factory=list)
    mask: bool = False  # mask counts under 5 on the page too (the gaps page)
    empty: str = "Aucune donnée pour ces filtres."
    totals: dict = field(default_factory=dict)

    def displayed_rows(self):
        return [self._published(row, masking=self.mask) for row in self.rows]

    def _published(self, row, *, masking):
        """The row as shown (``masking``: as exported, small counts masked)."""
        hidden_totals = {
            total
            for total, parts in self.totals.items()
            if masking and any(_small(row[part]["count"]) for part in parts)
        }
        published = []
        for index, c in enumerate(row):
            text = c["text"]
            if c["count"] is not None and masking:
                if index in hidden_totals and not _small(c["count"]):
                    text = insight.WITHHELD
                else:
                    text = insight.masked(c["count"])
            elif c["rate"] is not None and self._rate_hidden(c, hidden_totals, masking=masking):
                text = insight.WITHHELD
            published.append({**c, "text": text})
        return published

    @staticmethod
    def _rate_hidden(c, hidden_totals, *, masking):
        numerator, denominator = c["rate"]
        if _small(denominator):
            return True  # computed on fewer than 5 referrals
        return masking and (_small(numerator) or c["over"] in hidden_totals)

    def export_rows(self):
        if self.rows:
            keep = [i for i, c in enumerate(self.rows[0]) if c["export"]]
        else:
            keep = [i for i, header in enumerate(self.headers) if header is not None]
        headers = [self.headers[i] for i in keep]
        rows = []
        for row in self.rows:
            published = self._published(row, masking=True)
            rows.append([published[i]["text"] for i in keep])
        return headers, rows


def _service_label(service):
    """Services of different organisations often share a name: the chart says whose."""
    return f"{service.name} ({service.organisation.name})"


def _month_label(month):
    return date_format(month, "F Y")


# French abbreviations that never collide (Django's "M" gives "jui" for both juin and juillet).
_SHORT_MONTHS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def _short_month(month):
    return f"{_SHORT_MONTHS[month.month - 1]} {month.year}"


# --- The six pages: figures → tables and chart ------------------------------------------------------


def _off_convention(network, filters, request):
    figures = insight.off_convention(network, filters)
    labels = [label for _, label in figures["classifications"]]
    months = Table(
        "mois",
        "Orientations par mois et par classement",
        ["Mois", *labels, "Total", "Part hors convention"],
        [
            [
                cell(_month_label(row["month"])),
                *[cell("", count=count) for count in row["counts"]],
                cell("", count=row["total"]),
                cell(_percent(row["off_rate"]), rate=(row["off"], row["total"]), over=len(labels) + 1),
            ]
            for row in figures["months"]
        ],
        totals={len(labels) + 1: list(range(1, len(labels) + 1))},
    )
    reasons = Table(
        "motifs",
        "Motifs donnés pour orienter hors convention, du plus fréquent au moins fréquent",
        ["Motif", "Orientations"],
        [[cell(row["reason"]), cell("", count=row["count"])] for row in figures["reasons"]],
        empty="Aucune orientation hors convention sur cette période.",
    )

    def chart():
        series = [(label, [row["counts"][i] for row in figures["months"]]) for i, label in enumerate(labels)]
        return insight_charts.stacked_bars(
            "Orientations par mois et par classement",
            [_short_month(row["month"]) for row in figures["months"]],
            series,
        )

    return [months, reasons], chart, {}


def _outside_services(network, filters, request):
    rows = insight.outside_services(network, filters)
    conventions = insight.conventions_in_force(network)
    today = timezone.localdate().isoformat()
    add_url = reverse("admin:partners_conventionmembership_add")

    def actions(service):
        return [
            (
                f"Ajouter à « {convention.title} »",
                f"{add_url}?convention={convention.pk}&service={service.pk}&joined_on={today}",
            )
            for convention in conventions
        ]

    table = Table(
        "services",
        "Services hors convention les plus sollicités par les membres du réseau",
        [
            "Service",
            "Organisation",
            "Orientations",
            "Services orienteurs distincts",
            "Taux d'acceptation",
            "Besoins couverts",
            None,  # the action column: not exported
        ],
        [
            [
                cell(row["service"].name, url=reverse("partners:service_detail", args=[row["service"].pk])),
                cell(row["service"].organisation.name),
                cell("", count=row["count"]),
                cell("", count=row["senders"]),
                cell(_percent(row["acceptance_rate"]), rate=(row["accepted"], row["answered"])),
                cell(", ".join(row["needs"]) or "—"),
                cell("", links=actions(row["service"]), export=False),
            ]
            for row in rows
        ],
        empty="Aucune orientation hors convention sur cette période.",
    )

    def chart():
        return insight_charts.horizontal_bars(
            "Orientations vers les services hors convention les plus sollicités",
            [(_service_label(row["service"]), row["count"]) for row in rows[:10]],
            "Orientations",
        )

    return [table], chart, {"conventions": conventions}


def _gaps(network, filters, request):
    figures = insight.gaps(network, filters)
    place_header = "Commune" if figures["by_commune"] else "Département"

    def place_cell(place):
        if figures["by_commune"] or not place:
            return cell(place or "Non renseigné")
        query = request.GET.copy()
        query["departement"] = place
        query.pop("format", None)
        return cell(place, url=f"?{query.urlencode()}")

    table = Table(
        "manques",
        f"Besoins sans partenaire, par besoin et par {place_header.lower()}",
        [
            "Besoin",
            place_header,
            "Orientations sans partenaire",
            "Besoins sans aucun service (routage)",
            "Total",
        ],
        [
            [
                cell(row["need"]),
                place_cell(row["place"]),
                cell("", count=row["no_partner"]),
                cell("", count=row["no_service"]),
                cell("", count=row["total"], heat=row["heat"]),
            ]
            for row in figures["rows"]
        ],
        mask=True,
        totals={4: [2, 3]},
        empty="Aucun besoin sans partenaire sur cette période.",
    )

    def chart():
        # Only the totals the table publishes: adding a masked cell would let it be read back.
        per_need = {}
        for row, shown in zip(figures["rows"], table.displayed_rows(), strict=True):
            if isinstance(shown[4]["text"], int):
                per_need[row["need"]] = per_need.get(row["need"], 0) + row["total"]
        ranked = sorted(per_need.items(), key=lambda item: (-item[1], item[0]))[:10]
        return insight_charts.horizontal_bars(
            "Besoins sans partenaire (effectifs publiés, 5 et plus)", ranked, "Besoins"
        )

    return [table], chart, {"by_commune": figures["by_commune"]}


def _responsiveness(network, filters, request):
    figures = insight.responsiveness(network, filters)
    members = Table(
        "membres",
        "Réactivité des services membres",
        [
            "Service membre",
            "Orientations reçues",
            "Délai médian de réponse (jours)",
            "Répondu sous 10 jours",
            "Taux de refus",
            "Motifs de refus",
            "Expirées sans réponse",
            "Dormant (rien reçu en 12 mois)",
        ],
        [
            [
                cell(row["service"].name, url=reverse("partners:service_detail", args=[row["service"].pk])),
                cell("", count=row["count"]),
                cell(_number(row["median_days"]), rate=(None, row["answered"])),
                cell(_percent(row["answered_fast_rate"]), rate=(row["answered_fast"], row["count"])),
                cell(_percent(row["refusal_rate"]), rate=(row["refused"], row["answered"])),
                cell(", ".join(row["refusal_reasons"]) or "—"),
                cell("", count=row["expired"]),
                cell("Oui" if row["dormant"] else "Non"),
            ]
            for row in figures["rows"]
        ],
        empty="Aucun service membre d'une convention en vigueur.",
    )
    reasons = Table(
        "refus",
        "Motifs de refus des services membres",
        ["Motif", "Orientations"],
        [[cell(row["reason"]), cell("", count=row["count"])] for row in figures["refusal_reasons"]],
        empty="Aucun refus sur cette période.",
    )

    def chart():
        # Medians on fewer than 5 answers are masked in the table: left out of the chart too.
        answered = [row for row in figures["rows"] if row["answered"] >= insight.MASK_BELOW]
        return insight_charts.horizontal_bars(
            "Délai médian de réponse des services membres (jours)",
            [(_service_label(row["service"]), row["median_days"]) for row in answered[:15]],
            "Jours",
        )

    return [members, reasons], chart, {"dormant": figures["dormant"]}


def _concentration(network, filters, request):
    quarters = insight.concentration_by_quarter(network, filters)
    table = Table(
        "trimestres",
        "Concentration des orientations par organisation destinataire, par trimestre",
        ["Trimestre", "Orientations", "Part des 3 premières organisations", "Indice de Herfindahl-Hirschman"],
        [
            [
                cell(row["label"]),
                cell("", count=row["total"]),
                cell(_percent(row["top3_share"]), rate=(None, row["total"])),
                cell(str(row["hhi"]), rate=(None, row["total"])),
            ]
            for row in quarters
        ],
    )

    def chart():
        return insight_charts.lines(
            "Indice de Herfindahl-Hirschman par trimestre (0 à 10 000)",
            [row["label"] for row in quarters],
            [("Indice HHI", [None if _small(row["total"]) else row["hhi"] for row in quarters])],
            range=(0, 10000),
        )

    return [table], chart, {}


def _freshness(network, filters, request):
    figures = insight.freshness(network)

    def service_row(service, day):
        return [
            cell(service.name, url=reverse("partners:service_detail", args=[service.pk])),
            cell(service.organisation.name),
            cell(date_format(day, "j F Y") if day else "Jamais"),
        ]

    stale = Table(
        "perimes",
        "Services membres non vérifiés depuis 12 mois",
        ["Service", "Organisation", "Vérifié le"],
        [service_row(s, s.verified_on) for s in figures["stale"]],
        empty="Tous les services membres ont été vérifiés dans les 12 derniers mois.",
    )
    capacity = Table(
        "disponibilite",
        "Services membres dont la disponibilité date de plus de 3 mois",
        ["Service", "Organisation", "Disponibilité mise à jour le"],
        [service_row(s, s.capacity_updated_on) for s in figures["old_capacity"]],
        empty="Toutes les disponibilités ont moins de 3 mois.",
    )
    ending = Table(
        "conventions",
        "Conventions qui prennent fin dans les 90 jours",
        ["Convention", "Fin de validité"],
        [
            [
                cell(c.title, url=reverse("admin:partners_convention_change", args=[c.pk])),
                cell(date_format(c.valid_until, "j F Y")),
            ]
            for c in figures["ending"]
        ],
        empty="Aucune convention ne prend fin dans les 90 jours.",
    )

    reports = Table(
        "signalements",
        "Signalements d'erreur ouverts sur les services membres",
        ["Service", "Organisation", "Ce qui est inexact", "Signalé le"],
        [
            [
                cell(r.service.name, url=reverse("admin:partners_errorreport_change", args=[r.pk])),
                cell(r.service.organisation.name),
                cell(r.get_category_display()),
                cell(date_format(timezone.localtime(r.created_at), "j F Y")),
            ]
            for r in figures["error_reports"]
        ],
        empty="Aucun signalement d'erreur ouvert sur les services membres.",
    )

    def chart():
        return insight_charts.bars(
            "Fraîcheur de l'annuaire du réseau",
            [
                "Non vérifiés (12 mois)",
                "Disponibilité > 3 mois",
                "Conventions finissant < 90 j",
                "Signalements ouverts",
            ],
            [
                (
                    "Nombre",
                    [
                        len(figures["stale"]),
                        len(figures["old_capacity"]),
                        len(figures["ending"]),
                        len(figures["error_reports"]),
                    ],
                )
            ],
        )

    return [stale, capacity, ending, reports], chart, {}


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    intro: str
    build: object
    filtered: bool = True


PAGES = {
    page.slug: page
    for page in [
        Page(
            "hors-convention",
            "Orientations hors convention",
            "Part des orientations vers un partenaire conventionné, hors convention ou sans partenaire, mois par "
            "mois, et les motifs donnés pour sortir de la convention.",
            _off_convention,
        ),
        Page(
            "a-inviter",
            "Services à inviter",
            "Les services hors convention que les membres du réseau sollicitent le plus : des candidats à "
            "inviter dans une convention.",
            _outside_services,
        ),
        Page(
            "manques",
            "Besoins sans partenaire",
            "Les besoins, par territoire, pour lesquels aucun partenaire n'existait ou pour lesquels le routage "
            "n'a trouvé aucun service. Les effectifs inférieurs à 5 sont masqués.",
            _gaps,
        ),
        Page(
            "reactivite",
            "Réactivité des partenaires",
            "Pour chaque service membre : orientations reçues, délai médian de réponse, réponses sous 10 jours, "
            "refus et orientations expirées. Les membres qui n'ont rien reçu en 12 mois sont dits dormants.",
            _responsiveness,
        ),
        Page(
            "concentration",
            "Concentration",
            "Part des trois premières organisations et indice de Herfindahl-Hirschman des orientations par "
            "organisation destinataire : au-delà de 2 500, le réseau dépend fortement de quelques structures.",
            _concentration,
        ),
        Page(
            "fraicheur",
            "Fraîcheur de l'annuaire",
            "Services membres à vérifier, disponibilités anciennes, conventions qui arrivent à échéance et "
            "signalements d'erreur ouverts.",
            _freshness,
            filtered=False,
        ),
    ]
}


def _load_network(request, network_id):
    return get_object_or_404(Network.objects.coordinated_by(request.user), pk=network_id)


@require_GET
def insight_index(request, network_id):
    network = _load_network(request, network_id)
    figures = insight.headline(network)
    few = _small(figures["total"])  # shares of fewer than 5 referrals are masked
    return render(
        request,
        "insight/index.html",
        {
            "network": network,
            "figures": figures,
            "off_rate": insight.WITHHELD if few else _percent(figures["off_rate"]),
            "answered_fast_rate": insight.WITHHELD if few else _percent(figures["answered_fast_rate"]),
            "hhi": insight.WITHHELD if few else figures["hhi"],
            "first_month": _month_label(figures["period"].first),
            "last_month": _month_label(figures["period"].last),
            "pages": PAGES.values(),
        },
    )


def _page_figures(request, network_id, slug):
    page = PAGES.get(slug)
    if page is None:
        raise Http404
    network = _load_network(request, network_id)
    form = InsightFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else insight.Filters(form.default_period)
    tables, chart, extra = page.build(network, filters, request)
    return page, network, form, filters, tables, chart, extra


@require_GET
def insight_page(request, network_id, slug):
    page, network, form, filters, tables, chart, extra = _page_figures(request, network_id, slug)
    if request.GET.get("format") == "csv":
        wanted = request.GET.get("tableau") or tables[0].slug
        table = next((t for t in tables if t.slug == wanted), None)
        if table is None:
            raise Http404
        return _csv_response(network, page, table)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("tableau", None)
    querystring = query.urlencode()
    return render(
        request,
        "insight/page.html",
        {
            "network": network,
            "page": page,
            "pages": PAGES.values(),
            "form": form,
            "filters": filters,
            "period_label": f"{_month_label(filters.period.first)} – {_month_label(filters.period.last)}",
            "tables": [
                {
                    "table": table,
                    "rows": table.displayed_rows(),
                    "csv_url": "?"
                    + "&".join(part for part in (querystring, "format=csv", f"tableau={table.slug}") if part),
                }
                for table in tables
            ],
            "chart_url": reverse("insight:chart", args=[network.pk, page.slug])
            + (f"?{querystring}" if querystring else ""),
            "extra": extra,
        },
    )


# The chart is a separate response, shown by <img>: pygal's SVG carries an inline <style>, allowed here only.
@require_GET
@csp_replace({"default-src": ["'none'"], "style-src": ["'unsafe-inline'"], "img-src": ["'none'"]})
def insight_chart(request, network_id, slug):
    page, network, form, filters, tables, chart, extra = _page_figures(request, network_id, slug)
    response = HttpResponse(chart(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _csv_response(network, page, table):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"reseau-{network.pk}-{page.slug}-{table.slug}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    headers, rows = table.export_rows()
    writer = csv.writer(response)
    writer.writerow(headers)
    writer.writerows([[_spreadsheet_safe(value) for value in row] for row in rows])
    return response


def _spreadsheet_safe(value):
    """Names come from the directory: one starting like a formula is read as text by spreadsheets."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
