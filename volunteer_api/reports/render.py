"""The monthly report as files: an XLSX workbook (openpyxl) and a PDF (reportlab), from the same figures.

Both are in Russian, the region's working language. Amounts are exact: Decimal tenge in the workbook
(formatted 0.00), the API's "1250000.00" strings in the PDF. The PDF embeds DejaVu Sans (Cyrillic and
the Kazakh letters); its path is REPORT_FONT_PATH, by default Debian's fonts-dejavu-core.
"""
import io
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..money import format_tiyn

FONT_NAME = "DejaVuSans"

TITLE = "Ежемесячный отчёт общественного мониторинга, Жамбылская область: {month}"
REASONS = {"off_site": "вне объекта", "mock_location": "поддельное местоположение", "severity": "высокая серьёзность",
           "safety_violations": "нарушения ТБ", "quality_issues": "проблемы качества"}
CHANNELS = {"call_centre_1424": "Call-центр 1424", "eotinish": "eOtinish", "department": "Департамент",
            "prosecutor": "Прокуратура"}
OUTCOMES = {"fixed": "устранено", "not_fixed": "не устранено", "unfounded": "не подтвердилось",
            "unresolved": "без решения"}
LEVELS = {"low": "низкий", "medium": "средний", "high": "высокий", "critical": "критический"}


def kzt(tiyn: int) -> Decimal:
    return Decimal(format_tiyn(tiyn))


def sections(figures: dict) -> list[tuple[str, list[str], list[list]]]:
    """(title, header, rows) for each section; amounts as Decimal tenge, the rest as they are."""
    activity, review, saved = figures["activity"], figures["review"], figures["savings"]
    outcome, quality = figures["outcomes"], figures["data_quality"]
    return [
        ("1. Активность", ["показатель", "значение"], [
            ["активных волонтёров", activity["volunteers_active"]],
            ["инспекций", activity["inspections"]],
            ["объектов охвачено", activity["sites_covered"]],
            ["объектов всего", activity["sites_total"]],
        ]),
        ("2. Отметки по причинам и районам", ["район", "всего", *REASONS.values()], [
            [row["district"], row["flagged"], *(row[reason] for reason in REASONS)]
            for row in figures["flags_by_district"]]),
        ("3. Скорость рассмотрения", ["показатель", "значение"], [
            ["рассмотрено инспекций", review["reviewed"]],
            ["медиана до рассмотрения, ч", review["median_hours_to_review"]],
            ["эскалаций", review["escalations"]],
        ]),
        ("4. Экономия бюджета", ["показатель", "количество", "сумма, ₸"], [
            ["заявлено за месяц", saved["claimed_count"], kzt(saved["claimed_tiyn"])],
            ["подтверждено за месяц", saved["approved_count"], kzt(saved["approved_tiyn"])],
            ["отклонено за месяц", saved["rejected_count"], kzt(saved["rejected_tiyn"])],
            ["подтверждено всего на конец месяца", saved["approved_to_date_count"],
             kzt(saved["approved_to_date_tiyn"])],
            *[[f"  {row['district']}", row["approved_count"], kzt(row["approved_tiyn"])]
              for row in saved["approved_to_date_by_district"]],
            ["бюджеты охваченных объектов", None, kzt(saved["budgets_monitored_tiyn"])],
        ]),
        ("5. Доля устранённых нарушений", ["район", "подтверждено", "передано", "решено", "устранено",
                                           "доля", "медиана дней"], [
            ["всего", outcome["confirmed"], outcome["referred"], outcome["resolved"], outcome["fixed"],
             outcome["fix_rate"] or "—", outcome["median_days_to_fix"]],
            *[[row["district"], row["confirmed"], None, None, row["fixed"], row["fix_rate"] or "—", None]
              for row in figures["outcomes_by_district"] if row["confirmed"]],
        ]),
        ("6. Передачи и их итоги", ["канал", "передано", *OUTCOMES.values()], [
            [CHANNELS[row["channel"]], row["referred"], *(row[key] for key in OUTCOMES)]
            for row in figures["referrals"]]),
        ("7. Десять объектов наибольшего риска", ["объект", "район", "балл", "уровень"], [
            [row["name"], row["district"], row["score"], LEVELS[row["level"]]] for row in figures["riskiest_sites"]]),
        ("8. Качество данных", ["показатель", "значение"], [
            ["инспекций вне объекта", quality["off_site"]],
            ["поддельное местоположение", quality["mock_location"]],
            ["фото снято вне объекта (EXIF GPS)", quality["photo_location_mismatches"]],
            ["время съёмки фото расходится с инспекцией более чем на сутки (EXIF)",
             quality["photo_time_mismatches"]],
        ]),
    ]


def write_xlsx(figures: dict, *, generated_at: datetime) -> bytes:
    """The report as a workbook: one sheet, the sections one under another."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = figures["month"]
    sheet.append([TITLE.format(month=figures["month"])])
    for title, header, rows in sections(figures):
        sheet.append([])
        sheet.append([title])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    sheet.column_dimensions["A"].width = 42
    # The document's own times are the report's, so two makings of a month differ only in the zip's clock.
    workbook.properties.created = workbook.properties.modified = generated_at.replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _pdf_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def write_pdf(figures: dict, *, font_path: str) -> bytes:
    """The report as an A4 PDF with a table per section."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, font_path))
    title_style = ParagraphStyle("title", fontName=FONT_NAME, fontSize=14, leading=18, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=FONT_NAME, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
    cell_style = ParagraphStyle("cell", fontName=FONT_NAME, fontSize=8, leading=10)
    story = [Paragraph(TITLE.format(month=figures["month"]), title_style)]
    for title, header, rows in sections(figures):
        story.append(Paragraph(title, heading))
        data = [[Paragraph(text, cell_style) for text in header]]
        data += [[Paragraph(_pdf_cell(value), cell_style) for value in row] for row in rows] or [["—"]]
        table = Table(data, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [table, Spacer(1, 2 * mm)]
    buffer = io.BytesIO()
    # invariant: no creation date or random id in the file, so the same figures give the same bytes.
    document = SimpleDocTemplate(buffer, pagesize=A4, title=TITLE.format(month=figures["month"]),
                                 leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                                 invariant=1)
    document.build(story)
    return buffer.getvalue()
