//! Terraform's side of the go-plugin connection, for tests, the benchmark and tools: dials the
//! address from a handshake line and, when the line carries a certificate, performs the TLS
//! handshake as Terraform's client does (trust exactly that certificate, ALPN h2, present a
//! client certificate). The caller runs its gRPC client over the returned stream.

use std::io;

use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;

use super::handshake::{HandshakeLine, Network};
use super::listener::IoStream;
use super::tls::{TlsIdentity, client_config};

/// A connected transport.
pub struct DialedConnection {
    /// The byte stream, TLS-wrapped when the handshake line carries a certificate.
    pub stream: Box<dyn IoStream>,
    /// The ALPN protocol the server selected (`Some(b"h2")` with TLS, `None` without).
    pub alpn_protocol: Option<Vec<u8>>,
}

impl std::fmt::Debug for DialedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialedConnection")
            .field("alpn_protocol", &self.alpn_protocol)
            .finish_non_exhaustive()
    }
}

/// Connects to the server announced by `handshake`, presenting `client_identity` if given.
pub async fn dial(
    handshake: &HandshakeLine,
    client_identity: Option<&TlsIdentity>,
) -> io::Result<DialedConnection> {
    let transport: Box<dyn IoStream> = match handshake.network {
        Network::Unix => Box::new(UnixStream::connect(&handshake.address).await?),
        Network::Tcp => {
            let stream = TcpStream::connect(&handshake.address).await?;
            stream.set_nodelay(true)?;
            Box::new(stream)
        }
    };
    let Some(server_certificate) = &handshake.server_certificate_der else {
        return Ok(DialedConnection {
            stream: transport,
            alpn_protocol: None,
        });
    };
    let config = client_config(server_certificate.clone().into(), client_identity)
        .map_err(io::Error::other)?;
    // Terraform dials with ServerName "localhost" whatever the address.
    let server_name = rustls::pki_types::ServerName::try_from("localhost")
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let tls = TlsConnector::from(config)
        .connect(server_name, transport)
        .await?;
    let alpn_protocol = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok(DialedConnection {
        stream: Box::new(tls),
        alpn_protocol,
    })
}
