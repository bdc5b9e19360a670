//! What browsers on another origin need: the origins allowed to call the API with credentials
//! (`CORS_ORIGINS`), and where the refresh token travels (`AUTH_REFRESH_TRANSPORT`).

use url::Url;

use super::{SettingsError, bad};

/// Where the refresh token travels between the API and its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTransport {
    /// In response bodies only; no cookie is ever set (native and server clients).
    Body,
    /// In the httpOnly cookie only: never in a body, so page scripts cannot read it, and
    /// refresh and logout need `X-Requested-With` (a cross-site form cannot send it).
    Cookie,
    /// Both, the client choosing (the default).
    Both,
}

impl RefreshTransport {
    pub fn in_body(self) -> bool {
        self != RefreshTransport::Cookie
    }

    pub fn in_cookie(self) -> bool {
        self != RefreshTransport::Body
    }

    pub(super) fn parse(value: Option<&str>) -> Result<Self, SettingsError> {
        match value {
            None | Some("both") => Ok(RefreshTransport::Both),
            Some("body") => Ok(RefreshTransport::Body),
            Some("cookie") => Ok(RefreshTransport::Cookie),
            Some(other) => Err(bad(
                "AUTH_REFRESH_TRANSPORT",
                format!("'{other}' is not one of body, cookie, both"),
            )),
        }
    }
}

/// `CORS_ORIGINS`: comma-separated exact origins (`scheme://host[:port]`), each in the form a
/// browser sends in `Origin` (lower-case host, no default port), so comparing is exact.
pub(super) fn parse_cors_origins(value: Option<&str>) -> Result<Vec<String>, SettingsError> {
    const NAME: &str = "CORS_ORIGINS";
    let mut origins = Vec::new();
    for entry in value.unwrap_or_default().split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        // Credentialed CORS cannot use a wildcard, and a pattern would let look-alike hosts in.
        if entry.contains('*') {
            return Err(bad(NAME, format!("'{entry}': wildcards are not allowed")));
        }
        let url = Url::parse(entry)
            .map_err(|_| bad(NAME, format!("'{entry}' is not scheme://host[:port]")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad(
                NAME,
                format!("'{entry}' must be http(s)://host[:port]"),
            ));
        }
        // An origin has no user, path (not even `/`), query or fragment.
        let bare = url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && !entry.ends_with('/')
            && url.query().is_none()
            && url.fragment().is_none();
        if !bare {
            return Err(bad(
                NAME,
                format!("'{entry}' must be an origin: scheme://host[:port], no path"),
            ));
        }
        origins.push(url.origin().ascii_serialization());
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_normalised() {
        assert_eq!(parse_cors_origins(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_cors_origins(Some(" https://App.example.com , http://localhost:3000,")).unwrap(),
            ["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(
            parse_cors_origins(Some("https://a.example:443")).unwrap(),
            ["https://a.example"]
        );
    }

    #[test]
    fn anything_but_an_origin_is_refused_naming_the_setting() {
        for bad in [
            "*",
            "https://*.example.com",
            "https://a.example/",
            "https://a.example/app",
            "https://a.example?x=1",
            "https://user@a.example",
            "ftp://a.example",
            "a.example",
            "null",
        ] {
            let error = parse_cors_origins(Some(bad)).unwrap_err();
            assert_eq!(error.name, "CORS_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn refresh_transport_parses_three_words() {
        assert_eq!(
            RefreshTransport::parse(None).unwrap(),
            RefreshTransport::Both
        );
        assert_eq!(
            RefreshTransport::parse(Some("cookie")).unwrap(),
            RefreshTransport::Cookie
        );
        assert_eq!(
            RefreshTransport::parse(Some("body")).unwrap(),
            RefreshTransport::Body
        );
        let error = RefreshTransport::parse(Some("header")).unwrap_err();
        assert_eq!(error.name, "AUTH_REFRESH_TRANSPORT");
    }
}
