"""Exports for the agency's monthly report: approved savings only, amounts exact, by role."""
import csv
import io
import re
import zipfile
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from tests.test_savings_totals import places, seed_reports  # noqa: F401 - fixture and helper

API = "/api/v1"


@pytest.fixture
def exported(app, places):  # noqa: F811
    """Approved savings in two districts and two months, plus a pending and a rejected one."""
    sites, volunteers = places
    taraz = next(s for s, d in sites.items() if d == "taraz")
    merke = next(s for s, d in sites.items() if d == "merke")
    volunteer_id = int(volunteers[0].id)
    seed_reports(app, [
        {"site_id": taraz, "district": "taraz", "volunteer_id": volunteer_id, "amount_tiyn": 99_999_999_999_999,
         "category": "contract_reduced", "description": "=HYPERLINK(\"http://evil\")",
         "reviewed_at": datetime(2026, 4, 30, 23, 59, 59, tzinfo=timezone.utc)},
        {"site_id": merke, "district": "merke", "volunteer_id": volunteer_id, "amount_tiyn": 1,
         "reviewed_at": datetime(2026, 5, 1, 0, 0, tzinfo=timezone.utc)},
        {"site_id": taraz, "district": "taraz", "volunteer_id": volunteer_id, "amount_tiyn": 12_345, "status": "pending"},
        {"site_id": taraz, "district": "taraz", "volunteer_id": volunteer_id, "amount_tiyn": 54_321,
         "status": "rejected", "reviewed_at": datetime(2026, 4, 2, tzinfo=timezone.utc)},
    ])
    return volunteers


def read_csv(response) -> list[dict]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_has_the_approved_savings_with_exact_amounts(client, admin, exported):
    response = client.get(f"{API}/savings/export.csv", headers=admin.headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert [(r["district"], r["amount_kzt"], r["approved_at_utc"]) for r in rows] == [
        ("taraz", "999999999999.99", "2026-04-30T23:59:59Z"), ("merke", "0.01", "2026-05-01T00:00:00Z")]
    assert rows[0]["volunteer_badge"].startswith("ZHB-") and rows[0]["site_name"] == "School No. 12"
    assert rows[0]["category"] == "contract_reduced"
    # A spreadsheet must not run a volunteer's text as a formula.
    assert rows[0]["description"].startswith("'=")


def test_csv_filters_by_approval_date_inclusive(client, admin, exported):
    april = read_csv(client.get(f"{API}/savings/export.csv?from=2026-04-01&to=2026-04-30", headers=admin.headers))
    assert [r["amount_kzt"] for r in april] == ["999999999999.99"]
    may = read_csv(client.get(f"{API}/savings/export.csv?from=2026-05-01", headers=admin.headers))
    assert [r["amount_kzt"] for r in may] == ["0.01"]
    backwards = client.get(f"{API}/savings/export.csv?from=2026-05-01&to=2026-04-01", headers=admin.headers)
    assert backwards.status_code == 422 and "to" in backwards.get_json()["errors"]
    assert client.get(f"{API}/savings/export.csv?from=May", headers=admin.headers).status_code == 422


def test_inspector_exports_only_their_districts_and_volunteers_none(client, make_inspector, exported):
    inspector = make_inspector(["merke"])
    rows = read_csv(client.get(f"{API}/savings/export.csv", headers=inspector.headers))
    assert [r["district"] for r in rows] == ["merke"]
    assert read_csv(client.get(f"{API}/savings/export.csv?district=taraz", headers=inspector.headers)) == []
    assert client.get(f"{API}/savings/export.csv", headers=exported[0].headers).status_code == 403
    assert client.get(f"{API}/savings/export.xlsx", headers=exported[0].headers).status_code == 403
    assert client.get(f"{API}/savings/export.csv").status_code == 401


def test_xlsx_holds_the_same_rows_with_exact_two_decimal_amounts(client, admin, exported):
    response = client.get(f"{API}/savings/export.xlsx", headers=admin.headers)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    content = response.get_data()
    sheet = load_workbook(io.BytesIO(content), read_only=True)["savings"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("saving_id", "approved_at_utc", "reported_at_utc")
    amount_col = header.index("amount_kzt")
    assert [row[header.index("district")] for row in rows[1:]] == ["taraz", "merke"]
    assert rows[1][1] == datetime(2026, 4, 30, 23, 59, 59)
    # The stored digits, not a float's rendering: read the sheet's XML.
    xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    values = re.findall(r'<c r="I\d+"[^>]*t="n"[^>]*><v>([^<]+)</v>', xml)
    assert values == ["999999999999.99", "0.01"]
    styled = load_workbook(io.BytesIO(content))["savings"]
    assert styled.cell(row=2, column=amount_col + 1).number_format == "#,##0.00"
    assert rows[1][header.index("description")].startswith("'=")


def test_exports_of_an_empty_period_have_only_the_header(client, admin, exported):
    rows = read_csv(client.get(f"{API}/savings/export.csv?from=2030-01-01", headers=admin.headers))
    assert rows == []
    response = client.get(f"{API}/savings/export.xlsx?from=2030-01-01", headers=admin.headers)
    assert len(list(load_workbook(io.BytesIO(response.get_data()), read_only=True)["savings"].iter_rows())) == 1


HOSTILE_TEXTS = ["Экономия;=1+1", "смета, -2+3", "итог;\"=HYPERLINK(\"\"http://evil\"\")\"", "a\t@SUM(A1)",
                 "строка\n=cmd|' /C calc'!A0", "\r+1", "цена; @x, =y\t-z", "-", "обычный текст; 5 %"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_csv_cell_starts_a_formula_whichever_separator_the_reader_splits_on(app, client, admin, make_site,
                                                                              places, delimiter):  # noqa: F811
    _sites, volunteers = places
    site = int(make_site("taraz", name="Школа;=2+2, @A1"))
    seed_reports(app, [{"site_id": site, "district": "taraz", "volunteer_id": int(volunteers[0].id),
                        "amount_tiyn": 100 + n, "description": text} for n, text in enumerate(HOSTILE_TEXTS)])
    text = client.get(f"{API}/savings/export.csv", headers=admin.headers).get_data(as_text=True)[1:]
    cells = [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]
    assert len(cells) > len(HOSTILE_TEXTS)
    assert [cell for cell in cells if cell.lstrip(" \"").startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    # Read as intended (","), each text is still there, only disarmed.
    if delimiter == ",":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [row["description"].replace("'", "") for row in rows] == [t.replace("'", "") for t in HOSTILE_TEXTS]
        assert rows[0]["site_name"] == "Школа;'=2+2,' @A1"
