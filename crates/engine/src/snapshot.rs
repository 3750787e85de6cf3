//! The scorecard's columnar snapshot: the book's big columns written to a cache file
//! beside the store after they are first built, so that the next process reads them back
//! at disk speed instead of re-reading every row. A snapshot is valid only for the store
//! and data version it was built from (`store_meta`); any write to the store moves the
//! version on and the next run rebuilds it. People, units, lines and settings always come
//! from the store itself.
//!
//! The file is a cache in this machine's byte order, not an exchange format.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use salesorg_core::money::Currency;
use salesorg_core::records::{ActivityKind, OppStatus};
use salesorg_core::scorecard::Book;
use salesorg_core::scorecard::book::{
    AccountInfo, Activities, Conversion, Differing, FORECAST_CATEGORIES, History, Ids, Leads,
    NamedDeals, Opps, QuotaEntry, QuotaOn, SpendEntry, SpendTarget, StageInfo, SurveyEntry,
};

const MAGIC: &[u8; 14] = b"SALESORG-BOOK\n";
/// The snapshot's format; an older snapshot is rebuilt, not read with what it lacks.
/// - 23: each deal's flags say whether its history has rows whose probability differs
///   from the one a row without one takes (`F_PROBS`, in the place of a flag for a deal
///   that gives a probability, which nothing read): only then is that list searched.
/// - 22: record ids (and the accounts') packed where that is smaller (see
///   [`salesorg_core::scorecard::idtext`]); each column of ids says which form it is in. A
///   book with ids holds no activity counts (a row is an activity; its kind says whether
///   it is a call).
/// - 21: no column of owners for the deals, leads and activities: each owner's offsets
///   alone say whose a row is (96 MB less at 10M deals).
/// - 20: each deal's flags say whether its history has rows whose amount or close day
///   differ from the deal's (`F_AMOUNTS`, `F_CLOSES`): only then are those lists searched.
/// - 19: no flag for a history with irregular rows (each deal's flags say it).
/// - 18: the history's amounts and close days that differ from their deal's current ones
///   in two lists (17's one list held both).
/// - 17: each deal's flags say whether its history has rows that stay in their stage
///   (`F_STAYS`) or come back into one (`F_RETURNS`).
/// - 16: the stage history's advance column marks the rows that keep their deal in the
///   stage of the row before (no entry; a stay runs from the row that entered the stage),
///   and a flag says whether any deal has those or comes back to a stage.
/// - 15: the stage history's forecast categories (each stage's usual one, and the rows
///   that give another).
/// - 14: the rates into the organisation's currency it holds are made through any chain
///   of other currencies (13's through one at most), and the deals they can fail for
///   named by those rules.
const FORMAT: u32 = 23;

/// Where the snapshot of a store lives: beside a SQLite file (`<file>.scorecard`), or in
/// the user's cache folder for a PostgreSQL URL.
pub fn path_for(url: &str) -> Option<PathBuf> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in url.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        Some(base.join("salesorg").join(format!("{h:016x}.scorecard")))
    } else {
        let file = url.strip_prefix("sqlite://").unwrap_or(url);
        Some(PathBuf::from(format!("{file}.scorecard")))
    }
}

struct W<T: Write>(T);

impl<T: Write> W<T> {
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    fn col<P: bytemuck::Pod>(&mut self, v: &[P]) -> std::io::Result<()> {
        self.u64(v.len() as u64)?;
        self.0.write_all(bytemuck::cast_slice(v))
    }
    fn str(&mut self, s: &str) -> std::io::Result<()> {
        self.col(s.as_bytes())
    }
    fn ids(&mut self, ids: &Ids) -> std::io::Result<()> {
        match (ids.parts(), ids.packed_parts()) {
            (Some((off, buf)), _) => {
                self.u64(0)?;
                self.col(off)?;
                self.str(buf)
            }
            (None, Some(p)) => {
                self.u64(1)?;
                self.u64(p.n as u64)?;
                self.str(p.prefix)?;
                self.u64(u64::from(p.width))?;
                self.u64(u64::from(p.bits))?;
                self.col(p.alphabet)?;
                self.col(p.data)
            }
            (None, None) => Err(std::io::Error::other("ids neither as they came nor packed")),
        }
    }
}

struct R(BufReader<File>);

