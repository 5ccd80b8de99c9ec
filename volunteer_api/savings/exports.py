"""The agency's monthly report: approved savings as CSV (streamed) or XLSX (openpyxl write-only).

Rows are read with `yield_per`, never the whole table at once. Amounts stay exact: a decimal string in
CSV, a Decimal (written as its exact digits) with a 0.00 format in XLSX.
"""
import csv
import io
import re
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..errors import Invalid
from ..extensions import db
from ..money import format_tiyn
from ..people.models import User
from ..sites.models import Site
from ..timestamps import format_utc
from .models import SavingsReport

COLUMNS = ("saving_id", "approved_at_utc", "reported_at_utc", "site_id", "site_name", "district",
           "volunteer_badge", "category", "amount_kzt", "description")
BATCH = 1000
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Where a CSV reader may start a cell: our users' Excel (ru/kk locale) splits on ";", others on "," or
# tab, and a reader may break lines inside a quoted field. A quote or space before the trigger does not
# disarm it (the reader strips the quote), so a "'" goes right after the separator.
_CSV_TRIGGER = re.compile(r"(?:^|(?<=[,;\t\r\n]))(?=[\" ]*[=+\-@\t\r])")


def _export_query(*, user: User, date_from: date | None, date_to: date | None, district: str | None):
    stmt = (
        select(SavingsReport.id, SavingsReport.reviewed_at, SavingsReport.created_at, SavingsReport.site_id,
               Site.name, SavingsReport.district, User.badge_number, SavingsReport.category,
               SavingsReport.amount_tiyn, SavingsReport.description)
        .join(Site, Site.id == SavingsReport.site_id)
        .join(User, User.id == SavingsReport.volunteer_id)
        .where(SavingsReport.status == "approved")
    )
    if date_from:
        stmt = stmt.where(SavingsReport.reviewed_at >= datetime.combine(date_from, time(), timezone.utc))
    if date_to:
        stmt = stmt.where(SavingsReport.reviewed_at < datetime.combine(date_to + timedelta(days=1), time(), timezone.utc))
    if district:
        stmt = stmt.where(SavingsReport.district == district)
    if user.role == "inspector":
        stmt = stmt.where(SavingsReport.district.in_(user.districts))
    return stmt


def check_period(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise Invalid(errors={"to": [str(_l("The end date is before the start date."))]})


def _rows(stmt) -> Iterator:
    ordered = stmt.order_by(SavingsReport.reviewed_at, SavingsReport.id).execution_options(yield_per=BATCH)
    yield from db.session.execute(ordered)


def _text(value: str | None) -> str:
    """A text cell of the workbook: a leading formula trigger is disarmed with "'" (XLSX cells are not split)."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value or ""


def _csv_text(value: str | None) -> str:
    """A text field of the CSV: "'" before a formula trigger at its start and after every separator a
    spreadsheet may split it on, so no cell starts with one whichever separator the reader uses."""
    return _CSV_TRIGGER.sub("'", value) if value else ""


def stream_csv(*, user: User, date_from: date | None = None, date_to: date | None = None,
               district: str | None = None) -> Iterator[str]:
    """The approved savings as CSV text chunks (UTF-8 with a BOM, which spreadsheet programs expect)."""
    check_period(date_from, date_to)
    stmt = _export_query(user=user, date_from=date_from, date_to=date_to, district=district)

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow(COLUMNS)
        for count, row in enumerate(_rows(stmt), start=1):
            writer.writerow((row.id, format_utc(row.reviewed_at), format_utc(row.created_at), row.site_id,
                             _csv_text(row.name), row.district, row.badge_number or "", row.category,
                             format_tiyn(row.amount_tiyn), _csv_text(row.description)))
            if count % BATCH == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return generate()


def _naive_utc(value: datetime) -> datetime:
    # Excel has no time zones: the header says UTC.
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def write_xlsx(*, user: User, date_from: date | None = None, date_to: date | None = None,
               district: str | None = None):
    """The approved savings as an XLSX workbook in a temporary file (rewound, ready to send)."""
    check_period(date_from, date_to)
    stmt = _export_query(user=user, date_from=date_from, date_to=date_to, district=district)
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    if count > XLSX_MAX_ROWS:
        raise Invalid(str(_l("Too many rows for one worksheet; choose a shorter period or use the CSV export.")),
                      errors={"from": [str(_l("Choose a shorter period."))]})
    # Imported here: openpyxl is ~20 MB a web worker need not hold until someone exports.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("savings")
    sheet.append(COLUMNS)
    for row in _rows(stmt):
        amount = WriteOnlyCell(sheet, value=Decimal(format_tiyn(row.amount_tiyn)))
        amount.number_format = "#,##0.00"
        approved = WriteOnlyCell(sheet, value=_naive_utc(row.reviewed_at))
        approved.number_format = "yyyy-mm-dd hh:mm:ss"
        reported = WriteOnlyCell(sheet, value=_naive_utc(row.created_at))
        reported.number_format = "yyyy-mm-dd hh:mm:ss"
        sheet.append([str(row.id), approved, reported, str(row.site_id), _text(row.name), row.district,
                      row.badge_number or "", row.category, amount, _text(row.description)])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle
