//! Both directions against msgpack-python (PyPI `msgpack`) and Python's
//! `gzip` module: everything this codec encodes, in every mode, decodes there
//! into the expected objects; everything msgpack-python packs, in every mode
//! and time form, decodes here into the expected objects.

use std::process::Command;

use fluent_proto::{
    Decoded, EntriesFormat, EventTime, Events, Frame, FrameDecoder, Limits, Mode, Options, Request, Timestamp,
    encode_compressed_packed_forward, encode_entry, encode_forward, encode_message, encode_packed_forward,
};
use fluent_tests::{Val, canonical, canonical_time, coverage_records, py_dir, python, require_python_modules, run};
use serde_json::{Value as Json, json};

fn records() -> Vec<Val> {
    coverage_records().into_iter().map(Val::Map).collect()
}

#[test]
fn msgpack_python_decodes_every_mode_we_encode() {
    require_python_modules(&["msgpack"]);
    let records = records();
    let times: Vec<Timestamp> = (0..records.len() as u32)
        .map(|i| {
            if i % 2 == 0 {
                Timestamp::Seconds(1_700_000_000 + u64::from(i))
            } else {
                Timestamp::Event(EventTime::new(1_700_000_000 + i, i * 7))
            }
        })
        .collect();
    let mut wire = vec![0xc0];
    let mut expected = vec![json!({"heartbeat": true})];
    let events_json: Vec<Json> =
        records.iter().zip(&times).map(|(r, t)| json!([canonical_time(*t), r.canonical()])).collect();
    let options =
        Options { size: Some(records.len() as u64), chunk: Some("cXVpY2sgYnJvd24gZm94IQ=="), compressed: None };
    let options_json = json!([["size", records.len()], ["chunk", "cXVpY2sgYnJvd24gZm94IQ=="]]);

    for ((r, t), e) in records.iter().zip(&times).zip(&events_json) {
        encode_message(&mut wire, "rs.message", *t, r, None).unwrap();
        expected.push(json!({"tag": "rs.message", "mode": "message", "options": null, "events": [e]}));
    }
    encode_message(&mut wire, "rs.message", times[0], &records[0], Some(&options)).unwrap();
    expected.push(json!({"tag": "rs.message", "mode": "message", "options": options_json, "events": [events_json[0]]}));

    let pairs: Vec<(Timestamp, &Val)> = times.iter().copied().zip(&records).collect();
    encode_forward(&mut wire, "rs.forward", pairs.iter().copied(), Some(&options)).unwrap();
    expected.push(json!({"tag": "rs.forward", "mode": "forward", "options": options_json, "events": events_json}));

    let mut entries = Vec::new();
    for (t, r) in &pairs {
        encode_entry(&mut entries, *t, *r).unwrap();
    }
    encode_packed_forward(&mut wire, "rs.packed", &entries, EntriesFormat::Bin, Some(&options)).unwrap();
    expected.push(json!({"tag": "rs.packed", "mode": "packed", "options": options_json, "events": events_json}));
    encode_packed_forward(&mut wire, "rs.packed", &entries, EntriesFormat::Str, None).unwrap();
    expected.push(json!({"tag": "rs.packed", "mode": "packed_str", "options": null, "events": events_json}));
    encode_compressed_packed_forward(&mut wire, "rs.gzip", &entries, &options, 6).unwrap();
    let gz_options = json!([["size", records.len()], ["chunk", "cXVpY2sgYnJvd24gZm94IQ=="], ["compressed", "gzip"]]);
    expected.push(json!({"tag": "rs.gzip", "mode": "compressed", "options": gz_options, "events": events_json}));

    let lines = fluent_tests::decode_with_msgpack_python(&wire);
    assert_eq!(lines.len(), expected.len());
    for (got, want) in lines.iter().zip(&expected) {
        assert_eq!(got, want);
    }
}

fn canonical_request(request: &Request<'_>) -> Json {
    let decompressed;
    let events = match request.mode() {
        Mode::CompressedPackedForward => {
            decompressed = request.decompress(1 << 24).unwrap();
            Events::packed(&decompressed, request.event_depth())
        }
        _ => request.events(),
    };
    let events: Vec<Json> = events
        .map(|e| {
            let e = e.unwrap();
            let mut item = vec![canonical_time(e.time), canonical(fluent_proto::Value::Map(e.record))];
            if let Some(meta) = e.metadata {
                item.push(canonical(fluent_proto::Value::Map(meta)));
            }
            Json::Array(item)
        })
        .collect();
    let mode = match request.mode() {
        Mode::Message => "message",
        Mode::Forward => "forward",
        Mode::PackedForward => "packed",
        Mode::CompressedPackedForward => "compressed",
    };
    json!({
        "tag": request.tag(),
        "mode": mode,
        "chunk": request.options().chunk,
        "size": request.options().size,
        "events": events,
    })
}

#[test]
fn we_decode_every_mode_msgpack_python_packs() {
    require_python_modules(&["msgpack"]);
    let dir = std::env::temp_dir().join(format!("fluent-py-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (frames_path, expected_path) = (dir.join("frames.bin"), dir.join("expected.jsonl"));
    run(Command::new(python())
        .arg(py_dir().join("pack_frames.py"))
        .arg(&frames_path)
        .arg(&expected_path)
        .current_dir(py_dir()));
    let wire = std::fs::read(&frames_path).unwrap();
    let expected: Vec<Json> =
        std::fs::read_to_string(&expected_path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    // Feed the stream in uneven pieces, as a socket would deliver it.
    for piece in [1usize, 7, 4096] {
        let mut decoder = FrameDecoder::new(Limits::default());
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut heartbeats = 0;
        for chunk in wire.chunks(piece) {
            buf.extend_from_slice(chunk);
            while let Decoded::Frame { frame, consumed } = decoder.decode(&buf).unwrap() {
                match frame {
                    Frame::Heartbeat => heartbeats += 1,
                    Frame::Request(r) => got.push(canonical_request(&r)),
                }
                buf.drain(..consumed);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(heartbeats, 1);
        assert_eq!(got.len(), expected.len());
        for (g, w) in got.iter().zip(&expected) {
            assert_eq!(g, w);
        }
    }
}

#[test]
fn gzip_cli_reads_our_members() {
    let mut entries = Vec::new();
    for r in records() {
        encode_entry(&mut entries, Timestamp::Seconds(1), &r).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("fluent-gzip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("entries.gz");
    let mut two_members = fluent_proto::gzip::compress(&entries[..100], 6);
    two_members.extend(fluent_proto::gzip::compress(&entries[100..], 9));
    std::fs::write(&file, &two_members).unwrap();
    let out = run(Command::new("gzip").arg("-dc").arg(&file));
    assert!(out == entries, "gzip -d output differs");
    // And Python's gzip module, on the same bytes.
    let out = run(Command::new(python())
        .args(["-c", "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],'rb').read()))"])
        .arg(&file));
    assert!(out == entries, "python gzip output differs");
}
