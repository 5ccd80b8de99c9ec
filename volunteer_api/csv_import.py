"""Reading an uploaded CSV for an all-or-nothing import (volunteers, sites)."""
import csv
import io

from flask_babel import lazy_gettext as _l

from .errors import Invalid


def read_csv_rows(content: bytes, *, columns: tuple[str, ...], max_rows: int,
                  empty_message: str = "No rows in the file.") -> list[tuple[int, dict]]:
    """The non-blank rows of a UTF-8 CSV (BOM or not) as (line number, row); 422 for a bad file or header."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(_l("The file is not UTF-8 text."), errors={"file": ["Save the CSV as UTF-8."]}) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise Invalid(_l("The file is not a CSV."), errors={"file": [str(exc)]}) from exc
    missing = [name for name in columns if name not in header]
    if missing:
        raise Invalid(_l("The CSV header is wrong."),
                      errors={"file": [f"The header must be {','.join(columns)}; missing: {', '.join(missing)}."]})
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue  # blank lines, e.g. a trailing newline from a spreadsheet
            rows.append((reader.line_num, row))
            if len(rows) > max_rows:
                raise Invalid(_l("At most %(count)s rows per file.", count=max_rows), errors={"file": ["Too many rows."]})
    except csv.Error as exc:
        raise Invalid(_l("The file is not a CSV."), errors={"file": [f"line {reader.line_num}: {exc}"]}) from exc
    if not rows:
        raise Invalid(_l("The CSV has no rows."), errors={"file": [empty_message]})
    return rows
