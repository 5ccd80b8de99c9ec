"""When an inspection is on site, and when it is flagged for an inspector's review.

An inspection is on site when the reported point lies within the site's geofence, widened by the
phone's accuracy (at most 200 m, so a vague fix cannot stretch the fence across town).

It is flagged when any of these reasons holds; `flag_reasons` lists them in this order:
  off_site           the point is outside the widened geofence
  mock_location      the phone's OS says the position is simulated
  severity           the volunteer rated the problem high or critical
  safety_violations  the checklist reports safety violations
  quality_issues     the checklist reports quality issues
"""
MAX_ACCURACY_ALLOWANCE_M = 200
SEVERE = frozenset({"high", "critical"})


def is_on_site(*, distance_m: float, geofence_radius_m: float, accuracy_m: float) -> bool:
    """Whether the reported point counts as on the site."""
    return distance_m <= geofence_radius_m + min(accuracy_m, MAX_ACCURACY_ALLOWANCE_M)


FLAG_RULES = (
    ("off_site", lambda facts: not facts["on_site"]),
    ("mock_location", lambda facts: facts["mock_location"]),
    ("severity", lambda facts: facts["severity"] in SEVERE),
    ("safety_violations", lambda facts: facts["checklist"].get("safety_violations", False)),
    ("quality_issues", lambda facts: facts["checklist"].get("quality_issues", False)),
)
FLAG_REASONS = tuple(name for name, _ in FLAG_RULES)


def flag_reasons(*, on_site: bool, mock_location: bool, severity: str, checklist: dict) -> list[str]:
    """The reasons that hold, in the order the contract lists them; empty when the inspection is not flagged."""
    facts = {"on_site": on_site, "mock_location": mock_location, "severity": severity, "checklist": checklist}
    return [name for name, holds in FLAG_RULES if holds(facts)]
