-- What the store's money adds up to at most, as of a data version (see
-- `Store::money_bounds`): an import adds its own amounts to it instead of reading every
-- table again. Derived data: writing it does not move the data version.
CREATE TABLE money_bounds (
  kind    TEXT PRIMARY KEY,
  total   TEXT NOT NULL,
  n       BIGINT NOT NULL,
  version BIGINT NOT NULL
);
