"""The monthly report: made for last month, kept with its sha256, e-mailed, and its totals exact to the tiyn."""
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update

from tests.field_support import create_site, file_inspection
from tests.test_alert_channels import smtp  # noqa: F401 - the local SMTP server fixture
from tests.test_cases import confirmed_case, refer, resolve
from tests.test_photo_reading import camera_exif, two_colour_photo, upload
from volunteer_api.cases.outcomes import recompute_outcomes
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection
from volunteer_api.reports import figures as report_figures
from volunteer_api.reports.models import MonthlyReport
from volunteer_api.reports.services import build_report, email_monthly_report, make_last_month_report, previous_month
from volunteer_api.risk.services import reassess_all_risks
from volunteer_api.savings.models import SavingsReport
from volunteer_api.savings.totals import recompute_totals
from volunteer_api.timestamps import format_utc

V1 = "/api/v1"


def file_saving(client, volunteer, site_id, amount):
    import uuid

    response = client.post(f"{V1}/savings", headers=volunteer.headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site_id, "amount_kzt": amount,
        "category": "overpricing_prevented", "description": "Cement at twice the price."})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def last_month(app, client, admin, volunteer, inspector, make_volunteer, run_jobs):
    """A month of work, all of it moved into last month (Asia/Almaty), the workers' figures recomputed."""
    site = create_site(client, admin)
    merke = create_site(client, admin, name="Merke clinic", kind="clinic", district="merke",
                        location={"lat": 42.87, "lon": 73.18})
    case = confirmed_case(client, volunteer, inspector, site["id"])
    confirmed_case(client, volunteer, inspector, site["id"])
    assert refer(client, inspector, case["id"]).status_code == 200
    mocked = file_inspection(client, volunteer, site["id"], mock=True)
    # Its camera says May, the filing says now: a photo time mismatch; the other photo has no camera time.
    upload(client, volunteer, mocked["id"], two_colour_photo(exif=camera_exif(taken="2026:05:14 10:30:00")))
    upload(client, volunteer, mocked["id"], two_colour_photo(size=(300, 200)))
    merke_volunteer = make_volunteer("merke")
    file_inspection(client, merke_volunteer, merke["id"])
    decisions = [("250000.00", "approved", site), ("1000.55", "approved", merke), ("99.99", "rejected", site),
                 ("5000.00", None, site)]
    for amount, decision, where in decisions:
        saving = file_saving(client, volunteer if where is site else merke_volunteer, where["id"], amount)
        if decision:
            reviewer = inspector if where is site else admin
            assert client.post(f"{V1}/savings/{saving['id']}/review", headers=reviewer.headers,
                               json={"decision": decision, "comment": "Checked."}).status_code == 200
    run_jobs()
    month = previous_month()
    start, end, _, _ = report_figures.month_bounds(month)
    moved_back = end - start  # every time shifts by one month's length: it lands inside last month
    with app.app_context():
        from volunteer_api.cases.models import CaseReferral
        from volunteer_api.sites.models import Site

        for model, columns in ((Inspection, ("captured_at", "received_at", "reviewed_at")),
                               (SavingsReport, ("created_at", "reviewed_at")), (CaseReferral, ("referred_at",)),
                               (Site, ("created_at",))):
            for row in db.session.scalars(db.select(model)):
                for column in columns:
                    if getattr(row, column) is not None:
                        setattr(row, column, getattr(row, column) - moved_back)
        db.session.commit()
        # Resolved after the move: its resolution comes after its (moved) confirmation.
    assert resolve(client, inspector, case["id"], resolved_at=format_utc(end - timedelta(hours=1))).status_code == 200
    run_jobs()
    with app.app_context():
        recompute_totals()
        recompute_outcomes()
        db.session.commit()
        reassess_all_risks()
    return month


