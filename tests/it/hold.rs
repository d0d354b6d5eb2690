//! A plain-HTTP proxy in front of the emulator's SSM that holds one chosen request until the
//! test lets it go: a step of a running command made to be "in flight" on demand.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

/// One HTTP/1.1 message with a Content-Length body (moto and the SDK's SSM requests are).
fn read_message(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        message.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    message.extend_from_slice(&body);
    Some(message)
}

/// The proxy: its URL, a receiver told when the request is held, a sender to let it go.
pub struct Hold {
    pub url: String,
    pub held: mpsc::Receiver<()>,
    pub release: mpsc::Sender<()>,
}

/// Forwards every request to `upstream` (host:port, plain HTTP) and holds the first one whose
/// bytes contain both `target` (an `X-Amz-Target` such as `AmazonSSM.PutParameter`) and `marker`.
pub fn hold_first(upstream: &str, target: &'static str, marker: &'static str) -> Hold {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        let gate = std::sync::Arc::new(std::sync::Mutex::new(Some((held_tx, release_rx))));
        for client in listener.incoming().flatten() {
            let (upstream, gate) = (upstream.clone(), gate.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut client = client;
                while let Some(request) = read_message(&mut reader) {
                    let text = String::from_utf8_lossy(&request);
                    if text.contains(target) && text.contains(marker) {
                        let taken = gate.lock().unwrap().take();
                        if let Some((held_tx, release_rx)) = taken {
                            held_tx.send(()).unwrap();
                            release_rx.recv().unwrap();
                        }
                    }
                    let mut server = TcpStream::connect(&upstream).unwrap();
                    server.write_all(&request).unwrap();
                    let response = read_message(&mut BufReader::new(server)).unwrap();
                    if client.write_all(&response).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Hold { url, held, release }
}
