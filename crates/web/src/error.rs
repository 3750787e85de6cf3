//! The API's errors: each has an HTTP status and a stable `code`; a 500 is logged with
//! its cause and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Unknown, or outside the viewer's scope: the same answer, so ids do not leak.
    #[error("not found")]
    NotFound,
    #[error("sign in first")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(i64),
    #[error("{0}")]
    BadRequest(String),
    /// The engine is loading; with what it is doing, when known (see
    /// [`crate::App::loading_step`]).
    #[error("the data is still loading{}", .0.as_deref().map(|s| format!(": {s}")).unwrap_or_default())]
    NotReady(Option<String>),
    /// The data could not be loaded (the loader says why in the server's log and tries
    /// again); not "still loading", which it had said for as long as the server ran.
    #[error("the data could not be loaded; the server's log says why, and it tries again")]
    LoadFailed,
    #[error("store: {0}")]
    Store(#[from] salesorg_store::StoreError),
    #[error("engine: {0}")]
    Engine(#[from] salesorg_engine::EngineError),
    #[error("internal: {0}")]
    Internal(String),
    /// The server could not take its address (in use, not this machine's): the operator's
    /// to fix, so not called internal.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        addr: std::net::SocketAddr,
        reason: std::io::Error,
    },
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotReady(_) | WebError::LoadFailed => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Store(_)
            | WebError::Engine(_)
            | WebError::Internal(_)
            | WebError::Listen { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    /// The stable code in the error body.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "not_found",
            WebError::Unauthorized => "unauthorized",
            WebError::Forbidden(_) => "forbidden",
            WebError::Csrf => "csrf",
            WebError::Throttled(_) => "throttled",
            WebError::BadRequest(_) => "bad_request",
            WebError::NotReady(_) => "not_ready",
            WebError::LoadFailed => "load_failed",
            WebError::Store(_)
            | WebError::Engine(_)
            | WebError::Internal(_)
            | WebError::Listen { .. } => "internal",
        }
    }
    /// After how many seconds a client may ask again: a throttled sign-in's wait; a few
    /// seconds while the data loads (or after a failed load, which the loader tries again).
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            WebError::Throttled(s) => u32::try_from(*s).ok(),
            WebError::NotReady(_) | WebError::LoadFailed => Some(RETRY_LOADING),
            _ => None,
        }
    }
    /// What the client is told (never the cause of a 500).
    pub fn public_message(&self) -> String {
        match self.status() {
            StatusCode::INTERNAL_SERVER_ERROR => "something went wrong on the server".into(),
            _ => self.to_string(),
        }
    }
}

/// Bad input from the engine (an unknown KPI, a period that does not parse) is the
/// client's mistake, not the server's.
pub fn bad_input(e: impl std::fmt::Display) -> WebError {
    WebError::BadRequest(e.to_string())
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            log!(
                "{{\"level\":\"error\",\"error\":{}}}",
                serde_json::to_string(&self.to_string()).unwrap_or_default()
            );
        }
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.public_message() }
        });
        let mut r = (status, axum::Json(body)).into_response();
        if let Some(v) = self.retry_after() {
            r.headers_mut().insert("retry-after", v.into());
        }
        r
    }
}

pub type Result<T, E = WebError> = std::result::Result<T, E>;

/// Seconds after which a page asked for while the data loads asks again.
pub const RETRY_LOADING: u32 = 5;
