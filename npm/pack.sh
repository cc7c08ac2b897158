#!/usr/bin/env bash
# Packs shockwave's npm packages around a built binary:
#
#   npm/pack.sh BINARY OUTDIR [PLATFORM]
#
# writes two tarballs to OUTDIR and prints their paths: the `shockwave` wrapper (a launcher whose
# optionalDependencies name one package per platform) and `@shockwave/PLATFORM`, which holds
# BINARY. PLATFORM is node's `process.platform-process.arch` (`linux-x64`, `darwin-arm64`,
# `win32-x64`, ...), this machine's by default; the release workflow packs each platform's
# binary with it. The version is the crate's (SHOCKWAVE_VERSION overrides it).
set -euo pipefail

fail() {
  echo "error: $*" >&2
  exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || fail "usage: npm/pack.sh BINARY OUTDIR [PLATFORM]"
binary=$1
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || fail "node is not on PATH; install Node.js (npm comes with it)"
command -v npm >/dev/null 2>&1 || fail "npm is not on PATH; install it (it comes with Node.js)"
[ -f "$binary" ] || fail "$binary is not a file: build shockwave first (cargo build --release)"
platform=${3:-$(node -p 'process.platform + "-" + process.arch')}

if [ -n "${SHOCKWAVE_VERSION:-}" ]; then
  version=${SHOCKWAVE_VERSION#v}
else
  command -v cargo >/dev/null 2>&1 || fail "cargo is not on PATH: set SHOCKWAVE_VERSION to the version to pack"
  version=$(cargo metadata --no-deps --format-version 1 --manifest-path "$here/../Cargo.toml" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
      console.log(JSON.parse(s).packages.find((p) => p.name === "shockwave").version))')
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The wrapper, with this version and the same version of every platform package.
cp -R "$here/shockwave" "$stage/wrapper"
PLATFORM="$platform" VERSION="$version" node -e '
  const fs = require("fs");
  const file = process.argv[1];
  const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
  const name = `@shockwave/${process.env.PLATFORM}`;
  if (!(name in manifest.optionalDependencies)) {
    console.error(`error: ${process.env.PLATFORM} is not a platform the wrapper knows; add ${name} to npm/shockwave/package.json first`);
    process.exit(2);
  }
  manifest.version = process.env.VERSION;
  for (const dep of Object.keys(manifest.optionalDependencies)) {
    manifest.optionalDependencies[dep] = process.env.VERSION;
  }
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
' "$stage/wrapper/package.json"

# The platform package: the binary, installed only where `os` and `cpu` match.
os=${platform%-*}
cpu=${platform#*-}
exe=shockwave
[ "$os" = win32 ] && exe=shockwave.exe
mkdir -p "$stage/platform/bin"
cp "$binary" "$stage/platform/bin/$exe"
chmod 755 "$stage/platform/bin/$exe"
PLATFORM="$platform" OS="$os" CPU="$cpu" EXE="$exe" VERSION="$version" node -e '
  const fs = require("fs");
  const wrapper = require(process.argv[1]);
  const manifest = {
    name: `@shockwave/${process.env.PLATFORM}`,
    version: process.env.VERSION,
    description: `The shockwave binary for ${process.env.PLATFORM}; install the \`shockwave\` package, which runs it.`,
    license: wrapper.license,
    os: [process.env.OS],
    cpu: [process.env.CPU],
    files: [`bin/${process.env.EXE}`],
    preferUnplugged: true,
  };
  fs.writeFileSync("'"$stage"'/platform/package.json", JSON.stringify(manifest, null, 2) + "\n");
' "$here/shockwave/package.json"

for dir in wrapper platform; do
  tarball=$(cd "$stage/$dir" && npm pack --silent --pack-destination "$outdir" | tail -n 1)
  echo "$outdir/$tarball"
done
