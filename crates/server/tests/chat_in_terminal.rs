//! `parley chat demo` runs the demo agent as text: spoken numbers, keypad entry, goodbye.

use std::io::Write;
use std::process::{Command, Stdio};

fn chat(input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["chat", "demo"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_text_conversation_with_the_demo_agent() {
    let out = chat("what are your opening hours\nwhere is order ten oh two\n#1009\nbye\n");
    assert!(out.contains("agent> Thank you for calling Parley Demo Store"), "{out}");
    assert!(out.contains("Monday to Friday"), "{out}");
    assert!(out.contains("Order 1 0 0 2, for Bob Chen, is shipped"), "{out}");
    assert!(out.contains("Order 1 0 0 9, for Ivan Petrov"), "{out}");
    assert!(out.trim_end().ends_with("[agent hung up]"), "{out}");
}

#[test]
fn an_unknown_agent_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_parley")).args(["chat", "no-such-agent"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agent named \"no-such-agent\""));
}
