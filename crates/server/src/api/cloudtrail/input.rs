//! Reading request members with the right error for a wrong type or a missing member.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::api::error::ApiError;

pub struct Input<'a>(pub &'a Map<String, Value>);

fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::client("SerializationException", format!("Member {name} must be {expected}."))
}

impl Input<'_> {
    fn present(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// A required string; missing or empty gives `code` with "<name> is required".
    pub fn required_str(&self, name: &str, code: &str) -> Result<&str, ApiError> {
        match self.str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::client(code, format!("{name} is required."))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(name, "a boolean")),
        }
    }

    pub fn str_list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| wrong_type(name, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(name, "a list of strings")),
        }
    }

    /// A timestamp: epoch seconds (integer or fractional, as SDKs send them) or an ISO 8601 string.
    pub fn timestamp(&self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| wrong_type(name, "a timestamp")),
            Some(Value::String(s)) => s
                .parse::<jiff::Timestamp>()
                .map(|t| Some(t.as_millisecond() as f64 / 1000.0))
                .map_err(|_| wrong_type(name, "a timestamp")),
            Some(_) => Err(wrong_type(name, "a timestamp")),
        }
    }

    /// `StartTime` and `EndTime` (epoch seconds), refusing a start after the end.
    pub fn time_range(&self) -> Result<(Option<f64>, Option<f64>), ApiError> {
        let start = self.timestamp("StartTime")?;
        let end = self.timestamp("EndTime")?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(ApiError::client(
                "InvalidTimeRangeException",
                "The StartTime must be earlier than or equal to the EndTime.",
            ));
        }
        Ok((start, end))
    }

    /// A structured member, with `code` for content that does not fit its shape.
    pub fn typed<T: DeserializeOwned>(&self, name: &str, code: &str) -> Result<Option<T>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| ApiError::client(code, format!("{name} is not valid: {e}"))),
        }
    }
}

/// A list position as a NextToken (hex of the last key listed). List tokens only name a key the
/// caller could list anyway; LookupEvents tokens are sealed instead (history::token).
pub fn encode_token(s: &str) -> String {
    crate::auth::sigv4::hex(s.as_bytes())
}

pub fn decode_token(t: &str) -> Option<String> {
    if !t.len().is_multiple_of(2) || t.len() > 2048 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}
