"""The engine in ce_xblock/core stays plain Python: no XBlock, Flask or Django anywhere in it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "ce_xblock" / "core"
FORBIDDEN = ("xblock", "flask", "django", "werkzeug", "web_fragments", "pylti1p3")


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py"))


def test_no_core_module_imports_a_web_framework() -> None:
    offenders = []
    for path in core_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module",
                "__import__",
            ):
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for name in names:
                if name.split(".")[0].lower() in FORBIDDEN:
                    offenders.append(f"{path.relative_to(CORE.parent.parent)}:{node.lineno} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_importing_every_core_module_loads_no_web_framework() -> None:
    modules = [f"ce_xblock.core.{p.stem}" for p in core_modules() if p.stem != "__init__"]
    assert "ce_xblock.core.olx" in modules and "ce_xblock.core.activity" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0].lower() in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"core imports pulled in: {result.stdout.strip()}"
