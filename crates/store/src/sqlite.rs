//! The SQLite backend (the embedded default): one file, WAL journal, prepared-statement
//! reuse for bulk upserts.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use crate::{Backend, BackendKind, Batches, Raw, Result, RowOut, StoreError, Value, set_utf8};

/// The page cache's size in KiB while writing (256 MiB: bulk loads spill less).
pub const BULK_CACHE_KIB: i64 = 262_144;
/// Its size while scanning whole tables once (see [`crate::Store::scanning`]).
pub const SCAN_CACHE_KIB: i64 = 8_192;

pub struct Lite {
    conn: Connection,
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

fn read(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

/// [`read`] into `slot`, reusing its text's buffer.
fn read_into(slot: &mut Value, v: ValueRef<'_>) {
    match (slot, v) {
        (Value::Text(s), ValueRef::Text(t) | ValueRef::Blob(t)) => set_utf8(s, t),
        (slot, v) => *slot = read(v),
    }
}

impl Lite {
    pub fn open(path: &str) -> Result<Lite> {
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            return Err(StoreError::Open {
                url: path.to_owned(),
                reason: format!("the folder {} does not exist", parent.display()),
            });
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            url: path.to_owned(),
            reason: e.to_string(),
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL keeps readers working during an import and makes a killed import roll back.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::Open {
                url: path.to_owned(),
                reason: e.to_string(),
            })?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -BULK_CACHE_KIB)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(Lite { conn })
    }
}

impl Backend for Lite {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut st = self.conn.prepare_cached(sql)?;
        Ok(st.execute(params_from_iter(params.iter()))? as u64)
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.conn.execute_batch(sql)?)
    }
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.conn.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(params_from_iter(params.iter()))?;
        // one row's values, each text kept in the last row's buffer (a new string per text
        // column of every row was a fifth of reading a large table back)
        let mut buf: Vec<Value> = vec![Value::Null; n];
        while let Some(r) = rows.next()? {
            for (i, slot) in buf.iter_mut().enumerate() {
                read_into(slot, r.get_ref(i)?);
            }
            f(&buf)?;
        }
        Ok(())
    }
    fn query_batches(
        &mut self,
        sql: &str,
        params: &[Value],
        batch: usize,
        f: &mut dyn FnMut(&mut Vec<Raw>, usize) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.conn.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(params_from_iter(params.iter()))?;
        let mut batches = Batches::new(batch, f);
        while let Some(r) = rows.next()? {
            batches.row(n, |slot, i| {
                match r.get_ref(i)? {
                    ValueRef::Text(t) | ValueRef::Blob(t) => slot.set_text(t),
                    v => *slot = read(v).into(),
                }
                Ok(())
            })?;
        }
        batches.finish()
    }
    fn upsert(
        &mut self,
        table: &str,
        cols: &[&str],
        key: &[&str],
        rows: &mut dyn FnMut(&mut RowOut) -> bool,
    ) -> Result<u64> {
        // many rows per statement: the per-statement cost is paid once per batch; the
        // batch's rows are set again in place for the next one
        let per = (30_000 / cols.len().max(1)).clamp(1, 100);
        let mut buf: Vec<RowOut> = Vec::with_capacity(per);
        let (mut k, mut n) = (0, 0);
        let run = |buf: &[RowOut]| -> Result<u64> {
            let sql = upsert_sql_rows(table, cols, key, "excluded", buf.len());
            let mut st = self.conn.prepare_cached(&sql)?;
            let vals = buf.iter().flat_map(|r| r.values());
            Ok(st.execute(params_from_iter(vals))? as u64)
        };
        loop {
            if buf.len() == k {
                buf.push(RowOut::new(cols.len()));
            }
            let r = &mut buf[k];
            r.begin();
            if !rows(r) {
                break;
            }
            r.check(table)?;
            k += 1;
            if k == per {
                n += run(&buf)?;
                k = 0;
            }
        }
        if k > 0 {
            n += run(&buf[..k])?;
        }
        Ok(n)
    }
}

/// `INSERT INTO table (cols) VALUES (?, …), … ON CONFLICT …` with `rows` rows of markers.
fn upsert_sql_rows(
    table: &str,
    cols: &[&str],
    key: &[&str],
    excluded: &str,
    rows: usize,
) -> String {
    let one = format!("({})", vec!["?"; cols.len()].join(", "));
    let values = vec![one.as_str(); rows].join(", ");
    format!(
        "INSERT INTO {table} ({}) VALUES {values} {}",
        cols.join(", "),
        on_conflict(cols, key, excluded)
    )
}

/// `ON CONFLICT (key) DO UPDATE SET col = excluded.col, …`: the upsert clause both backends
/// append to their inserts.
pub(crate) fn on_conflict(cols: &[&str], key: &[&str], excluded: &str) -> String {
    let set: Vec<String> = cols
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = {excluded}.{c}"))
        .collect();
    let action = if set.is_empty() {
        "NOTHING".to_owned()
    } else {
        format!("UPDATE SET {}", set.join(", "))
    };
    format!("ON CONFLICT ({}) DO {action}", key.join(", "))
}
