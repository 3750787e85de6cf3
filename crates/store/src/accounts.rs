//! Sign-in data: user accounts (linked to people by the source's person id), sessions,
//! API tokens, sign-in throttling and the audit log. Times are Unix seconds passed in by
//! the caller; secrets arrive already hashed.

use crate::{Result, Store, StoreError, Value};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// The person in the org this account signs in as (the source's own id).
    pub person_id: Option<String>,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub password_changed_at: i64,
}

/// A signed-in session (its id is known only to the browser; the store keeps a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
}

/// An API token (the secret is shown once; the store keeps a hash and a short prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
    pub addr: Option<String>,
}

const USER_COLS: &str =
    "id, username, person_id, password_hash, is_admin, disabled, created_at, password_changed_at";
const TOKEN_COLS: &str = "id, user_id, name, prefix, created_at, last_used_at, revoked_at";

fn int(r: &[Value], i: usize) -> Result<i64> {
    r[i].as_int()
        .ok_or_else(|| StoreError::Corrupt(format!("column {i} is not a number")))
}
fn text(r: &[Value], i: usize) -> String {
    r[i].as_text().unwrap_or_default().to_owned()
}
fn opt_text(r: &[Value], i: usize) -> Option<String> {
    r[i].as_text().map(str::to_owned)
}

fn user_from(r: &[Value]) -> Result<User> {
    Ok(User {
        id: int(r, 0)?,
        username: text(r, 1),
        person_id: opt_text(r, 2),
        password_hash: text(r, 3),
        is_admin: int(r, 4)? != 0,
        disabled: int(r, 5)? != 0,
        created_at: int(r, 6)?,
        password_changed_at: int(r, 7)?,
    })
}

fn token_from(r: &[Value]) -> Result<ApiToken> {
    Ok(ApiToken {
        id: int(r, 0)?,
        user_id: int(r, 1)?,
        name: text(r, 2),
        prefix: text(r, 3),
        created_at: int(r, 4)?,
        last_used_at: r[5].as_int(),
        revoked_at: r[6].as_int(),
    })
}

/// The longest username, in characters.
pub const USERNAME_MAX: usize = 64;

