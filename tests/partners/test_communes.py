import csv
import gzip
import io

import pytest
from django.core.management import call_command

from partners.communes import COLUMNS, DEFAULT_PATH, load_communes
from partners.models import Commune, Postcode
from tests.factories import CommuneFactory, ServiceFactory

pytestmark = pytest.mark.django_db

RENNES = ["35238", "Rennes", "35", "230890", "35000 35200 35700", "48.1115", "-1.6795"]
SAINT_ETIENNE = ["42218", "Saint-Étienne", "42", "173136", "42000 42100 42230", "45.4397", "4.3872"]
AJACCIO = ["2A004", "Ajaccio", "2A", "", "20000 20090 20167", "41.9189", "8.7381"]
PAPEETE = ["98735", "Papeete", "987", "26926", "98714", "", ""]
ROWS = [AJACCIO, RENNES, SAINT_ETIENNE, PAPEETE]

# Loose boxes (lat_min, lat_max, lon_min, lon_max): mainland and Corsica, then overseas departments.
BOXES = {
    "metro": (41.3, 51.2, -5.3, 9.6),
    "971": (15.8, 16.6, -61.9, -60.9),
    "972": (14.3, 14.95, -61.3, -60.75),
    "973": (2.1, 5.9, -54.7, -51.5),
    "974": (-21.45, -20.85, 55.2, 55.85),
    "976": (-13.05, -12.6, 44.95, 45.35),
}


def write_file(path, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    with gzip.open(path, "wb") as f:
        f.write(buffer.getvalue().encode("utf-8"))
    return path


@pytest.fixture
def communes_file(tmp_path):
    return write_file(tmp_path / "communes.csv.gz", ROWS)


def postcodes_of(insee_code):
    return set(Postcode.objects.filter(commune_id=insee_code).values_list("code", flat=True))


def test_loader_creates_communes_and_postcodes(communes_file):
    counts = load_communes(path=communes_file)

    assert counts == {
        "communes": 4,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "postcodes": 10,
        "postcodes_created": 10,
        "postcodes_deleted": 0,
    }
    rennes = Commune.objects.get(pk="35238")
    assert (rennes.name, rennes.department, rennes.population) == ("Rennes", "35", 230890)
    assert (rennes.latitude, rennes.longitude) == (48.1115, -1.6795)
    assert postcodes_of("35238") == {"35000", "35200", "35700"}
    assert Commune.objects.get(pk="42218").search_name == "saint etienne"
    assert Commune.objects.get(pk="2A004").population is None
    papeete = Commune.objects.get(pk="98735")
    assert (papeete.latitude, papeete.longitude) == (None, None)


def test_reloading_is_idempotent(communes_file):
    load_communes(path=communes_file)

    counts = load_communes(path=communes_file)

    assert counts["created"] == counts["updated"] == 0
    assert counts["unchanged"] == 4
    assert counts["postcodes_created"] == counts["postcodes_deleted"] == 0
    assert Commune.objects.count() == 4
    assert Postcode.objects.count() == 10


def test_changes_in_the_file_are_applied(tmp_path, communes_file):
    load_communes(path=communes_file)
    renamed = ["42218", "Saint-Étienne-la-Grande", "42", "173500", "42000 42100 42230", "45.44", "4.39"]
    moved = [*RENNES[:4], "35000 35200 35900", *RENNES[5:]]
    changed = write_file(tmp_path / "changed.csv.gz", [AJACCIO, moved, renamed, PAPEETE])

    counts = load_communes(path=changed, batch_size=1)

    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 3)
    assert (counts["postcodes_created"], counts["postcodes_deleted"]) == (1, 1)
    saint_etienne = Commune.objects.get(pk="42218")
    assert saint_etienne.name == "Saint-Étienne-la-Grande"
    assert saint_etienne.search_name == "saint etienne la grande"
    assert (saint_etienne.population, saint_etienne.latitude, saint_etienne.longitude) == (
        173500,
        45.44,
        4.39,
    )
    assert postcodes_of("35238") == {"35000", "35200", "35900"}


def test_communes_missing_from_the_file_are_kept(communes_file):
    gone = CommuneFactory(insee_code="35999", name="Ancienne commune", postcodes=["35990"])
    service = ServiceFactory(commune=gone)

    load_communes(path=communes_file)

    assert Commune.objects.filter(pk="35999").exists()
    assert postcodes_of("35999") == {"35990"}
    service.refresh_from_db()
    assert service.commune_id == "35999"


def test_a_file_with_unexpected_columns_is_refused(tmp_path):
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("code,nom\n35238,Rennes\n")

    with pytest.raises(ValueError, match="expected columns"):
        load_communes(path=path)
    assert not Commune.objects.exists()


def test_command_loads_and_reports(communes_file):
    out = io.StringIO()

    call_command("load_communes", path=communes_file, stdout=out)

    assert "4 créées" in out.getvalue()
    assert "10 ajoutés" in out.getvalue()
    assert Commune.objects.count() == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("35000", {"35238"}),
        ("35700", {"35238"}),
        ("saint-etienne", {"42218"}),
        ("Saint-Étienne", {"42218"}),
        ("  SAINT ETIENNE ", {"42218"}),
        ("rennes", {"35238"}),
        ("99999", set()),
        ("", set()),
    ],
)
def test_matching_place_by_postcode_or_name(communes_file, text, expected):
    load_communes(path=communes_file)

    assert set(Commune.objects.matching_place(text).values_list("pk", flat=True)) == expected


# --- The vendored file ------------------------------------------------------------------------


def read_vendored():
    with gzip.open(DEFAULT_PATH, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_vendored_file_is_small_complete_and_plausible():
    assert DEFAULT_PATH.exists()
    assert DEFAULT_PATH.stat().st_size < 1_000_000
    rows = read_vendored()
    assert len(rows) > 34_000
    codes = [row["insee_code"] for row in rows]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    assert {code[:2] for code in codes} >= {"2A", "2B"}

    located = [row for row in rows if row["latitude"]]
    assert len(located) >= 0.99 * len(rows)
    outside = []
    for row in located:
        department = row["department"]
        box = BOXES.get(department if department.startswith("97") else "metro")
        lat, lon = float(row["latitude"]), float(row["longitude"])
        if box is None or not (box[0] <= lat <= box[1] and box[2] <= lon <= box[3]):
            outside.append((row["insee_code"], lat, lon))
    assert outside == []
    assert all(bool(row["latitude"]) == bool(row["longitude"]) for row in rows)


def test_vendored_file_loads_with_known_communes():
    counts = load_communes()

    assert counts["created"] == counts["communes"] > 34_000
    rennes = Commune.objects.get(pk="35238")
    assert rennes.name == "Rennes"
    assert postcodes_of("35238") == {"35000", "35200", "35700"}
    assert 48.0 < rennes.latitude < 48.2 and -1.8 < rennes.longitude < -1.6
    paris = Commune.objects.get(pk="75056")
    assert paris.name == "Paris" and paris.latitude is not None
    assert set(Commune.objects.matching_place("75011").values_list("pk", flat=True)) == {"75056"}
    assert Commune.objects.get(pk="2A004").name == "Ajaccio"
    assert Commune.objects.get(pk="97105").longitude < -61  # Basse-Terre, Guadeloupe
    assert set(Commune.objects.matching_place("saint etienne").values_list("pk", flat=True)) == {"42218"}
