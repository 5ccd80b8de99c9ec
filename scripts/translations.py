"""Keep the message catalogs in step with the code: `python scripts/translations.py update|compile`.

update: extract every _l()/gettext() string into messages.pot and merge it into the ru, kk and en
catalogs (new strings arrive untranslated: fill their msgstr in ru and kk; en may stay empty, the
English source is used). compile: build the .mo files the app loads (the set-up scripts run it).
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "volunteer_api" / "translations"
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]


def run(*args: str) -> None:
    subprocess.run([*PYBABEL, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def main(command: str) -> None:
    if command == "update":
        run("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output",
            "-o", str(CATALOGS / "messages.pot"), ".")
        run("update", "-i", str(CATALOGS / "messages.pot"), "-d", str(CATALOGS), "--no-fuzzy-matching")
    elif command == "compile":
        run("compile", "-d", str(CATALOGS), "--use-fuzzy")
    else:
        raise SystemExit("usage: translations.py update|compile")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
