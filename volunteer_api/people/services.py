"""Registering and managing volunteers and inspectors."""
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.exc import IntegrityError

from ..audit.services import record_event
from ..csv_import import read_csv_rows
from ..districts.services import known_district_codes, require_districts
from ..i18n import lazy_messages
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..ids import parse_id
from ..auth.passwords import generate_password, hash_password
from ..auth.services import revoke_all_sessions, set_generated_password
from ..pagination import keyset_page
from ..sync.models import CoverageChange
from .models import InspectorDistrict, User, fold_name

IMPORT_COLUMNS = ("full_name", "phone", "email", "district")
MAX_IMPORT_ROWS = 5000
AUDITED_FIELDS = ("role", "full_name", "phone", "email", "district", "badge_number", "active", "language")


def snapshot(user: User) -> dict:
    """The audited state of an account (never the password hash)."""
    state = {name: getattr(user, name) for name in AUDITED_FIELDS}
    if user.role == "inspector":
        state["districts"] = user.districts
    return state


def _assign_badge(user: User) -> None:
    user.badge_number = f"ZHB-{user.id:06d}"


def _ensure_contacts_free(*, phone: str | None, email: str | None, exclude_id: int | None = None) -> None:
    conditions = [c for c in (User.phone == phone if phone else None, User.email == email if email else None) if c is not None]
    if not conditions:
        return
    query = select(User.phone, User.email).where(or_(*conditions))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    taken = db.session.execute(query).first()
    if taken:
        field = "phone" if phone and taken.phone == phone else "email"
        detail = _l("This phone belongs to another account.") if field == "phone" else _l("This e-mail belongs to another account.")
        raise Conflict(detail, errors={field: [_l("Already registered.")]})


def _flush_or_conflict() -> None:
    """Flush; a unique phone or e-mail taken by a concurrent request is a 409, not a 500."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_l("The phone or e-mail belongs to another account.")) from exc


def create_volunteer(*, full_name: str, phone: str, email: str | None, district: str,
                     password: str | None) -> tuple[User, str | None]:
    """Register a volunteer; returns the volunteer and the generated password (None when one was given)."""
    require_districts([district], field="district")
    _ensure_contacts_free(phone=phone, email=email)
    initial_password = None
    if password is None:
        initial_password, password_hash = generate_password()
    else:
        password_hash = hash_password(password)
    user = User(role="volunteer", full_name=full_name.strip(), phone=phone, email=email, district=district,
                password_hash=password_hash, active=True, must_change_password=initial_password is not None)
    db.session.add(user)
    _flush_or_conflict()
    _assign_badge(user)
    record_event(action="volunteer.created", object_type="user", object_id=user.id, after=snapshot(user))
    db.session.commit()
    return user, initial_password


def check_volunteer_import(*, content: bytes) -> list[dict]:
    """The rows an import of this CSV would create; the import's 422 naming the bad rows (`row N`) if any."""
    checked, errors = _check_volunteer_rows(content)
    if errors:
        raise Invalid(_l("%(bad)s of %(total)s rows are invalid; nothing was imported.", bad=len(errors),
                         total=len(checked)), errors=errors)
    return checked


def import_volunteers(*, content: bytes) -> list[tuple[User, str]]:
    """Register every volunteer of a CSV, or none: any bad row is a 422 naming the rows (`row N`, N its line).

    Returns each new volunteer with the password generated for it.
    """
    checked = check_volunteer_import(content=content)
    created = []
    for row in checked:
        password, password_hash = generate_password()
        user = User(role="volunteer", password_hash=password_hash, active=True, must_change_password=True,
                    **row["values"])
        db.session.add(user)
        created.append((user, password))
    _flush_or_conflict()
    for user, _ in created:
        _assign_badge(user)
        record_event(action="volunteer.imported", object_type="user", object_id=user.id, after=snapshot(user))
    db.session.commit()
    return created


def preview_volunteer_import(*, content: bytes) -> dict:
    """What importing this CSV would do, row by row, writing nothing: each row's line, its values as they
    would be stored (as in the file when they break a rule) and its errors (none: it would be created)."""
    checked, errors = _check_volunteer_rows(content)
    rows = [{"row": row["line"], "values": row["values"], "errors": errors.get(row["label"], {})} for row in checked]
    return {"dry_run": True, "total": len(rows), "valid": len(rows) - len(errors), "invalid": len(errors),
            "rows": rows}


