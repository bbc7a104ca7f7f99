//! HTTPS peers for the tests: an axum router served over TLS with a certificate for
//! 127.0.0.1 issued by a throwaway CA, whose PEM the portal is told to trust
//! (`extra_ca_file`), as a deployment with a private CA would.

use std::io::Write;

pub struct TlsServer {
    /// `https://127.0.0.1:<port>`
    pub base: String,
    /// The CA's certificate (PEM), for the portal's `extra_ca_file`.
    pub ca_file: tempfile::NamedTempFile,
    handle: axum_server::Handle,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

pub async fn serve(router: axum::Router) -> TlsServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Bandpool test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        leaf.pem().into_bytes(),
        leaf_key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
    tokio::spawn(async move {
        let _ = server.serve(router.into_make_service()).await;
    });
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    ca_file.write_all(ca.pem().as_bytes()).unwrap();
    TlsServer {
        base: format!("https://{addr}"),
        ca_file,
        handle,
    }
}
