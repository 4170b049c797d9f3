//! `ws_load URL CONNECTIONS SECONDS SIZE`: open CONNECTIONS WebSockets to URL, then on each send a
//! SIZE-byte text message and wait for its echo, again and again, for SECONDS. Prints one JSON
//! line: messages echoed, errors, elapsed seconds, and latency percentiles in microseconds.
//! Single-threaded runtime: the client stays on the one CPU the bench pins it to.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

struct Outcome {
    latencies: Vec<u32>,
    errors: u64,
}

async fn connection(url: String, until: Instant, size: usize) -> Outcome {
    let mut out = Outcome { latencies: Vec::new(), errors: 0 };
    let (mut ws, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok(pair) => pair,
        Err(_) => {
            out.errors += 1;
            return out;
        }
    };
    let payload = "x".repeat(size);
    while Instant::now() < until {
        let sent = Instant::now();
        if ws.send(Message::text(payload.clone())).await.is_err() {
            out.errors += 1;
            break;
        }
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if text.len() == size => {
                out.latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            _ => {
                out.errors += 1;
                break;
            }
        }
    }
    let _ = ws.close(None).await;
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: ws_load URL CONNECTIONS SECONDS SIZE");
        std::process::exit(2);
    }
    let url = args[1].clone();
    let connections: usize = args[2].parse().expect("CONNECTIONS");
    let seconds: f64 = args[3].parse().expect("SECONDS");
    let size: usize = args[4].parse().expect("SIZE");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..connections).map(|_| tokio::spawn(connection(url.clone(), until, size))).collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task"));
        }
        outcomes
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = outcomes.iter().flat_map(|o| o.latencies.iter().copied()).collect();
    let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"messages\": {}, \"errors\": {}, \"seconds\": {:.3}, \"p50_us\": {}, \"p99_us\": {}}}",
        latencies.len(),
        errors,
        elapsed,
        pct(0.50),
        pct(0.99)
    );
}
