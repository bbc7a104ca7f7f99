//! Single sign-on with an OpenID Connect provider, through the oauth2 crate: authorization
//! code with PKCE (S256), a `state` kept in the session and compared on return, a `nonce`
//! kept in the session and compared with the ID token's. The provider is found by its
//! issuer's discovery document; the ID token's signature is checked against the provider's
//! published keys (JWKS), and its issuer, audience and expiry are checked too.

use bandpool_domain::AppError;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OnceCell};

/// The ID token the token endpoint returns beside the access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenFields {
    pub id_token: String,
}
impl ExtraTokenFields for IdTokenFields {}

type TokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;
type Client = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Discovered {
    client: Client,
    jwks_uri: String,
}

/// Settings of the provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: bandpool_services::Secret,
    pub redirect_url: String,
}

pub struct Provider {
    settings: ProviderSettings,
    http: reqwest::Client,
    discovered: OnceCell<Discovered>,
    keys: Mutex<Option<JwkSet>>,
}

/// What the session keeps between leaving for the provider and coming back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: String,
    pub invitation: Option<String>,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "loose_bool")]
    email_verified: bool,
}

/// Some providers send `email_verified` as a string.
fn loose_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Loose>::deserialize(d)? {
        Some(Loose::Bool(b)) => b,
        Some(Loose::Text(t)) => t == "true",
        None => false,
    })
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "single sign-on: {what}");
    AppError::sign_in_failed(format!(
        "the identity provider could not be reached ({what})"
    ))
}

impl Provider {
    pub fn new(settings: ProviderSettings) -> Result<Provider, String> {
        let http = reqwest::Client::builder()
            // The token endpoint must answer itself; a redirect there would be an attack.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|e| format!("redirect url: {e}"))?;
        Ok(Provider {
            settings,
            http,
            discovered: OnceCell::new(),
            keys: Mutex::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        self.settings.issuer.trim_end_matches('/')
    }

    /// A JSON document of the provider's (its discovery document or key set); a failure
    /// names the request (`asked`) or the document (`document`) that failed.
    async fn fetch<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        asked: &str,
        document: &str,
    ) -> Result<T, AppError> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| unavailable(asked, e))?
            .json()
            .await
            .map_err(|e| unavailable(document, e))
    }

    /// Discovery happens at first use (and is retried while it fails), so the portal starts
    /// even when the provider is down.
    async fn discovered(&self) -> Result<&Discovered, AppError> {
        self.discovered
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer());
                let doc: Discovery = self.fetch(&url, "discovery", "discovery document").await?;
                if doc.issuer.trim_end_matches('/') != self.issuer() {
                    return Err(unavailable(
                        "discovery",
                        format!(
                            "issuer {} is not the configured {}",
                            doc.issuer,
                            self.issuer()
                        ),
                    ));
                }
                let bad = |e: oauth2::url::ParseError| unavailable("discovery endpoints", e);
                let client = oauth2::Client::new(ClientId::new(self.settings.client_id.clone()))
                    .set_client_secret(ClientSecret::new(
                        self.settings.client_secret.expose().to_string(),
                    ))
                    .set_auth_uri(AuthUrl::new(doc.authorization_endpoint).map_err(bad)?)
                    .set_token_uri(TokenUrl::new(doc.token_endpoint).map_err(bad)?)
                    .set_redirect_uri(
                        RedirectUrl::new(self.settings.redirect_url.clone()).map_err(bad)?,
                    );
                Ok(Discovered {
                    client,
                    jwks_uri: doc.jwks_uri,
                })
            })
            .await
    }

    /// Where to send the browser, and what to keep in the session until it comes back.
    pub async fn start(
        &self,
        next: String,
        invitation: Option<String>,
    ) -> Result<(String, PendingSignIn), AppError> {
        let discovered = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let (url, state) = discovered
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_extra_param("nonce", nonce.clone())
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            PendingSignIn {
                state: state.secret().clone(),
                nonce,
                pkce_verifier: verifier.secret().clone(),
                next,
                invitation,
            },
        ))
    }

    /// Finish: the state must match, the code is exchanged with the PKCE verifier, and the
    /// ID token must be signed by the provider, for this client, unexpired, with our nonce.
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        code: &str,
        state: &str,
    ) -> Result<Identity, AppError> {
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(AppError::sign_in_failed(
                "the answer did not match this browser's sign-in (state)",
            ));
        }
        let discovered = self.discovered().await?;
        let response = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "single sign-on: code exchange refused");
                AppError::sign_in_failed("the identity provider refused the sign-in code")
            })?;
        use oauth2::TokenResponse as _;
        let _ = response.access_token();
        let claims = self
            .verify_id_token(discovered, &response.extra_fields().id_token)
            .await?;
        match &claims.nonce {
            Some(nonce) if constant_time_eq(nonce.as_bytes(), pending.nonce.as_bytes()) => {}
            _ => {
                return Err(AppError::sign_in_failed(
                    "the ID token was not issued for this sign-in (nonce)",
                ))
            }
        }
        Ok(Identity {
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email.map(|e| e.trim().to_lowercase()),
            email_verified: claims.email_verified,
        })
    }

    async fn verify_id_token(
        &self,
        discovered: &Discovered,
        token: &str,
    ) -> Result<Claims, AppError> {
        let invalid = |why: &str| AppError::sign_in_failed(format!("the ID token {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("is malformed"))?;
        let key = self.key_for(discovered, header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[&self.settings.client_id]);
        validation.set_issuer(&[self.issuer(), &format!("{}/", self.issuer())]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        if matches!(
            header.alg,
            jsonwebtoken::Algorithm::HS256
                | jsonwebtoken::Algorithm::HS384
                | jsonwebtoken::Algorithm::HS512
        ) {
            return Err(invalid(
                "uses a shared-secret algorithm this portal does not accept",
            ));
        }
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::warn!(error = %e, "single sign-on: ID token rejected");
                invalid("failed its checks (signature, issuer, audience or expiry)")
            })
    }

    /// The provider's key for `kid`; the key set is fetched again once when a key is unknown
    /// (the provider rotated its keys).
    async fn key_for(
        &self,
        discovered: &Discovered,
        kid: Option<&str>,
    ) -> Result<DecodingKey, AppError> {
        let mut keys = self.keys.lock().await;
        for attempt in 0..2 {
            if attempt == 1 || keys.is_none() {
                *keys = Some(self.fetch(&discovered.jwks_uri, "keys", "key set").await?);
            }
            let set = keys.as_ref().expect("fetched above");
            let found = match kid {
                Some(kid) => set.find(kid),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            if let Some(jwk) = found {
                return DecodingKey::from_jwk(jwk).map_err(|e| unavailable("key", e));
            }
        }
        Err(AppError::sign_in_failed(
            "the ID token was signed with an unknown key",
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
