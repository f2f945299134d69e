//! The go-plugin handshake: the magic cookie (docs/development/plugin-obligations.md, B2), protocol
//! version negotiation (B3) and the single line Terraform reads from our stdout (B4).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Environment variable that carries Terraform's magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";

/// The value Terraform sets for [`MAGIC_COOKIE_KEY`] (`internal/plugin6/serve.go`).
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's core protocol version: Terraform refuses any other value.
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// The only application protocol this provider serves: tfplugin6.
pub const APP_PROTOCOL_VERSION: u32 = 6;

/// Environment variable listing the application protocol versions Terraform can speak.
pub const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";

/// What a person who runs the binary by hand sees on stderr (B2).
pub const NOT_A_COMMAND_MESSAGE: &str = "\
terraform-provider-vnetpeer is a Terraform provider plugin: Terraform starts it, it is not meant to \
be run directly.
Declare it in a configuration (required_providers { vnetpeer = { source = \"vnetpeer/vnetpeer\" } }) \
and run terraform, or start it with --debug to attach Terraform to it through TF_REATTACH_PROVIDERS.
";

/// Whether the magic cookie Terraform sets is present and correct.
pub fn cookie_is_valid(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|value| value == MAGIC_COOKIE_VALUE)
}

/// The outcome of version negotiation (B3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegotiatedVersion {
    /// The version to print; always [`APP_PROTOCOL_VERSION`].
    pub version: u32,
    /// Whether the client offered it. When it did not, we still print 6 and let Terraform report
    /// the mismatch in its own words.
    pub offered_by_client: bool,
}

/// Picks the application protocol version from `PLUGIN_PROTOCOL_VERSIONS` (a comma list in no
/// particular order).
pub fn negotiate_version(offered: Option<&str>) -> NegotiatedVersion {
    let offered_by_client = offered.is_some_and(|list| {
        list.split(',')
            .any(|item| item.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION))
    });
    NegotiatedVersion {
        version: APP_PROTOCOL_VERSION,
        offered_by_client,
    }
}

/// Network of the listener announced in the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// A Unix domain socket; the address is its absolute path.
    Unix,
    /// Loopback TCP; the address is `127.0.0.1:PORT`.
    Tcp,
}

impl Network {
    /// The name go-plugin uses for this network.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Unix => "unix",
            Network::Tcp => "tcp",
        }
    }
}

/// The handshake line `CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeLine {
    /// go-plugin core version, always 1.
    pub core_version: u32,
    /// Negotiated application protocol version.
    pub app_version: u32,
    /// Listener network.
    pub network: Network,
    /// Socket path or `host:port`.
    pub address: String,
    /// Wire protocol; Terraform accepts only `grpc`.
    pub protocol: String,
    /// DER of the server certificate, when AutoMTLS is on.
    pub server_certificate_der: Option<Vec<u8>>,
}

impl HandshakeLine {
    /// The line for a tfplugin6 gRPC server at `address`.
    pub fn new(
        app_version: u32,
        network: Network,
        address: String,
        server_certificate_der: Option<Vec<u8>>,
    ) -> Self {
        HandshakeLine {
            core_version: CORE_PROTOCOL_VERSION,
            app_version,
            network,
            address,
            protocol: "grpc".to_owned(),
            server_certificate_der,
        }
    }

    /// Parses a line as our server prints it (exactly six fields, unpadded standard base64).
    /// Stricter than Terraform on purpose: it is used to check what we print.
    pub fn parse(line: &str) -> Result<Self, HandshakeParseError> {
        let fields: Vec<&str> = line.trim_end_matches(['\r', '\n']).split('|').collect();
        let [core, app, network, address, protocol, certificate] = fields[..] else {
            return Err(HandshakeParseError::FieldCount(fields.len()));
        };
        let parse_number = |field: &str, name: &'static str| {
            field
                .parse::<u32>()
                .map_err(|_| HandshakeParseError::BadField(name))
        };
        let network = match network {
            "unix" => Network::Unix,
            "tcp" => Network::Tcp,
            _ => return Err(HandshakeParseError::BadField("network")),
        };
        let server_certificate_der = if certificate.is_empty() {
            None
        } else {
            Some(
                STANDARD_NO_PAD
                    .decode(certificate)
                    .map_err(|_| HandshakeParseError::BadField("certificate"))?,
            )
        };
        Ok(HandshakeLine {
            core_version: parse_number(core, "core version")?,
            app_version: parse_number(app, "protocol version")?,
            network,
            address: address.to_owned(),
            protocol: protocol.to_owned(),
            server_certificate_der,
        })
    }
}

/// Renders the line without its trailing newline. The certificate is RawStd base64 (standard
/// alphabet, no padding): Terraform fails on padded base64 (O1).
impl fmt::Display for HandshakeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let certificate = self
            .server_certificate_der
            .as_deref()
            .map(|der| STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        write!(
            f,
            "{}|{}|{}|{}|{}|{}",
            self.core_version,
            self.app_version,
            self.network.as_str(),
            self.address,
            self.protocol,
            certificate
        )
    }
}

/// Why a handshake line could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeParseError {
    /// Not exactly six `|`-separated fields.
    #[error("expected 6 fields in the handshake line, found {0}")]
    FieldCount(usize),
    /// One field is malformed.
    #[error("malformed {0} field in the handshake line")]
    BadField(&'static str),
}
