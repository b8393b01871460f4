#!/usr/bin/env python3
"""Fails when the runtime's modules depend on each other in a cycle.

A module depends on another when its source names it through `crate::` (in a `use` or a
path), or when its code calls a method of the provider context (`impl Context`) that the other
module defines: the flows are spread over modules as methods of one type, and such a call is a
dependency no `use` shows. Submodules count as their top-level module. Test modules (`#[cfg(test)] mod tests { .. }` at the end of a file) are left out:
tests may reach anywhere.

Usage: module-cycles.py [SRC_DIR]   (default: runtime/src)
"""

import re
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "runtime/src")


def top_module(path: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    if parts[0] in ("lib", "main"):
        return "lib"
    return parts[0]


def source_without_tests(text: str) -> str:
    marker = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests\b", text, re.M)
    return text[: marker.start()] if marker else text


modules = {}
for file in sorted(src.rglob("*.rs")):
    modules.setdefault(top_module(file), []).append(file)

edges = {name: set() for name in modules}
for name, files in modules.items():
    if name == "lib":
        continue  # the crate root declares and re-exports everything
    for file in files:
        text = source_without_tests(file.read_text())
        # `crate::a::b`, and `use crate::{a, b::c}` groups.
        for target in re.findall(r"\bcrate::(\w+)", text):
            if target in modules and target != name:
                edges[name].add(target)
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            for target in re.findall(r"(?:^|,)\s*(\w+)", group):
                if target in modules and target != name:
                    edges[name].add(target)

# Methods of `impl Context` blocks: which module defines each, and which calls which.
def context_blocks(text):
    """The bodies of the `impl Context { .. }` blocks of a file."""
    blocks = []
    for start in re.finditer(r"^impl Context \{", text, re.M):
        end = re.search(r"^\}", text[start.end():], re.M)
        blocks.append(text[start.end(): start.end() + (end.start() if end else len(text))])
    return blocks


defined = {}
for name, files in modules.items():
    for file in files:
        for block in context_blocks(source_without_tests(file.read_text())):
            for method in re.findall(r"^    (?:pub(?:\(crate\))? )?(?:async )?fn (\w+)", block, re.M):
                defined.setdefault(method, name)
for name, files in modules.items():
    for file in files:
        for block in context_blocks(source_without_tests(file.read_text())):
            for method in re.findall(r"\bself\.(\w+)\(", block):
                target = defined.get(method)
                if target and target != name:
                    edges[name].add(target)

# Depth-first search for a cycle; report every one found, as paths.
WHITE, GREY, BLACK = 0, 1, 2
colour = {name: WHITE for name in edges}
cycles = []


def visit(node, path):
    colour[node] = GREY
    path.append(node)
    for target in sorted(edges[node]):
        if colour[target] == GREY:
            cycles.append(path[path.index(target):] + [target])
        elif colour[target] == WHITE:
            visit(target, path)
    path.pop()
    colour[node] = BLACK


for node in sorted(edges):
    if colour[node] == WHITE:
        visit(node, [])

if cycles:
    print(f"{src}: the modules depend on each other in a cycle:")
    for cycle in cycles:
        print("  " + " -> ".join(cycle))
    sys.exit(1)
order = []
done = set()


def place(node):
    if node in done:
        return
    done.add(node)
    for target in sorted(edges[node]):
        place(target)
    order.append(node)


for node in sorted(edges):
    place(node)
print(f"{src}: no cycle among {len(edges)} modules; bottom-up: {', '.join(order)}")
