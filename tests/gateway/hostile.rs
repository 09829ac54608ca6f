//! Hostile input (issue 8 §4) against the real `openclaw-node` binary through a fake gateway:
//! each test sends one kind of hostile frame, checks the node's answer (or its close code and
//! log line), then checks that the node — still connected, or reconnected where the protocol
//! closes — answers a normal `system.which`.
//!
//! | hostile input | node behaviour |
//! |---|---|
//! | frame > `maxPayload` | close 1009, logged, reconnect |
//! | 100 000-level nesting | `INVALID_REQUEST` (in `paramsJSON` or `params`), logged drop (bare frame) |
//! | NUL in argv / env / cwd | `INVALID_REQUEST` "… contains NUL bytes", nothing spawned |
//! | invalid UTF-8 text frame | close 1007 (RFC 6455 §8.1), logged, reconnect |
//! | binary frame | logged drop, connection kept |
//! | 100 000-element argv | runs (output exactly at the 200 000-byte cap); > 256 KiB of argv → `INVALID_REQUEST` "command too large" |
//! | unknown command | `UNAVAILABLE` "command not supported" |
//! | duplicate invoke id while active | not run again, logged; the id gets exactly one result |
//! | invoke id reused after its result | a new request: runs and gets its own result |

use std::time::Duration;

use crate::support::gateway::*;
use crate::support::node::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

const MAX_PAYLOAD: u64 = 25 * 1024 * 1024;

async fn setup() -> (Gw, NodeProc, Ws, String) {
    let gw = Gw::new().await;
    let node = NodeProc::start(gw.port(), FULL_APPROVALS);
    let (ws, me) = gw.connect(MAX_PAYLOAD).await;
    (gw, node, ws, me)
}

