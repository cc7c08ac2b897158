//! The remote cache as the flags, the environment and the config file's `[remote_cache]` set it.

use std::time::Duration;

use crate::cli::env::RemoteEnv;
use crate::cli::CliError;
use shockwave_core::cache::remote::{RemoteConfig, Secret};
use shockwave_core::config::RemoteCacheFile;

/// The default per-request timeout of the remote cache.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// The remote cache as the flags and the environment set it, checked; the config file's
/// `[remote_cache]` fills in what they leave unset ([`RemoteSettings::config`]).
#[derive(Debug, Default)]
pub struct RemoteSettings {
    /// `--no-remote-cache` or `--no-cache`.
    pub off: bool,
    pub url: Option<String>,
    pub team: Option<String>,
    /// `--remote-cache-read-only`, or the variable.
    pub read_only: Option<bool>,
    pub signature: Option<bool>,
    pub timeout: Option<Duration>,
    pub token: Option<Secret>,
    pub signature_key: Option<Secret>,
}

impl RemoteSettings {
    pub(super) fn resolve(
        env: RemoteEnv,
        off: bool,
        read_only: bool,
    ) -> Result<RemoteSettings, CliError> {
        let flag = |v: Option<(&str, String)>| -> Result<Option<bool>, CliError> {
            let Some((name, value)) = v else {
                return Ok(None);
            };
            match value.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => Ok(Some(true)),
                "0" | "false" | "no" => Ok(Some(false)),
                _ => Err(CliError::Usage(format!(
                    "{name}={value}: write 1 or 0 (true or false)"
                ))),
            }
        };
        if let Some(url) = &env.url {
            shockwave_core::config::check_url(url)
                .map_err(|e| CliError::Usage(format!("the remote cache URL: {e}")))?;
        }
        let timeout = env
            .timeout
            .as_deref()
            .map(shockwave_core::config::parse_duration)
            .transpose()
            .map_err(|e| CliError::Usage(format!("SHOCKWAVE_REMOTE_CACHE_TIMEOUT: {e}")))?;
        Ok(RemoteSettings {
            off,
            read_only: if read_only {
                Some(true)
            } else {
                flag(env.read_only)?
            },
            signature: flag(env.signature)?,
            url: env.url,
            team: env.team,
            timeout,
            token: env.token,
            signature_key: env.signature_key,
        })
    }

    /// The remote cache to use with the config file's `[remote_cache]`: `None` when it is off or
    /// has no URL. A URL without a team, or signatures without a key, are usage errors.
    pub fn config(&self, file: &RemoteCacheFile) -> Result<Option<RemoteConfig>, CliError> {
        let Some(url) = self.url.clone().or_else(|| file.url.clone()) else {
            return Ok(None);
        };
        if self.off {
            return Ok(None);
        }
        let team = self.team.clone().or_else(|| file.team.clone()).ok_or_else(|| {
            CliError::Usage(format!(
                "the remote cache {url} needs a team: set remote_cache.team in pipeline.toml or SHOCKWAVE_REMOTE_CACHE_TEAM"
            ))
        })?;
        let require_signature = self.signature.or(file.signature).unwrap_or(false);
        if require_signature && self.signature_key.is_none() {
            return Err(CliError::Usage(
                "remote_cache.signature is on but no key is set: set SHOCKWAVE_REMOTE_CACHE_SIGNATURE_KEY (or TURBO_REMOTE_CACHE_SIGNATURE_KEY)".into(),
            ));
        }
        Ok(Some(RemoteConfig {
            url,
            team,
            read_only: self.read_only.or(file.read_only).unwrap_or(false),
            signature_key: self.signature_key.clone(),
            require_signature,
            timeout: self.timeout.or(file.timeout).unwrap_or(REMOTE_TIMEOUT),
            token: self.token.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_is_resolved_from_flags_environment_and_file() {
        let file = RemoteCacheFile {
            url: Some("https://file.example".into()),
            team: Some("file-team".into()),
            read_only: Some(false),
            signature: None,
            timeout: Some(Duration::from_secs(5)),
        };
        let env = |pairs: &[(&'static str, &str)]| RemoteEnv {
            url: pairs.iter().find(|p| p.0 == "url").map(|p| p.1.to_string()),
            read_only: pairs
                .iter()
                .find(|p| p.0 == "ro")
                .map(|p| ("SHOCKWAVE_REMOTE_CACHE_READ_ONLY", p.1.to_string())),
            signature: pairs
                .iter()
                .find(|p| p.0 == "sig")
                .map(|p| ("SHOCKWAVE_REMOTE_CACHE_SIGNATURE", p.1.to_string())),
            ..RemoteEnv::default()
        };
        let resolve = |e: RemoteEnv, off: bool, ro: bool| RemoteSettings::resolve(e, off, ro);
        let c = resolve(env(&[("url", "http://env.example")]), false, false)
            .unwrap()
            .config(&file)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.url.as_str(), c.team.as_str()),
            ("http://env.example", "file-team")
        );
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(!c.read_only && !c.require_signature && c.token.is_none());
        let ro = resolve(env(&[("ro", "1")]), false, false).unwrap();
        assert!(ro.config(&file).unwrap().unwrap().read_only);
        let flag = resolve(env(&[("ro", "0")]), false, true).unwrap();
        assert!(
            flag.config(&file).unwrap().unwrap().read_only,
            "the flag wins"
        );
        let off = resolve(env(&[]), true, false).unwrap();
        assert!(off.config(&file).unwrap().is_none());
        let none = resolve(env(&[]), false, false).unwrap();
        assert!(none.config(&RemoteCacheFile::default()).unwrap().is_none());
        let no_key = resolve(env(&[("sig", "true")]), false, false).unwrap();
        assert!(no_key
            .config(&file)
            .unwrap_err()
            .to_string()
            .contains("no key"));
        let no_team = RemoteCacheFile {
            team: None,
            ..file.clone()
        };
        assert!(none
            .config(&no_team)
            .unwrap_err()
            .to_string()
            .contains("needs a team"));
        assert!(resolve(env(&[("ro", "perhaps")]), false, false).is_err());
        assert!(resolve(env(&[("url", "ftp://x")]), false, false).is_err());
    }
}
