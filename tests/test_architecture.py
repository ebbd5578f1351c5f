"""The shape of the code, checked: imports point one way with no cycle (import-linter, from
the contracts in pyproject.toml), a platform is named only in its own module, and every module
can be read in one sitting."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from scheduler.platforms import registry

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("posts", "db", "scheduler", "emulator")
#: Where a platform may be named: its own modules, and the registry that lists them.
#: Each platform's own module (every module the registry lists), its siblings of facts, and
#: the registry itself.
PLATFORM_MODULES = {f"scheduler/platforms/{name}.py" for name in (
    *(m.__name__.rpartition(".")[2] for m in registry.MODULES), "x_terms",
    "facebook_versions", "registry")}
#: Named for a reason that is not publishing. A fact sheet's contact footer lists the office's
#: social accounts (twitter.com/…, facebook.com/…): reading a document, not a platform module.
NAMED_ELSEWHERE = {"posts/contacts.py"}
MAX_LINES = 500


def sources(*packages: str, skip: tuple[str, ...] = ("db/migrations/",)) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py")
                  if not str(p.relative_to(ROOT)).startswith(skip))


def test_the_import_contracts_hold_no_cycles_and_imports_point_one_way():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_platform_is_named_outside_its_own_module():
    names = {spec.name for spec in registry.specs()} | {spec.title for spec in registry.specs()}
    platform_modules = {p.removesuffix(".py").replace("/", ".") for p in PLATFORM_MODULES
                        if not p.endswith("/registry.py")}
    found = []
    for path in sources("posts", "db", "scheduler"):
        where = str(path.relative_to(ROOT))
        if where in PLATFORM_MODULES | NAMED_ELSEWHERE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and node.value in names
                    and id(node) not in docstrings):
                found.append(f"{where}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.ImportFrom) and node.module:
                imported = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
                if imported & platform_modules:
                    found.append(f"{where}:{node.lineno}: imports {node.module}")
    assert found == [], "ask the platform's spec instead:\n" + "\n".join(found)


def test_every_module_can_be_read_in_one_sitting():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in sources(*PACKAGES)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == [], f"split by concern, {MAX_LINES} lines at most:\n" + "\n".join(long)


def test_the_audit_trail_has_one_writer_and_post_states_one_setter():
    # db/audit.py adds every audit row; in the store, only the transition function
    # (db/transitions.py) sets a post's status (the claim's conditional UPDATE sets the claim
    # and its lease, then moves the post through it like every other change).
    writers, setters = [], []
    for path in sources("posts", "db", "scheduler"):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "AuditEntry" and where != "db/audit.py"):
                writers.append(f"{where}:{node.lineno}")
            if (isinstance(node, ast.Assign) and where.startswith("db/")
                    and where != "db/transitions.py"):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "status":
                        setters.append(f"{where}:{node.lineno}")
    assert writers == [] and setters == [], writers + setters
