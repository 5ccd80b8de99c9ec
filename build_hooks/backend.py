"""The build backend: setuptools', with the message catalogs compiled first.

The .mo files are build products (not in git), so a wheel built from a checkout (`pip install .`,
`pip wheel .`) would otherwise ship Russian and Kazakh as untranslated English.
"""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403 - every other hook is setuptools' own

CATALOGS = Path(__file__).resolve().parent.parent / "volunteer_api" / "translations"


def compile_catalogs() -> list[Path]:
    """Write LC_MESSAGES/messages.mo beside every messages.po; returns the files written."""
    written = []
    for po_path in sorted(CATALOGS.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=True)
        written.append(mo_path)
    return written


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    compile_catalogs()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    compile_catalogs()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
