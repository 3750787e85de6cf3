//! Versioned migrations: one folder per backend (`migrations/sqlite`, `migrations/postgres`),
//! compiled in, applied in order inside a transaction, recorded in `schema_migrations`.

use crate::{Backend, BackendKind, Result, StoreError};

type Migration = (i64, &'static str, &'static str);

const SQLITE: &[Migration] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "indexes",
        include_str!("../migrations/sqlite/0002_indexes.sql"),
    ),
    (
        3,
        "data_version",
        include_str!("../migrations/sqlite/0003_data_version.sql"),
    ),
    (
        4,
        "accounts",
        include_str!("../migrations/sqlite/0004_accounts.sql"),
    ),
    (
        5,
        "rate_decimals",
        include_str!("../migrations/sqlite/0005_rate_decimals.sql"),
    ),
    (
        6,
        "money_bounds",
        include_str!("../migrations/sqlite/0006_money_bounds.sql"),
    ),
];
const POSTGRES: &[Migration] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "indexes",
        include_str!("../migrations/postgres/0002_indexes.sql"),
    ),
    (
        3,
        "data_version",
        include_str!("../migrations/postgres/0003_data_version.sql"),
    ),
    (
        4,
        "accounts",
        include_str!("../migrations/postgres/0004_accounts.sql"),
    ),
    (
        5,
        "rate_decimals",
        include_str!("../migrations/postgres/0005_rate_decimals.sql"),
    ),
    (
        6,
        "money_bounds",
        include_str!("../migrations/postgres/0006_money_bounds.sql"),
    ),
];

fn list(kind: BackendKind) -> &'static [Migration] {
    match kind {
        BackendKind::Sqlite => SQLITE,
        BackendKind::Postgres => POSTGRES,
    }
}

pub fn current(db: &mut dyn Backend) -> Result<i64> {
    let mut v = 0;
    db.query_each(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        &[],
        &mut |r| {
            v = r[0].as_int().unwrap_or(0);
            Ok(())
        },
    )?;
    Ok(v)
}

pub fn run(db: &mut dyn Backend) -> Result<()> {
    db.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    )?;
    let have = current(db)?;
    let all = list(db.kind());
    let known = all.last().map(|m| m.0).unwrap_or(0);
    if have > known {
        return Err(StoreError::TooNew { found: have, known });
    }
    for (version, name, sql) in all.iter().filter(|m| m.0 > have) {
        let begin = if db.kind() == BackendKind::Sqlite {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        };
        db.batch(begin)?;
        let step = db.batch(sql).and_then(|_| {
            db.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                &[(*version).into(), (*name).into()],
            )
        });
        match step {
            Ok(_) => db.batch("COMMIT")?,
            Err(e) => {
                db.batch("ROLLBACK")?;
                return Err(e);
            }
        }
    }
    Ok(())
}