fn run(id: &str, me: &str, params: Value) -> Value {
    invoke(id, me, "system.run", params, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frame_above_max_payload_closes_1009_logged_then_reconnects() {
    let gw = Gw::new().await;
    let mut node = NodeProc::start(gw.port(), FULL_APPROVALS);
    let (mut ws, _) = gw.connect(64 * 1024).await;
    let big = json!({"type":"event","event":"health","payload":{"x":"y".repeat(100 * 1024)}});
    let _ = ws.send(Message::text(big.to_string())).await;
    assert_eq!(recv_close(&mut ws, T).await, Some(1009));
    let log = node.wait_log("closing with 1009").await;
    assert!(log.contains("exceeds maxPayload 65536"), "{log}");
    // clean reconnect; the new connection serves invokes
    let (mut ws, me) = gw.connect(MAX_PAYLOAD).await;
    assert_which_works(&mut ws, &me, "after-1009").await;
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_deeply_nested_json_is_refused_without_stack_overflow() {
    let (_gw, mut node, mut ws, me) = setup().await;
    let levels = 100_000;
    let deep = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    // 1. inside paramsJSON (the normal wire form)
    let mut frame = invoke("deep-pj", &me, "system.which", json!({}), None);
    frame["payload"]["paramsJSON"] = Value::String(format!("{{\"bins\":{deep}}}"));
    send(&mut ws, frame).await;
    // 2. inside `params` (object form): the frame itself is too deep for the parser
    let text = format!(
        r#"{{"type":"event","event":"node.invoke.request","payload":{{"id":"deep-p","nodeId":"{me}","command":"system.run","params":{{"command":{deep}}}}}}}"#
    );
    ws.send(Message::text(text)).await.unwrap();
    // 3. a bare deep frame (no invoke to answer) and a deep object
    ws.send(Message::text(deep.clone())).await.unwrap();
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
    ws.send(Message::text(deep_obj)).await.unwrap();

    let c = collect(&mut ws, 2, T).await;
    let (code, message) = c.error("deep-pj");
    assert_eq!(code, "INVALID_REQUEST");
    assert!(message.contains("recursion limit"), "{message}");
    let (code, message) = c.error("deep-p");
    assert_eq!(code, "INVALID_REQUEST");
    assert!(message.contains("recursion limit"), "{message}");
    assert!(c.events.is_empty(), "nothing ran: {:?}", c.events);
    assert_which_works(&mut ws, &me, "after-deep").await;
    let log = node.log();
    assert!(log.contains("ignoring a malformed frame"), "{log}");
    assert!(
        log.contains("invoke deep-p (system.run) could not be decoded"),
        "{log}"
    );
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_nul_bytes_in_argv_env_cwd_are_invalid_request_and_nothing_spawns() {
    let (_gw, mut node, mut ws, me) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    // each would create a file if it were spawned with the string cut at the NUL
    send(
        &mut ws,
        run(
            "nul-argv",
            &me,
            json!({"command":["/bin/touch", format!("{d}/argv\u{0}tail")]}),
        ),
    )
    .await;
    send(
        &mut ws,
        run(
            "nul-argv0",
            &me,
            json!({"command":["/bin/touch\u{0}x", format!("{d}/argv0")]}),
        ),
    )
    .await;
    send(
        &mut ws,
        run(
            "nul-env-key",
            &me,
            json!({"command":["/bin/touch", format!("{d}/envkey")],"env":{"A\u{0}B":"1"}}),
        ),
    )
    .await;
    send(
        &mut ws,
        run(
            "nul-env-value",
            &me,
            json!({"command":["/bin/touch", format!("{d}/envval")],"env":{"AB":"1\u{0}2"}}),
        ),
    )
    .await;
    send(
        &mut ws,
        run(
            "nul-cwd",
            &me,
            json!({"command":["/bin/touch", "cwdfile"],"cwd":format!("{d}\u{0}/sub")}),
        ),
    )
    .await;
    let c = collect(&mut ws, 5, T).await;
    for (id, what) in [
        ("nul-argv", "command"),
        ("nul-argv0", "command"),
        ("nul-env-key", "env"),
        ("nul-env-value", "env"),
        ("nul-cwd", "cwd"),
    ] {
        let (code, message) = c.error(id);
        assert_eq!(code, "INVALID_REQUEST", "{id}");
        assert_eq!(message, format!("{what} contains NUL bytes"), "{id}");
    }
    assert!(c.events.is_empty(), "nothing ran: {:?}", c.events);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "a run was spawned: {left:?}");
    assert!(!node.path().join("cwdfile").exists());
    assert_which_works(&mut ws, &me, "after-nul").await;
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_invalid_utf8_text_frame_closes_1007_logged_then_reconnects() {
    let (gw, mut node, mut ws, _) = setup().await;
    let raw = Frame::message(
        b"{\"type\":\"event\",\"event\":\"\xff\xfe\"}".to_vec(),
        OpCode::Data(Data::Text),
        true,
    );
    ws.send(Message::Frame(raw)).await.unwrap();
    assert_eq!(recv_close(&mut ws, T).await, Some(1007));
    node.wait_log("not valid UTF-8").await;
    let (mut ws, me) = gw.connect(MAX_PAYLOAD).await;
    assert_which_works(&mut ws, &me, "after-1007").await;
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_binary_frame_is_logged_and_dropped_connection_kept() {
    let (_gw, mut node, mut ws, me) = setup().await;
    // binary frames, including one holding a valid invoke: never served
    ws.send(Message::binary(vec![0xffu8, 0x00, 0xfe]))
        .await
        .unwrap();
    let inv = run("bin-1", &me, json!({"command":["/bin/echo","no"]}));
    ws.send(Message::binary(inv.to_string().into_bytes()))
        .await
        .unwrap();
    assert_which_works(&mut ws, &me, "after-binary").await;
    assert_no_result(&mut ws, Duration::from_millis(500)).await;
    let log = node.log();
    assert_eq!(log.matches("ignoring a binary frame").count(), 2, "{log}");
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_100k_element_argv_runs_and_oversized_argv_is_refused() {
    let (_gw, mut node, mut ws, me) = setup().await;
    let n = 100_000;
    let mut argv = vec!["/bin/echo".to_string()];
    argv.extend(std::iter::repeat_n("x".to_string(), n));
    send(
        &mut ws,
        run(
            "argv-100k",
            &me,
            json!({"command":argv,"runId":"run-argv-100k"}),
        ),
    )
    .await;
    let c = collect(&mut ws, 1, Duration::from_secs(40)).await;
    let p = c.payload("argv-100k");
    assert_eq!(p["exitCode"], 0, "{}", p["error"]);
    // "x x … x\n": 2n bytes, exactly the 200 000-byte cap, so nothing is cut
    let stdout = p["stdout"].as_str().unwrap();
    assert_eq!(stdout.len(), 2 * n);
    assert!(stdout.starts_with("x x x") && stdout.ends_with("x\n"));
    assert_eq!(c.finished_pos.len(), 1);

    // above the documented 256 KiB argv limit: a clear error, nothing runs
    let mut argv = vec!["/bin/echo".to_string()];
    argv.extend(std::iter::repeat_n("x".to_string(), 300_000));
    send(&mut ws, run("argv-300k", &me, json!({"command":argv}))).await;
    let c = collect(&mut ws, 1, Duration::from_secs(40)).await;
    let (code, message) = c.error("argv-300k");
    assert_eq!(code, "INVALID_REQUEST");
    assert!(message.contains("command too large"), "{message}");
    assert!(c.events.is_empty());
    assert_which_works(&mut ws, &me, "after-argv").await;
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_unknown_command_is_unavailable_command_not_supported() {
    let (_gw, mut node, mut ws, me) = setup().await;
    send(&mut ws, invoke("nope", &me, "system.nope", json!({}), None)).await;
    send(
        &mut ws,
        invoke("notify", &me, "system.notify", json!({"title":"x"}), None),
    )
    .await;
    let c = collect(&mut ws, 2, T).await;
    for id in ["nope", "notify"] {
        let r = c.result(id);
        assert_eq!(
            r["error"],
            json!({"code":"UNAVAILABLE","message":"command not supported"}),
            "{id}"
        );
    }
    assert_which_works(&mut ws, &me, "after-nope").await;
    assert!(node.alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_duplicate_invoke_ids_get_exactly_one_result_each() {
    let (_gw, mut node, mut ws, me) = setup().await;
    // concurrent: the second request with an active id is not run; the id gets one result
    send(
        &mut ws,
        run(
            "dup",
            &me,
            json!({"command":["/bin/sh","-c","sleep 0.5; echo first"],"runId":"run-dup-1"}),
        ),
    )
    .await;
    send(
        &mut ws,
        run(
            "dup",
            &me,
            json!({"command":["/bin/echo","second"],"runId":"run-dup-2"}),
        ),
    )
    .await;
    let c = collect(&mut ws, 1, T).await;
    assert_eq!(c.payload("dup")["stdout"], "first\n");
    assert_no_result(&mut ws, Duration::from_millis(1500)).await;
    assert!(c.finished_pos.contains_key("run-dup-1"));
    assert!(!c.finished_pos.contains_key("run-dup-2"), "duplicate ran");
    assert!(
        node.log().contains("ignoring a duplicate invoke id dup"),
        "{}",
        node.log()
    );

    // sequential: an id reused after its result is a new request with its own result
    send(
        &mut ws,
        run(
            "seq",
            &me,
            json!({"command":["/bin/echo","one"],"runId":"run-seq-1"}),
        ),
    )
    .await;
    let c = collect(&mut ws, 1, T).await;
    assert_eq!(c.payload("seq")["stdout"], "one\n");
    send(
        &mut ws,
        run(
            "seq",
            &me,
            json!({"command":["/bin/echo","two"],"runId":"run-seq-2"}),
        ),
    )
    .await;
    let c = collect(&mut ws, 1, T).await;
    assert_eq!(c.payload("seq")["stdout"], "two\n");
    assert_no_result(&mut ws, Duration::from_millis(300)).await;
    assert_which_works(&mut ws, &me, "after-dup").await;
    assert!(node.alive());
}
