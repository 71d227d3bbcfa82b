#!/usr/bin/env bash
# The one test command. On a fresh machine it installs what the tests need
# (idempotently), then runs everything: formatting, clippy with warnings as
# errors, every test in the workspace (unit, property, doc, and the interop
# tests against the real Python and Go peers), the no-std crates again with
# the layout of targets that have 32-bit atomics only, and the no_std proofs.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n=== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

step "install test peers"
ci/install-test-deps.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (workspace, all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
cargo clippy -p fluent-proto --no-default-features --quiet -- -D warnings
for feature in log tracing; do cargo clippy -p fluent-std --lib --features "$feature" --quiet -- -D warnings; done
cargo clippy -p fluent-proto --no-default-features --features handshake --quiet -- -D warnings
cargo clippy -p fluent-queue --no-default-features --quiet -- -D warnings
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo clippy -p fluent-queue --tests --quiet -- -D warnings
RUSTFLAGS="--cfg fluent_narrow_atomics" CARGO_TARGET_DIR=target/narrow \
  cargo clippy -p fluent-queue -p fluent-embedded --all-targets --all-features --quiet -- -D warnings

step "cargo doc (broken intra-doc links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet

step "cargo test --workspace --all-features"
cargo test --workspace --all-features

step "the examples (each fails when an event is missing)"
for example in quickstart log_handler tracing_layer tokio_service firmware_template firmware_sim; do
  cargo run --quiet --release -p fluent-examples --example "$example" >/dev/null
done

step "the tracing layer with valuable values (tracing passes them only under --cfg tracing_unstable)"
RUSTFLAGS="--cfg tracing_unstable" CARGO_TARGET_DIR=target/unstable \
  cargo clippy -p fluent-std --features valuable --all-targets --quiet -- -D warnings
RUSTFLAGS="--cfg tracing_unstable" CARGO_TARGET_DIR=target/unstable \
  cargo test -p fluent-std --features valuable --test tracing_valuable

step "fluent-queue and fluent-embedded with the 32-bit-atomics layout (microcontrollers)"
RUSTFLAGS="--cfg fluent_narrow_atomics" CARGO_TARGET_DIR=target/narrow \
  cargo test -p fluent-queue -p fluent-embedded --all-features

step "loom model checking of fluent-queue (preemption bound 3), both layouts"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p fluent-queue --test loom --release
RUSTFLAGS="--cfg loom --cfg fluent_narrow_atomics" CARGO_TARGET_DIR=target/loom-narrow \
  cargo test -p fluent-queue --test loom --release

step "no_std proofs"
ci/nostd.sh

step "all checks passed"
