"""Reading an uploaded CSV for an all-or-nothing import (volunteers, sites)."""
import csv
import io

from flask_babel import lazy_gettext as _l

from .errors import Invalid
from .security import MAX_REPORTED_FIELDS, UNSTORABLE_TEXT

# Excel saves "CSV" with the list separator of its locale: semicolons in Russian and Kazakh ones.
DELIMITERS = ",;\t"


def read_csv_rows(content: bytes, *, columns: tuple[str, ...], max_rows: int,
                  empty_message=_l("No rows in the file.")) -> list[tuple[int, dict]]:
    """The non-blank rows of a UTF-8 CSV (BOM or not) as (line number, row); 422 for a bad file or header."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(_l("The file is not UTF-8 text."), errors={"file": [str(_l("Save the CSV as UTF-8."))]}) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise Invalid(_l("The file is not a CSV."), errors={"file": [str(exc)]}) from exc
    missing = [name for name in columns if name not in header]
    if missing:
        raise Invalid(_l("The CSV header is wrong."),
                      errors={"file": [str(_l("The header must be %(columns)s (separated by commas, semicolons or tabs); "
                                              "missing: %(missing)s.", columns=",".join(columns),
                                              missing=", ".join(missing)))]})
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue  # blank lines, e.g. a trailing newline from a spreadsheet
            rows.append((reader.line_num, row))
            if len(rows) > max_rows:
                raise Invalid(_l("At most %(count)s rows per file.", count=max_rows), errors={"file": [str(_l("Too many rows."))]})
    except csv.Error as exc:
        raise Invalid(_l("The file is not a CSV."),
                      errors={"file": [str(_l("line %(line)s: %(problem)s", line=reader.line_num, problem=exc))]}) from exc
    if not rows:
        raise Invalid(_l("The CSV has no rows."), errors={"file": [str(empty_message)]})
    if "\x00" in text:  # the only text no column may hold that a UTF-8 file can carry
        _refuse_nul_cells(rows)
    return rows


def _refuse_nul_cells(rows: list[tuple[int, dict]]) -> None:
    """422 naming the rows and columns (at most MAX_REPORTED_FIELDS rows) with a NUL: PostgreSQL would
    refuse the statement (a 500), SQLite would store it."""
    bad = {}
    for line, row in rows:
        # A row with more cells than the header keeps the extra ones in a list under the key None.
        columns = [name or "_extra" for name, value in row.items()
                   if "\x00" in (name or "") or "\x00" in "".join(value if isinstance(value, list) else [value or ""])]
        if columns:
            bad[f"row {line}"] = {column: [str(UNSTORABLE_TEXT)] for column in columns}
            if len(bad) == MAX_REPORTED_FIELDS:
                break
    if bad:
        raise Invalid(errors=bad)


def _delimiter(text: str) -> str:
    """The column separator the header line uses (comma, semicolon or tab); a comma when it cannot tell."""
    try:
        return csv.Sniffer().sniff(text.partition("\n")[0], delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","