impl Store {
    /// Creates a user; refuses a username that is taken, or one that is empty, longer than
    /// [`USERNAME_MAX`] characters, or holds spaces or control characters (a name typed
    /// at sign-in and shown in the audit log).
    pub fn create_user(
        &mut self,
        username: &str,
        person_id: Option<&str>,
        password_hash: &str,
        is_admin: bool,
        now: i64,
    ) -> Result<User> {
        if username.is_empty()
            || username.chars().count() > USERNAME_MAX
            || username
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(StoreError::Conflict(format!(
                "{username:?} is not a username: 1 to {USERNAME_MAX} characters, without \
                 spaces or control characters"
            )));
        }
        self.atomic(|s| {
            if s.user_by_name(username)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "there is already a user {username:?}"
                )));
            }
            s.db.execute(
                "INSERT INTO users (username, person_id, password_hash, is_admin, disabled, created_at, password_changed_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
                &[
                    username.into(),
                    person_id.into(),
                    password_hash.into(),
                    i64::from(is_admin).into(),
                    now.into(),
                    now.into(),
                ],
            )?;
            s.user_by_name(username)?
                .ok_or_else(|| StoreError::Corrupt("a new user was not found".into()))
        })
    }

    pub fn user_by_name(&mut self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE username = ?");
        self.rows(&sql, &[username.into()])?
            .first()
            .map(|r| user_from(r))
            .transpose()
    }

    pub fn user_by_id(&mut self, id: i64) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = ?");
        self.rows(&sql, &[id.into()])?
            .first()
            .map(|r| user_from(r))
            .transpose()
    }

    pub fn users(&mut self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
        self.rows(&sql, &[])?.iter().map(|r| user_from(r)).collect()
    }

    /// Sets a new password and ends every session of the user.
    pub fn set_password(&mut self, user_id: i64, password_hash: &str, now: i64) -> Result<()> {
        self.atomic(|s| {
            s.db.execute(
                "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                &[password_hash.into(), now.into(), user_id.into()],
            )?;
            s.db.execute("DELETE FROM sessions WHERE user_id = ?", &[user_id.into()])?;
            Ok(())
        })
    }

    /// Disables (or enables) a user. Disabling ends their sessions; their tokens stop
    /// working while they are disabled.
    pub fn set_disabled(&mut self, user_id: i64, disabled: bool) -> Result<()> {
        self.atomic(|s| {
            s.db.execute(
                "UPDATE users SET disabled = ? WHERE id = ?",
                &[i64::from(disabled).into(), user_id.into()],
            )?;
            if disabled {
                s.db.execute("DELETE FROM sessions WHERE user_id = ?", &[user_id.into()])?;
            }
            Ok(())
        })
    }

    pub fn set_admin(&mut self, user_id: i64, admin: bool) -> Result<()> {
        self.db.execute(
            "UPDATE users SET is_admin = ? WHERE id = ?",
            &[i64::from(admin).into(), user_id.into()],
        )?;
        Ok(())
    }

    pub fn create_session(&mut self, s: &Session) -> Result<()> {
        self.db.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                s.id_hash.as_str().into(),
                s.user_id.into(),
                s.csrf.as_str().into(),
                s.created_at.into(),
                s.expires_at.into(),
                s.last_seen_at.into(),
            ],
        )?;
        Ok(())
    }

    /// The session with this id hash and its user, if it has not expired at `now`.
    pub fn session(&mut self, id_hash: &str, now: i64) -> Result<Option<(Session, User)>> {
        let rows = self.rows(
            "SELECT id_hash, user_id, csrf, created_at, expires_at, last_seen_at FROM sessions WHERE id_hash = ? AND expires_at > ?",
            &[id_hash.into(), now.into()],
        )?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let s = Session {
            id_hash: text(r, 0),
            user_id: int(r, 1)?,
            csrf: text(r, 2),
            created_at: int(r, 3)?,
            expires_at: int(r, 4)?,
            last_seen_at: int(r, 5)?,
        };
        Ok(self.user_by_id(s.user_id)?.map(|u| (s, u)))
    }

    /// Moves a session's idle expiry on.
    pub fn touch_session(&mut self, id_hash: &str, now: i64, expires_at: i64) -> Result<()> {
        self.db.execute(
            "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?",
            &[now.into(), expires_at.into(), id_hash.into()],
        )?;
        Ok(())
    }

    pub fn delete_session(&mut self, id_hash: &str) -> Result<()> {
        self.db
            .execute("DELETE FROM sessions WHERE id_hash = ?", &[id_hash.into()])?;
        Ok(())
    }

    /// Removes sessions that expired before `now`.
    pub fn purge_sessions(&mut self, now: i64) -> Result<u64> {
        self.db
            .execute("DELETE FROM sessions WHERE expires_at <= ?", &[now.into()])
    }

    pub fn create_token(
        &mut self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        prefix: &str,
        now: i64,
    ) -> Result<ApiToken> {
        self.db.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
            &[
                user_id.into(),
                name.into(),
                token_hash.into(),
                prefix.into(),
                now.into(),
            ],
        )?;
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = ?");
        self.rows(&sql, &[token_hash.into()])?
            .first()
            .map(|r| token_from(r))
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt("a new token was not found".into()))
    }

    pub fn tokens_of(&mut self, user_id: i64) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = ? ORDER BY id");
        self.rows(&sql, &[user_id.into()])?
            .iter()
            .map(|r| token_from(r))
            .collect()
    }

    /// The live (not revoked) token with this hash and its user.
    pub fn token_by_hash(&mut self, token_hash: &str) -> Result<Option<(ApiToken, User)>> {
        let sql = format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL"
        );
        let Some(t) = self
            .rows(&sql, &[token_hash.into()])?
            .first()
            .map(|r| token_from(r))
            .transpose()?
        else {
            return Ok(None);
        };
        Ok(self.user_by_id(t.user_id)?.map(|u| (t, u)))
    }

    pub fn touch_token(&mut self, id: i64, now: i64) -> Result<()> {
        self.db.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ?",
            &[now.into(), id.into()],
        )?;
        Ok(())
    }

    /// Revokes a token of `user_id`; false when it has no such live token.
    pub fn revoke_token(&mut self, user_id: i64, id: i64, now: i64) -> Result<bool> {
        Ok(self.db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            &[now.into(), id.into(), user_id.into()],
        )? > 0)
    }

    /// When `key` (e.g. `user:alice`, `addr:127.0.0.1`) is locked out until, if it is at `now`.
    pub fn locked_until(&mut self, key: &str, now: i64) -> Result<Option<i64>> {
        let rows = self.rows(
            "SELECT locked_until FROM sign_in_failures WHERE key = ? AND locked_until > ?",
            &[key.into(), now.into()],
        )?;
        Ok(rows.first().and_then(|r| r[0].as_int()))
    }

    /// Counts a failed sign-in against `key`: failures within `window` seconds of the
    /// first one add up, and the `max`-th locks the key for `lock` seconds. Returns the
    /// lock's end when this failure set one.
    pub fn record_failure(
        &mut self,
        key: &str,
        now: i64,
        window: i64,
        max: i64,
        lock: i64,
    ) -> Result<Option<i64>> {
        self.atomic(|s| {
            let rows = s.rows(
                "SELECT failures, window_start FROM sign_in_failures WHERE key = ?",
                &[key.into()],
            )?;
            let (failures, start) = match rows.first() {
                Some(r) if int(r, 1)? + window > now => (int(r, 0)? + 1, int(r, 1)?),
                _ => (1, now),
            };
            let locked = (failures >= max).then_some(now + lock);
            s.db.execute("DELETE FROM sign_in_failures WHERE key = ?", &[key.into()])?;
            s.db.execute(
                "INSERT INTO sign_in_failures (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)",
                &[
                    key.into(),
                    if locked.is_some() { 0 } else { failures }.into(),
                    start.into(),
                    locked.into(),
                ],
            )?;
            Ok(locked)
        })
    }

    pub fn clear_failures(&mut self, key: &str) -> Result<()> {
        self.db
            .execute("DELETE FROM sign_in_failures WHERE key = ?", &[key.into()])?;
        Ok(())
    }

    pub fn audit(
        &mut self,
        at: i64,
        actor: Option<&str>,
        action: &str,
        detail: &str,
        addr: Option<&str>,
    ) -> Result<()> {
        self.db.execute(
            "INSERT INTO audit_log (at, actor, action, detail, addr) VALUES (?, ?, ?, ?, ?)",
            &[
                at.into(),
                actor.into(),
                action.into(),
                detail.into(),
                addr.into(),
            ],
        )?;
        Ok(())
    }

    /// Audit entries, newest first: at most `limit`, older than id `before` when given.
    pub fn audit_log(&mut self, limit: i64, before: Option<i64>) -> Result<Vec<AuditEntry>> {
        let rows = self.rows(
            "SELECT id, at, actor, action, detail, addr FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?",
            &[before.unwrap_or(i64::MAX).into(), limit.into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: int(r, 0)?,
                    at: int(r, 1)?,
                    actor: opt_text(r, 2),
                    action: text(r, 3),
                    detail: text(r, 4),
                    addr: opt_text(r, 5),
                })
            })
            .collect()
    }
}
