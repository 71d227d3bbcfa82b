#!/usr/bin/env bash
# Proves the no_std crates (fluent-proto, fluent-queue, fluent-embedded) build without std and without an allocator, on a
# machine that only has the host target installed. Four independent checks,
# each with a negative control that must FAIL (so the check can fail):
#
# 1. ci/nostd-check: a #![no_std] staticlib with its own #[panic_handler],
#    built with panic=abort. std anywhere in the graph brings a second
#    panic_impl (E0152).
# 2. A copy of the sysroot holding core but neither std nor alloc: the
#    no-allocator crates are built against it for the host target
#    (--target keeps build scripts and proc macros on the real sysroot).
# 3. A static overwrite-mode ring is all zeros: the staticlib's is a .bss
#    symbol (its Block-mode ring, one non-zero byte, is the .data control).
# 4. The layout for targets with 32-bit atomics only: the staticlib's LLVM IR
#    holds no 64-bit atomic operation (the default build's does).
# Then it prints the code a minimal emit + pump adds (ci/code_size.sh).
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
build_core_only -p fluent-embedded --no-default-features --features async,critical-section,handshake
echo "ok: fluent-embedded (async, critical-section, handshake) builds against core alone"
expect_failure "fluent-queue with alloc against the core-only sysroot" "can't find crate for \`alloc\`" \
  build_core_only -p fluent-queue --no-default-features --features alloc
expect_failure "fluent-proto with alloc against the core-only sysroot" "can't find crate for \`alloc\`" \
  build_core_only -p fluent-proto --no-default-features --features alloc
expect_failure "fluent-proto with std against the core-only sysroot" "can't find crate for \`std\`\|can't find crate for \`alloc\`" \
  build_core_only -p fluent-proto --no-default-features --features std

say "a static overwrite ring is all zeros: its image is in .bss, not in flash"
# A zero-initialised static costs no flash and no copy at boot. The
# staticlib's Ring<1024, 16> in overwrite mode must be a .bss symbol; the
# control: its Block-mode ring holds one non-zero byte (the mode), so it is
# in .data, which shows the check tells the sections apart.
symbols=$(nm -C "$target_dir/nostd-check/release/libfluent_nostd_check.a" 2>/dev/null)
section_of() { grep -E " fluent_nostd_check::$1\$" <<<"$symbols" | awk '{print $2}' | head -1; }
case "$(section_of RING)" in
  b|B) echo "ok: a static overwrite Ring is in .bss" ;;
  *) echo "a static overwrite Ring is not in .bss: $(section_of RING)" >&2; exit 1 ;;
esac
case "$(section_of EMBEDDED_RING)" in
  d|D) echo "ok: the control (a Block-mode ring, one non-zero byte) is in .data" ;;
  *) echo "the control is not in .data: $(section_of EMBEDDED_RING)" >&2; exit 1 ;;
esac

say "32-bit atomics only (microcontrollers without 64-bit atomics)"
# Cortex-M3/M4/M7/M33, 32-bit RISC-V and Xtensa have 32-bit atomics but no
# 64-bit ones, and no such target is installed here. `--cfg
# fluent_narrow_atomics` selects the layout those targets get; the staticlib
# above (which instantiates the queue, the embedded producer, pump and clock)
# is built with it, and its LLVM IR must hold no 64-bit atomic operation.
# The negative control: the default (wide) build does hold some.
atomics64='(load|store) atomic i64|cmpxchg (weak )?(volatile )?ptr [^,]*, i64|atomicrmw (volatile )?[a-z]+ ptr [^,]*, i64'
count_atomics64() {
  local dir=$1; shift
  rm -rf "$dir"
  RUSTFLAGS="$* --emit=llvm-ir,link" CARGO_TARGET_DIR="$dir" \
    cargo build --quiet --release --manifest-path ci/nostd-check/Cargo.toml
  cat "$dir"/release/deps/fluent_*.ll | grep -cE "$atomics64" || true
}
wide=$(count_atomics64 "$target_dir/ir-wide")
narrow=$(count_atomics64 "$target_dir/ir-narrow" --cfg fluent_narrow_atomics)
if [ "$wide" -eq 0 ]; then
  echo "negative control failed: the wide build shows no 64-bit atomics, so the check cannot see them" >&2
  exit 1
fi
echo "ok: the wide build holds $wide 64-bit atomic operations (the check sees them)"
if [ "$narrow" -ne 0 ]; then
  echo "the narrow build still holds $narrow 64-bit atomic operations:" >&2
  grep -nE "$atomics64" "$target_dir"/ir-narrow/release/deps/fluent_*.ll | head -20 >&2
  exit 1
fi
echo "ok: the narrow build holds no 64-bit atomic operation"

say "the code a minimal emit + pump adds (x86_64, size profile)"
ci/code_size.sh

echo
echo "no_std checks passed"
