-- salesorg schema v1 (SQLite). Dates are ISO text (YYYY-MM-DD), timestamps RFC 3339 UTC
-- text, money is an integer count of ten-thousandths of a currency unit.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE imports (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  source      TEXT NOT NULL,
  path        TEXT NOT NULL,
  effective   TEXT NOT NULL,
  summary     TEXT NOT NULL
);
CREATE TABLE units (
  id        TEXT PRIMARY KEY,
  name      TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('company','region','department','team')),
  parent_id TEXT
);
CREATE TABLE people (
  id      TEXT PRIMARY KEY,
  name    TEXT NOT NULL,
  email   TEXT,
  title   TEXT,
  role_id TEXT,
  hired   TEXT,
  left_on TEXT
);
CREATE TABLE reporting_lines (
  person_id  TEXT NOT NULL,
  manager_id TEXT NOT NULL,
  valid_from TEXT NOT NULL,
  valid_to   TEXT,
  PRIMARY KEY (person_id, valid_from)
);
CREATE INDEX reporting_lines_manager ON reporting_lines (manager_id);
CREATE TABLE memberships (
  person_id  TEXT NOT NULL,
  unit_id    TEXT NOT NULL,
  valid_from TEXT NOT NULL,
  valid_to   TEXT,
  PRIMARY KEY (person_id, unit_id, valid_from)
);
CREATE TABLE accounts (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  industry       TEXT,
  employees      INTEGER,
  region         TEXT,
  owner_id       TEXT,
  parent_id      TEXT,
  customer_since TEXT,
  churned_on     TEXT
) WITHOUT ROWID;
CREATE TABLE leads (
  id                   TEXT PRIMARY KEY,
  owner_id             TEXT NOT NULL,
  source               TEXT,
  status               TEXT,
  created_at           TEXT NOT NULL,
  converted_on         TEXT,
  converted_opp_id     TEXT,
  converted_account_id TEXT
) WITHOUT ROWID;
CREATE TABLE opportunities (
  id                TEXT PRIMARY KEY,
  name              TEXT,
  account_id        TEXT,
  owner_id          TEXT NOT NULL,
  amount            INTEGER,
  currency          TEXT NOT NULL,
  stage             TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('open','won','lost')),
  probability_bp    INTEGER,
  forecast_category TEXT,
  kind              TEXT,
  source            TEXT,
  created_on        TEXT,
  close_on          TEXT,
  loss_reason       TEXT,
  next_step         TEXT,
  last_modified_at  TEXT
) WITHOUT ROWID;
CREATE TABLE stage_history (
  id                TEXT NOT NULL,
  opp_id            TEXT NOT NULL,
  at                TEXT NOT NULL,
  stage             TEXT NOT NULL,
  amount            INTEGER,
  close_on          TEXT,
  probability_bp    INTEGER,
  forecast_category TEXT,
  -- clustered by opportunity and time: an opportunity's history is one range scan
  PRIMARY KEY (opp_id, at, id)
) WITHOUT ROWID;
CREATE TABLE activities (
  id         TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('call','email','meeting','task')),
  at         TEXT NOT NULL,
  owner_id   TEXT NOT NULL,
  lead_id    TEXT,
  opp_id     TEXT,
  account_id TEXT,
  subject    TEXT
) WITHOUT ROWID;
CREATE TABLE quotas (
  target_kind  TEXT NOT NULL CHECK (target_kind IN ('person','team','unit')),
  target_id    TEXT NOT NULL,
  period_start TEXT NOT NULL,
  period_end   TEXT NOT NULL,
  metric       TEXT NOT NULL,
  amount       INTEGER NOT NULL,
  PRIMARY KEY (target_kind, target_id, period_start, period_end, metric)
);
CREATE TABLE spend (
  day        TEXT NOT NULL,
  scope_kind TEXT NOT NULL CHECK (scope_kind IN ('company','unit','person')),
  scope_id   TEXT NOT NULL,
  category   TEXT NOT NULL,
  amount     INTEGER NOT NULL,
  PRIMARY KEY (day, scope_kind, scope_id, category)
);
CREATE TABLE currency_rates (
  day      TEXT NOT NULL,
  from_ccy TEXT NOT NULL,
  to_ccy   TEXT NOT NULL,
  rate     INTEGER NOT NULL,
  PRIMARY KEY (day, from_ccy, to_ccy)
);
CREATE TABLE surveys (
  id         TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  day        TEXT NOT NULL,
  score      INTEGER NOT NULL,
  scale_min  INTEGER NOT NULL,
  scale_max  INTEGER NOT NULL
) WITHOUT ROWID;
