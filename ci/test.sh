#!/usr/bin/env bash
# The one test command. On a fresh machine it installs what the tests need
# (idempotently), then runs everything: formatting, clippy with warnings as
# errors, every test in the workspace (unit, property, doc, and the interop
# tests against the real Python and Go peers), and the no_std proofs.
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
cargo clippy -p fluent-proto --no-default-features --features handshake --quiet -- -D warnings
cargo clippy -p fluent-queue --no-default-features --quiet -- -D warnings
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo clippy -p fluent-queue --tests --quiet -- -D warnings

step "cargo test --workspace --all-features"
cargo test --workspace --all-features

step "loom model checking of fluent-queue (preemption bound 3)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p fluent-queue --test loom --release

step "no_std proofs"
ci/nostd.sh

step "all checks passed"
