//! The portal's connector API (`/api/v1/connector/...`) as the agent calls it: one HTTP
//! client, the connector's credential on every call, and one error type that says whether
//! a failure is worth retrying (no answer, a 5xx, 408 or 429) or final (any other 4xx).

use bandpool_domain::connector::{
    ActivationRequest, CheckReport, CheckReportResponse, CommandAck, Deactivation,
    DeactivationRequest, Heartbeat, HeartbeatResponse, RegisterRequest, RegisterResponse,
    AUTH_SCHEME,
};
use bandpool_domain::error::ErrorBody;
use bandpool_domain::metered::{UsageReport, UsageReportResponse};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// The agent's version, sent at registration and with every heartbeat.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long an ordinary call may take before it counts as "portal unreachable".
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a call to the portal did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    /// No answer: connection refused, DNS, TLS, timeout.
    #[error("portal unreachable ({0})")]
    Unreachable(String),
    /// The portal answered with an error status.
    #[error("the portal answered {status}: {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The portal answered 2xx with a body the agent does not understand.
    #[error("the portal answered {status} with an unexpected body: {detail}")]
    BadAnswer { status: u16, detail: String },
}

impl PortalError {
    /// Whether trying again later may succeed: no answer, a 5xx, 408 or 429 — and 401,
    /// because a credential the portal refuses is an operator's problem to fix (restore
    /// the connector or its credential), not a reason to throw queued checks away.
    pub fn retryable(&self) -> bool {
        match self {
            PortalError::Unreachable(_) => true,
            PortalError::Refused { status, .. } => {
                *status >= 500 || matches!(*status, 401 | 408 | 429)
            }
            PortalError::BadAnswer { .. } => false,
        }
    }

    /// The portal does not accept the connector's credential.
    pub fn unauthorized(&self) -> bool {
        matches!(self, PortalError::Refused { status: 401, .. })
    }
}

/// A response passed through as it came (an activation's answer goes to the LoadMaster).
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// The HTTP client every call shares.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("bandpool-connector/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT)
        .build()
}

/// The portal, as seen with this connector's credential.
#[derive(Clone)]
pub struct Portal {
    http: reqwest::Client,
    base: String,
    credential: String,
}

fn url(base: &str, path: &str) -> String {
    format!("{}/api/v1/connector/{path}", base.trim_end_matches('/'))
}

/// Registers with a one-time registration token (no credential yet).
pub async fn register(
    http: &reqwest::Client,
    base: &str,
    request: &RegisterRequest,
) -> Result<RegisterResponse, PortalError> {
    let response = http
        .post(url(base, "register"))
        .json(request)
        .send()
        .await
        .map_err(unreachable)?;
    typed(response).await
}

