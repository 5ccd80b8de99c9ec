"""`pip install .` (not editable) ships what a deployment needs: the compiled catalogs, the templates."""
import io
import shutil
import subprocess
import sys
import zipfile

import pytest
from babel.messages.mofile import read_mo

from tests.conftest import BACKEND, PROJECT_ROOT


@pytest.mark.skipif(BACKEND != "sqlite", reason="the package is the same whatever the database; built once per run")
def test_a_wheel_built_from_a_clean_checkout_carries_the_compiled_russian_and_kazakh_catalogs(tmp_path):
    checkout = tmp_path / "checkout"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (PROJECT_ROOT / name).is_file():  # a file deleted in the work tree but not yet in git is gone
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, checkout / name)
    assert not list(checkout.rglob("*.mo"))  # as in git: no compiled catalog

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(tmp_path),
         str(checkout)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel_path,) = tmp_path.glob("volunteer_monitor-*.whl")
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        catalogs = {language: read_mo(io.BytesIO(wheel.read(f"volunteer_api/translations/{language}/LC_MESSAGES/messages.mo")))
                    for language in ("ru", "kk")}
    assert catalogs["ru"].get("Not found").string == "Не найдено"
    assert catalogs["kk"].get("Not found").string
    assert "volunteer_api/operations/templates/operations/home.html" in names
    assert "volunteer_api/migrations/versions/0001_initial_schema.py" in names


def test_serve_installs_only_what_serving_needs_and_says_what_it_does():
    """scripts/serve (read, not run: a run installs from the registry for minutes)."""
    script = (PROJECT_ROOT / "scripts" / "serve").read_text()
    installs = [line.strip() for line in script.splitlines() if "pip install" in line]
    assert installs and all("[" not in line for line in installs)  # no [test] or [bench] extras
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any("scripts/bootstrap" in line for line in commands)  # bootstrap brings the test tools
    steps = [line.strip() for line in script.splitlines() if line.strip().startswith("echo ")]
    assert any("Installing" in step for step in steps) and any("schema" in step for step in steps)
    assert "sys.version_info < (3, 11)" in script and "BIND=${BIND:-" in script


def test_every_setting_the_code_reads_is_in_the_readmes_table():
    import re

    sources = [PROJECT_ROOT / "config" / "__init__.py", PROJECT_ROOT / "scripts" / "serve",
               *sorted((PROJECT_ROOT / "volunteer_api").rglob("*.py")), *sorted((PROJECT_ROOT / "workers").rglob("*.py"))]
    read = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"""(?:environ(?:\.get)?|_int|_bool|_float|_list)\(\s*["']([A-Z][A-Z0-9_]+)["']""", text))
        read |= set(re.findall(r"""environ\[["']([A-Z][A-Z0-9_]+)["']\]""", text))
        if path.name == "serve":
            read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", text))
    table = "\n".join(line for line in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                      if line.startswith("| `"))
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert {"DATABASE_URL", "RELAY_INTERVAL_SECONDS", "BIND"} <= read
    assert sorted(read - documented) == []
