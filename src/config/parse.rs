//! Raw values to typed ones: a parameter's text (or its default) with parsers that name the
//! parameter, the value and what is accepted when they refuse it.

use std::time::Duration;
use zeroize::Zeroizing;

use super::ConfigError;

/// Origins allowed to call `/anonymous/` from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub const ALL: [LogFormat; 2] = [LogFormat::Text, LogFormat::Json];

    /// The `LOG_FORMAT` value naming this format.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The longest duration any parameter accepts: ten years.
pub const MAX_SECONDS: u64 = 10 * 365 * 86_400;

pub fn cors(raw: &Raw) -> Result<Option<CorsOrigins>, ConfigError> {
    let Some(text) = raw.value.as_deref() else {
        return Ok(None);
    };
    let text = text.trim();
    if text == "*" {
        return Ok(Some(CorsOrigins::Any));
    }
    let origins: Vec<String> = text
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .collect();
    let valid = |o: &String| {
        (o.starts_with("http://") || o.starts_with("https://"))
            && o.len() > "https://".len()
            && !o.contains(char::is_whitespace)
    };
    if origins.is_empty() || !origins.iter().all(valid) {
        return Err(raw.error("expected * or a comma-separated list of origins like https://cusdeb.com"));
    }
    Ok(Some(CorsOrigins::List(origins)))
}

/// A parameter's raw text (or default), with helpers that name it in errors.
pub struct Raw {
    pub name: &'static str,
    /// Whether the environment set it (rather than the default).
    pub set: bool,
    pub value: Option<String>,
}

impl Raw {
    pub fn text(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    pub fn error(&self, expected: &str) -> ConfigError {
        ConfigError {
            param: self.name,
            value: self.value.clone(),
            expected: expected.into(),
        }
    }

    pub fn integer<T: TryFrom<u64>>(&self, min: u64, max: u64, expected: &str) -> Result<T, ConfigError> {
        let err = || self.error(&format!("expected {expected}"));
        let n: u64 = self.text().parse().map_err(|_| err())?;
        if n < min || n > max {
            return Err(err());
        }
        T::try_from(n).map_err(|_| err())
    }

    /// `", the default"` when the value is the default, for messages that quote it.
    pub fn default_note(&self) -> &'static str {
        if self.set { "" } else { ", the default" }
    }

    /// A whole number of seconds from `min` to ten years.
    pub fn seconds(&self, min: u64) -> Result<Duration, ConfigError> {
        let expected = format!("a whole number of seconds from {min} to {MAX_SECONDS} (10 years)");
        self.integer::<u64>(min, MAX_SECONDS, &expected)
            .map(Duration::from_secs)
    }

    /// A number of seconds from `min` to 86400, fractions allowed.
    pub fn seconds_f64(&self, min: f64) -> Result<Duration, ConfigError> {
        let err = || {
            self.error(&format!(
                "expected a number of seconds from {min} to 86400, fractions allowed, e.g. 5 or 0.25"
            ))
        };
        let n: f64 = self.text().parse().map_err(|_| err())?;
        if !n.is_finite() || !(min..=86_400.0).contains(&n) {
            return Err(err());
        }
        Ok(Duration::from_secs_f64(n))
    }

    pub fn optional_url(&self) -> Result<Option<String>, ConfigError> {
        let Some(v) = self.value.clone() else {
            return Ok(None);
        };
        let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let ok = matches!(host, Some(h) if !h.is_empty())
            && !v.contains(['?', '#'])
            && !v.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(self.error(
                "expected an absolute http(s) URL without query or fragment, e.g. https://anonymous.cusdeb.com",
            ));
        }
        Ok(Some(v))
    }
}

/// Which parameter gave a value, and its bytes (zeroed when dropped).
pub type Given = (&'static str, Option<Zeroizing<Vec<u8>>>);

/// A secret given either in `name` or in the file `file_param` names (trailing newline
/// stripped), not both: which parameter it came from, and its bytes (`None` when neither is
/// set). An empty `name` counts as unset when the file is given.
pub fn value_or_file(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_param: &'static str,
) -> Result<Given, ConfigError> {
    let value = lookup(name);
    let file = lookup(file_param).filter(|f| !f.trim().is_empty());
    match (value, file) {
        (Some(value), Some(_)) if !value.is_empty() => Err(ConfigError {
            param: file_param,
            value: None,
            expected: format!("set either {name} or {file_param}, not both"),
        }),
        (_, Some(path)) => {
            let mut bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| ConfigError {
                param: file_param,
                value: Some(path.clone()),
                expected: format!("a readable file ({})", e.kind()),
            })?);
            if bytes.ends_with(b"\n") {
                bytes.pop();
                if bytes.ends_with(b"\r") {
                    bytes.pop();
                }
            }
            Ok((file_param, Some(bytes)))
        }
        (value, None) => Ok((name, value.map(|v| Zeroizing::new(v.into_bytes())))),
    }
}
