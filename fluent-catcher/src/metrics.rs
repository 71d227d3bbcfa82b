//! `--metrics-listen`: a minimal HTTP endpoint serving `GET /metrics` in
//! the Prometheus text format. Each scrape is one short connection; a
//! request must arrive whole (8 KiB at most) within 5 s, and at most 16
//! scrapes are served at once, so a hostile client cannot hold it.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::prometheus::metric;
use crate::server::Shared;

const MAX_REQUEST: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_SCRAPES: usize = 16;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let slots = Arc::new(Semaphore::new(MAX_SCRAPES));
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        while tasks.try_join_next().is_some() {}
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
        let shared = shared.clone();
        tasks.spawn(async move {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &shared)).await;
            drop(permit);
        });
    }
    tasks.abort_all();
}

async fn answer(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || request.len() + n > MAX_REQUEST {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let (status, body) = match (method, path) {
        (b"GET", b"/metrics") => ("200 OK", render(shared)),
        (b"GET", _) => ("404 Not Found", "not found: the metrics are at /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "only GET\n".to_owned()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The counters, and the memory budgets in use.
fn render(shared: &Shared) -> String {
    let mut out = shared.stats.snapshot().to_prometheus();
    let limits = &shared.config.limits;
    let in_use = |budget: usize, semaphore: &Semaphore| {
        (budget.min(Semaphore::MAX_PERMITS) as u64).saturating_sub(semaphore.available_permits() as u64)
    };
    metric(
        &mut out,
        "fluent_catcher_decode_memory_bytes",
        "gauge",
        "Decode memory in use: inflated and rendered requests, and the writer's queue.",
        in_use(limits.decode_memory, &shared.decode_memory),
    );
    metric(
        &mut out,
        "fluent_catcher_buffer_memory_bytes",
        "gauge",
        "Read buffer memory in use beyond 64 KiB per connection.",
        in_use(limits.buffer_memory, &shared.buffer_memory),
    );
    out
}