/// A column at least this large is read by two threads, each half into its own part of
/// the new vector: most of a snapshot's read is the kernel copying into fresh pages (one
/// fault per page), which two cores do side by side.
const SPLIT_BYTES: usize = 16 << 20;

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}

/// A [`Differing`] list: its rows, then their values, of one length.
fn differing<T: bytemuck::Pod>(r: &mut R) -> std::io::Result<Differing<T>> {
    let rows: Vec<u32> = r.col()?;
    let values: Vec<T> = r.col()?;
    if rows.len() != values.len() {
        return Err(bad(
            "stage-history columns of differing values differ in length",
        ));
    }
    Ok(Differing { rows, values })
}

impl R {
    fn u64(&mut self) -> std::io::Result<u64> {
        let mut b = [0u8; 8];
        self.0.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn col<P: bytemuck::Pod + bytemuck::Zeroable>(&mut self) -> std::io::Result<Vec<P>> {
        let n = self.u64()? as usize;
        if n > (1 << 34) {
            return Err(bad("column too long"));
        }
        let mut v = vec![P::zeroed(); n];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut v);
        if bytes.len() < SPLIT_BYTES {
            self.0.read_exact(bytes)?;
            return Ok(v);
        }
        self.halves(bytes)?;
        Ok(v)
    }
    #[cfg(not(unix))]
    fn halves(&mut self, bytes: &mut [u8]) -> std::io::Result<()> {
        self.0.read_exact(bytes)
    }
    #[cfg(unix)]
    fn halves(&mut self, bytes: &mut [u8]) -> std::io::Result<()> {
        // positioned reads of the two halves, then on past the column
        use std::io::{Seek, SeekFrom};
        use std::os::unix::fs::FileExt;
        let at = self.0.stream_position()?;
        let len = bytes.len() as u64;
        let (a, b) = bytes.split_at_mut(bytes.len() / 2);
        let f = self.0.get_ref();
        let mid = at + a.len() as u64;
        let (ra, rb) = std::thread::scope(|sc| {
            let h = sc.spawn(move || f.read_exact_at(b, mid));
            let ra = f.read_exact_at(a, at);
            (ra, h.join())
        });
        ra?;
        rb.map_err(|_| bad("a reading thread failed"))??;
        self.0.seek(SeekFrom::Start(at + len))?;
        Ok(())
    }
    fn str(&mut self) -> std::io::Result<String> {
        String::from_utf8(self.col::<u8>()?).map_err(|_| bad("text is not UTF-8"))
    }
    fn ids(&mut self) -> std::io::Result<Ids> {
        match self.u64()? {
            0 => {
                let off = self.col::<u32>()?;
                let buf = self.str()?;
                Ids::from_parts(off, buf).ok_or_else(|| bad("bad id offsets"))
            }
            1 => {
                let n = self.u64()? as usize;
                let prefix = self.str()?;
                let width = u8::try_from(self.u64()?).map_err(|_| bad("packed ids' width"))?;
                let bits = u8::try_from(self.u64()?).map_err(|_| bad("packed ids' bits"))?;
                let alphabet = self.col::<u8>()?;
                let data = self.col::<u8>()?;
                Ids::from_packed_parts(n, prefix, width, bits, alphabet, data)
                    .ok_or_else(|| bad("packed ids that do not fit together"))
            }
            _ => Err(bad("ids of an unknown form")),
        }
    }
}

fn status_code(s: OppStatus) -> u8 {
    match s {
        OppStatus::Open => 0,
        OppStatus::Won => 1,
        OppStatus::Lost => 2,
    }
}
fn status_of(c: u8) -> OppStatus {
    match c {
        1 => OppStatus::Won,
        2 => OppStatus::Lost,
        _ => OppStatus::Open,
    }
}
fn kind_code(k: ActivityKind) -> u8 {
    match k {
        ActivityKind::Call => 0,
        ActivityKind::Email => 1,
        ActivityKind::Meeting => 2,
        ActivityKind::Task => 3,
    }
}

fn kind_of(c: u8) -> std::io::Result<ActivityKind> {
    Ok(match c {
        0 => ActivityKind::Call,
        1 => ActivityKind::Email,
        2 => ActivityKind::Meeting,
        3 => ActivityKind::Task,
        _ => return Err(bad("activity kind")),
    })
}

/// Where the snapshot of a book kept with record ids lives (the server's and `explain`'s:
/// one row per activity, and the ids of every record for drill-down), beside the plain one.
pub fn ids_path(plain: &Path) -> PathBuf {
    let mut s = plain.as_os_str().to_owned();
    s.push("-ids");
    PathBuf::from(s)
}

