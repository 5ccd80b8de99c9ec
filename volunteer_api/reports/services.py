"""Making, keeping, e-mailing and handing out the monthly report."""
import hashlib
import logging
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..alerts import channels
from ..errors import Invalid
from ..database import db, insert_unless_duplicate
from ..jobs import enqueue, names
from ..people.models import User
from ..timestamps import ALMATY, utcnow
from . import figures as report_figures
from .models import MonthlyReport

log = logging.getLogger(__name__)

MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def current_month(now: datetime | None = None) -> str:
    return (now or utcnow()).astimezone(ALMATY).strftime("%Y-%m")


def previous_month(now: datetime | None = None) -> str:
    year, month = (int(part) for part in current_month(now).split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def build_report(month: str) -> dict:
    """The month's figures and both files with their sha256 (nothing stored)."""
    from . import render  # openpyxl and reportlab: ~30 MB a web worker need not hold for a monthly job

    generated_at = utcnow()
    figures = report_figures.gather(month)
    xlsx = render.write_xlsx(figures, generated_at=generated_at)
    pdf = render.write_pdf(figures, font_path=current_app.config["REPORT_FONT_PATH"])
    return {"month": month, "figures": figures, "xlsx": xlsx, "xlsx_sha256": hashlib.sha256(xlsx).hexdigest(),
            "pdf": pdf, "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "generated_at": generated_at}


def make_monthly_report(month: str) -> MonthlyReport:
    """Make and keep the month's report unless it is kept already (two beats make it once); e-mail it."""
    kept = db.session.get(MonthlyReport, month)
    if kept is not None:
        return kept
    report = insert_unless_duplicate(MonthlyReport, build_report(month))
    if report is None:  # another worker kept it first
        db.session.rollback()
        return db.session.get(MonthlyReport, month)
    enqueue(names.EMAIL_MONTHLY_REPORT, month=month)
    db.session.commit()
    log.info("monthly report %s made (xlsx %s, pdf %s)", month, report.xlsx_sha256, report.pdf_sha256)
    return report


def make_last_month_report() -> str:
    """Make last month's report (Asia/Almaty): the first run on the 1st does it, later runs find it kept."""
    month = previous_month()
    make_monthly_report(month)
    return month


def email_monthly_report(*, month: str) -> int:
    """E-mail the month's report, both files attached, to every active admin with an address (SMTP_URL)."""
    report = db.session.get(MonthlyReport, month, with_for_update=True)
    smtp_url = current_app.config.get("SMTP_URL")
    if report is None or report.emailed_at is not None or not smtp_url:
        return 0
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True),
                                                   User.email.is_not(None)).order_by(User.id)).all()
    attachments = ((f"report-{month}.xlsx", MEDIA_TYPES["xlsx"], report.xlsx),
                   (f"report-{month}.pdf", MEDIA_TYPES["pdf"], report.pdf))
    for admin in admins:
        channels.send_email(
            smtp_url=smtp_url, sender=current_app.config["SMTP_FROM"], to=admin.email,
            subject=f"Ежемесячный отчёт {month} — Волонтёрский мониторинг",
            body=(f"Отчёт за {month} во вложении.\nSHA-256 XLSX: {report.xlsx_sha256}\n"
                  f"SHA-256 PDF: {report.pdf_sha256}\n"),
            message_id=f"<report-{month}-{admin.id}@volunteer-monitor>", attachments=attachments)
    report.emailed_at = utcnow()
    return len(admins)


def check_month(month: str) -> None:
    """A month that is over (Asia/Almaty): its report can be made."""
    if month >= current_month():
        raise Invalid(errors={"month": [str(_l("The month is not over yet."))]})


def monthly_report_file(*, month: str, file_format: str) -> tuple[bytes, str, str]:
    """The kept report of a past month (made now if it never was): (bytes, media type, sha256)."""
    check_month(month)
    report = make_monthly_report(month)
    content = report.xlsx if file_format == "xlsx" else report.pdf
    return content, MEDIA_TYPES[file_format], report.xlsx_sha256 if file_format == "xlsx" else report.pdf_sha256
