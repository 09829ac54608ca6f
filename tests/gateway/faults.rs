//! Fault injection between the node and its gateway (issue 8 §3), with the real
//! `openclaw-node run` binary against a fake gateway on 127.0.0.1:0:
//! - the gateway drops the TCP connection (RST, no close frame) while a `system.run` tree is
//!   running: the whole tree is killed (protocol §6 "cancel running invocations tied to that
//!   connection"), nothing is left as a zombie, the node reconnects after the §6 backoff
//!   (1 s, reset after hello-ok, doubling while attempts keep failing) and serves the next invoke;
//! - tick loss on a half-open connection (the gateway neither writes nor reads), and on a
//!   black-holed path (a proxy swallows both directions while the gateway keeps ticking): the
//!   watchdog closes with 4000 "tick timeout" after 2 × tickIntervalMs (protocol §5) and
//!   reconnects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::gateway::*;
use crate::support::node::*;
use crate::support::procfs::*;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// Jitter is at most 25 % of the base delay; the rest is scheduling slack on a loaded CI box.
fn assert_gap(what: &str, gap: Duration, base_ms: u64, log: &str) {
    let lo = Duration::from_millis(base_ms);
    let hi = Duration::from_millis(base_ms + base_ms / 4 + 1200);
    assert!(
        gap >= lo && gap <= hi,
        "{what}: reconnect after {gap:?}, expected {lo:?}..{hi:?} (protocol §6)\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_6_gateway_drop_mid_run_kills_the_tree_then_reconnects_with_backoff() {
    let gw = Gw::abrupt().await;
    let node = NodeProc::start(gw.port(), FULL_APPROVALS);
    let pid = node.pid();
    let mut ws = gw.accept().await;
    let params = handshake(&mut ws, 30_000, MAX_PAYLOAD, None).await;
    let node_id = params["device"]["id"].as_str().unwrap().to_string();

    // A long run with a backgrounded grandchild.
    send_invoke(
        &mut ws,
        "run-1",
        &node_id,
        "system.run",
        sh_run(TREE_CMD, "r1"),
    )
    .await;
    let tree = wait_tree(pid).await;
    assert!(
        tree.iter().all(|&p| alive(p)),
        "tree must be alive before the drop"
    );

    // Abrupt drop: RST (SO_LINGER 0), no close frame.
    drop(ws);
    let dropped = Instant::now();

    // The whole tree dies, and nothing is left unreaped under the node.
    let gone = eventually(T, || tree.iter().all(|&p| !alive(p))).await;
    assert!(
        gone,
        "run tree survived the disconnect: {:?}\n{}",
        tree.iter()
            .filter(|&&p| alive(p))
            .map(|&p| (p, cmdline(p)))
            .collect::<Vec<_>>(),
        node.log()
    );
    let no_zombies = eventually(T, || zombie_children(pid).is_empty()).await;
    assert!(
        no_zombies,
        "zombie children of the node: {:?}",
        zombie_children(pid)
    );
    assert!(
        live_descendants_running(pid, "sleep").is_empty(),
        "{:?}",
        descendants(pid)
    );

    // Reconnect after the initial 1 s backoff (reset by the earlier hello-ok).
    let mut ws = gw.accept().await;
    assert_gap("after the first drop", dropped.elapsed(), 1000, &node.log());
    handshake(&mut ws, 30_000, MAX_PAYLOAD, None).await;

    // The next invoke is served on the new connection.
    send_invoke(
        &mut ws,
        "run-2",
        &node_id,
        "system.run",
        sh_run("echo served", "r2"),
    )
    .await;
    let res = result_of(&mut ws, "run-2", T).await;
    assert_eq!(res["ok"], true, "{res}");
    let payload: Value = serde_json::from_str(res["payloadJSON"].as_str().unwrap()).unwrap();
    assert_eq!(payload["stdout"], "served\n", "{payload}");
    assert_eq!(payload["exitCode"], 0);

    // Repeated drops: a connected session resets the backoff to 1 s, then each failed attempt
    // (dropped before the challenge) doubles it: 1 s, 2 s, 4 s.
    drop(ws);
    let t = Instant::now();
    let ws3 = gw.accept().await;
    assert_gap("after a connected session", t.elapsed(), 1000, &node.log());
    drop(ws3);
    let t = Instant::now();
    let ws4 = gw.accept().await;
    assert_gap("second failed attempt", t.elapsed(), 2000, &node.log());
    drop(ws4);
    let t = Instant::now();
    let mut ws5 = gw.try_accept(Duration::from_secs(7)).await.unwrap();
    assert_gap("third failed attempt", t.elapsed(), 4000, &node.log());
    // And the node is still able to serve.
    handshake(&mut ws5, 30_000, MAX_PAYLOAD, None).await;
    send_invoke(
        &mut ws5,
        "run-3",
        &node_id,
        "system.run",
        sh_run("echo again", "r3"),
    )
    .await;
    let res = result_of(&mut ws5, "run-3", T).await;
    assert_eq!(res["ok"], true, "{res}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_5_tick_loss_on_half_open_connection_closes_4000_and_reconnects() {
    const TICK_MS: u64 = 400;
    let gw = Gw::abrupt().await;
    let node = NodeProc::start(gw.port(), FULL_APPROVALS);
    let mut ws = gw.accept().await;
    handshake(&mut ws, TICK_MS, MAX_PAYLOAD, None).await;
    let hello_at = Instant::now();

    // Half-open: the fake keeps the socket but never writes or reads again.
    let ws2 = gw.try_accept(Duration::from_secs(6)).await;
    let gap = hello_at.elapsed();
    let mut ws2 = ws2.unwrap_or_else(|| panic!("no reconnect after tick loss\n{}", node.log()));
    // Watchdog: > 2 × tick without a frame (checked every tick/2), then the 1 s backoff.
    let lo = Duration::from_millis(2 * TICK_MS + 1000);
    let hi = Duration::from_millis(2 * TICK_MS + TICK_MS / 2 + 1250 + 1000);
    assert!(
        gap >= lo && gap <= hi,
        "reconnect {gap:?} after hello-ok, expected {lo:?}..{hi:?}\n{}",
        node.log()
    );
    // The stalled socket got the close frame 4000 "tick timeout" before the node left it.
    let mut code = None;
    while let Some(m) = next(&mut ws, Duration::from_secs(1)).await {
        if let Message::Close(Some(f)) = m {
            code = Some((u16::from(f.code), f.reason.to_string()));
            break;
        }
    }
    assert_eq!(
        code,
        Some((4000, "tick timeout".to_string())),
        "{}",
        node.log()
    );
    assert!(node.log().contains("tick timeout"), "{}", node.log());

    // The new connection works (and keeps working while ticks flow).
    let params = handshake(&mut ws2, TICK_MS, MAX_PAYLOAD, None).await;
    let node_id = params["device"]["id"].as_str().unwrap().to_string();
    for _ in 0..4 {
        send(
            &mut ws2,
            json!({"type":"event","event":"tick","payload":{"ts":1}}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(TICK_MS / 2)).await;
    }
    send_invoke(
        &mut ws2,
        "after",
        &node_id,
        "system.run",
        sh_run("echo ok", "t1"),
    )
    .await;
    let res = result_of(&mut ws2, "after", T).await;
    assert_eq!(res["ok"], true, "{res}");
    assert!(
        gw.try_accept(Duration::from_millis(100)).await.is_none(),
        "ticks kept flowing: the node must not have reconnected"
    );
}

/// A TCP proxy in front of the fake gateway whose first connection can be black-holed: bytes in
/// both directions are read and dropped, both sockets stay open (a half-open path where the
/// gateway is alive and ticking, but nothing arrives). Later connections pass through.
async fn blackhole_proxy(upstream: u16, hole: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut n = 0usize;
        while let Ok((client, _)) = listener.accept().await {
            let first = n == 0;
            n += 1;
            let hole = hole.clone();
            tokio::spawn(async move {
                let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (ur, uw) = up.into_split();
                let h1 = hole.clone();
                tokio::join!(pump(cr, uw, first, h1), pump(ur, cw, first, hole));
            });
        }
    });
    port
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    first: bool,
    hole: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if first && hole.load(Ordering::SeqCst) {
            continue; // black hole: swallow, keep both sockets open
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_5_blackholed_path_while_gateway_keeps_ticking_closes_4000_and_reconnects() {
    const TICK_MS: u64 = 400;
    let gw = Gw::abrupt().await;
    let hole = Arc::new(AtomicBool::new(false));
    let proxy = blackhole_proxy(gw.port(), hole.clone()).await;
    let node = NodeProc::start(proxy, FULL_APPROVALS);
    let mut ws = gw.accept().await;
    let params = handshake(&mut ws, TICK_MS, MAX_PAYLOAD, None).await;
    let node_id = params["device"]["id"].as_str().unwrap().to_string();

    // The gateway ticks every tick/2 for as long as its socket accepts writes.
    let ticks_after_hole = Arc::new(AtomicUsize::new(0));
    let counter = ticks_after_hole.clone();
    let h2 = hole.clone();
    let ticker = tokio::spawn(async move {
        loop {
            let tick = json!({"type":"event","event":"tick","payload":{"ts":1}});
            if ws.send(Message::text(tick.to_string())).await.is_err() {
                return ws;
            }
            if h2.load(Ordering::SeqCst) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(TICK_MS / 2)).await;
        }
    });
    // Connected and healthy for several tick periods first (ticks do arrive).
    tokio::time::sleep(Duration::from_millis(3 * TICK_MS)).await;
    assert!(
        gw.try_accept(Duration::from_millis(10)).await.is_none(),
        "the node must stay connected while ticks arrive\n{}",
        node.log()
    );

    hole.store(true, Ordering::SeqCst);
    let holed = Instant::now();
    let ws2 = gw.try_accept(Duration::from_secs(6)).await;
    let gap = holed.elapsed();
    let mut ws2 =
        ws2.unwrap_or_else(|| panic!("no reconnect after the black hole\n{}", node.log()));
    let lo = Duration::from_millis(2 * TICK_MS);
    let hi = Duration::from_millis(2 * TICK_MS + TICK_MS / 2 + 1250 + 1000);
    assert!(
        gap >= lo && gap <= hi,
        "reconnect {gap:?} after the black hole, expected {lo:?}..{hi:?}\n{}",
        node.log()
    );
    assert!(
        ticks_after_hole.load(Ordering::SeqCst) >= 2,
        "the gateway kept ticking into the black hole"
    );
    assert!(node.log().contains("tick timeout"), "{}", node.log());
    ticker.abort();

    handshake(&mut ws2, 30_000, MAX_PAYLOAD, None).await;
    send_invoke(
        &mut ws2,
        "after",
        &node_id,
        "system.run",
        sh_run("echo ok", "b1"),
    )
    .await;
    let res = result_of(&mut ws2, "after", T).await;
    assert_eq!(res["ok"], true, "{res}");
}