/// Writes the book's columns, atomically (a temporary file renamed into place). With
/// `keep_ids` (a book built with its record ids), the ids and each activity's kind are
/// written too.
pub fn write(
    path: &Path,
    store_id: &str,
    version: i64,
    b: &Book,
    keep_ids: bool,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    // unique per writer: two threads of one process may write snapshots at once
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}-{n}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| -> std::io::Result<()> {
        let mut w = W(BufWriter::with_capacity(1 << 20, File::create(&tmp)?));
        w.0.write_all(MAGIC)?;
        w.0.write_all(&FORMAT.to_le_bytes())?;
        w.str(store_id)?;
        w.u64(version as u64)?;
        w.u64(u64::from(keep_ids))?;
        w.u64(b.people.len() as u64)?;
        // currencies, rates, stages, reasons
        w.u64(b.currencies.len() as u64)?;
        for c in &b.currencies {
            w.str(c.as_str())?;
        }
        for r in b.rates() {
            w.col(&r.iter().map(|x| x.0).collect::<Vec<i32>>())?;
            w.col(&r.iter().map(|x| x.1.num).collect::<Vec<i64>>())?;
            w.col(&r.iter().map(|x| x.1.den).collect::<Vec<i64>>())?;
        }
        w.u64(b.stages.len() as u64)?;
        for s in &b.stages {
            w.str(&s.name)?;
            w.col(&[
                s.default_bp,
                match s.closes {
                    None => 0,
                    Some(x) => 1 + u16::from(status_code(x)),
                },
                u16::from(s.default_fcat),
            ])?;
        }
        w.u64(b.loss_reasons.len() as u64)?;
        for r in &b.loss_reasons {
            w.str(r)?;
        }
        // opportunities
        let o = &b.opps;
        w.col(&o.created)?;
        w.col(&o.close)?;
        w.col(
            &o.status
                .iter()
                .map(|&s| status_code(s))
                .collect::<Vec<u8>>(),
        )?;
        w.col(&o.amount)?;
        w.col(&o.currency)?;
        w.col(&o.amount_at_close)?;
        w.col(&o.stage)?;
        w.col(&o.prob)?;
        w.col(&o.account)?;
        w.col(&o.loss_reason)?;
        w.col(&o.fcat)?;
        w.col(&o.flags)?;
        w.col(&o.modified)?;
        w.col(&o.hist_off)?;
        w.col(&o.owner_off)?;
        w.col(&o.named.ix)?;
        w.ids(&o.named.ids)?;
        w.u64(o.max_cycle as u64)?;
        // history
        let h = &b.history;
        w.col(&h.day)?;
        w.col(&h.stage)?;
        w.col(&h.probs.rows)?;
        w.col(&h.probs.values)?;
        w.col(&h.advance)?;
        w.col(&h.amounts.rows)?;
        w.col(&h.amounts.values)?;
        w.col(&h.closes.rows)?;
        w.col(&h.closes.values)?;
        w.col(&h.fcats.rows)?;
        w.col(&h.fcats.values)?;
        // leads
        let l = &b.leads;
        w.col(&l.created_day)?;
        w.col(&l.response_secs)?;
        w.col(&l.response_day)?;
        w.col(&l.converted)?;
        w.col(&l.act_off)?;
        w.col(&l.act_days)?;
        w.col(&l.owner_off)?;
        // activities
        let a = &b.activities;
        w.col(&a.day)?;
        w.col(&a.calls)?;
        w.col(&a.total)?;
        w.col(&a.owner_off)?;
        // accounts
        w.col(&b.accounts.iter().map(|x| x.owner).collect::<Vec<u32>>())?;
        w.col(&b.accounts.iter().map(|x| x.first_won).collect::<Vec<i32>>())?;
        w.col(&b.accounts.iter().map(|x| x.churned).collect::<Vec<i32>>())?;
        w.ids(&b.account_ids)?;
        // quotas and other targets, spend, surveys
        for list in [&b.quotas, &b.targets] {
            let (qk, qi): (Vec<u8>, Vec<u32>) = list
                .iter()
                .map(|q| match q.target {
                    QuotaOn::Person(p) => (0, p),
                    QuotaOn::Team(p) => (1, p),
                    QuotaOn::Unit(u) => (2, u),
                })
                .unzip();
            w.col(&list.iter().map(|q| q.metric).collect::<Vec<u8>>())?;
            w.col(&qk)?;
            w.col(&qi)?;
            w.col(&list.iter().map(|q| q.start).collect::<Vec<i32>>())?;
            w.col(&list.iter().map(|q| q.end).collect::<Vec<i32>>())?;
            w.col(&list.iter().map(|q| q.amount).collect::<Vec<i64>>())?;
        }
        let (sk, si): (Vec<u8>, Vec<u32>) = b
            .spend
            .iter()
            .map(|x| match x.target {
                SpendTarget::Company => (0, 0),
                SpendTarget::Unit(u) => (1, u),
                SpendTarget::Person(p) => (2, p),
            })
            .unzip();
        w.col(&sk)?;
        w.col(&si)?;
        w.col(&b.spend.iter().map(|x| x.day).collect::<Vec<i32>>())?;
        w.col(&b.spend.iter().map(|x| x.amount).collect::<Vec<i64>>())?;
        w.col(&b.surveys.iter().map(|s| s.owner).collect::<Vec<u32>>())?;
        w.col(&b.surveys.iter().map(|s| s.account).collect::<Vec<u32>>())?;
        w.col(&b.surveys.iter().map(|s| s.day).collect::<Vec<i32>>())?;
        w.col(&b.surveys.iter().map(|s| s.score).collect::<Vec<f64>>())?;
        if keep_ids {
            w.ids(&b.opps.ids)?;
            w.ids(&b.leads.ids)?;
            w.col(
                &b.activities
                    .kind
                    .iter()
                    .map(|&k| kind_code(k))
                    .collect::<Vec<u8>>(),
            )?;
            w.ids(&b.activities.ids)?;
            w.ids(&b.survey_ids)?;
        }
        w.0.write_all(MAGIC)?;
        w.0.flush()
    })();
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Reads a snapshot into `book` (built with the store's people, org and settings and no
/// records) if it exists and matches `(store_id, version)`. `Ok(false)` when there is no
/// valid snapshot (or one written with or without ids where `keep_ids` asks otherwise).
pub fn read(
    path: &Path,
    store_id: &str,
    version: i64,
    b: &mut Book,
    keep_ids: bool,
) -> std::io::Result<bool> {
    let Ok(f) = File::open(path) else {
        return Ok(false);
    };
    let mut r = R(BufReader::with_capacity(1 << 20, f));
    let mut magic = [0u8; 14];
    r.0.read_exact(&mut magic)?;
    let mut fmt = [0u8; 4];
    r.0.read_exact(&mut fmt)?;
    if &magic != MAGIC || u32::from_le_bytes(fmt) != FORMAT {
        return Ok(false);
    }
    if r.str()? != store_id
        || r.u64()? as i64 != version
        || r.u64()? != u64::from(keep_ids)
        || r.u64()? as usize != b.people.len()
    {
        return Ok(false);
    }
    let nc = r.u64()? as usize;
    let mut currencies = Vec::with_capacity(nc);
    for _ in 0..nc {
        currencies.push(Currency::parse(&r.str()?).map_err(|e| bad(&e.to_string()))?);
    }
    let mut rates = Vec::with_capacity(nc);
    for _ in 0..nc {
        let d: Vec<i32> = r.col()?;
        let num: Vec<i64> = r.col()?;
        let den: Vec<i64> = r.col()?;
        if num.len() != d.len() || den.len() != d.len() || den.contains(&0) {
            return Err(bad("a currency's rates"));
        }
        rates.push(
            d.into_iter()
                .zip(num.into_iter().zip(den))
                .map(|(d, (num, den))| (d, Conversion { num, den }))
                .collect(),
        );
    }
    let ns = r.u64()? as usize;
    let mut stages = Vec::with_capacity(ns);
    for _ in 0..ns {
        let name = r.str()?;
        let v: Vec<u16> = r.col()?;
        if v.len() != 3 || usize::from(v[2]) > FORECAST_CATEGORIES.len() {
            return Err(bad("stage"));
        }
        stages.push(StageInfo {
            name,
            default_bp: v[0],
            closes: match v[1] {
                0 => None,
                x => Some(status_of((x - 1) as u8)),
            },
            default_fcat: v[2] as u8,
        });
    }
    let nr = r.u64()? as usize;
    let mut reasons = Vec::with_capacity(nr);
    for _ in 0..nr {
        reasons.push(r.str()?);
    }
    let opps = Opps {
        created: r.col()?,
        close: r.col()?,
        status: r.col::<u8>()?.into_iter().map(status_of).collect(),
        amount: r.col()?,
        currency: r.col()?,
        amount_at_close: r.col()?,
        stage: r.col()?,
        prob: r.col()?,
        account: r.col()?,
        loss_reason: r.col()?,
        fcat: r.col()?,
        flags: r.col()?,
        modified: r.col()?,
        hist_off: r.col()?,
        owner_off: r.col()?,
        ids: Ids::default(),
        named: {
            let named = NamedDeals {
                ix: r.col()?,
                ids: r.ids()?,
            };
            if named.ix.len() != named.ids.len() || !named.ix.is_sorted_by(|a, b| a < b) {
                return Err(bad("the named deals' columns do not match"));
            }
            named
        },
        max_cycle: r.u64()? as i32,
    };
    let history = History {
        day: r.col()?,
        stage: r.col()?,
        probs: differing(&mut r)?,
        advance: r.col()?,
        amounts: differing(&mut r)?,
        closes: differing(&mut r)?,
        fcats: {
            let fcats: Differing<u8> = differing(&mut r)?;
            if fcats
                .values
                .iter()
                .any(|&f| usize::from(f) > FORECAST_CATEGORIES.len())
            {
                return Err(bad("stage-history forecast category columns differ"));
            }
            fcats
        },
    };
    let nh = history.day.len();
    if history.stage.len() != nh || history.advance.len() != nh {
        return Err(bad("stage-history columns differ in length"));
    }
    // a stage's number is its place in the order, the open stages first, then the won,
    // then the lost (`Book::stages`): the pass indexes the stage tables with it
    let class = |s: &StageInfo| match s.closes {
        None => 0,
        Some(OppStatus::Won) => 1,
        Some(_) => 2,
    };
    if stages.windows(2).any(|w| class(&w[0]) > class(&w[1]))
        || [&opps.stage, &history.stage]
            .iter()
            .any(|c| c.iter().max().is_some_and(|&s| s as usize >= stages.len()))
    {
        return Err(bad("stage numbers"));
    }
    let leads = Leads {
        created_day: r.col()?,
        response_secs: r.col()?,
        response_day: r.col()?,
        converted: r.col()?,
        act_off: r.col()?,
        act_days: r.col()?,
        owner_off: r.col()?,
        ids: Ids::default(),
    };
    let activities = Activities {
        day: r.col()?,
        calls: r.col()?,
        total: r.col()?,
        kind: Vec::new(),
        owner_off: r.col()?,
        ids: Ids::default(),
    };
    let ao: Vec<u32> = r.col()?;
    let af: Vec<i32> = r.col()?;
    let ac: Vec<i32> = r.col()?;
    let accounts = ao
        .into_iter()
        .zip(af)
        .zip(ac)
        .map(|((owner, first_won), churned)| AccountInfo {
            owner,
            first_won,
            churned,
        })
        .collect();
    let account_ids = r.ids()?;
    let mut entries = || -> std::io::Result<Vec<QuotaEntry>> {
        let qm: Vec<u8> = r.col()?;
        let qk: Vec<u8> = r.col()?;
        let qi: Vec<u32> = r.col()?;
        let qs: Vec<i32> = r.col()?;
        let qe: Vec<i32> = r.col()?;
        let qa: Vec<i64> = r.col()?;
        Ok((0..qk.len())
            .map(|i| QuotaEntry {
                metric: qm[i],
                target: match qk[i] {
                    0 => QuotaOn::Person(qi[i]),
                    1 => QuotaOn::Team(qi[i]),
                    _ => QuotaOn::Unit(qi[i]),
                },
                start: qs[i],
                end: qe[i],
                amount: qa[i],
            })
            .collect())
    };
    let quotas = entries()?;
    let targets = entries()?;
    let sk: Vec<u8> = r.col()?;
    let si: Vec<u32> = r.col()?;
    let sd: Vec<i32> = r.col()?;
    let sa: Vec<i64> = r.col()?;
    let spend = (0..sk.len())
        .map(|i| SpendEntry {
            day: sd[i],
            target: match sk[i] {
                0 => SpendTarget::Company,
                1 => SpendTarget::Unit(si[i]),
                _ => SpendTarget::Person(si[i]),
            },
            amount: sa[i],
        })
        .collect();
    let sown: Vec<u32> = r.col()?;
    let sacc: Vec<u32> = r.col()?;
    let sday: Vec<i32> = r.col()?;
    let sscore: Vec<f64> = r.col()?;
    if sacc.len() != sday.len() || sacc.len() != sscore.len() || sacc.len() != sown.len() {
        return Err(bad("survey columns differ in length"));
    }
    let surveys: Vec<SurveyEntry> = sown
        .into_iter()
        .zip(sacc)
        .zip(sday)
        .zip(sscore)
        .map(|(((owner, account), day), score)| SurveyEntry {
            owner,
            account,
            day,
            score,
        })
        .collect();
    let mut opps = opps;
    let mut leads = leads;
    let mut activities = activities;
    // (a book with ids holds one row an activity and no counts: checked below)
    if !keep_ids
        && (activities.calls.len() != activities.len()
            || activities.total.len() != activities.len())
    {
        return Err(bad("activity columns differ in length"));
    }
    if keep_ids {
        opps.ids = r.ids()?;
        leads.ids = r.ids()?;
        activities.kind = r
            .col::<u8>()?
            .into_iter()
            .map(kind_of)
            .collect::<std::io::Result<_>>()?;
        activities.ids = r.ids()?;
        b.survey_ids = r.ids()?;
        if opps.ids.len() != opps.len()
            || leads.ids.len() != leads.len()
            || activities.kind.len() != activities.len()
            || !activities.calls.is_empty()
            || !activities.total.is_empty()
            || activities.ids.len() != activities.len()
            || b.survey_ids.len() != surveys.len()
        {
            return Err(bad("id columns differ in length"));
        }
    }
    // each owner's offsets are the only record of whose a row is (`owner_of`): one per
    // person and one past the last, from the first row to the end, never back
    for (off, rows) in [
        (&opps.owner_off, opps.len()),
        (&leads.owner_off, leads.len()),
        (&activities.owner_off, activities.len()),
    ] {
        if off.len() != b.people.len() + 1
            || off.first() != Some(&0)
            || off.last().map(|&x| x as usize) != Some(rows)
            || !off.is_sorted()
        {
            return Err(bad("owner offsets"));
        }
    }
    let mut end = [0u8; 14];
    r.0.read_exact(&mut end)?;
    if &end != MAGIC {
        return Err(bad("truncated snapshot"));
    }
    b.currencies = currencies;
    b.set_rates(rates);
    b.stages = stages;
    b.loss_reasons = reasons;
    b.opps = opps;
    b.history = history;
    b.leads = leads;
    b.activities = activities;
    b.accounts = accounts;
    b.account_ids = account_ids;
    b.quotas = quotas;
    b.targets = targets;
    b.spend = spend;
    b.surveys = surveys;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A column large enough to be read in two halves by two threads comes back whole,
    /// and the reading goes on right after it, for both the halves and the small columns.
    #[test]
    fn large_columns_read_in_halves_come_back_whole() {
        let big: Vec<u32> = (0..(SPLIT_BYTES / 4 + 12_345) as u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let odd: Vec<u8> = (0..SPLIT_BYTES + 3).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cols");
        {
            let mut w = W(BufWriter::new(File::create(&path).unwrap()));
            w.u64(7).unwrap();
            w.col(&big).unwrap();
            w.str("between").unwrap();
            w.col(&odd).unwrap();
            w.col(&[1u16, 2, 3]).unwrap();
            w.0.flush().unwrap();
        }
        let mut r = R(BufReader::with_capacity(
            1 << 20,
            File::open(&path).unwrap(),
        ));
        assert_eq!(r.u64().unwrap(), 7);
        assert_eq!(r.col::<u32>().unwrap(), big);
        assert_eq!(r.str().unwrap(), "between");
        assert_eq!(r.col::<u8>().unwrap(), odd);
        assert_eq!(r.col::<u16>().unwrap(), vec![1, 2, 3]);
        // a file cut short inside a large column is an error, not a short column
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // the u64, the column's length, then all but the last 100 bytes of its second half
        f.set_len(16 + (big.len() * 4) as u64 - 100).unwrap();
        let mut r = R(BufReader::new(File::open(&path).unwrap()));
        r.u64().unwrap();
        assert!(r.col::<u32>().is_err());
    }
}
