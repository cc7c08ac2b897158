//! The two values of `[remote_cache]` that need more than a type check: the server's URL and the
//! request timeout. Shared with the environment variables that override them (`cli::settings`), so
//! a value means the same wherever it is written. Pure functions: nothing here reads anything.

use std::time::Duration;

/// Why a remote cache URL is refused; each names the URL as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{0}` is not an http:// or https:// URL")]
    NotHttp(String),
    #[error("`{0}` has no host")]
    NoHost(String),
    #[error("`{0}` has a query or fragment; give the base URL only")]
    QueryOrFragment(String),
}

/// Accepts `http://` and `https://` URLs with a host; the API paths are appended to it.
pub fn check_url(url: &str) -> Result<(), UrlError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| UrlError::NotHttp(url.to_owned()))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(UrlError::NoHost(url.to_owned()));
    }
    if rest.contains(['?', '#']) {
        return Err(UrlError::QueryOrFragment(url.to_owned()));
    }
    Ok(())
}

/// Why a duration is refused; each names the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration")]
    NotANumber(String),
    #[error("`{0}`: the unit must be ms, s or m")]
    Unit(String),
    #[error("`{0}` must be more than 0 and at most 1 hour")]
    OutOfRange(String),
}

/// Parses `500ms`, `30s`, `2m` (a bare number is seconds); more than zero, at most an hour.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| DurationError::NotANumber(text.to_owned()))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(DurationError::Unit(text.to_owned())),
    };
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(DurationError::OutOfRange(text.to_owned()));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_urls() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "0s", "3h", "fast", "-1s", "2 hours"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(check_url("https://cache.example.com").is_ok());
        assert!(check_url("http://127.0.0.1:3000/base").is_ok());
        for bad in ["cache.example.com", "ftp://x", "https://", "http://x/?a=1"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
