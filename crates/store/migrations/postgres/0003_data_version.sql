-- Which store this is and how often its data changed: caches derived from the store
-- (the scorecard's columnar snapshot) are valid only for the same (store_id, version).
CREATE TABLE store_meta (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  store_id TEXT NOT NULL,
  version  BIGINT NOT NULL
);
INSERT INTO store_meta (id, store_id, version) VALUES (1, md5(random()::text || clock_timestamp()::text), 0);
