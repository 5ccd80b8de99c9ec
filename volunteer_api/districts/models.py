from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class District(db.Model):
    """A district of a region (reference data loaded by the first migration)."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), index=True)
    name_ru: Mapped[str] = mapped_column(String(120))
    name_kk: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    centre: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)

    def name_in(self, language: str) -> str:
        return {"kk": self.name_kk, "en": self.name_en}.get(language, self.name_ru)
