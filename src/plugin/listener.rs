//! Where the server listens (docs/development/plugin-obligations.md, B7): by default a Unix socket
//! in a fresh private directory, created under `PLUGIN_UNIX_SOCKET_DIR` or the temp dir and removed
//! on exit; loopback TCP in `[PLUGIN_MIN_PORT, PLUGIN_MAX_PORT]` only when no Unix socket can be
//! made (for example when the temp dir path is too long for a socket address).

use std::ffi::CString;
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use super::handshake::Network;

/// Longest socket path we create. Linux allows 107 bytes plus the NUL; macOS only 103.
const MAX_SOCKET_PATH_BYTES: usize = 103;

/// A byte stream the gRPC server or a test client can run over.
pub trait IoStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> IoStream for T {}

/// Listener options, read from the environment go-plugin defines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenerSettings {
    /// `PLUGIN_UNIX_SOCKET_DIR`: parent of our private socket directory (else the temp dir).
    pub unix_socket_dir: Option<PathBuf>,
    /// `PLUGIN_UNIX_SOCKET_GROUP`: group name or numeric id that may use the socket.
    pub unix_socket_group: Option<String>,
    /// `PLUGIN_MIN_PORT` and `PLUGIN_MAX_PORT`, for the TCP fallback.
    pub port_range: Option<(u16, u16)>,
}

impl ListenerSettings {
    /// Reads the settings; empty variables count as unset.
    pub fn from_env() -> Result<Self, ListenError> {
        let non_empty = |key: &str| std::env::var(key).ok().filter(|value| !value.is_empty());
        let port = |key: &'static str| -> Result<Option<u16>, ListenError> {
            non_empty(key)
                .map(|value| value.trim().parse::<u16>())
                .transpose()
                .map_err(|_| ListenError::BadPort(key))
        };
        let port_range = match (port("PLUGIN_MIN_PORT")?, port("PLUGIN_MAX_PORT")?) {
            (None, None) => None,
            (min, max) => Some((min.unwrap_or(0), max.unwrap_or(u16::MAX))),
        };
        Ok(ListenerSettings {
            unix_socket_dir: non_empty("PLUGIN_UNIX_SOCKET_DIR").map(PathBuf::from),
            unix_socket_group: non_empty("PLUGIN_UNIX_SOCKET_GROUP"),
            port_range,
        })
    }
}

/// Why no listener could be created.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// A port variable is not a number in 0..=65535.
    #[error("{0} must be a port number")]
    BadPort(&'static str),
    /// `PLUGIN_MIN_PORT` is greater than `PLUGIN_MAX_PORT`.
    #[error("PLUGIN_MIN_PORT ({min}) is greater than PLUGIN_MAX_PORT ({max})")]
    EmptyPortRange {
        /// Lower bound.
        min: u16,
        /// Upper bound.
        max: u16,
    },
    /// `PLUGIN_UNIX_SOCKET_GROUP` names no group, or the socket could not be given to it.
    #[error("cannot give the plugin socket to group {group:?}: {source}")]
    SocketGroup {
        /// The group as configured.
        group: String,
        /// The underlying error.
        source: io::Error,
    },
    /// Neither a Unix socket nor a TCP port could be bound.
    #[error("cannot listen: unix socket: {unix}; tcp: {tcp}")]
    Bind {
        /// Why the Unix socket failed.
        unix: String,
        /// Why every TCP port failed.
        tcp: io::Error,
    },
}

/// Removes the socket and its private directory; safe to run more than once, from any thread
/// (the shutdown backstop runs it before a hard exit).
#[derive(Clone, Debug, Default)]
pub struct SocketCleanup {
    paths: Arc<Mutex<Option<SocketPaths>>>,
}

#[derive(Debug)]
struct SocketPaths {
    socket: PathBuf,
    directory: PathBuf,
}

impl SocketCleanup {
    fn new(socket: PathBuf, directory: PathBuf) -> Self {
        SocketCleanup {
            paths: Arc::new(Mutex::new(Some(SocketPaths { socket, directory }))),
        }
    }

    /// Removes the files if that has not happened yet.
    pub fn run(&self) {
        let paths = match self.paths.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(paths) = paths {
            // Errors are ignored: the files may already be gone, and nothing else can be done.
            let _ = std::fs::remove_file(&paths.socket);
            let _ = std::fs::remove_dir(&paths.directory);
        }
    }
}

/// The listening socket, Unix or TCP.
#[derive(Debug)]
pub struct PluginListener {
    kind: ListenerKind,
    address: String,
    cleanup: SocketCleanup,
}

