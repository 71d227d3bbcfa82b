#!/usr/bin/env bash
# Proves the no_std crates (fluent-proto, fluent-queue, fluent-embedded) build without std and without an allocator, on a
# machine that only has the host target installed. Two independent checks,
# each with a negative control that must FAIL (so the check can fail):
#
# 1. ci/nostd-check: a #![no_std] staticlib with its own #[panic_handler],
#    built with panic=abort. std anywhere in the graph brings a second
#    panic_impl (E0152).
# 2. A copy of the sysroot holding core but neither std nor alloc: the
#    no-allocator crates are built against it for the host target
#    (--target keeps build scripts and proc macros on the real sysroot).
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-target}

say() { printf '\n== %s\n' "$*"; }

expect_failure() {
  local what=$1 pattern=$2; shift 2
  local log; log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    echo "negative control unexpectedly built: $what" >&2
    cat "$log" >&2
    exit 1
  fi
  if ! grep -q "$pattern" "$log"; then
    echo "negative control failed for another reason than expected ($pattern): $what" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "ok: $what fails as it must ($pattern)"
}

say "no_std staticlib with its own panic handler (panic=abort)"
CARGO_TARGET_DIR="$target_dir/nostd-check" cargo build --quiet --release --manifest-path ci/nostd-check/Cargo.toml
echo "ok: fluent-nostd-check builds"
expect_failure "the staticlib with fluent-proto/std enabled" "duplicate lang item" \
  env CARGO_TARGET_DIR="$target_dir/nostd-check" cargo build --release --manifest-path ci/nostd-check/Cargo.toml --features leak-std

say "core-only sysroot (no std, no alloc)"
sysroot=$(rustc --print sysroot)
fake="$target_dir/core-only-sysroot"
lib="$fake/lib/rustlib/$host/lib"
if [ ! -d "$lib" ] || [ "$sysroot/lib/rustlib/$host/lib" -nt "$lib" ]; then
  rm -rf "$fake"
  mkdir -p "$lib"
  # .rlib and, on newer toolchains, the separate .rmeta metadata.
  for crate in core compiler_builtins rustc_std_workspace_core; do
    cp "$sysroot"/lib/rustlib/"$host"/lib/lib"$crate"-*.r* "$lib"/
  done
fi
abs_fake=$(cd "$fake" && pwd)
build_core_only() {
  RUSTFLAGS="--sysroot $abs_fake" CARGO_TARGET_DIR="$target_dir/core-only" \
    cargo build --quiet --target "$host" "$@"
}
build_core_only -p fluent-proto --no-default-features --features handshake
echo "ok: fluent-proto (handshake) builds against core alone"
build_core_only -p fluent-queue --no-default-features
echo "ok: fluent-queue builds against core alone"
build_core_only -p fluent-embedded --no-default-features --features async
echo "ok: fluent-embedded (async) builds against core alone"
expect_failure "fluent-queue with alloc against the core-only sysroot" "can't find crate for \`alloc\`" \
  build_core_only -p fluent-queue --no-default-features --features alloc
expect_failure "fluent-proto with alloc against the core-only sysroot" "can't find crate for \`alloc\`" \
  build_core_only -p fluent-proto --no-default-features --features alloc
expect_failure "fluent-proto with std against the core-only sysroot" "can't find crate for \`std\`\|can't find crate for \`alloc\`" \
  build_core_only -p fluent-proto --no-default-features --features std
echo
echo "no_std checks passed"
