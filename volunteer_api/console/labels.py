"""The words the console shows for the API's fixed codes (flag reasons, statuses, kinds, categories)."""
from flask import g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..districts.services import list_districts

FLAG_REASONS = {
    "off_site": _l("Off site"),
    "mock_location": _l("Simulated location"),
    "severity": _l("High severity"),
    "safety_violations": _l("Safety violations"),
    "quality_issues": _l("Quality issues"),
}
SEVERITIES = {"none": _l("None"), "low": _l("Low"), "medium": _l("Medium"), "high": _l("High"),
              "critical": _l("Critical")}
INSPECTION_STATUSES = {"submitted": _l("Awaiting review"), "confirmed": _l("Confirmed"), "dismissed": _l("Dismissed"),
                       "returned": _l("Returned to the volunteer")}
CHECKLIST = {
    "work_in_progress": _l("Work in progress"),
    "workers_present": _l("Workers present"),
    "safety_violations": _l("Safety violations"),
    "quality_issues": _l("Quality issues"),
    "schedule_delay": _l("Behind schedule"),
    "docs_on_site": _l("Documents on site"),
}
SAVING_CATEGORIES = {
    "overpricing_prevented": _l("Overpricing prevented"),
    "contract_reduced": _l("Contract reduced"),
    "funds_returned": _l("Funds returned"),
    "unjustified_works_removed": _l("Unjustified works removed"),
    "other": _l("Other"),
}
SAVING_STATUSES = {"pending": _l("Pending"), "approved": _l("Approved"), "rejected": _l("Rejected")}
SITE_KINDS = {
    "school": _l("School"), "kindergarten": _l("Kindergarten"), "hospital": _l("Hospital"), "clinic": _l("Clinic"),
    "sports": _l("Sports facility"), "culture": _l("Culture centre"), "housing": _l("Housing"), "road": _l("Road"),
    "water": _l("Water supply"), "other": _l("Other"),
}
SITE_STATUSES = {"planned": _l("Planned"), "under_construction": _l("Under construction"),
                 "suspended": _l("Suspended"), "completed": _l("Completed")}
ALERT_KINDS = {"inspection_flagged": _l("Flagged inspection"), "savings_pending": _l("Savings to verify"),
               "escalation": _l("Escalation"), "milestone": _l("Milestone"),
               "inspection_returned": _l("Inspection returned")}
# The history's steps, named as inspections.services.inspection_history names them (the audit action's last part).
HISTORY_ACTIONS = {
    "filed": _l("Filed"), "returned": _l("Returned to the volunteer"), "resubmitted": _l("Resubmitted"),
    "confirmed": _l("Confirmed"), "dismissed": _l("Dismissed"), "photo_added": _l("Photo added"),
    "referred": _l("Referred"), "resolved": _l("Resolved"),
}
REFERRAL_CHANNELS = {"call_centre_1424": _l("Call centre 1424"), "eotinish": _l("eOtinish portal"),
                     "department": _l("The department"), "prosecutor": _l("The prosecutor's office")}
CASE_OUTCOMES = {"fixed": _l("Fixed"), "not_fixed": _l("Not fixed"), "unfounded": _l("Unfounded")}
IMPORT_COLUMNS = {"full_name": _l("Full name"), "phone": _l("Phone"), "email": _l("E-mail"), "district": _l("District")}
JOB_STATUSES = {"pending": _l("Waiting"), "done": _l("Done"), "dead": _l("Failed")}


def label(table: dict, code) -> str:
    """The word for a code; the code itself when the table has none (a value added later)."""
    return str(table.get(code, code))


def district_options(districts) -> list[tuple[str, str]]:
    """(code, name in the page's language) for a district <select>."""
    language = str(get_locale())
    return [(d.code, d.name_in(language)) for d in districts]


def district_name(code: str | None) -> str:
    """A district's name in the page's language (the table read once per request)."""
    if "district_names" not in g:
        language = str(get_locale())
        g.district_names = {d.code: d.name_in(language) for d in list_districts()}
    return g.district_names.get(code, code or "—")


def init_app(app) -> None:
    app.jinja_env.globals.update(
        label=label, FLAG_REASONS=FLAG_REASONS, SEVERITIES=SEVERITIES, INSPECTION_STATUSES=INSPECTION_STATUSES,
        CHECKLIST=CHECKLIST, SAVING_CATEGORIES=SAVING_CATEGORIES, SAVING_STATUSES=SAVING_STATUSES,
        SITE_KINDS=SITE_KINDS, SITE_STATUSES=SITE_STATUSES, ALERT_KINDS=ALERT_KINDS, JOB_STATUSES=JOB_STATUSES,
        HISTORY_ACTIONS=HISTORY_ACTIONS, REFERRAL_CHANNELS=REFERRAL_CHANNELS, CASE_OUTCOMES=CASE_OUTCOMES,
        IMPORT_COLUMNS=IMPORT_COLUMNS, district_options=district_options, district_name=district_name)
