#!/usr/bin/env python3
"""Print the module graph of the Rust core (src/) and of the Python package, and its cycles.

    python3 scripts/module_graph.py            # both sides
    python3 scripts/module_graph.py rust       # src/ only
    python3 scripts/module_graph.py python     # python/turboapi only (module-level imports and
                                               # the imports hidden in functions, counted apart)

An edge A -> B means A names B (`crate::B` in Rust, an import in Python). Test modules
(`#[cfg(test)]` blocks) are left out: a test may reach anywhere. Exits 1 when a cycle is found, so
CI can keep the core acyclic.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rust_graph() -> dict[str, set[str]]:
    src = ROOT / "src"
    modules = {p.stem for p in src.glob("*.rs")} - {"lib", "main"}
    for sub in src.iterdir():
        if sub.is_dir() and (sub / "mod.rs").exists():
            modules.add(sub.name)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module in modules:
        files = [src / f"{module}.rs"] if (src / f"{module}.rs").exists() else []
        files += sorted((src / module).glob("**/*.rs")) if (src / module).is_dir() else []
        for path in files:
            text = _without_tests(path.read_text())
            for name in _crate_names(text):
                if name in modules and name != module:
                    graph[module].add(name)
    for test_only in ("fuzz_tests", "testing"):  # `#[cfg(test)]` modules
        graph.pop(test_only, None)
        for deps in graph.values():
            deps.discard(test_only)
    return graph


def _without_tests(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    cut = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+", text)
    return text[: cut.start()] if cut else text


def _crate_names(text: str) -> set[str]:
    names = set(re.findall(r"crate::(\w+)", text))
    for group in re.finditer(r"crate::\{", text):
        depth, start, i = 1, group.end(), group.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner, level, token = text[start : i - 1], 0, ""
        for ch in inner + ",":
            if ch == "{":
                level += 1
            elif ch == "}":
                level -= 1
            if level == 0 and ch == ",":
                head = token.strip().split("::")[0].strip("{ ")
                if head:
                    names.add(head)
                token = ""
            elif level == 0 or ch not in "{}":
                token += ch if level == 0 else ""
    return names


def python_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module-level imports, imports inside functions) between the package's modules."""
    package = ROOT / "python" / "turboapi"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    top: dict[str, set[str]] = {m: set() for m in modules}
    inner: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        for node, nested in _imports(tree):
            for target in _targets(node, name, is_package, modules):
                if target != name:
                    (inner if nested else top)[name].add(target)
    return top, inner


def _imports(tree: ast.AST):
    def walk(node, nested):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, nested
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue
            else:
                inside = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                yield from walk(child, inside)

    yield from walk(tree, False)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node, module: str, is_package: bool, modules: dict) -> set[str]:
    found = set()
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            stem = ".".join(base + ([node.module] if node.module else []))
        else:
            stem = node.module or ""
        # `from pkg import a, b`: an edge to each submodule named, and to `pkg` itself only for
        # the names that are not submodules (importing a submodule runs its package's
        # __init__, but that is not a dependency on what the package defines).
        candidates = [f"{stem}.{alias.name}" for alias in node.names if f"{stem}.{alias.name}" in modules]
        if len(candidates) < len(node.names):
            candidates.append(stem)
    for candidate in candidates:
        while candidate and candidate not in modules:
            candidate = candidate.rpartition(".")[0]
        if candidate:
            found.add(candidate)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                result.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def layers(graph: dict[str, set[str]]) -> list[list[str]]:
    """Modules by depth: layer 0 names no other module, layer n only modules below it."""
    depth: dict[str, int] = {}
    remaining = dict(graph)
    level = 0
    while remaining:
        ready = sorted(m for m, deps in remaining.items() if all(d in depth for d in deps))
        if not ready:
            return [[f"(cycle among {len(remaining)} modules)"]]
        for m in ready:
            depth[m] = level
            del remaining[m]
        level += 1
    return [sorted(m for m, d in depth.items() if d == n) for n in range(level)]


def report(title: str, graph: dict[str, set[str]]) -> bool:
    print(f"## {title}: {len(graph)} modules, {sum(map(len, graph.values()))} edges")
    for module in sorted(graph):
        print(f"  {module} -> {', '.join(sorted(graph[module])) or '-'}")
    found = cycles(graph)
    for component in found:
        print(f"  CYCLE ({len(component)}): {' '.join(component)}")
    if not found:
        for n, modules in enumerate(layers(graph)):
            print(f"  layer {n}: {' '.join(modules)}")
    print()
    return not found


def main(argv: list[str]) -> int:
    side = argv[1] if len(argv) > 1 else "all"
    ok = True
    if side in ("all", "rust"):
        ok &= report("src/ (Rust)", rust_graph())
    if side in ("all", "python"):
        top, inner = python_graph()
        merged = {m: top[m] | inner[m] for m in top}
        hidden = sum(len(inner[m] - top[m]) for m in inner)
        print(f"## python/turboapi: {hidden} imports inside functions")
        ok &= bool(cycles_report("python/turboapi, module-level imports", top))
        cycles_report("python/turboapi, with the imports inside functions", merged)
    return 0 if ok else 1


def cycles_report(title: str, graph: dict[str, set[str]]) -> bool:
    found = cycles(graph)
    print(f"## {title}: {len(graph)} modules, {sum(map(len, graph.values()))} edges, "
          f"{len(found)} cycle(s)")
    for component in found:
        print(f"  CYCLE ({len(component)}): {' '.join(component)}")
    print()
    return not found


if __name__ == "__main__":
    sys.exit(main(sys.argv))