def _check_volunteer_rows(content: bytes) -> tuple[list[dict], dict[str, dict]]:
    """Every row of the CSV under the rules of one-by-one registration, against each other and the accounts
    that exist: ([{"line", "label", "values"}], errors by label `row N`). A file-level problem is a 422."""
    from .schemas import VolunteerCreateSchema  # the same rules as one-by-one registration

    rows = _read_csv(content)
    schema = VolunteerCreateSchema(exclude=("password",))
    districts = known_district_codes()
    errors: dict[str, dict] = {}
    checked: list[dict] = []
    valid: list[tuple[str, dict]] = []
    seen_phones: dict[str, int] = {}  # the line that had it first
    seen_emails: dict[str, int] = {}
    for line, row in rows:
        label = f"row {line}"
        raw = {key: (row.get(key) or "").strip() for key in IMPORT_COLUMNS}
        if not raw["email"]:
            del raw["email"]
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            errors[label] = lazy_messages(exc.messages)
            checked.append({"line": line, "label": label, "values": {"email": None, **raw}})
            continue
        row_errors = {}
        if data["district"] not in districts:
            row_errors["district"] = [_l("Unknown district: %(codes)s.", codes=data["district"])]
        if data["phone"] in seen_phones:
            row_errors["phone"] = [_l("Same phone as line %(line)s.", line=seen_phones[data["phone"]])]
        if data["email"] and data["email"] in seen_emails:
            row_errors["email"] = [_l("Same e-mail as line %(line)s.", line=seen_emails[data["email"]])]
        seen_phones.setdefault(data["phone"], line)
        if data["email"]:
            seen_emails.setdefault(data["email"], line)
        if row_errors:
            errors[label] = row_errors
        valid.append((label, data))
        checked.append({"line": line, "label": label, "values": data})
    _mark_taken_contacts(valid, errors)
    return checked, errors


def _read_csv(content: bytes) -> list[tuple[int, dict]]:
    return read_csv_rows(content, columns=IMPORT_COLUMNS, max_rows=MAX_IMPORT_ROWS,
                         empty_message=_l("No volunteers in the file."))


def _mark_taken_contacts(valid: list[tuple[str, dict]], errors: dict) -> None:
    """One query for all rows: which phones and e-mails already belong to an account."""
    phones = [data["phone"] for _, data in valid]
    emails = [data["email"] for _, data in valid if data["email"]]
    taken = db.session.execute(
        select(User.phone, User.email).where(or_(User.phone.in_(phones), User.email.in_(emails)))
    ).all()
    taken_phones = {row.phone for row in taken}
    taken_emails = {row.email for row in taken}
    for label, data in valid:
        if data["phone"] in taken_phones:
            errors.setdefault(label, {})["phone"] = [_l("Already registered.")]
        if data["email"] and data["email"] in taken_emails:  # no e-mail is no clash, whoever has none
            errors.setdefault(label, {})["email"] = [_l("Already registered.")]


def list_volunteers(*, reader: User | None = None, district: str | None = None, active: bool | None = None,
                    search: str | None = None, limit: int, cursor: str | None):
    """Volunteers, newest first, by keyset; `search` matches a part of the name or phone, or the badge number.

    With a `reader`, only those they may see: an admin all, an inspector their districts' (None: the caller
    is an admin screen).
    """
    query = select(User).where(User.role == "volunteer")
    if reader is not None and reader.role != "admin":
        query = query.where(User.district.in_(reader.districts))
    if search and search.strip():
        needle = search.strip()
        digits = "".join(ch for ch in needle if ch.isdigit())
        matches = [User.search_name.like(f"%{_escape_like(fold_name(needle))}%", escape="\\"),
                   User.badge_number == needle]
        if len(digits) >= 3:
            matches.append(User.phone.like(f"%{digits}%"))
        query = query.where(or_(*matches))
    if district is not None:
        query = query.where(User.district == district)
    if active is not None:
        query = query.where(User.active == active)
    return keyset_page(query, key_columns=[User.id], limit=limit, cursor=cursor)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_inspectors(*, district: str | None = None, active: bool | None = None, limit: int, cursor: str | None):
    """Inspectors, newest first, by keyset."""
    query = select(User).where(User.role == "inspector").options(selectinload(User.inspector_districts))
    if district is not None:
        query = query.where(User.inspector_districts.any(InspectorDistrict.district == district))
    if active is not None:
        query = query.where(User.active == active)
    return keyset_page(query, key_columns=[User.id], limit=limit, cursor=cursor)


def get_user(user_id, *, role: str | None = None) -> User:
    """The account with this id (and role); NotFound otherwise."""
    key = parse_id(user_id)
    user = db.session.get(User, key) if key is not None else None
    if user is None or (role is not None and user.role != role):
        raise NotFound()
    return user