#[derive(Debug)]
enum ListenerKind {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl PluginListener {
    /// Binds a Unix socket, or a TCP port if that fails. Must run inside a Tokio runtime.
    pub fn bind(settings: &ListenerSettings) -> Result<Self, ListenError> {
        let unix_error = match bind_unix(settings) {
            Ok(listener) => return Ok(listener),
            // A group that cannot be applied is a configuration error, not a reason for TCP.
            Err(error @ ListenError::SocketGroup { .. }) => return Err(error),
            Err(error) => error.to_string(),
        };
        tracing::debug!(error = %unix_error, "no unix socket; falling back to loopback TCP");
        bind_tcp(settings.port_range).map_err(|error| match error {
            ListenError::Bind { tcp, .. } => ListenError::Bind {
                unix: unix_error,
                tcp,
            },
            other => other,
        })
    }

    /// The network for the handshake line.
    pub fn network(&self) -> Network {
        match self.kind {
            ListenerKind::Unix(_) => Network::Unix,
            ListenerKind::Tcp(_) => Network::Tcp,
        }
    }

    /// The address for the handshake line: socket path or `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A handle that removes the socket files (a no-op for TCP).
    pub fn cleanup_handle(&self) -> SocketCleanup {
        self.cleanup.clone()
    }

    /// Waits for the next connection.
    pub async fn accept(&self) -> io::Result<Box<dyn IoStream>> {
        match &self.kind {
            ListenerKind::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                Ok(Box::new(stream))
            }
            ListenerKind::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                // gRPC sends many small frames; Nagle would only add latency.
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
        }
    }
}

impl Drop for PluginListener {
    fn drop(&mut self) {
        self.cleanup.run();
    }
}

/// Creates `<dir>/tf-vnetpeer-<pid>-<n>/plugin.sock`, the directory private to us (or shared
/// with the configured group).
fn bind_unix(settings: &ListenerSettings) -> Result<PluginListener, ListenError> {
    static DIRECTORY_COUNTER: AtomicU32 = AtomicU32::new(0);
    let parent = settings
        .unix_socket_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let bind_error = |unix: String| ListenError::Bind {
        unix,
        tcp: io::Error::other("not tried"),
    };
    let mut attempt = 0;
    let directory = loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        let counter = DIRECTORY_COUNTER.fetch_add(1, Ordering::Relaxed);
        let candidate = parent.join(format!(
            "tf-vnetpeer-{}-{:x}{:x}",
            std::process::id(),
            nanos,
            counter
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&candidate) {
            Ok(()) => break candidate,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                attempt += 1;
            }
            Err(error) => {
                return Err(bind_error(format!(
                    "cannot create a directory in {}: {error}",
                    parent.display()
                )));
            }
        }
    };
    let socket = directory.join("plugin.sock");
    let cleanup = SocketCleanup::new(socket.clone(), directory.clone());
    let Some(address) = socket.to_str().map(str::to_owned) else {
        cleanup.run();
        return Err(bind_error("the socket path is not UTF-8".to_owned()));
    };
    if address.len() > MAX_SOCKET_PATH_BYTES {
        cleanup.run();
        return Err(bind_error(format!(
            "the socket path {address} is longer than {MAX_SOCKET_PATH_BYTES} bytes"
        )));
    }
    let listener = match UnixListener::bind(&socket) {
        Ok(listener) => listener,
        Err(error) => {
            cleanup.run();
            return Err(bind_error(format!("cannot bind {address}: {error}")));
        }
    };
    if let Some(group) = &settings.unix_socket_group
        && let Err(source) = share_with_group(&directory, &socket, group)
    {
        cleanup.run();
        return Err(ListenError::SocketGroup {
            group: group.clone(),
            source,
        });
    }
    Ok(PluginListener {
        kind: ListenerKind::Unix(listener),
        address,
        cleanup,
    })
}

/// Gives the socket to `group` (read-write) and lets the group traverse our directory.
fn share_with_group(directory: &Path, socket: &Path, group: &str) -> io::Result<()> {
    let gid = group_id(group)?;
    std::os::unix::fs::chown(directory, None, Some(gid))?;
    std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o710))?;
    std::os::unix::fs::chown(socket, None, Some(gid))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
}

/// Resolves a group name or numeric id.
fn group_id(group: &str) -> io::Result<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let name = CString::new(group).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buffer: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: `entry` and `buffer` outlive the call, `buffer.len()` is the buffer's real size,
        // and `found` is only read after the call returns.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        let status = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            )
        };
        if status == libc::ERANGE && buffer.len() < (1 << 20) {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if status != 0 {
            return Err(io::Error::from_raw_os_error(status));
        }
        if found.is_null() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such group"));
        }
        return Ok(entry.gr_gid);
    }
}

