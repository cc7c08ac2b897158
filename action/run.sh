#!/usr/bin/env bash
# The steps of the shockwave GitHub Action (action.yml), as one script the test suite runs with
# a fake GITHUB_OUTPUT and GITHUB_EVENT_PATH:
#   1. get the binary: the one on PATH (version `path`, or already the requested version), else
#      the release archive for this runner, its sha256 checked against the release's
#      `sha256.sum`, else `cargo install --locked` when the release cannot be downloaded;
#   2. work out the base: the `base` input, else the pull request's base commit, the merge
#      group's base, or the commit before a push (a new branch's all-zero `before` leaves the
#      choice to shockwave: default_base, then origin/HEAD, main or master);
#   3. run `shockwave affected --format github`, which writes affected, matrix, any (and shards)
#      to $GITHUB_OUTPUT; this script adds `base`, and `packages` (the `--format gotest` line)
#      when asked. With `install-only` it stops after step 1.
# Inputs arrive as INPUT_* variables (action.yml maps them).
set -euo pipefail

version=${INPUT_VERSION:-latest}
version=${version#v}

note() { echo "shockwave: $*" >&2; }
fail() {
  echo "::error title=shockwave::$*" >&2
  exit 1
}

# The Rust target of this runner's release archive.
runner_target() {
  case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

# Where the releases are: the `release-url` input, else this action's own repository.
releases_url() {
  if [ -n "${INPUT_RELEASE_URL:-}" ]; then
    echo "${INPUT_RELEASE_URL%/}"
    return
  fi
  local repo=${INPUT_REPOSITORY:-}
  # Composite actions do not always see github.action_repository; the runner checks the action
  # out under _actions/OWNER/REPO/REF.
  if [ -z "$repo" ] && [[ "${GITHUB_ACTION_PATH:-}" == */_actions/*/*/* ]]; then
    local rest=${GITHUB_ACTION_PATH#*/_actions/}
    repo=$(echo "$rest" | cut -d/ -f1-2)
  fi
  [ -n "$repo" ] && echo "${GITHUB_SERVER_URL:-https://github.com}/$repo/releases"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Downloads and checks the release archive into $1; returns 1 when it cannot be downloaded (the
# caller falls back to cargo), exits when its checksum is wrong.
download_release() {
  local dir=$1 target base url asset archive sums expected actual
  target=$(runner_target)
  [ -n "$target" ] || {
    note "no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
    return 1
  }
  base=$(releases_url) || true
  [ -n "$base" ] || {
    note "unknown release location: set the release-url input"
    return 1
  }
  case "$target" in
    *windows*) asset="shockwave-$target.zip" ;;
    *) asset="shockwave-$target.tar.xz" ;;
  esac
  if [ "$version" = latest ]; then url="$base/latest/download"; else url="$base/download/v$version"; fi
  archive="$dir/$asset"
  sums="$dir/sha256.sum"
  note "downloading $url/$asset"
  curl --fail --silent --show-error --location --retry 3 -o "$archive" "$url/$asset" || return 1
  curl --fail --silent --show-error --location --retry 3 -o "$sums" "$url/sha256.sum" || return 1
  expected=$(awk -v a="$asset" '{ f = $2; sub(/^\*/, "", f) } f == a { print $1; exit }' "$sums")
  [ -n "$expected" ] || fail "the release's sha256.sum has no line for $asset; refusing to install an unchecked binary"
  actual=$(sha256_of "$archive")
  [ "$expected" = "$actual" ] ||
    fail "checksum mismatch for $asset: sha256.sum says $expected, the download is $actual; refusing to install it"
  case "$asset" in
    *.zip) (cd "$dir" && unzip -q -o "$asset") ;;
    *) tar -xJf "$archive" -C "$dir" ;;
  esac
}

install_binary() {
  local dir=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/shockwave-action
  local exe=shockwave found
  [[ "$(runner_target)" == *windows* ]] && exe=shockwave.exe
  mkdir -p "$dir/bin"
  if download_release "$dir"; then
    found=$(find "$dir" -name "$exe" -type f ! -path "$dir/bin/*" | head -n 1)
    [ -n "$found" ] || fail "the release archive holds no $exe"
    mv "$found" "$dir/bin/$exe"
    chmod +x "$dir/bin/$exe"
  else
    command -v cargo >/dev/null 2>&1 ||
      fail "the release could not be downloaded and cargo is not installed; install Rust first (or set version to a released one)"
    note "the release could not be downloaded; building it with cargo install --locked (several minutes)"
    local args=(install --locked --root "$dir" shockwave)
    [ "$version" != latest ] && args+=(--version "$version")
    cargo "${args[@]}" >&2
  fi
  [ -n "${GITHUB_PATH:-}" ] && echo "$dir/bin" >>"$GITHUB_PATH"
  echo "$dir/bin/$exe"
}

# The binary to run.
if [ "$version" = path ]; then
  bin=$(command -v shockwave) || fail "version is \`path\` but no shockwave is on PATH"
elif [ "$version" != latest ] && command -v shockwave >/dev/null 2>&1 &&
  [[ "$(shockwave --version 2>/dev/null)" == "shockwave $version "* ]]; then
  bin=$(command -v shockwave)
else
  bin=$(install_binary)
fi
note "$("$bin" --version)"
[ "${INPUT_INSTALL_ONLY:-false}" = true ] && exit 0

# A field of the event that triggered the workflow.
event_field() {
  if command -v jq >/dev/null 2>&1; then
    jq -r "$1 // empty" "$GITHUB_EVENT_PATH"
  else
    python3 -c 'import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].strip(".").split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value if isinstance(value, str) else "")' "$GITHUB_EVENT_PATH" "$1"
  fi
}

base=${INPUT_BASE:-}
if [ -z "$base" ] && [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target) base=$(event_field .pull_request.base.sha) ;;
    merge_group) base=$(event_field .merge_group.base_sha) ;;
    push)
      base=$(event_field .before)
      if [[ "$base" =~ ^0+$ ]]; then
        note "a new branch: no commit before this push, shockwave chooses the base"
        base=""
      fi
      ;;
  esac
fi

args=(affected --format github)
[ -n "$base" ] && args+=(--base "$base")
if [ -n "${INPUT_SHARDS:-}" ]; then
  args+=(--shards "$INPUT_SHARDS")
  read -ra targets <<<"${INPUT_TARGETS:-}"
  [ ${#targets[@]} -gt 0 ] && args+=(--target "${targets[@]}")
fi
read -ra extra <<<"${INPUT_ARGS:-}"
[ ${#extra[@]} -gt 0 ] && args+=("${extra[@]}")
note "shockwave ${args[*]}"
"$bin" "${args[@]}"
if [ "${INPUT_GO_PACKAGES:-false}" = true ]; then
  gotest=(affected --format gotest)
  [ -n "$base" ] && gotest+=(--base "$base")
  [ ${#extra[@]} -gt 0 ] && gotest+=("${extra[@]}")
  packages=$("$bin" "${gotest[@]}")
  [ -n "${GITHUB_OUTPUT:-}" ] && echo "packages=$packages" >>"$GITHUB_OUTPUT"
fi
[ -n "${GITHUB_OUTPUT:-}" ] && echo "base=$base" >>"$GITHUB_OUTPUT"
exit 0
