//! Who is asking: argon2id passwords, session cookies (ids stored hashed, CSRF token per
//! session), API bearer tokens (shown once, stored hashed), sign-in throttling by account
//! and by address, and the audit log's writes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

use salesorg_store::{Session, Store, User};

use crate::error::{Result, WebError};

/// The session cookie's name.
pub const COOKIE: &str = "salesorg_session";
/// The header that carries the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// API tokens start with this, so that a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "so_";

/// How sessions and throttling behave.
#[derive(Debug, Clone)]
pub struct Policy {
    /// A session ends after this many seconds without a request.
    pub idle: i64,
    /// … and after this many seconds in any case.
    pub max_age: i64,
    /// Failed sign-ins within `window` seconds that lock the account or address…
    pub max_failures: i64,
    pub window: i64,
    /// … for this many seconds.
    pub lock: i64,
    /// Mark the cookie `Secure` (behind TLS).
    pub secure_cookie: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            idle: 12 * 3600,
            max_age: 7 * 24 * 3600,
            max_failures: 5,
            window: 15 * 60,
            lock: 15 * 60,
            secure_cookie: false,
        }
    }
}

/// `n` random bytes from the operating system, as lowercase hex.
pub fn random_hex(n: usize) -> Result<String> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| WebError::Internal(format!("no randomness: {e}")))?;
    Ok(hex(&b))
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// SHA-256 of a secret, as hex: how session ids and tokens are stored (they are random
/// and long, so a fast hash is enough; passwords use argon2id).
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// An argon2id PHC string for a password.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebError::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| WebError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| WebError::Internal(format!("hashing a password: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password a person would accept: at least 10 characters.
pub fn check_new_password(p: &str) -> Result<()> {
    if p.chars().count() < 10 {
        return Err(WebError::BadRequest(
            "a password needs at least 10 characters".into(),
        ));
    }
    Ok(())
}

/// A hash that no password matches, verified against when the user does not exist so
/// that a wrong username costs as long as a wrong password.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("salesorg-no-such-user").unwrap_or_default())
}

/// How a request was authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    Session { id_hash: String, csrf: String },
    Token { id: i64 },
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub via: Via,
}

