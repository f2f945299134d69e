//! A counting TCP relay in front of an emulator listener, so the benchmark can count the
//! connections the provider opens per host (metric (d)): the emulator logs requests, not
//! connections.
//!
//! Requests that follow an absolute URL the emulator handed out (ARM's `Azure-AsyncOperation` and
//! `Location`) go to the emulator's own address and bypass the relay; from the client's point of
//! view that is another host, as it is in Azure.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

/// A running relay. Dropping it stops accepting (open connections finish on their own).
#[derive(Debug)]
pub struct CountingRelay {
    /// `http://127.0.0.1:PORT` of the relay.
    pub url: String,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingRelay {
    /// Starts relaying a loopback port to `target` (`http://host:port`, as the emulator's
    /// endpoints are).
    pub async fn start(target: &str) -> Result<CountingRelay, String> {
        let target_address = target
            .strip_prefix("http://")
            .ok_or_else(|| format!("{target} is not an http:// URL"))?
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("cannot bind a relay port: {error}"))?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let target_address = target_address.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target_address).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    // Ends when either side closes; errors are the peers' business.
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Ok(CountingRelay {
            url: format!("http://{address}"),
            accepted,
            task,
        })
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CountingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
