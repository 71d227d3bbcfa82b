#!/usr/bin/env python3
"""Prints a Markdown table of one criterion group's results, with each
benchmark's throughput and its ratio to the group's first (baseline) entry.

Usage: python3 ci/bench_table.py GROUP [BASELINE-SUBSTRING]
Reads target/criterion/GROUP/*/new/{estimates,benchmark}.json as left by the
last `cargo bench` run of that group.
"""
import json
import pathlib
import sys


def main() -> int:
    group = sys.argv[1]
    baseline_key = sys.argv[2] if len(sys.argv) > 2 else None
    root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion" / group
    rows = []
    for bench_dir in sorted(root.iterdir()):
        new = bench_dir / "new"
        if not (new / "estimates.json").exists():
            continue
        est = json.loads((new / "estimates.json").read_text())
        meta = json.loads((new / "benchmark.json").read_text())
        ns = est["median"]["point_estimate"]
        elements = (meta.get("throughput") or {}).get("Elements", 1)
        rows.append((meta["function_id"], ns, elements))
    if not rows:
        print(f"no criterion results under {root}", file=sys.stderr)
        return 1
    base = next((r for r in rows if baseline_key and baseline_key in r[0]), rows[0])
    base_rate = base[2] / base[1]
    print(f"| {group} | time per iteration | per element | elements/s | vs `{base[0]}` |")
    print("|---|---:|---:|---:|---:|")
    for name, ns, elements in rows:
        rate = elements / ns
        print(f"| {name} | {ns:,.1f} ns | {ns / elements:,.1f} ns | {rate * 1e9:,.0f} | {rate / base_rate:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
