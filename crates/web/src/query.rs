//! A request's query string, read once into a handler's parameters: a value left empty is
//! an absent one (as a form sends a field left blank), and a value of the wrong form is
//! refused naming its parameter, as the API's JSON error or as the web app's error page
//! (axum's own extractor had answered `?page=` and `?page=abc` with a plain-text
//! "Failed to deserialize query string", pages included).

use std::num::{IntErrorKind, ParseIntError};
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use crate::error::WebError;

/// A handler's query parameters, `T` read from the query string by [`read`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        read(parts.uri.query().unwrap_or(""))
            .map(Params)
            .map_err(|msg| {
                let e = WebError::BadRequest(msg);
                if parts.uri.path().starts_with("/api/") {
                    e.into_response()
                } else {
                    crate::pages::error_response(e)
                }
            })
    }
}

/// `T` from a query string (without its `?`): pairs whose value is empty or blank are
/// left out, so that a field is absent; an error names the parameter (`page: "abc" is not
/// a whole number`).
pub fn read<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    let given = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(query.as_bytes()).filter(|(_, v)| !v.trim().is_empty()),
        )
        .finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(given.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." || path.is_empty() {
            inner
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// A whole-number parameter (`#[serde(default, deserialize_with = "query::number")]`):
/// anything else is refused as `"abc" is not a whole number`.
pub fn number<'de, D, N>(d: D) -> Result<Option<N>, D::Error>
where
    D: Deserializer<'de>,
    N: FromStr<Err = ParseIntError>,
{
    let s = String::deserialize(d)?;
    whole(&s).map(Some).map_err(D::Error::custom)
}

/// A count of one or more (`#[serde(default, deserialize_with = "query::positive")]`): a
/// page, a page's size, how many to list; `0` is refused as `"0" is not 1 or more`.
pub fn positive<'de, D, N>(d: D) -> Result<Option<N>, D::Error>
where
    D: Deserializer<'de>,
    N: FromStr<Err = ParseIntError> + PartialOrd + From<u8>,
{
    let s = String::deserialize(d)?;
    match whole::<N>(&s) {
        Ok(n) if n >= N::from(1) => Ok(Some(n)),
        Ok(_) => Err(D::Error::custom(format!("{s:?} is not 1 or more"))),
        Err(e) => Err(D::Error::custom(e)),
    }
}

fn whole<N: FromStr<Err = ParseIntError>>(s: &str) -> Result<N, String> {
    s.trim().parse::<N>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow => format!("{s:?} is too large"),
        IntErrorKind::NegOverflow => format!("{s:?} is too small"),
        _ => format!("{s:?} is not a whole number"),
    })
}

/// A yes-or-no parameter (`#[serde(default, deserialize_with = "query::flag")]`):
/// `true`, `1`, `yes` or `on`, and `false`, `0`, `no` or `off`, in any case (a page's
/// links say `1`, the API's documents `true`: either works on both).
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(D::Error::custom(format!(
            "{s:?} is not true or false (or 1 or 0)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Default, PartialEq)]
    struct Q {
        scope: Option<String>,
        #[serde(default, deserialize_with = "number")]
        page: Option<usize>,
        #[serde(default, deserialize_with = "number")]
        before: Option<i64>,
        #[serde(default, deserialize_with = "flag")]
        same_day: Option<bool>,
        #[serde(default, deserialize_with = "positive")]
        per_page: Option<u32>,
    }

    #[test]
    fn empty_values_are_absent_and_bad_ones_are_named() {
        assert_eq!(read::<Q>("").unwrap(), Q::default());
        assert_eq!(
            read::<Q>("scope=&page=&same_day=%20&before=").unwrap(),
            Q::default()
        );
        assert_eq!(
            read::<Q>("scope=team%3AP-1&page=%203&before=-2&same_day=ON").unwrap(),
            Q {
                scope: Some("team:P-1".into()),
                page: Some(3),
                before: Some(-2),
                same_day: Some(true),
                per_page: None,
            }
        );
        assert_eq!(read::<Q>("per_page=1").unwrap().per_page, Some(1));
        assert_eq!(read::<Q>("same_day=0").unwrap().same_day, Some(false));
        // (an unknown parameter is let through, as before)
        assert_eq!(read::<Q>("nope=1").unwrap(), Q::default());
        for (q, want) in [
            ("page=abc", "page: \"abc\" is not a whole number"),
            ("page=-1", "page: \"-1\" is not a whole number"),
            ("page=1.5", "page: \"1.5\" is not a whole number"),
            (
                "page=99999999999999999999999",
                "page: \"99999999999999999999999\" is too large",
            ),
            (
                "before=-99999999999999999999999",
                "before: \"-99999999999999999999999\" is too small",
            ),
            ("per_page=0", "per_page: \"0\" is not 1 or more"),
            ("per_page=x", "per_page: \"x\" is not a whole number"),
            (
                "same_day=maybe",
                "same_day: \"maybe\" is not true or false (or 1 or 0)",
            ),
        ] {
            assert_eq!(read::<Q>(q).unwrap_err(), want, "{q}");
        }
        assert!(
            read::<Q>("page=1&page=2")
                .unwrap_err()
                .contains("duplicate field `page`")
        );
    }

    proptest::proptest! {
        /// Any query string reads as parameters or as an error naming why, never a
        /// panic; and a parameter given a value that is blank reads as not given.
        #[test]
        fn any_query_reads_or_says_why(q in "[a-z_=&%0-9A-F +.-]{0,60}|\\PC{0,40}") {
            let _ = read::<Q>(&q);
        }

        #[test]
        fn a_blank_value_is_no_value(name in "scope|page|before|same_day|per_page", blank in "[ ]{0,3}") {
            let q = format!("{name}={}", blank.replace(' ', "+"));
            proptest::prop_assert_eq!(read::<Q>(&q).unwrap(), Q::default());
        }
    }
}
