#!/usr/bin/env python3
"""Checks the declared `rust-version` of every published crate against its dependencies.

For each workspace member that can be published (`publish` is not false), walks the normal and
build dependencies that `Cargo.lock` resolves with every feature on (what docs.rs builds and what
a user enabling every feature gets; dev-dependencies are left out: users never build them; the
resolve is the workspace's, so a dependency's features are those of the whole workspace, which
can only overstate what a crate needs) and
fails when one of them declares a higher `rust-version` than the crate does. It prints, per
crate, the highest dependency requirement and which packages set it.

This covers the dependency half of the minimum. The other half, the language and library
features our own code uses, is kept honest by clippy's `incompatible_msrv` lint (on by default,
CI denies warnings) for library APIs, and by reading for syntax; README.md ("Workspace")
records how the current value was established.

Usage: .ci/msrv.py [--metadata FILE]   (FILE: saved `cargo metadata --format-version 1` output)
"""

import json
import subprocess
import sys


def version(text):
    """`1.88` or `1.88.0` as a comparable tuple of three numbers."""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def shown(v):
    return ".".join(str(n) for n in v[:2]) if v[2] == 0 else ".".join(map(str, v))


def metadata(argv):
    if len(argv) == 3 and argv[1] == "--metadata":
        with open(argv[2]) as file:
            return json.load(file)
    if len(argv) != 1:
        sys.exit(__doc__)
    # Only this machine's platform: the packages of other platforms need not be downloaded.
    host = next(
        line.split(": ", 1)[1]
        for line in subprocess.run(
            ["rustc", "-vV"], check=True, stdout=subprocess.PIPE, text=True
        ).stdout.splitlines()
        if line.startswith("host: ")
    )
    output = subprocess.run(
        [
            "cargo",
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--locked",
            "--filter-platform",
            host,
        ],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    return json.loads(output)


def main(argv):
    meta = metadata(argv)
    packages = {package["id"]: package for package in meta["packages"]}
    nodes = {node["id"]: node for node in meta["resolve"]["nodes"]}
    failed = False
    for member in sorted(meta["workspace_members"], key=lambda id: packages[id]["name"]):
        package = packages[member]
        if package.get("publish") == []:
            continue
        declared = package.get("rust_version")
        if declared is None:
            print(f"{package['name']}: no rust-version declared")
            failed = True
            continue
        used = set()
        stack = [member]
        while stack:
            for dep in nodes[stack.pop()]["deps"]:
                if all(kind["kind"] == "dev" for kind in dep["dep_kinds"]):
                    continue
                if dep["pkg"] not in used:
                    used.add(dep["pkg"])
                    stack.append(dep["pkg"])
        needs = [
            (version(packages[id]["rust_version"]), packages[id]["name"], packages[id]["version"])
            for id in used
            if packages[id].get("rust_version")
        ]
        highest = max((v for v, _, _ in needs), default=(0, 0, 0))
        setters = sorted(f"{name} {ver}" for v, name, ver in needs if v == highest)
        ok = version(declared) >= highest
        failed |= not ok
        print(
            f"{package['name']}: declares {declared}; its {len(used)} dependencies need "
            f"{shown(highest)} ({', '.join(setters[:6])}{', ..' if len(setters) > 6 else ''})"
            + ("" if ok else "  <-- rust-version is lower than a dependency's")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