/// Binds the first free loopback port in the range, or an ephemeral port when none is set.
fn bind_tcp(port_range: Option<(u16, u16)>) -> Result<PluginListener, ListenError> {
    let (min, max) = port_range.unwrap_or((0, 0));
    if min > max {
        return Err(ListenError::EmptyPortRange { min, max });
    }
    let mut last_error = io::Error::new(io::ErrorKind::AddrInUse, "no free port in range");
    for port in min..=max {
        let bound = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).and_then(
            |listener| {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)
            },
        );
        match bound {
            Ok(listener) => {
                let address = match listener.local_addr() {
                    Ok(address) => address.to_string(),
                    Err(error) => {
                        last_error = error;
                        continue;
                    }
                };
                return Ok(PluginListener {
                    kind: ListenerKind::Tcp(listener),
                    address,
                    cleanup: SocketCleanup::default(),
                });
            }
            Err(error) => last_error = error,
        }
    }
    Err(ListenError::Bind {
        unix: String::new(),
        tcp: last_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unix_socket_lives_in_a_private_directory_and_is_removed_on_drop() {
        let parent = tempfile::tempdir().expect("tempdir");
        let settings = ListenerSettings {
            unix_socket_dir: Some(parent.path().to_owned()),
            ..ListenerSettings::default()
        };
        let listener = PluginListener::bind(&settings).expect("bind");
        assert_eq!(listener.network(), Network::Unix);
        let socket = PathBuf::from(listener.address());
        assert!(socket.is_absolute());
        assert!(socket.starts_with(parent.path()));
        let directory = socket.parent().expect("parent").to_owned();
        let mode = std::fs::metadata(&directory)
            .expect("metadata")
            .permissions();
        assert_eq!(mode.mode() & 0o777, 0o700);
        drop(listener);
        assert!(!socket.exists());
        assert!(!directory.exists());
    }

    #[tokio::test]
    async fn too_long_socket_directory_falls_back_to_loopback_tcp() {
        let parent = tempfile::tempdir().expect("tempdir");
        let deep = parent.path().join("d".repeat(120));
        std::fs::create_dir(&deep).expect("mkdir");
        let settings = ListenerSettings {
            unix_socket_dir: Some(deep),
            ..ListenerSettings::default()
        };
        let listener = PluginListener::bind(&settings).expect("bind");
        assert_eq!(listener.network(), Network::Tcp);
        assert!(listener.address().starts_with("127.0.0.1:"));
    }

    #[tokio::test]
    async fn tcp_port_range_is_honoured_and_an_empty_range_is_an_error() {
        let listener = bind_tcp(None).expect("ephemeral port");
        let taken: u16 = listener
            .address()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("port");
        let next = bind_tcp(Some((taken, taken.saturating_add(50)))).expect("next free port");
        assert_ne!(next.address(), listener.address());
        assert!(matches!(
            bind_tcp(Some((20_000, 10_000))),
            Err(ListenError::EmptyPortRange { .. })
        ));
    }

    #[tokio::test]
    async fn socket_group_by_numeric_id_is_applied() {
        let parent = tempfile::tempdir().expect("tempdir");
        // Our own primary group: always allowed, so the test needs no privileges.
        let gid = std::fs::metadata(parent.path()).expect("metadata");
        let gid = std::os::unix::fs::MetadataExt::gid(&gid);
        let settings = ListenerSettings {
            unix_socket_dir: Some(parent.path().to_owned()),
            unix_socket_group: Some(gid.to_string()),
            ..ListenerSettings::default()
        };
        let listener = PluginListener::bind(&settings).expect("bind");
        let socket = std::fs::metadata(listener.address()).expect("socket metadata");
        assert_eq!(std::os::unix::fs::MetadataExt::gid(&socket), gid);
        assert_eq!(socket.permissions().mode() & 0o777, 0o660);
    }

    #[tokio::test]
    async fn unknown_socket_group_is_a_clear_error() {
        let parent = tempfile::tempdir().expect("tempdir");
        let settings = ListenerSettings {
            unix_socket_dir: Some(parent.path().to_owned()),
            unix_socket_group: Some("no-such-group-vnetpeer".to_owned()),
            ..ListenerSettings::default()
        };
        let error = PluginListener::bind(&settings).expect_err("must fail");
        assert!(error.to_string().contains("no-such-group-vnetpeer"));
        // Nothing is left behind.
        assert_eq!(
            std::fs::read_dir(parent.path()).expect("read_dir").count(),
            0
        );
    }
}
