//! OpenID Connect sign-in, the provider side: discovery and keys fetched on first use and
//! cached, the authorization request (code flow, PKCE S256, `state`, `nonce`), and the code
//! exchange with the ID token's checks (signature from the provider's JWKS, `iss`, `aud`,
//! `exp`, `nonce`), all through the `openidconnect` crate. The routes and the account rules
//! are in auth/routes/oidc.rs.

use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::settings::oidc::OidcProvider;

/// How long discovery and keys are trusted before they are fetched again. A token signed by a
/// key the cache does not know makes one early fetch (the provider rotated its keys).
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Each call to a provider; the sign-in fails (fast) rather than hold the request.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents, key sets and token answers are small; a bigger body is refused.
const MAX_BODY: usize = 1024 * 1024;

/// Why a step with the provider failed. Only the kind reaches the user (as the sign-in page's
/// `error`); the detail goes to the log, without codes or tokens.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("provider unreachable or its discovery is invalid: {0}")]
    Unavailable(String),
    #[error("code exchange failed: {0}")]
    Exchange(String),
    #[error("ID token invalid: {0}")]
    IdToken(String),
    #[error("ID token nonce does not match")]
    Nonce,
}

/// What a verified ID token says of the person.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    /// The provider asserted the email is verified (`email_verified: true`).
    pub email_verified: bool,
    pub name: Option<String>,
}

/// What [`Provider::authorization`] hands out; the caller keeps the secrets server-side.
pub struct Authorization {
    pub url: url::Url,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

struct Cached {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// One configured provider and its cached discovery.
pub struct Provider {
    pub settings: OidcProvider,
    /// Held across a fetch, so concurrent first sign-ins wait for one discovery.
    cache: tokio::sync::Mutex<Option<Cached>>,
}

/// Every configured provider, and the HTTP client they share (built on first use: no work at
/// start-up).
pub struct Providers {
    providers: Vec<Provider>,
    http: std::sync::OnceLock<Http>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The HTTP client `openidconnect` calls, over the project's reqwest (the crate's own reqwest
/// feature would pull in a second major version of it). A named type with a boxed `Send`
/// future, so the routes' futures stay `Send`.
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// Sends one request, reading at most [`MAX_BODY`] of the answer.
async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?;
    let mut answer = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpError(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(HttpError("answer larger than 1 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    answer.body(body).map_err(|e| HttpError(e.to_string()))
}

impl Providers {
    pub fn new(settings: &[OidcProvider]) -> Self {
        Self {
            providers: settings
                .iter()
                .map(|s| Provider {
                    settings: s.clone(),
                    cache: tokio::sync::Mutex::new(None),
                })
                .collect(),
            http: std::sync::OnceLock::new(),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &OidcProvider> {
        self.providers.iter().map(|p| &p.settings)
    }

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.settings.name == name)
    }

    fn http(&self) -> &Http {
        self.http.get_or_init(|| {
            // No redirects: discovery, keys and the token endpoint answer directly, and a
            // redirect would send the client secret elsewhere.
            Http(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(CALL_TIMEOUT)
                    .build()
                    .expect("an HTTP client with default TLS"),
            )
        })
    }

    /// The provider's metadata (with its keys), fetched when absent, older than an hour, or
    /// when `refetch` (a key the cache does not know).
    async fn metadata(
        &self,
        provider: &Provider,
        refetch: bool,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let mut cache = provider.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && !refetch
            && cached.fetched.elapsed() < METADATA_TTL
        {
            return Ok(cached.metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.settings.issuer.clone())
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        // Checks that the document's `issuer` is exactly the configured one.
        let metadata = CoreProviderMetadata::discover_async(issuer, self.http())
            .await
            .map_err(|e| OidcError::Unavailable(error_chain(&e)))?;
        *cache = Some(Cached {
            metadata: metadata.clone(),
            fetched: Instant::now(),
        });
        Ok(metadata)
    }

    fn client(
        provider: &Provider,
        metadata: CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| OidcError::Unavailable(format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.settings.client_id.clone()),
            Some(ClientSecret::new(
                provider.settings.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// The authorization request: where to send the browser, and the secrets to keep for the
    /// callback.
    pub async fn authorization(
        &self,
        provider: &Provider,
        redirect_uri: &str,
    ) -> Result<Authorization, OidcError> {
        let metadata = self.metadata(provider, false).await?;
        let client = Self::client(provider, metadata, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                // 256 bits, the size of every one-time token here (auth/onetime.rs).
                || CsrfToken::new(crate::auth::sessions::random_secret()),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in provider.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` (with the PKCE verifier) and verifies the ID token it brings.
    pub async fn exchange(
        &self,
        provider: &Provider,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, OidcError> {
        let metadata = self.metadata(provider, false).await?;
        let client = Self::client(provider, metadata, redirect_uri)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(self.http())
            .await
            .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
        let id_token = answer
            .id_token()
            .ok_or_else(|| OidcError::IdToken("the token answer has no id_token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // A key we have not seen: the provider may have rotated; fetch its keys once more.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self.metadata(provider, true).await?;
                let client = Self::client(provider, fresh, redirect_uri)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(claims_error)?
                    .clone()
            }
            Err(e) => return Err(claims_error(e)),
        };
        Ok(Identity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        })
    }
}

fn claims_error(e: ClaimsVerificationError) -> OidcError {
    match e {
        ClaimsVerificationError::InvalidNonce(_) => OidcError::Nonce,
        other => OidcError::IdToken(other.to_string()),
    }
}

/// An error with its sources, for the log (the crate's top-level messages say little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
