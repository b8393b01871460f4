#!/usr/bin/env python3
"""Release readiness of every published crate (each workspace member whose `publish` is not
false):

1. `cargo package` with verification: each crate is packed, unpacked and built from its
   tarball with every feature on. The crates are packaged together in one command, so cargo
   resolves their dependencies on each other (pinned with `=`) through a local registry of the
   fresh tarballs: nothing needs to be published first. The verification builds in the
   workspace's target directory (set CARGO_TARGET_DIR to move it), under the workspace's dev
   profile, so it reuses the dependencies the other CI steps built.
2. The documentation as docs.rs builds it: one crate at a time, with the features its
   `[package.metadata.docs.rs]` asks for (a crate with features must ask for all of them) and
   `--cfg docsrs`, without warnings.

Usage: .ci/release.py
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# The workspace's `[profile.dev]` settings, passed on the command line: the packaged manifests
# carry no profile, and building the tarballs under the same one reuses the build cache.
PROFILE = [
    'profile.dev.debug="line-tables-only"',
    'profile.dev.package."*".debug=false',
    "profile.dev.package.rsa.opt-level=3",
    "profile.dev.package.num-bigint-dig.opt-level=3",
    "profile.dev.package.sha2.opt-level=3",
]


def run(args, env=None):
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, env=env)


def forget_earlier_tarballs(published):
    """Cargo unpacks the tarballs of the local registry into its registry sources, in a folder
    named after where the registry is (`$CARGO_HOME/registry/src/-<hash>/`), and keeps that
    copy: a second run from the same checkout would verify against the first run's sources of
    the same version. Those copies of our own crates are removed first, and (in `main`) what
    was built from them."""
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    names = {f"{package['name']}-{package['version']}" for package in published}
    for registry in (cargo_home / "registry" / "src").glob("-*"):
        for name in names:
            stale = registry / name
            if stale.is_dir():
                shutil.rmtree(stale)


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"],
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
    )
    members = set(meta["workspace_members"])
    published = [
        package
        for package in meta["packages"]
        if package["id"] in members and package.get("publish") != []
    ]
    if not published:
        sys.exit("no published crate in the workspace")

    forget_earlier_tarballs(published)
    config = [arg for setting in PROFILE for arg in ("--config", setting)]
    selected = [arg for package in published for arg in ("-p", package["name"])]
    # And what was built from them: cargo takes a registry crate of a known version as built.
    run(["cargo", "clean", *selected])
    # --allow-dirty: this checks that the crates build from their tarballs, which a local edit
    # does not change; a real `cargo publish` still refuses a dirty tree.
    run(["cargo", "package", *selected, "--all-features", "--allow-dirty", *config])

    problems = []
    for package in published:
        docs_rs = (package.get("metadata") or {}).get("docs", {}).get("rs", {})
        features = sorted(name for name in package["features"] if name != "default")
        args = ["cargo", "doc", "--no-deps", "-p", package["name"]]
        if docs_rs.get("all-features"):
            args.append("--all-features")
        else:
            wanted = set(docs_rs.get("features", []))
            missing = [name for name in features if name not in wanted]
            if missing:
                problems.append(
                    f"{package['name']}: docs.rs would leave out the features "
                    f"{', '.join(missing)}; set `all-features = true` in "
                    "[package.metadata.docs.rs]"
                )
                continue
            if wanted:
                args += ["--features", ",".join(sorted(wanted))]
        if docs_rs.get("no-default-features"):
            args.append("--no-default-features")
        env = dict(os.environ)
        env["RUSTDOCFLAGS"] = " ".join(
            ["-D", "warnings", "--cfg", "docsrs", *docs_rs.get("rustdoc-args", [])]
        )
        run(args, env=env)
    if problems:
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main()
