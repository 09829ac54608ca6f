//! A result above maxPayload, shutdown with runs in flight, and the shared-token retry with the stored device token.

use super::*;

#[tokio::test]
async fn spec_7_3_result_larger_than_max_payload_becomes_an_error() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 64 * 1024, None).await;
    let me = node.device_id.clone();
    send(
        &mut ws,
        invoke(
            "big1",
            &me,
            "system.run",
            json!({"command":["big","100000"],"runId":"run-big"}),
            None,
        ),
    )
    .await;
    let (r, ev) = collect_results(&mut ws, 1, T).await;
    assert_eq!(ev.len(), 1, "exec.finished (tail-truncated) still fits");
    assert_eq!(r[0]["ok"], false);
    assert_eq!(r[0]["error"]["code"], "UNAVAILABLE");
    assert!(
        r[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maxPayload")
    );
    assert_eq!(node.status.state(), Some(RunState::Connected));
    node.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_kills_in_flight_runs_and_closes_1000() {
    let gw = Gw::new().await;
    let node = start(cfg(gw.port()));
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    let me = node.device_id.clone();
    send(
        &mut ws,
        invoke(
            "h1",
            &me,
            "system.run",
            json!({"command":["hang"],"runId":"run-h1"}),
            None,
        ),
    )
    .await;
    while node.launcher.running.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let launcher = node.launcher.clone();
    let t0 = Instant::now();
    node.stop().await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(launcher.cancelled.load(Ordering::SeqCst), 1);
    assert_eq!(
        launcher.running.load(Ordering::SeqCst),
        0,
        "run still going after stop"
    );
    assert_eq!(recv_close(&mut ws, T).await, Some(1000));
}

#[tokio::test]
async fn spec_3_5_shared_token_mismatch_retries_once_with_the_stored_device_token() {
    let gw = Gw::new().await;
    let dir = tempfile::tempdir().unwrap();
    let id = DeviceIdentity::load_or_create(dir.path()).unwrap();
    DeviceAuthStore::load(dir.path(), id.device_id())
        .unwrap()
        .set_token("node", "stored-dt", &[])
        .unwrap();
    let node = start_in(dir, cfg(gw.port()));
    let mut ws = gw.accept().await;
    let req = challenge(&mut ws, 1_000).await;
    assert_eq!(req["params"]["auth"], json!({"token":"shared"}));
    send(
        &mut ws,
        reject(
            &req["id"],
            "INVALID_REQUEST",
            "unauthorized: gateway token mismatch (provide gateway auth token)",
            json!({"code":"AUTH_TOKEN_MISMATCH","canRetryWithDeviceToken":true,
               "recommendedNextStep":"retry_with_device_token"}),
        ),
    )
    .await;
    // loopback is a trusted endpoint: one retry with the device token (signed with it)
    let mut ws = gw.accept().await;
    let req = challenge(&mut ws, 2_000).await;
    assert_eq!(req["params"]["auth"], json!({"deviceToken":"stored-dt"}));
    verify_proof(&req["params"], 2_000);
    send(
        &mut ws,
        reject(
            &req["id"],
            "INVALID_REQUEST",
            "unauthorized: device token mismatch",
            json!({"code":"AUTH_DEVICE_TOKEN_MISMATCH"}),
        ),
    )
    .await;
    // both credentials rejected: stop with an auth error instead of looping
    let res = tokio::time::timeout(T, node.task).await.unwrap().unwrap();
    assert!(matches!(res, Err(ClientError::Auth { .. })), "{res:?}");
}
