//! OpenID Connect providers: `OIDC_PROVIDERS` names them (`microsoft,google`), and each NAME
//! has settings of its own, upper-cased in the name: `OIDC_<NAME>_ISSUER`,
//! `OIDC_<NAME>_CLIENT_ID`, `OIDC_<NAME>_CLIENT_SECRET` (a Key Vault reference in Azure), and
//! optional `OIDC_<NAME>_SCOPES` and `OIDC_<NAME>_LABEL`. Nothing is fetched here: discovery
//! happens on first use (auth/oidc.rs).

use url::{Host, Url};

use super::{Secret, SettingsError, bad};

/// The per-provider settings as the table lists them (`<NAME>` stands for each name).
pub const ISSUER: &str = "OIDC_<NAME>_ISSUER";
pub const CLIENT_ID: &str = "OIDC_<NAME>_CLIENT_ID";
pub const CLIENT_SECRET: &str = "OIDC_<NAME>_CLIENT_SECRET";
pub const SCOPES: &str = "OIDC_<NAME>_SCOPES";
pub const LABEL: &str = "OIDC_<NAME>_LABEL";
pub const PER_PROVIDER: [&str; 5] = [ISSUER, CLIENT_ID, CLIENT_SECRET, SCOPES, LABEL];

#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// As in `OIDC_PROVIDERS` and the routes (`auth/oidc/{name}/start`).
    pub name: String,
    /// Exactly as configured: ID tokens' `iss` must equal it character for character.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Always with `openid`.
    pub scopes: Vec<String>,
    /// What the sign-in page shows.
    pub label: String,
}

/// The setting of `template` for provider `name`: `OIDC_<NAME>_ISSUER` -> `OIDC_GOOGLE_ISSUER`.
pub fn setting_name(template: &str, name: &str) -> String {
    template.replace("<NAME>", &name.to_ascii_uppercase().replace('-', "_"))
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A plain-HTTP issuer is a loopback one (a test provider) or refused: over HTTP anyone on the
/// path could serve their own keys.
fn issuer_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// Parses every configured provider; `lookup` reads one setting by its full name.
pub fn parse(
    names: Option<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<OidcProvider>, SettingsError> {
    let mut providers: Vec<OidcProvider> = Vec::new();
    for name in names.iter().flat_map(|v| v.split(',')) {
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        if !valid_name(&name) {
            return Err(bad(
                "OIDC_PROVIDERS",
                format!("'{name}' is not a name of 1 to 32 letters, digits and '-'"),
            ));
        }
        if providers.iter().any(|p| p.name == name) {
            return Err(bad("OIDC_PROVIDERS", format!("'{name}' is listed twice")));
        }
        let get = |template: &str| {
            lookup(&setting_name(template, &name))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |template: &'static str| {
            get(template).ok_or_else(|| {
                bad(
                    template,
                    format!(
                        "{} is required for provider '{name}'",
                        setting_name(template, &name)
                    ),
                )
            })
        };
        let issuer = required(ISSUER)?;
        let url = Url::parse(&issuer)
            .map_err(|e| bad(ISSUER, format!("'{issuer}' ({name}) is not a URL ({e})")))?;
        if !issuer_allowed(&url) {
            return Err(bad(
                ISSUER,
                format!(
                    "'{issuer}' ({name}) must be https (plain http only on a loopback address)"
                ),
            ));
        }
        let mut scopes: Vec<String> = get(SCOPES)
            .unwrap_or_else(|| "openid email profile".into())
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let label = get(LABEL).unwrap_or_else(|| {
            let mut chars = name.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        });
        providers.push(OidcProvider {
            client_id: required(CLIENT_ID)?,
            client_secret: Secret::new(required(CLIENT_SECRET)?),
            issuer,
            scopes,
            label,
            name,
        });
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn providers(pairs: &[(&str, &str)]) -> Result<Vec<OidcProvider>, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(map.get("OIDC_PROVIDERS").cloned(), &|k| map.get(k).cloned())
    }

    #[test]
    fn each_name_reads_its_own_settings() {
        let parsed = providers(&[
            ("OIDC_PROVIDERS", "microsoft, my-idp"),
            (
                "OIDC_MICROSOFT_ISSUER",
                "https://login.microsoftonline.com/t/v2.0",
            ),
            ("OIDC_MICROSOFT_CLIENT_ID", "id-1"),
            ("OIDC_MICROSOFT_CLIENT_SECRET", "s-1"),
            ("OIDC_MY_IDP_ISSUER", "http://127.0.0.1:9000"),
            ("OIDC_MY_IDP_CLIENT_ID", "id-2"),
            ("OIDC_MY_IDP_CLIENT_SECRET", "s-2"),
            ("OIDC_MY_IDP_SCOPES", "email"),
            ("OIDC_MY_IDP_LABEL", "Our IdP"),
        ])
        .unwrap();
        assert_eq!(parsed[0].label, "Microsoft");
        assert_eq!(parsed[0].scopes, ["openid", "email", "profile"]);
        assert_eq!(parsed[1].name, "my-idp");
        assert_eq!(
            parsed[1].issuer, "http://127.0.0.1:9000",
            "kept exactly as given"
        );
        assert_eq!(parsed[1].scopes, ["openid", "email"]);
        assert_eq!(parsed[1].label, "Our IdP");
    }

    #[test]
    fn plain_http_is_refused_off_loopback_and_missing_parts_are_named() {
        let plain = providers(&[
            ("OIDC_PROVIDERS", "x"),
            ("OIDC_X_ISSUER", "http://idp.example.com"),
            ("OIDC_X_CLIENT_ID", "a"),
            ("OIDC_X_CLIENT_SECRET", "b"),
        ])
        .unwrap_err();
        assert_eq!(plain.name, ISSUER);
        assert!(plain.problem.contains("https"), "{}", plain.problem);
        let missing = providers(&[
            ("OIDC_PROVIDERS", "x"),
            ("OIDC_X_ISSUER", "https://i.example"),
        ])
        .unwrap_err();
        assert!(
            missing.problem.contains("OIDC_X_CLIENT_ID"),
            "{}",
            missing.problem
        );
        assert!(providers(&[("OIDC_PROVIDERS", "Bad Name")]).is_err());
        assert!(providers(&[]).unwrap().is_empty());
    }
}
