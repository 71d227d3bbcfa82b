//! The handshake digests agree with Python's hashlib computing the formulas
//! of the Forward protocol spec ("Handshake Messages").

use std::process::Command;

use fluent_proto::handshake::{password_digest, shared_key_digest};
use fluent_tests::{python, run};

#[test]
fn digests_match_hashlib() {
    let nonce: Vec<u8> = (0..16).collect();
    let auth: Vec<u8> = (100..116).collect();
    let script = r#"
import hashlib, sys
nonce = bytes(range(16)); auth = bytes(range(100, 116))
print(hashlib.sha512(b"0123456789abcdef" + b"client.example" + nonce + b"s3cr\xc3\xa9t").hexdigest())
print(hashlib.sha512(auth + b"alice" + b"pa55").hexdigest())
"#;
    let out = String::from_utf8(run(Command::new(python()).args(["-c", script]))).unwrap();
    let mut lines = out.lines();
    let shared = shared_key_digest(b"0123456789abcdef", "client.example", &nonce, "s3crét".as_bytes());
    assert_eq!(shared.as_str(), lines.next().unwrap());
    assert_eq!(password_digest(&auth, "alice", "pa55").as_str(), lines.next().unwrap());
}
