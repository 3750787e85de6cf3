-- Sign-in: user accounts linked to people, sessions, API tokens, sign-in throttling and the
-- audit log. Times are Unix seconds. Secrets are stored only as SHA-256 hashes (session ids,
-- tokens) or argon2id PHC strings (passwords).
CREATE TABLE users (
  id                  BIGSERIAL PRIMARY KEY,
  username            TEXT NOT NULL UNIQUE,
  person_id           TEXT,
  password_hash       TEXT NOT NULL,
  is_admin            BIGINT NOT NULL DEFAULT 0,
  disabled            BIGINT NOT NULL DEFAULT 0,
  created_at          BIGINT NOT NULL,
  password_changed_at BIGINT NOT NULL
);
CREATE TABLE sessions (
  id_hash      TEXT PRIMARY KEY,
  user_id      BIGINT NOT NULL,
  csrf         TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE api_tokens (
  id           BIGSERIAL PRIMARY KEY,
  user_id      BIGINT NOT NULL,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at   BIGINT
);
CREATE TABLE sign_in_failures (
  key          TEXT PRIMARY KEY,
  failures     BIGINT NOT NULL,
  window_start BIGINT NOT NULL,
  locked_until BIGINT
);
CREATE TABLE audit_log (
  id     BIGSERIAL PRIMARY KEY,
  at     BIGINT NOT NULL,
  actor  TEXT,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  addr   TEXT
);
