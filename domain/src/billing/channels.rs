//! The tenant's communication channels: email recipients and a webhook (public HTTPS
//! receivers only, unless the deployment allows private ones).

use serde::{Deserialize, Serialize};

/// A tenant's communication channels: email recipients (the SMTP server is the
/// deployment's) and a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Channels {
    pub email_recipients: Vec<String>,
    pub webhook_url: Option<String>,
    /// Whether a signing secret is set (the secret itself is shown once, when made).
    pub webhook_secret_set: bool,
}

/// A webhook delivery as the portal shows it (failures are visible).
// Read from the database as they are stored (the data layer's `query_as`).
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: String,
    pub event: String,
    pub created_at: i64,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// Whether a host names this machine or a private, link-local or otherwise internal network
/// (a webhook there could be used to probe the portal's own network).
pub fn is_internal_host(host: &str) -> bool {
    use std::net::IpAddr;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
    {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal_host(&v4.to_string()))
        }
        Err(_) => false,
    }
}

/// A webhook URL must be `https://` to a public host. A deployment that allows private
/// receivers (tests, an on-premises receiver) also takes internal hosts, and `http://` to
/// this machine.
pub fn check_webhook_url(url: &str, allow_private: bool) -> Result<(), crate::AppError> {
    let url = url.trim();
    let bad = |why: &str| crate::AppError::invalid("webhook_url", why.to_string());
    if url.len() > 500 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must be an https:// address of at most 500 characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("must be an https:// address"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad(
            "must be an https:// address with a host (and no user name)",
        ));
    }
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
    } else {
        authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority)
    };
    if host.is_empty() {
        return Err(bad("must be an https:// address with a host"));
    }
    let internal = is_internal_host(host);
    match scheme.to_ascii_lowercase().as_str() {
        "https" if internal && !allow_private => Err(bad(
            "must not name this machine or a private network (this deployment does not allow private receivers)",
        )),
        "https" => Ok(()),
        "http" if allow_private && matches!(host, "127.0.0.1" | "localhost" | "::1") => Ok(()),
        _ => Err(bad("must be an https:// address")),
    }
}

/// An email the portal sent (or is trying to send) about the tenant: its Notifications page
/// lists them, so a message the mail server refused is seen, not lost.
// Read from the database as they are stored (the data layer's `query_as`).
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailDelivery {
    pub id: String,
    #[cfg_attr(feature = "ssr", sqlx(rename = "recipient"))]
    pub to: String,
    pub subject: String,
    pub created_at: i64,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}
