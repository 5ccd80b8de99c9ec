"""The risk rules in one place: every factor, its weight, and how the score is made.

The score is likelihood (1–5) × impact (1–5), the scale of the Agency's corruption-risk map
("карта коррупционных рисков"). Likelihood starts at 1 and each factor that monitoring saw adds its
points (capped at 5); impact is the band of the budget at stake, plus one for a school, kindergarten,
hospital or clinic (capped at 5). The factors answered are every factor with its value and points.
"""
from dataclasses import dataclass

from ..money import TIYN_PER_KZT


@dataclass(frozen=True)
class LikelihoodFactor:
    name: str
    description: str
    # (at least this value, points): the highest threshold reached gives the points.
    steps: tuple[tuple[int, int], ...]

    def points(self, value: int) -> int:
        return max((points for threshold, points in self.steps if value >= threshold), default=0)


LIKELIHOOD_FACTORS = (
    LikelihoodFactor("confirmed_violations", "inspections of the site an inspector confirmed", ((1, 1), (3, 2))),
    LikelihoodFactor("open_flags", "flagged inspections not yet reviewed", ((1, 1),)),
    LikelihoodFactor("suspect_filings", "inspections filed off site or from a mock location", ((2, 1),)),
    LikelihoodFactor("schedule_delays", "inspections reporting a schedule delay, plus one if the planned "
                                        "completion date has passed unfinished", ((1, 1),)),
    LikelihoodFactor("returned_inspections", "inspections returned to their volunteer for more evidence", ((1, 1),)),
    LikelihoodFactor("contractor_violations", "confirmed violations at the contractor's other sites", ((2, 1),)),
)
LIKELIHOOD_BASE = 1

# (budget below this many KZT, impact); at or above the last bound, 5.
BUDGET_BANDS_KZT = ((100_000_000, 1), (500_000_000, 2), (2_000_000_000, 3), (10_000_000_000, 4))
# Children and patients: a failure here costs more than money.
SENSITIVE_KINDS = ("school", "kindergarten", "hospital", "clinic")
SENSITIVE_KIND_POINTS = 1

# (highest score of the level, level)
LEVELS = ((4, "low"), (9, "medium"), (16, "high"), (25, "critical"))
RISK_LEVELS = tuple(level for _, level in LEVELS)


def budget_band(budget_tiyn: int) -> int:
    for bound_kzt, band in BUDGET_BANDS_KZT:
        if budget_tiyn < bound_kzt * TIYN_PER_KZT:
            return band
    return 5


def level_of(score: int) -> str:
    return next(level for highest, level in LEVELS if score <= highest)


def assess(*, inputs: dict[str, int], budget_tiyn: int, kind: str) -> dict:
    """The risk of a site from what monitoring saw (`inputs`, by factor name) and what is at stake."""
    factors = []
    points = 0
    for factor in LIKELIHOOD_FACTORS:
        value = int(inputs.get(factor.name, 0))
        gained = factor.points(value)
        points += gained
        factors.append({"name": factor.name, "part": "likelihood", "value": value, "points": gained})
    likelihood = min(5, LIKELIHOOD_BASE + points)
    band = budget_band(budget_tiyn)
    sensitive = SENSITIVE_KIND_POINTS if kind in SENSITIVE_KINDS else 0
    factors.append({"name": "budget", "part": "impact", "value": band, "points": band})
    factors.append({"name": "facility_kind", "part": "impact", "value": kind, "points": sensitive})
    impact = min(5, band + sensitive)
    score = likelihood * impact
    return {"likelihood": likelihood, "impact": impact, "score": score, "level": level_of(score), "factors": factors}


def describe() -> str:
    """The rules as text, for the OpenAPI description."""
    lines = [f"score = likelihood (1-5) × impact (1-5). Likelihood = {LIKELIHOOD_BASE} + the points of each "
             "factor, at most 5:"]
    for factor in LIKELIHOOD_FACTORS:
        steps = "; ".join(f"≥ {threshold}: +{points}" for threshold, points in factor.steps)
        lines.append(f"- `{factor.name}` ({factor.description}): {steps}")
    bands = "; ".join(f"< {bound:,} KZT: {band}" for bound, band in BUDGET_BANDS_KZT)
    lines.append(f"Impact = the budget's band ({bands}; more: 5) + {SENSITIVE_KIND_POINTS} for "
                 f"{', '.join(SENSITIVE_KINDS)}, at most 5.")
    lines.append("Levels: " + "; ".join(f"{level} up to {highest}" for highest, level in LEVELS) + ".")
    return "\n".join(lines)
