//! Golden bytes from the real fluent-logger-golang (Debian
//! `golang-github-fluent-fluent-logger-golang-dev`): for the same tag,
//! EventTime and record, this codec's Message frame (with the empty option
//! map the Go client always sends) is byte-identical to the Go client's.
//!
//! Two interop facts shape the comparison (both are valid msgpack and every
//! receiver reads them as the same numbers):
//! - Go maps iterate in random order, so each record here is a one-key map
//!   (values may nest one-key maps and arrays).
//! - tinylib/msgp writes non-negative *signed* Go integers with signed
//!   markers (`int 16` for 200; integer time 1490061367 as `d2 ...`), where
//!   msgpack-python and this codec use `uint` markers. The Go program uses
//!   unsigned types for non-negative values and `SubSecondPrecision`
//!   (EventTime), which every peer writes identically.

use std::process::Command;

use fluent_proto::{EventTime, Options, Timestamp, encode_message};
use fluent_tests::{Val, capture, coverage_records, spawn};

/// Every value of the coverage records, each as its own one-key record.
fn one_key_records() -> Vec<(String, Val)> {
    let mut out = Vec::new();
    for record in coverage_records() {
        for (k, v) in record {
            // Nested multi-key maps would iterate randomly in Go.
            if let Val::Map(pairs) = &v
                && pairs.len() > 1
            {
                continue;
            }
            out.push((k, v));
        }
    }
    out.push(("f32".into(), Val::F32(1.25)));
    out.push(("f32neg".into(), Val::F32(-3.4e38)));
    out
}

#[test]
fn event_time_frames_are_byte_identical() {
    let records = one_key_records();
    let times: Vec<EventTime> =
        (0..records.len() as u32).map(|i| EventTime::new(1_490_061_367 + i, 861_646_890 + i)).collect();
    let mut posts = String::new();
    for ((key, value), time) in records.iter().zip(&times) {
        posts.push_str(&format!(
            "\tmust(logger.PostWithTime(\"golden.{key}\", time.Unix({}, {}), map[string]interface{{}}{{{:?}: {}}}))\n",
            time.seconds(),
            time.nanoseconds(),
            key,
            value.to_go()
        ));
    }
    let program = format!(
        r#"package main

import (
	"os"
	"strconv"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"
)

// fluent.EventTime implements msgp.Extension on its pointer.
func eventTime(t time.Time) *fluent.EventTime {{
	e := fluent.EventTime(t)
	return &e
}}

func must(err error) {{
	if err != nil {{
		panic(err)
	}}
}}

func main() {{
	port, err := strconv.Atoi(os.Args[1])
	must(err)
	logger, err := fluent.New(fluent.Config{{FluentHost: "127.0.0.1", FluentPort: port, SubSecondPrecision: true}})
	must(err)
{posts}	must(logger.Close())
}}
"#
    );
    let binary = fluent_tests::build_go_program("golden", &program);
    let go = capture(|port| spawn(Command::new(&binary).arg(port.to_string())));

    let mut ours = Vec::new();
    for ((key, value), time) in records.iter().zip(&times) {
        let record = Val::Map(vec![(key.clone(), value.clone())]);
        encode_message(
            &mut ours,
            &format!("golden.{key}"),
            Timestamp::Event(*time),
            &record,
            Some(&Options::default()),
        )
        .unwrap();
    }
    if ours != go {
        let at = ours.iter().zip(&go).position(|(a, b)| a != b).unwrap_or(ours.len().min(go.len()));
        panic!(
            "lengths {} vs {}, first difference at {at}: ours {:02x?} go {:02x?}",
            ours.len(),
            go.len(),
            &ours[at.saturating_sub(12)..(at + 8).min(ours.len())],
            &go[at.saturating_sub(12)..(at + 8).min(go.len())]
        );
    }
}
