#!/usr/bin/env bash
# The publishable crates (swarm-harness, swarm-harness-macros, swarm-harness-syntax, and
# swarm-harness-cli with the `swarm` command) are ready for crates.io: complete metadata, a
# package `cargo publish` accepts, every file the build reads inside it, and a small .crate.
# Quiet unless something is wrong.
#
# Why `--no-verify`: verification builds each packaged crate from its unpacked sources, so the
# crates compile anew on every run (34 to 45 s for the first three, with warm dependencies),
# and with their own feature set rather than the workspace's, so after `cargo test
# --workspace` dependencies compile again too (112 s the first time). What verification would catch that packaging alone
# does not is a file the build reads from outside the package (`include_str!`,
# `include_bytes!`, `include!`); the `cargo package --list` check below catches exactly that.
# Unpackaged, the whole check takes about 5 s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# --allow-dirty: the check is of the tree as it is, committed or not.
log="$(mktemp)"
if ! cargo publish --dry-run --workspace --no-verify --allow-dirty >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: cargo publish --dry-run --workspace failed" >&2
  exit 1
fi
# cargo only warns about missing metadata; here it is an error.
if grep -E '^warning: manifest has no' "$log" >&2; then
  echo "error: a publishable crate's metadata is incomplete (see above)" >&2
  exit 1
fi

metadata="$(mktemp)"
cargo metadata --no-deps --format-version 1 >"$metadata"
python3 - "$metadata" <<'PY'
import json, os, re, subprocess, sys

# Uncompressed size above which a .crate has taken in more than its sources and assets.
MAX_PACKAGE_BYTES = 4 << 20
INCLUDE = re.compile(r'include(?:_str|_bytes)?!\s*\(\s*"([^"]+)"')
errors = []
published = [p for p in json.load(open(sys.argv[1]))["packages"] if p["publish"] != []]
for p in published:
    name = p["name"]
    root = os.path.dirname(p["manifest_path"])
    for field in ("description", "license", "repository", "documentation", "readme"):
        if not p.get(field):
            errors.append(f"{name}: no {field}")
    for field, most in (("keywords", 5), ("categories", 5)):
        if not 1 <= len(p[field]) <= most:
            errors.append(f"{name}: {len(p[field])} {field} (1 to {most})")
    if any(k != k.lower() for k in p["keywords"]):
        errors.append(f"{name}: keywords must be lowercase: {p['keywords']}")

    listed = subprocess.run(
        ["cargo", "package", "--list", "--allow-dirty", "--quiet", "-p", name],
        check=True, capture_output=True, text=True).stdout.split()
    if "README.md" not in listed:
        errors.append(f"{name}: README.md is not in the package")
    # Every file the sources include must be inside the package, or the published crate
    # does not build.
    for directory, _, files in os.walk(os.path.join(root, "src")):
        for file in files:
            if not file.endswith(".rs"):
                continue
            path = os.path.join(directory, file)
            for target in INCLUDE.findall(open(path, encoding="utf-8").read()):
                included = os.path.relpath(os.path.normpath(os.path.join(directory, target)), root)
                if included not in listed:
                    errors.append(f"{name}: {os.path.relpath(path, root)} includes {target}, "
                                  f"which is not in the package ({included})")
    size = sum(os.path.getsize(os.path.join(root, f)) for f in listed
               if os.path.isfile(os.path.join(root, f)))
    if size > MAX_PACKAGE_BYTES:
        errors.append(f"{name}: the package holds {size} bytes (at most {MAX_PACKAGE_BYTES})")
for e in errors:
    print(f"error: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY
rm -f "$log" "$metadata"
