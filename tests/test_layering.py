"""The house's layering: import-linter's contracts (pyproject.toml) and no import cycle at all."""
import subprocess
import sys
from pathlib import Path

import grimp

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "broken" in run.stdout and " 0 broken" in run.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every group of modules that import each other, directly or through others (Tarjan's SCCs)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_of_the_app_is_part_of_an_import_cycle_not_even_through_a_function_level_import():
    graph = grimp.build_graph("volunteer_api", "workers", "config", cache_dir=None)
    # grimp sees imports inside functions too: the factory's and the CLI's count like any other.
    assert "volunteer_api.people.services" in graph.find_modules_directly_imported_by("volunteer_api.cli")
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == [["pkg.a", "pkg.b"]]


# Libraries only some requests or jobs use, each several MB a web worker would hold for nothing: the code
# that uses them imports them (devices/push.py, reports/services.py, savings/exports.py, auth/passwords.py).
LOADED_WHEN_USED = ("pywebpush", "py_vapid", "openpyxl", "reportlab", "zxcvbn", "boto3", "firebase_admin")


def test_a_web_worker_starts_without_the_libraries_only_some_requests_use():
    run = subprocess.run(
        [sys.executable, "-c", "import sys, wsgi; print(' '.join(sorted(name for name in "
                               f"{LOADED_WHEN_USED!r} if name in sys.modules)))"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "testing", "SECRET_KEY": "s" * 48,
             "DATABASE_URL": "sqlite:///:memory:", "EMBEDDED_SCHEDULER": "false"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
