//! Real peers for the tests, from end2end/support in child processes: an SMTP server with
//! an HTTP inbox (mail.mjs, npm smtp-server) and an OpenID Connect provider (idp.mjs, npm
//! oidc-provider). `scripts/test` installs its npm packages before the Rust
//! tests run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct MailServer {
    child: Child,
    pub smtp_url: String,
    api: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start one of end2end/support's services with `env`; returns it and its `ready` line once
/// it prints one, or what it printed instead (it exits on a port it cannot bind).
pub fn try_start_support(
    script: &str,
    package: &str,
    env: &[(&str, String)],
) -> Result<(Child, String), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end");
    assert!(
        root.join("node_modules").join(package).exists(),
        "{script} needs `npm ci` in end2end/ (scripts/test runs it)"
    );
    let mut command = Command::new("node");
    command
        .arg(format!("support/{script}"))
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("node runs the test service");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    if !line.contains("ready") {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{script} said: {line}"));
    }
    // Keep reading what it prints, so its writes never meet a closed pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while stdout.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    Ok((child, line))
}

/// The number after `key=` in a ready line (`mail ready smtp=41521 api=41522`).
fn ready_port(line: &str, key: &str) -> u16 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= port in {line:?}"))
}

impl MailServer {
    /// Start it on ports the system chooses: ports picked here and handed over could be
    /// taken by a parallel test in between (seen: EADDRINUSE).
    pub fn start() -> MailServer {
        let (child, ready) = try_start_support(
            "mail.mjs",
            "smtp-server",
            &[
                ("BANDPOOL_TEST_SMTP_PORT", "0".to_string()),
                ("BANDPOOL_TEST_MAIL_API_PORT", "0".to_string()),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        MailServer {
            child,
            smtp_url: format!("smtp://127.0.0.1:{}", ready_port(&ready, "smtp")),
            api: format!("http://127.0.0.1:{}", ready_port(&ready, "api")),
        }
    }

    /// The messages received for `to`, oldest first.
    pub async fn messages(&self, to: &str) -> Vec<serde_json::Value> {
        let url = format!("{}/messages?to={to}", self.api);
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    /// The messages to `to` once `n` of them have `subject` (polls for up to 10 s: mail goes
    /// out from the portal's outbox, after the request that queued it has answered).
    pub async fn wait_for_subject(
        &self,
        to: &str,
        subject: &str,
        n: usize,
    ) -> Vec<serde_json::Value> {
        for _ in 0..100 {
            let messages = self.messages(to).await;
            if messages.iter().filter(|m| m["subject"] == subject).count() >= n {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no {n} message(s) to {to} with the subject {subject:?}");
    }

    /// The text of the newest message to `to` with `subject`, once one has arrived.
    pub async fn text_of(&self, to: &str, subject: &str) -> String {
        self.wait_for_subject(to, subject, 1)
            .await
            .iter()
            .rev()
            .find(|m| m["subject"] == subject)
            .and_then(|m| m["text"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// The first link in the newest message to `to` that starts with `prefix` (waits up to 5 s).
    pub async fn link(&self, to: &str, prefix: &str) -> String {
        for _ in 0..50 {
            if let Some(message) = self.messages(to).await.last() {
                let text = message["text"].as_str().unwrap_or("");
                if let Some(at) = text.find(prefix) {
                    let rest = &text[at..];
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    return rest[..end].to_string();
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("no message to {to} with a link starting {prefix}");
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
