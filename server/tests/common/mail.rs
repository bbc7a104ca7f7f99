//! A real SMTP server for the tests: end2end/support/mail.mjs (npm smtp-server) in a child
//! process, with its HTTP inbox. `scripts/test` installs its npm packages before the Rust
//! tests run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct MailServer {
    child: Child,
    pub smtp_url: String,
    api: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl MailServer {
    pub fn start() -> MailServer {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end");
        assert!(
            root.join("node_modules/smtp-server").exists(),
            "the test SMTP server needs `npm ci` in end2end/ (scripts/test runs it)"
        );
        let (smtp, api) = (free_port(), free_port());
        let mut child = Command::new("node")
            .arg("support/mail.mjs")
            .current_dir(&root)
            .env("BANDPOOL_TEST_SMTP_PORT", smtp.to_string())
            .env("BANDPOOL_TEST_MAIL_API_PORT", api.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the test SMTP server");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("mail ready"), "mail server said: {line}");
        // Keep reading what it prints, so its writes never meet a closed pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        MailServer {
            child,
            smtp_url: format!("smtp://127.0.0.1:{smtp}"),
            api: format!("http://127.0.0.1:{api}"),
        }
    }

    /// The messages received for `to`, oldest first.
    pub async fn messages(&self, to: &str) -> Vec<serde_json::Value> {
        let url = format!("{}/messages?to={to}", self.api);
        reqwest::get(url).await.unwrap().json().await.unwrap()
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
