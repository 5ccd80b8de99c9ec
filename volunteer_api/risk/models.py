from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow
from .rules import RISK_LEVELS


class SiteRisk(db.Model):
    """A site's risk as the workers last assessed it (rules.py); never computed on a request."""

    __tablename__ = "site_risks"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(choice(*RISK_LEVELS, name="risk_level"))
    factors: Mapped[list] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        db.Index("ix_site_risks_level_site_id", "level", "site_id"),
        # The riskiest sites first (the monthly report's ten).
        db.Index("ix_site_risks_score_site_id", "score", "site_id"),
    )
