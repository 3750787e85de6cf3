//! The PostgreSQL backend: `?` parameter markers rewritten to `$n`, typed parameters decided by
//! the server, and bulk upserts through `COPY` into a temporary table.

use std::io::Write;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls};

use crate::sqlite::on_conflict;
use crate::{Backend, BackendKind, Batches, Raw, Result, RowOut, StoreError, Value};

pub struct Pg {
    client: Client,
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                _ => i.to_string().to_sql(ty, out),
            },
            Value::Text(t) => match *ty {
                Type::INT8 => t.parse::<i64>()?.to_sql(ty, out),
                _ => t.to_sql(ty, out),
            },
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// Rewrites `?` parameter markers to `$1, $2, …` (salesorg's SQL has no `?` in literals).
fn dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn read(row: &postgres::Row, i: usize) -> Value {
    let ty = row.columns()[i].type_();
    let v: Option<Value> = match *ty {
        Type::INT8 => row.get::<_, Option<i64>>(i).map(Value::Int),
        Type::INT4 => row.get::<_, Option<i32>>(i).map(|v| Value::Int(v.into())),
        Type::INT2 => row.get::<_, Option<i16>>(i).map(|v| Value::Int(v.into())),
        Type::BOOL => row.get::<_, Option<bool>>(i).map(|v| Value::Int(v.into())),
        _ => row
            .try_get::<_, Option<String>>(i)
            .ok()
            .flatten()
            .map(Value::Text),
    };
    v.unwrap_or(Value::Null)
}

/// Column `i`'s text, borrowed from the row (the driver has checked it is UTF-8); `None`
/// for a null and for a column [`read`] takes as an integer.
fn text_at(row: &postgres::Row, i: usize) -> Option<&str> {
    let ty = row.columns()[i].type_();
    if matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL) {
        return None;
    }
    row.try_get::<_, Option<&str>>(i).ok().flatten()
}

/// [`read`] into `slot`, a text column into its text's buffer (see the SQLite backend's).
fn read_into(slot: &mut Value, row: &postgres::Row, i: usize) {
    match (&mut *slot, text_at(row, i)) {
        (Value::Text(s), Some(t)) => {
            s.clear();
            s.push_str(t);
        }
        _ => *slot = read(row, i),
    }
}

/// Splits a `schema=NAME` parameter off a connection URL.
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("schema=") {
            Some(s) => {
                schema = Some(s.to_owned());
                false
            }
            None => true,
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, schema)
}

fn copy_escape(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"\\N"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Text(t) => {
            for b in t.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
}

/// A driver error's text with its causes': "db error: FATAL: database \"x\" does not exist",
/// "error connecting to server: Connection refused (os error 111)".
pub(crate) fn detail(e: &::postgres::Error) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}

impl Pg {
    pub fn connect(url: &str) -> Result<Pg> {
        let (conn_url, schema) = split_schema(url);
        let mut client = Client::connect(&conn_url, NoTls).map_err(|e| StoreError::Open {
            url: crate::redact(url),
            reason: detail(&e),
        })?;
        if let Some(s) = schema {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StoreError::Open {
                    url: crate::redact(url),
                    reason: format!("schema name {s:?} may hold only letters, digits and _"),
                });
            }
            client.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {s}; SET search_path TO {s}"
            ))?;
        }
        client.batch_execute("SET client_min_messages TO WARNING")?;
        Ok(Pg { client })
    }
}

impl Backend for Pg {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        Ok(self.client.execute(dollar(sql).as_str(), &p)?)
    }
    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let mut it = self.client.query_raw(dollar(sql).as_str(), p)?;
        let mut buf: Vec<Value> = Vec::new();
        while let Some(row) = it.next()? {
            buf.resize(row.len(), Value::Null);
            for (i, slot) in buf.iter_mut().enumerate() {
                read_into(slot, &row, i);
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
        use postgres::fallible_iterator::FallibleIterator;
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let mut it = self.client.query_raw(dollar(sql).as_str(), p)?;
        let mut batches = Batches::new(batch, f);
        while let Some(row) = it.next()? {
            batches.row(row.len(), |slot, i| {
                match text_at(&row, i) {
                    Some(t) => slot.set_text(t.as_bytes()),
                    None => *slot = read(&row, i).into(),
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
        let tmp = format!("salesorg_load_{table}");
        let col_list = cols.join(", ");
        self.client.batch_execute(&format!(
            "DROP TABLE IF EXISTS {tmp}; CREATE TEMP TABLE {tmp} AS SELECT {col_list} FROM {table} WITH NO DATA"
        ))?;
        let mut w = self
            .client
            .copy_in(format!("COPY {tmp} ({col_list}) FROM STDIN").as_str())?;
        let mut line = Vec::with_capacity(256);
        let mut n = 0u64;
        let mut r = RowOut::new(cols.len());
        loop {
            r.begin();
            if !rows(&mut r) {
                break;
            }
            r.check(table)?;
            line.clear();
            for (i, v) in r.values().iter().enumerate() {
                if i > 0 {
                    line.push(b'\t');
                }
                copy_escape(v, &mut line);
            }
            line.push(b'\n');
            w.write_all(&line)
                .map_err(|e| StoreError::Corrupt(format!("COPY: {e}")))?;
            n += 1;
        }
        w.finish()?;
        self.client.batch_execute(&format!(
            "INSERT INTO {table} ({col_list}) SELECT {col_list} FROM {tmp} {}; DROP TABLE {tmp}",
            on_conflict(cols, key, "EXCLUDED")
        ))?;
        Ok(n)
    }
}