impl Portal {
    pub fn new(http: reqwest::Client, base: &str, credential: String) -> Portal {
        Portal {
            http,
            base: base.trim_end_matches('/').to_string(),
            credential,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, url(&self.base, path)).header(
            reqwest::header::AUTHORIZATION,
            format!("{AUTH_SCHEME} {}", self.credential),
        )
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, PortalError> {
        let response = self
            .request(Method::POST, path)
            .json(body)
            .send()
            .await
            .map_err(unreachable)?;
        typed(response).await
    }

    pub async fn heartbeat(&self, beat: &Heartbeat) -> Result<HeartbeatResponse, PortalError> {
        self.post("heartbeat", beat).await
    }

    /// The diagnostics the portal asked for.
    pub async fn send_diagnostics(
        &self,
        report: &bandpool_domain::connector::DiagnosticsReport,
    ) -> Result<(), PortalError> {
        self.post_without_answer("diagnostics", report).await
    }

    pub async fn send_checks(
        &self,
        report: &CheckReport,
    ) -> Result<CheckReportResponse, PortalError> {
        self.post("checks", report).await
    }

    pub async fn send_usage(
        &self,
        report: &UsageReport,
    ) -> Result<UsageReportResponse, PortalError> {
        self.post("usage", report).await
    }

    pub async fn deactivate(
        &self,
        request: &DeactivationRequest,
    ) -> Result<Deactivation, PortalError> {
        self.post("deactivations", request).await
    }

    /// A LoadMaster's request relayed (`activations`, `availability`, `updates`,
    /// `transfers`, `owner-changes`) and answered as it came (status and body), so the agent
    /// can pass the portal's answer, grant or refusal, through to the LoadMaster. Only "no
    /// answer" is an error here.
    pub async fn relay(
        &self,
        path: &str,
        request: &impl Serialize,
        timeout: Duration,
    ) -> Result<RawAnswer, PortalError> {
        let response = self
            .request(Method::POST, path)
            .timeout(timeout)
            .json(request)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?.to_vec();
        Ok(RawAnswer { status, body })
    }

    /// An activation, answered as it came.
    pub async fn activate(
        &self,
        request: &ActivationRequest,
        timeout: Duration,
    ) -> Result<RawAnswer, PortalError> {
        self.relay("activations", request, timeout).await
    }

    /// Long-polls for commands: answers at once when some are pending, else after `wait`
    /// seconds with none. Each command comes as raw JSON so that one of a kind this agent
    /// does not know can still be acknowledged as failed.
    pub async fn commands(&self, wait: u64) -> Result<Vec<serde_json::Value>, PortalError> {
        #[derive(serde::Deserialize)]
        struct RawBatch {
            commands: Vec<serde_json::Value>,
        }
        let response = self
            .request(Method::GET, &format!("commands?wait={wait}"))
            .timeout(Duration::from_secs(wait) + CALL_TIMEOUT)
            .send()
            .await
            .map_err(unreachable)?;
        let batch: RawBatch = typed(response).await?;
        Ok(batch.commands)
    }

    pub async fn ack(&self, command_id: &str, ack: &CommandAck) -> Result<(), PortalError> {
        self.post_without_answer(&format!("commands/{command_id}/ack"), ack)
            .await
    }

    /// A POST whose success carries nothing to read.
    async fn post_without_answer(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<(), PortalError> {
        let response = self
            .request(Method::POST, path)
            .json(body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.bytes().await.map_err(unreachable)?;
        Err(refusal(status, &body))
    }
}

fn unreachable(error: reqwest::Error) -> PortalError {
    if error.is_timeout() {
        return PortalError::Unreachable("no answer in time".into());
    }
    // reqwest's own text names the URL; the innermost cause says what went wrong
    // ("Connection refused (os error 111)").
    let mut cause: &dyn std::error::Error = &error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    PortalError::Unreachable(cause.to_string())
}

async fn typed<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, PortalError> {
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(refusal(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| PortalError::BadAnswer {
        status: status.as_u16(),
        detail: e.to_string(),
    })
}

/// An error answer: the portal's `{"code", "message"}` when it sent one (a proxy in between
/// may not have): else `http_<status>` and the start of the body.
pub(crate) fn refusal(status: StatusCode, body: &[u8]) -> PortalError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => PortalError::Refused {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        },
        Err(_) => PortalError::Refused {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retried() {
        let refused = |status: u16| PortalError::Refused {
            status,
            code: "x".into(),
            message: String::new(),
        };
        assert!(PortalError::Unreachable("refused".into()).retryable());
        for status in [500, 502, 503, 504, 408, 429, 401] {
            assert!(refused(status).retryable(), "{status}");
        }
        for status in [400, 403, 404, 409, 413, 422] {
            assert!(!refused(status).retryable(), "{status}");
        }
        assert!(refused(401).unauthorized());
    }

    #[test]
    fn error_bodies_are_read_when_there_is_one() {
        let e = refusal(
            StatusCode::CONFLICT,
            br#"{"code":"instance_limit_reached","message":"The pool allows 50 LoadMasters"}"#,
        );
        assert!(
            matches!(&e, PortalError::Refused { status: 409, code, .. } if code == "instance_limit_reached")
        );
        let e = refusal(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert!(matches!(&e, PortalError::Refused { code, .. } if code == "http_502"));
        assert!(e.to_string().contains("bad gateway"));
    }
}
