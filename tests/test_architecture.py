"""The house plan, enforced: which module may import which (STYLE.md, issue 13).

An AST walk over app/: no import cycles between modules; core and models import nothing above
them; services never read Flask's request or `g` (the acting user is passed in); APIs never
import views; security never imports views; domains depend one way
(org ← supervision ← appeals ← evaluation ← profile; party, voting declare theirs).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Domain -> the domains it may import (besides core, web, security, models, extensions).
DOMAINS = {
    "org": set(),
    "supervision": {"org"},
    # 督考一体: appeals' figures feed evaluation (the `appeals` indicator source) as supervision's do
    "evaluation": {"org", "supervision", "appeals"},
    "profile": {"org", "supervision", "evaluation", "appeals"},
    "appeals": {"org", "supervision"},
    "party": {"org", "supervision"},
    "voting": {"org", "evaluation"},
    "todo": {"org", "supervision", "evaluation", "appeals", "party"},
}
BASE = {"app.models", "app.extensions"}


def _is_base(name: str) -> bool:
    """The schema (app/models.py and the domains' models.py / models_*.py it gathers) and the
    extensions."""
    return name in BASE or name.endswith(".models") or name.rsplit(".", 1)[-1].startswith("models_")
# A module is a view module when its name says so: `views`, `views_*`, or `web` screens.
VIEW_NAMES = ("views",)
# Service modules: a domain's rules and use cases (everything but its screens, API, CLI, demo
# and menu registration).
NOT_SERVICES = ("views", "api", "cli", "demo", "web", "menu")
# The job machinery every domain's screens may queue work on: it knows no domain.
PLATFORM = ("app.jobs.services", "app.jobs.models")
# The scope module's doors for screens: they read the request's user.
REQUEST_SCOPE = {"current_scope_prefix", "request_user", "require_unit_in_scope", "selected_cadre",
                 "requested_unit_path", "unit_path_by_code"}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in APP.rglob("*.py"):
        name = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
        mods[name[: -len(".__init__")] if name.endswith(".__init__") else name] = path
    return mods


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every absolute import in the file, function bodies included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def _deps(name: str) -> set[str]:
    """The app modules `name` imports (a submodule importing its own package does not count)."""
    deps = set()
    for module, names in _imports(MODULES[name]):
        for dep in [module, *(f"{module}.{n}" for n in names)]:
            if dep in MODULES and dep != name and not name.startswith(dep + "."):
                deps.add(dep)
    return deps


@functools.cache
def graph() -> dict[str, set[str]]:
    """module -> the app modules it imports; worked out when a test first asks, not when the
    file is collected (every pytest-xdist worker collects it, only one runs it)."""
    return {name: _deps(name) for name in MODULES}


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _domain(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def _is_view(name: str) -> bool:
    return _leaf(name).startswith(VIEW_NAMES) or name == "app.views"


def test_no_import_cycles():
    """Tarjan's strongly connected components: none larger than one module."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph()[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph()):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_core_and_models_import_nothing_above_them():
    bad = []
    for name, deps in graph().items():
        if _is_base(name) or name.startswith("app.core"):
            bad += [(name, d) for d in deps if not (_is_base(d) or d.startswith("app.core"))]
    assert not bad, f"core/models import upwards: {bad}"


def test_services_take_the_user_instead_of_reading_the_request():
    bad = []
    for name, path in MODULES.items():
        if _domain(name) is None or _leaf(name).startswith(NOT_SERVICES) or name == f"app.{_domain(name)}":
            continue
        for module, names in _imports(path):
            if module == "flask" and {"g", "request", "session"} & set(names):
                bad.append((name, "flask." + "/".join(sorted({"g", "request", "session"} & set(names)))))
            if module == "flask_login":
                bad.append((name, module))
            if module == "app.security.scope" and REQUEST_SCOPE & set(names):
                bad.append((name, "scope." + "/".join(sorted(REQUEST_SCOPE & set(names)))))
        bad += [(name, d) for d in graph()[name] if _is_view(d) or d.startswith("app.web")]
    assert not bad, f"services read the request or import screens: {bad}"


def test_apis_and_security_never_import_views():
    bad = [(name, d) for name, deps in graph().items() for d in deps
           if (_leaf(name) == "api" or name.startswith("app.security")) and _is_view(d)]
    assert not bad, f"API or security imports views: {bad}"


def test_the_job_machinery_knows_no_domain():
    bad = [(name, d) for name in PLATFORM for d in graph()[name] if _domain(d) is not None or _is_view(d)]
    assert not bad, f"job machinery imports a domain or a screen: {bad}"


def test_domains_depend_one_way():
    bad = []
    for name, deps in graph().items():
        own = _domain(name)
        if own is None:
            continue
        for d in deps:
            other = _domain(d)
            if other is not None and other != own and other not in DOMAINS[own]:
                bad.append((name, d))
    assert not bad, f"domain imports against the declared direction: {bad}"


def test_every_domain_has_the_same_inner_plan():
    for domain in ("org", "supervision", "evaluation", "profile"):
        assert (APP / domain / "__init__.py").exists(), domain
        for room in ("views.py", "menu.py"):
            assert (APP / domain / room).exists(), (domain, room)