def download(client, admin, month, file_format):
    response = client.get(f"{V1}/reports/monthly", headers=admin.headers,
                          query_string={"month": month, "format": file_format})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def test_the_reports_totals_equal_the_savings_totals_to_the_tiyn(client, admin, last_month):
    totals = client.get(f"{V1}/savings/totals", headers=admin.headers).get_json()
    assert totals["approved_kzt"] == "251000.55"

    response = download(client, admin, last_month, "xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    count, amount = rows["подтверждено всего на конец месяца"][:2]
    assert (count, Decimal(str(amount)).quantize(Decimal("0.01"))) == (totals["approved_count"],
                                                                       Decimal(totals["approved_kzt"]))
    for district in totals["by_district"]:
        if district["approved_count"]:
            assert Decimal(str(rows[f"  {district['district']}"][1])).quantize(Decimal("0.01")) == \
                Decimal(district["approved_kzt"])
    assert rows["подтверждено за месяц"][:2] == (2, Decimal("251000.55")) or \
        Decimal(str(rows["подтверждено за месяц"][1])) == Decimal("251000.55")
    assert rows["отклонено за месяц"][0] == 1
    assert rows["инспекций"][0] == 4
    assert rows["поддельное местоположение"][0] == 1
    assert rows["время съёмки фото расходится с инспекцией более чем на сутки (EXIF)"][0] == 1
    assert rows["фото снято вне объекта (EXIF GPS)"][0] == 0

    pdf = download(client, admin, last_month, "pdf")
    assert pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Ежемесячный отчёт" in text and "Жамбылская" in text
    assert totals["approved_kzt"] in text and "250000.00" in text and "1000.55" in text
    assert "0.50" in text  # the fix rate: 1 fixed of 2 confirmed
    assert "время съёмки фото расходится" in text


def test_the_report_is_kept_with_its_sha256_and_regenerates_the_same_figures(app, client, admin, last_month):
    import hashlib

    first = download(client, admin, last_month, "pdf")
    assert first.headers["ETag"] == f'"{hashlib.sha256(first.data).hexdigest()}"'
    again = download(client, admin, last_month, "pdf")
    assert again.data == first.data  # the kept file, not a new one
    with app.app_context():
        kept = db.session.get(MonthlyReport, last_month)
        assert kept.xlsx_sha256 == hashlib.sha256(kept.xlsx).hexdigest()
        remade = build_report(last_month)
        assert json.loads(json.dumps(remade["figures"], default=str)) == kept.figures
        assert remade["pdf_sha256"] == kept.pdf_sha256  # same figures, same bytes
        figures = kept.figures
    assert figures["outcomes"] == {"confirmed": 2, "referred": 1, "resolved": 1, "fixed": 1, "fix_rate": "0.50",
                                   "median_days_to_fix": figures["outcomes"]["median_days_to_fix"]}
    assert figures["activity"] == {"volunteers_active": 2, "inspections": 4, "sites_covered": 2, "sites_total": 2}
    assert [row["channel"] for row in figures["referrals"] if row["referred"]] == ["call_centre_1424"]
    assert figures["referrals"][0]["fixed"] == 1
    assert figures["data_quality"] == {"off_site": 1, "mock_location": 1, "photo_location_mismatches": 0,
                                       "photo_time_mismatches": 1}  # off site: the Merke filing made in Taraz
    assert len(figures["riskiest_sites"]) == 2 and figures["riskiest_sites"][0]["score"] >= 1


def test_the_beat_makes_last_months_report_once_and_emails_the_admins(app, client, admin, make_admin, smtp,
                                                                      monkeypatch, run_jobs):
    mailbox, port = smtp
    with app.app_context():
        assert make_last_month_report() == previous_month()
        assert make_last_month_report() == previous_month()
        assert db.session.query(MonthlyReport).count() == 1
        run_jobs()
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{port}")
        db.session.execute(update(MonthlyReport).values(emailed_at=None))
        db.session.commit()
        assert email_monthly_report(month=previous_month()) == 1
        db.session.commit()
        assert email_monthly_report(month=previous_month()) == 0  # sent once
    assert len(mailbox.messages) == 1
    recipients, message = mailbox.messages[0]
    names = sorted(part.get_filename() for part in message.iter_attachments())
    assert names == [f"report-{previous_month()}.pdf", f"report-{previous_month()}.xlsx"]


def test_only_a_finished_month_and_a_known_format(client, admin):
    from volunteer_api.reports.services import current_month

    for query in ({"month": current_month()}, {"month": "2026-13"}, {"month": "2026-11", "format": "docx"}, {}):
        response = client.get(f"{V1}/reports/monthly", headers=admin.headers, query_string=query)
        assert response.status_code == 422, query
