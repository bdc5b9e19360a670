//! A real OpenID provider for the sign-in tests: npm `oidc-provider` (OpenID-certified),
//! started once per test process on a free loopback port by `tests/emulators/oidc-provider.mjs`
//! (which stops when our end of its stdin closes, when this process exits), and a browser's
//! part of signing in there: following its redirects with its cookies and filling in its
//! development sign-in and consent pages as a person would.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

static PROCESS: Mutex<Option<Child>> = Mutex::new(None);

pub fn provider() -> &'static Provider {
    static PROVIDER: OnceLock<Provider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        // Installs the emulators' packages (oidc-provider among them) when missing.
        crate::emulators::ensure_installed();
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulators");
        let mut child = Command::new("node")
            .arg(dir.join("oidc-provider.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be on PATH to start the OpenID provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the OpenID provider's answer");
        let provider: Provider = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("the OpenID provider did not start: {e}: {line:?}"));
        *PROCESS.lock().unwrap() = Some(child);
        provider
    })
}

/// The settings that make `name` this provider for a test app.
pub fn settings(name: &str) -> Vec<(String, String)> {
    let p = provider();
    let upper = name.to_ascii_uppercase();
    vec![
        ("OIDC_PROVIDERS".into(), name.into()),
        (format!("OIDC_{upper}_ISSUER"), p.issuer.clone()),
        (format!("OIDC_{upper}_CLIENT_ID"), p.client_id.clone()),
        (
            format!("OIDC_{upper}_CLIENT_SECRET"),
            p.client_secret.clone(),
        ),
        (format!("OIDC_{upper}_LABEL"), "Test IdP".into()),
    ]
}

/// A browser at the provider: its cookies, no automatic redirects.
pub struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }
}

fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// The value of attribute `name` in the first tag of `html` that has it after `from`.
fn attribute<'a>(html: &'a str, from: &str, name: &str) -> Option<&'a str> {
    let start = html.find(from)?;
    let rest = &html[start..];
    let at = rest.find(&format!("{name}=\""))? + name.len() + 2;
    rest[at..].split('"').next()
}

impl Browser {
    fn remember(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap();
            let (name, v) = pair.split_once('=').unwrap();
            if v.is_empty() || value.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), v.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// From the authorization URL to where the provider sends the browser back (the app's
    /// callback, with `code` and `state`, or an `error`): signs in as `login` and consents.
    pub async fn sign_in(&mut self, authorization_url: &str, login: &str) -> String {
        let mut url = authorization_url.to_owned();
        for _ in 0..12 {
            let response = self
                .http
                .get(&url)
                .header("cookie", self.cookie_header())
                .send()
                .await
                .unwrap();
            self.remember(&response);
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                let next = absolute(&url, &location);
                if !next.starts_with(&provider().issuer) {
                    return next;
                }
                url = next;
                continue;
            }
            assert_eq!(status, 200, "the provider at {url}");
            let html = response.text().await.unwrap();
            let action = attribute(&html, "<form", "action")
                .expect("a form")
                .to_owned();
            let prompt = attribute(&html, "name=\"prompt\"", "value").expect("a prompt");
            let form: Vec<(&str, &str)> = match prompt {
                "login" => vec![("prompt", "login"), ("login", login), ("password", "any")],
                _ => vec![("prompt", "consent")],
            };
            let posted = self
                .http
                .post(absolute(&url, &action))
                .header("cookie", self.cookie_header())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(&form)
                        .finish(),
                )
                .send()
                .await
                .unwrap();
            self.remember(&posted);
            assert!(posted.status().is_redirection(), "{}", posted.status());
            let location = posted.headers()["location"].to_str().unwrap();
            url = absolute(&url, location);
        }
        panic!("the provider never sent the browser back");
    }
}
