"""Small counts in exports and on the gaps page: "< 5", and nothing that lets them be read back."""

import pytest

from referrals.insight_views import Table, cell


def month_row(counts, off_index=1):
    total = sum(counts)
    return [
        cell("mois"),
        *[cell("", count=n) for n in counts],
        cell("", count=total),
        cell(f"{counts[off_index]}/{total}", rate=(counts[off_index], total), over=len(counts) + 1),
    ]


def months_table(*rows):
    return Table("mois", "", ["Mois", "A", "B", "C", "Total", "Part"], list(rows), totals={4: [1, 2, 3]})


def exported(table):
    return table.export_rows()[1]


def test_a_total_that_would_reveal_a_masked_count_is_masked_too():
    table = months_table(month_row([6, 3, 0]), month_row([6, 7, 0]), month_row([0, 0, 0]))
    assert exported(table) == [
        ["mois", 6, "< 5", 0, "masqué", "masqué"],  # 9 − 6 − 0 would give the 3; 3/9 too
        ["mois", 6, 7, 0, 13, "7/13"],
        ["mois", 0, 0, 0, 0, "0/0"],
    ]


def test_a_small_total_reads_under_5_not_withheld():
    assert exported(months_table(month_row([1, 2, 0]))) == [["mois", "< 5", "< 5", 0, "< 5", "masqué"]]


def test_the_page_shows_counts_but_masks_rates_on_fewer_than_5_referrals():
    table = months_table(month_row([6, 3, 0], off_index=1), month_row([1, 2, 1], off_index=1))
    shown = [[c["text"] for c in row] for row in table.displayed_rows()]
    assert shown == [
        ["mois", 6, 3, 0, 9, "3/9"],  # the page is not an export: counts and this share are shown
        ["mois", 1, 2, 1, 4, "masqué"],  # a share of 4 referrals
    ]


@pytest.mark.parametrize(
    ("numerator", "denominator", "page", "export"),
    [(3, 10, "x", "masqué"), (0, 10, "x", "x"), (6, 4, "masqué", "masqué"), (None, 3, "masqué", "masqué")],
)
def test_rates(numerator, denominator, page, export):
    table = Table("t", "", ["Taux"], [[cell("x", rate=(numerator, denominator))]])
    assert table.displayed_rows()[0][0]["text"] == page
    assert exported(table) == [[export]]


def test_the_gaps_table_masks_on_the_page_as_in_the_export():
    table = Table(
        "manques",
        "",
        ["Besoin", "Lieu", "Sans partenaire", "Sans service", "Total"],
        [
            [cell("Logement"), cell("35"), cell("", count=3), cell("", count=6), cell("", count=9)],
            [cell("Santé"), cell("29"), cell("", count=5), cell("", count=6), cell("", count=11)],
        ],
        mask=True,
        totals={4: [2, 3]},
    )
    shown = [[c["text"] for c in row] for row in table.displayed_rows()]
    assert shown == [["Logement", "35", "< 5", 6, "masqué"], ["Santé", "29", 5, 6, 11]]
    assert exported(table) == shown