def get_volunteer(volunteer_id, *, reader: User) -> User:
    """A volunteer the reader may see (an admin any, an inspector those of their districts); NotFound otherwise."""
    volunteer = get_user(volunteer_id, role="volunteer")
    if not reader.covers_district(volunteer.district):
        raise NotFound()
    return volunteer


def update_volunteer(volunteer_id, **changes) -> User:
    """Change a volunteer's name, e-mail, district or active flag; deactivation ends their sessions."""
    user = get_user(volunteer_id, role="volunteer")
    before = snapshot(user)
    if "district" in changes:
        require_districts([changes["district"]], field="district")
    return _save_account_changes(user, before, changes)


def update_inspector(inspector_id, **changes) -> User:
    """Change an inspector's name, e-mail, language, districts, or deactivate them (their sessions end)."""
    user = get_user(inspector_id, role="inspector")
    before = snapshot(user)
    districts = changes.pop("districts", None)
    if districts is not None:
        require_districts(districts, field="districts")
        user.inspector_districts = [InspectorDistrict(district=code) for code in districts]
    return _save_account_changes(user, before, changes)


def _covered(state: dict) -> list[str]:
    """The districts an account's snapshot covers: a volunteer's one, an inspector's several."""
    return state.get("districts") or ([state["district"]] if state.get("district") else [])


def _save_account_changes(user: User, before: dict, changes: dict) -> User:
    """Apply field changes to an account, audit what really changed, commit. Deactivation ends its sessions."""
    if changes.get("email"):
        _ensure_contacts_free(phone=None, email=changes["email"], exclude_id=user.id)
    for name, value in changes.items():
        setattr(user, name, value)
    if not user.phone and not user.email:
        raise Invalid(_l("An inspector signs in by phone or e-mail."), errors={"email": ["The account needs a login."]})
    _flush_or_conflict()
    after = snapshot(user)
    moved = set(_covered(before)) ^ set(_covered(after))
    if moved:
        CoverageChange.record(user_id=user.id, districts=moved)
    if after != before:
        deactivated = before["active"] and not after["active"]
        record_event(action=f"{user.role}.{'deactivated' if deactivated else 'updated'}", object_type="user",
                     object_id=user.id, before=before, after=after)
        if deactivated:
            revoke_all_sessions(user.id, reason="deactivated")
    db.session.commit()
    return user


def reset_password(user_id, *, role: str) -> str:
    """Give a volunteer or an inspector a new generated password (an admin's reset), shown once.

    Every session of the account ends at once; it must set its own password (must_change_password).
    """
    user = get_user(user_id, role=role)
    password = set_generated_password(user, reason="password_reset")
    db.session.commit()
    return password


def create_inspector(*, full_name: str, phone: str | None, email: str | None, districts: list[str],
                     password: str, language: str = "ru") -> User:
    """Register an inspector of the agency for the given districts."""
    if not phone and not email:
        raise Invalid(_l("An inspector signs in by phone or e-mail."),
                      errors={"phone": [str(_l("Give a phone or an e-mail."))], "email": [str(_l("Give a phone or an e-mail."))]})
    require_districts(districts, field="districts")
    _ensure_contacts_free(phone=phone, email=email)
    user = User(role="inspector", full_name=full_name.strip(), phone=phone, email=email, language=language,
                password_hash=hash_password(password), active=True,
                inspector_districts=[InspectorDistrict(district=code) for code in districts])
    db.session.add(user)
    _flush_or_conflict()
    record_event(action="inspector.created", object_type="user", object_id=user.id, after=snapshot(user))
    db.session.commit()
    return user


def create_admin(*, login: str, password: str, full_name: str) -> User:
    """Register an administrator (the CLI's create-admin)."""
    from .phones import normalize_phone

    phone = email = None
    if "@" in login:
        email = login.strip().lower()
    else:
        phone = normalize_phone(login)
    _ensure_contacts_free(phone=phone, email=email)
    user = User(role="admin", full_name=full_name, phone=phone, email=email,
                password_hash=hash_password(password), active=True)
    db.session.add(user)
    _flush_or_conflict()
    record_event(action="admin.created", object_type="user", object_id=user.id, after=snapshot(user))
    db.session.commit()
    return user


def users_by_id(ids) -> dict[int, User]:
    """The accounts with these ids, in one query (for naming the people of a page of reports)."""
    ids = {int(i) for i in ids if i is not None}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
