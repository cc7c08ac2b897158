//! The two values of `[remote_cache]` that need more than a type check: the server's URL and the
//! request timeout. Shared with the environment variables that override them (`cli::settings`), so
//! a value means the same wherever it is written. Pure functions: nothing here reads anything.

use std::time::Duration;

/// Accepts `http://` and `https://` URLs with a host; the API paths are appended to it.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{url}` has no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "`{url}` has a query or fragment; give the base URL only"
        ));
    }
    Ok(())
}

/// Parses `500ms`, `30s`, `2m` (a bare number is seconds); more than zero, at most an hour.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("`{text}`: the unit must be ms, s or m")),
    };
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!("`{text}` must be more than 0 and at most 1 hour"));
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