impl Principal {
    pub fn actor(&self) -> String {
        self.user.username.clone()
    }
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Authenticates a request: a bearer token, or a session cookie (with its CSRF token on
/// any state-changing method). `form_csrf` is the token a form sent in its body.
pub fn authenticate(
    store: &mut Store,
    policy: &Policy,
    headers: &HeaderMap,
    method: &Method,
    form_csrf: Option<&str>,
    now: i64,
) -> Result<Principal> {
    if let Some(t) = bearer(headers) {
        let Some((tok, user)) = store.token_by_hash(&secret_hash(&t))? else {
            return Err(WebError::Unauthorized);
        };
        if user.disabled {
            return Err(WebError::Unauthorized);
        }
        if tok.last_used_at.is_none_or(|t| now - t > 60) {
            store.touch_token(tok.id, now)?;
        }
        return Ok(Principal {
            user,
            via: Via::Token { id: tok.id },
        });
    }
    let Some(sid) = cookie(headers, COOKIE) else {
        return Err(WebError::Unauthorized);
    };
    let id_hash = secret_hash(&sid);
    let Some((session, user)) = store.session(&id_hash, now)? else {
        return Err(WebError::Unauthorized);
    };
    if user.disabled || session.created_at + policy.max_age <= now {
        store.delete_session(&id_hash)?;
        return Err(WebError::Unauthorized);
    }
    if !is_safe(method) {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .or(form_csrf);
        if !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), session.csrf.as_bytes())) {
            return Err(WebError::Csrf);
        }
    }
    if now - session.last_seen_at > 60 {
        store.touch_session(&id_hash, now, now + policy.idle)?;
    }
    Ok(Principal {
        user,
        via: Via::Session {
            id_hash,
            csrf: session.csrf,
        },
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new session: its secret id (for the cookie) and CSRF token.
pub struct NewSession {
    pub id: String,
    pub csrf: String,
    pub user: User,
}

/// Signs a user in by password. Throttles by account and by address; every attempt is
/// audited. Always starts a new session (a session id set before sign-in is never
/// reused, so it cannot be fixed by an attacker).
pub fn sign_in(
    store: &mut Store,
    policy: &Policy,
    username: &str,
    password: &str,
    addr: &str,
    now: i64,
) -> Result<NewSession> {
    let ukey = format!("user:{username}");
    let akey = format!("addr:{addr}");
    for k in [&ukey, &akey] {
        if let Some(until) = store.locked_until(k, now)? {
            store.audit(
                now,
                Some(username),
                "sign_in_throttled",
                &format!("locked until {until}"),
                Some(addr),
            )?;
            return Err(WebError::Throttled(until - now));
        }
    }
    let user = store.user_by_name(username)?;
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash) && !u.disabled,
        None => {
            let _ = verify_password(password, dummy_hash());
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        let mut locked = None;
        for k in [&ukey, &akey] {
            if let Some(until) =
                store.record_failure(k, now, policy.window, policy.max_failures, policy.lock)?
            {
                locked = Some(until);
            }
        }
        store.audit(
            now,
            Some(username),
            "sign_in_failed",
            "wrong username or password, or disabled",
            Some(addr),
        )?;
        return Err(match locked {
            Some(until) => WebError::Throttled(until - now),
            None => WebError::Unauthorized,
        });
    };
    store.clear_failures(&ukey)?;
    let id = random_hex(32)?;
    let csrf = random_hex(32)?;
    store.create_session(&Session {
        id_hash: secret_hash(&id),
        user_id: user.id,
        csrf: csrf.clone(),
        created_at: now,
        expires_at: now + policy.idle,
        last_seen_at: now,
    })?;
    store.audit(now, Some(username), "sign_in", "password", Some(addr))?;
    Ok(NewSession { id, csrf, user })
}

/// The `Set-Cookie` value for a session id (empty id: the cookie is cleared).
pub fn session_cookie(policy: &Policy, id: &str) -> String {
    let secure = if policy.secure_cookie { "; Secure" } else { "" };
    if id.is_empty() {
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    } else {
        format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            policy.max_age
        )
    }
}

/// The longest name a token may have, in characters (it is listed on the account page and
/// in the audit log).
pub const TOKEN_NAME_MAX: usize = 100;

/// Creates an API token for a user, named `name` (trimmed; empty or over
/// [`TOKEN_NAME_MAX`] characters is a `BadRequest`): returns the secret (shown once) and
/// its record.
pub fn create_token(
    store: &mut Store,
    user_id: i64,
    name: &str,
    now: i64,
) -> Result<(String, salesorg_store::ApiToken)> {
    let name = name.trim();
    if name.is_empty() {
        return Err(WebError::BadRequest("a token needs a name".into()));
    }
    if name.chars().count() > TOKEN_NAME_MAX {
        return Err(WebError::BadRequest(format!(
            "a token's name has at most {TOKEN_NAME_MAX} characters"
        )));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_hex(24)?);
    let t = store.create_token(user_id, name, &secret_hash(&secret), &secret[..9], now)?;
    Ok((secret, t))
}

/// Changes a signed-in user's password: checks the current one and the new one, ends every
/// session of the user, audits, and starts a new session for the caller. A wrong current
/// password is `Forbidden`; a weak new one `BadRequest`.
pub fn change_password(
    store: &mut Store,
    policy: &Policy,
    user: &User,
    current: &str,
    new: &str,
    addr: &str,
    now: i64,
) -> Result<NewSession> {
    if !verify_password(current, &user.password_hash) {
        store.audit(
            now,
            Some(&user.username),
            "password_change_failed",
            "wrong current password",
            Some(addr),
        )?;
        return Err(WebError::Forbidden("the current password is wrong"));
    }
    check_new_password(new)?;
    store.set_password(user.id, &hash_password(new)?, now)?;
    store.audit(
        now,
        Some(&user.username),
        "password_changed",
        "",
        Some(addr),
    )?;
    sign_in(store, policy, &user.username, new, addr, now)
}
