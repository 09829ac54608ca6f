//! TLS: a pinned fingerprint connects, a wrong one is refused naming the seen one, and without a pin a self-signed gateway is refused.

use super::*;

fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["openclaw-gateway".to_string()]).unwrap();
    let der = ck.cert.der().clone();
    let fp = fingerprint_of(der.as_ref());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(cfg)), fp)
}

#[tokio::test]
async fn spec_8_tls_pinned_fingerprint_connects() {
    let mut gw = Gw::new().await;
    let (acc, fp) = tls_acceptor();
    gw.tls = Some(acc);
    let mut c = cfg(gw.port());
    // colon form, upper case: normalised by the CLI; the client takes the normalised form
    c.tls = Some(TlsMode::Pinned(fp.clone()));
    let node = start(c);
    let mut ws = gw.accept().await;
    handshake(&mut ws, 30_000, 1 << 20, None).await;
    node.wait_state(RunState::Connected).await;
    assert_eq!(node.status_json()["gateway"]["tls"], true);
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_8_tls_wrong_fingerprint_is_refused_and_names_the_seen_one() {
    let mut gw = Gw::new().await;
    let (acc, fp) = tls_acceptor();
    gw.tls = Some(acc);
    let mut c = cfg(gw.port());
    c.tls = Some(TlsMode::Pinned("ab".repeat(32)));
    let node = start(c);
    // the TLS handshake fails: no WebSocket is ever established
    assert!(gw.try_accept(Duration::from_secs(2)).await.is_none());
    let deadline = Instant::now() + T;
    loop {
        let st = node.status_json();
        if let Some(e) = st["lastError"].as_str()
            && e.contains("fingerprint mismatch")
        {
            assert!(e.contains(&fp), "{e}");
            break;
        }
        assert!(Instant::now() < deadline, "{st}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.stop().await.unwrap();
}

#[tokio::test]
async fn spec_8_tls_without_pin_rejects_a_self_signed_gateway() {
    let mut gw = Gw::new().await;
    let (acc, _) = tls_acceptor();
    gw.tls = Some(acc);
    let mut c = cfg(gw.port());
    c.tls = Some(TlsMode::WebPki);
    let node = start(c);
    assert!(gw.try_accept(Duration::from_secs(2)).await.is_none());
    node.stop().await.unwrap();
}
