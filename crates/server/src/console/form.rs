//! Form bodies read by hand where a key may repeat (checkboxes), which `axum::Form` cannot
//! deserialize into one struct, and the API request bodies built from their fields.

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use crate::api::ApiError;

/// `name=value` pairs of a form body, in order.
pub fn pairs(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of `name` (empty when absent).
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// An API request body from a form's fields, checked by the API's own types.
pub fn body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_kept_and_the_first_value_is_the_field() {
        let f = pairs(&Bytes::from_static(b"providers=embedded&providers=openai&csrf=a%2Bb"));
        assert_eq!(f.iter().filter(|(k, _)| k == "providers").count(), 2);
        assert_eq!((field(&f, "providers"), field(&f, "csrf"), field(&f, "none")), ("embedded", "a+b", ""));
    }
}
