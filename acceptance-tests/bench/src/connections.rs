//! Counts the TCP connections the provider opens to each emulated service (metric (d)): the
//! emulator logs requests, not connections, and a relay in front of it cannot be used because
//! the provider (rightly) refuses to follow an operation URL to another host than its endpoint.
//!
//! A sampler thread reads `/proc/net/tcp` every 2 ms while a command runs and collects the
//! client ends of loopback connections whose remote port is a service's port. Keep-alive
//! connections live until the provider process exits, so sampling sees them; sockets already
//! there when sampling starts (TIME_WAIT leftovers of earlier commands) are excluded.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use vnetpeer_emulator::Emulator;

/// 127.0.0.1 as `/proc/net/tcp` prints it (little-endian hex).
const LOOPBACK_HEX: &str = "0100007F";

/// The services' names and ports.
pub fn service_ports(emulator: &Emulator) -> Vec<(&'static str, u16)> {
    let endpoints = emulator.endpoints();
    [
        ("login", &endpoints.authority_host),
        ("graph", &endpoints.graph),
        ("arm", &endpoints.arm),
        ("aiven", &endpoints.aiven),
    ]
    .into_iter()
    .filter_map(|(name, url)| {
        let port = url.rsplit(':').next()?.trim_end_matches('/').parse().ok()?;
        Some((name, port))
    })
    .collect()
}

/// A running sampler.
pub struct ConnectionSampler {
    services: Vec<(&'static str, u16)>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<BTreeSet<(u16, u16)>>,
}

impl ConnectionSampler {
    /// Starts sampling connections to `services`.
    pub fn start(services: Vec<(&'static str, u16)>) -> ConnectionSampler {
        let ports: Vec<u16> = services.iter().map(|(_, port)| *port).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let baseline = client_ends(&ports);
        let thread = std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            loop {
                let done = stopping.load(Ordering::SeqCst);
                seen.extend(client_ends(&ports).difference(&baseline).copied());
                if done {
                    return seen;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        ConnectionSampler {
            services,
            stop,
            thread,
        }
    }

    /// Stops sampling; connections opened per service.
    pub fn finish(self) -> Vec<(&'static str, usize)> {
        self.stop.store(true, Ordering::SeqCst);
        let seen = self.thread.join().unwrap_or_default();
        self.services
            .iter()
            .map(|(name, port)| {
                (
                    *name,
                    seen.iter().filter(|(service, _)| service == port).count(),
                )
            })
            .collect()
    }
}

/// (service port, client port) of every loopback TCP socket whose remote end is one of `ports`.
fn client_ends(ports: &[u16]) -> BTreeSet<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| parse_line(line, ports))
        .collect()
}

fn parse_line(line: &str, ports: &[u16]) -> Option<(u16, u16)> {
    let mut fields = line.split_whitespace().skip(1);
    let (local_ip, local_port) = fields.next()?.split_once(':')?;
    let (remote_ip, remote_port) = fields.next()?.split_once(':')?;
    let remote_port = u16::from_str_radix(remote_port, 16).ok()?;
    if local_ip != LOOPBACK_HEX || remote_ip != LOOPBACK_HEX || !ports.contains(&remote_port) {
        return None;
    }
    Some((remote_port, u16::from_str_radix(local_port, 16).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ends_of_loopback_connections_to_a_service_port() {
        // 127.0.0.1:46980 → 127.0.0.1:35751 (0x8BA7), and the server's own end.
        let client = "   1: 0100007F:B784 0100007F:8BA7 01 00000000:00000000 00:00000000 00000000     0        0 1234 1";
        let server = "   2: 0100007F:8BA7 0100007F:B784 01 00000000:00000000 00:00000000 00000000     0        0 1235 1";
        assert_eq!(parse_line(client, &[0x8BA7]), Some((0x8BA7, 0xB784)));
        assert_eq!(parse_line(server, &[0x8BA7]), None);
        assert_eq!(parse_line(client, &[80]), None);
    }
}
