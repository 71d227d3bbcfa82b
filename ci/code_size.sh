#!/usr/bin/env bash
# The code a minimal fluent-embedded sender (one emit into a static ring,
# one pump into an embedded_io::Write) adds to an image: ci/code-size built
# as a no_std cdylib with the size profile (opt-level "s", LTO, one codegen
# unit, panic=abort), with and without the sender; the linker keeps only
# what the exported entry point reaches. Prints the sections' sizes and the
# difference. Host target (x86_64) only: no microcontroller target is
# installed here, and Thumb-2 code is usually smaller than x86_64's.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}/code-size

sections() {
  CARGO_TARGET_DIR="$target_dir" cargo build --quiet --release --manifest-path ci/code-size/Cargo.toml "$@"
  size -A "$target_dir/release/libfluent_code_size.so" |
    awk '$1 == ".text" {t = $2} $1 == ".rodata" {r = $2} $1 == ".data" {d = $2} $1 == ".bss" {b = $2}
         END {printf "%d %d %d %d\n", t, r, d, b}'
}

read -r base_text base_rodata base_data base_bss < <(sections)
read -r text rodata data bss < <(sections --features sender)
echo "| build (x86_64, opt-level s, LTO) | .text | .rodata | .data | .bss |"
echo "|---|---:|---:|---:|---:|"
echo "| empty entry point | $base_text | $base_rodata | $base_data | $base_bss |"
echo "| emit + pump, Ring<1024, 16> | $text | $rodata | $data | $bss |"
echo "| the sender's share | $((text - base_text)) | $((rodata - base_rodata)) | $((data - base_data)) | $((bss - base_bss)) |"
if [ "$((text - base_text))" -le 0 ]; then
  echo "the sender added no code: the measurement is broken" >&2
  exit 1
fi
