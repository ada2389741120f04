#!/usr/bin/env python3
"""check-deps.py - the toolchain floor and the dependency table, checked from `cargo metadata`.

1. Every workspace crate declares the workspace's `rust-version` (so clippy's
   `incompatible_msrv` lint holds collbench's own code to it), and no package in Cargo.lock that
   a build or a test of the workspace uses declares a newer one: the declared floor is one the
   whole locked graph builds with. (This machine cannot fetch a second toolchain to build with
   the floor itself; the two checks together stand in for it.)
2. Every dependency of a workspace crate comes from `[workspace.dependencies]`
   (`name.workspace = true`), so versions are set in one place, and every entry of that table is
   used.
3. No workspace crate declares a dependency its sources, tests, benches, examples and build
   script never name (a `cargo machete`-style scan: a crate `foo-bar` is used when `foo_bar`
   appears as a path in the crate's Rust files).

Exits non-zero naming every violation. Run from anywhere in the checkout: python3 scripts/check-deps.py
"""
import json
import os
import re
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None


def version(v):
    parts = [int(x) for x in (v or "0").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"], cwd=root,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"check-deps: cargo metadata failed:\n{out.stderr}")
    meta = json.loads(out.stdout)
    members = set(meta["workspace_members"])
    packages = {p["id"]: p for p in meta["packages"]}
    problems = []

    floors = {packages[m]["name"]: packages[m].get("rust_version") for m in members}
    declared = set(floors.values())
    if None in declared or len(declared) != 1:
        problems.append(f"every workspace crate must inherit one rust-version; found {floors}")
    floor = max((version(v) for v in declared if v), default=(0,))

    used = {n["id"] for n in meta["resolve"]["nodes"]}
    for pid in sorted(used - members):
        p = packages[pid]
        if version(p.get("rust_version")) > floor:
            problems.append(f"{p['name']} {p['version']} needs Rust {p['rust_version']}, above the "
                            f"declared floor {'.'.join(map(str, floor))}")

    for m in sorted(members):
        p = packages[m]
        manifest = p["manifest_path"]
        crate_dir = os.path.dirname(manifest)
        if tomllib:
            with open(manifest, "rb") as f:
                doc = tomllib.load(f)
            for table in ("dependencies", "dev-dependencies", "build-dependencies"):
                for name, spec in doc.get(table, {}).items():
                    if not (isinstance(spec, dict) and spec.get("workspace")):
                        problems.append(f"{p['name']}: {table}.{name} is not taken from "
                                        "[workspace.dependencies]")
        text = []
        for dirpath, _, files in os.walk(crate_dir):
            if "/target" in dirpath:
                continue
            for f in files:
                if f.endswith(".rs"):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        text.append(fh.read())
        source = "\n".join(text)
        for dep in p["dependencies"]:
            ident = (dep.get("rename") or dep["name"]).replace("-", "_")
            if not re.search(rf"\b{re.escape(ident)}\s*(::|!|\s+as\b)|use\s+{re.escape(ident)}\b|#\[{re.escape(ident)}\b|\b{re.escape(ident)}::", source):
                problems.append(f"{p['name']}: dependency {dep['name']} is never named in its sources")

    if tomllib:
        with open(os.path.join(root, "Cargo.toml"), "rb") as f:
            table = tomllib.load(f).get("workspace", {}).get("dependencies", {})
        named = {d["name"] for m in members for d in packages[m]["dependencies"]}
        for name in sorted(set(table) - named):
            problems.append(f"[workspace.dependencies].{name} is used by no workspace crate")

    for problem in problems:
        print(f"check-deps: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check-deps: {len(members)} crates at rust-version {'.'.join(map(str, floor))}; "
          f"{len(used - members)} locked packages within it; every dependency from the workspace "
          "table and named in its crate")


if __name__ == "__main__":
    main()
