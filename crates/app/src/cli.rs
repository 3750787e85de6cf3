//! Argument parsing and the subcommands.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use salesorg_core::catalog::Catalog;
use salesorg_core::date::{Date, parse_date};
use salesorg_engine::Progress;
use salesorg_engine::demo::{DemoSpec, StoreSink, generate};
use salesorg_engine::import::{ImportOptions, Source, import};
use salesorg_store::Store;

use crate::output;

#[derive(Parser, Debug)]
#[command(
    name = "salesorg",
    version,
    about = "An operating system for sales organisations: the org, its CRM data and its numbers."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The store: a SQLite file path (default ./salesorg.db) or a postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "SALESORG_DB",
        default_value = "salesorg.db"
    )]
    pub db: String,
    /// A role catalog file laid over the built-in one (same format as `salesorg roles --format toml`).
    #[arg(long, global = true, env = "SALESORG_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Output format (each command names the ones it writes when given another).
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl Command {
    /// The command's name and the formats it writes: any other `--format` is refused
    /// before anything is read or written (`org show --format toml` had printed CSV, and
    /// `import --format json` text).
    fn formats(&self) -> (&'static str, &'static [Format]) {
        use Format::*;
        const TABLE: &[Format] = &[Table];
        const TABLE_JSON: &[Format] = &[Table, Json];
        const TABLE_JSON_CSV: &[Format] = &[Table, Json, Csv];
        const ALL: &[Format] = &[Table, Json, Csv, Toml];
        match self {
            Command::Demo { .. } => ("demo", TABLE_JSON_CSV),
            Command::Import { .. } => ("import", TABLE),
            Command::Org {
                what: OrgCmd::Show { .. },
            } => ("org show", TABLE_JSON_CSV),
            Command::Org {
                what: OrgCmd::Person { .. },
            } => ("org person", TABLE_JSON),
            Command::Roles { role: None } => ("roles", ALL),
            Command::Roles { role: Some(_) } => ("roles ROLE", &[Table, Json, Toml]),
            Command::Settings { .. } => ("settings", ALL),
            Command::Status => ("status", TABLE_JSON_CSV),
            Command::Scorecard(_) => ("scorecard", TABLE_JSON_CSV),
            Command::Explain { .. } => ("explain", TABLE_JSON_CSV),
            Command::Reps { .. } => ("reps", TABLE_JSON_CSV),
            Command::Trend { .. } => ("trend", TABLE_JSON_CSV),
            Command::Kpis => ("kpis", TABLE_JSON_CSV),
            Command::Serve { .. } => ("serve", TABLE),
            Command::User {
                what: UserCmd::List,
            }
            | Command::User {
                what:
                    UserCmd::Token {
                        what: TokenCmd::List { .. },
                    },
            } => ("user list", TABLE_JSON_CSV),
            Command::User { .. } => ("user", TABLE),
        }
    }
}

/// Refuses a `--format` that `cmd` does not write, naming those it does.
fn check_format(cmd: &Command, format: Format) -> Result<()> {
    let (name, ok) = cmd.formats();
    if ok.contains(&format) {
        return Ok(());
    }
    let name_of = |f: &Format| {
        f.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    };
    let names: Vec<String> = ok.iter().map(name_of).collect();
    let list = match names.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        [] => String::new(),
    };
    bail!("`salesorg {name}` writes {list}, not {}", name_of(&format))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Toml,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate the demo org with three years of CRM history into the store.
    Demo {
        /// About how many people the org has.
        #[arg(long, default_value_t = 200)]
        people: u32,
        /// How many opportunities to generate.
        #[arg(long, default_value_t = 30_000)]
        opportunities: u64,
        /// Random seed: the same seed and end date give the same org.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The last day of history (default: today).
        #[arg(long)]
        end: Option<String>,
        /// Average activities per opportunity.
        #[arg(long, default_value_t = 3.0)]
        activities_per_opp: f64,
        /// Prospecting calls an inside-sales rep logs on an average working day, besides
        /// those on deals and leads (a field rep a quarter as many); 0 for none.
        #[arg(long, default_value_t = 20.0)]
        prospecting_calls: f64,
        /// Replace whatever the store already holds.
        #[arg(long)]
        replace: bool,
        /// Write the org as a Salesforce Data Export folder instead of into the store.
        #[arg(long, value_name = "DIR")]
        export_salesforce: Option<PathBuf>,
    },
    /// Import a CRM export: salesforce, hubspot, maven, csv (with --mapping) or salesorg.
    Import {
        /// salesforce | hubspot | maven | csv | salesorg
        source: String,
        /// The export's folder (or, for csv and salesorg, a file or folder).
        path: PathBuf,
        /// When org changes in this export take effect (default: the export's date).
        #[arg(long)]
        effective: Option<String>,
        /// Import the good rows and write the bad ones, with reasons, to a rejects file.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Where rejected rows go (default: <path>.rejects.csv).
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// The owner for records of an export that has no owner column.
        #[arg(long)]
        default_owner: Option<String>,
        /// The mapping file, for `csv`.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Read and check everything and say what the import would do, writing nothing
        /// (for trying a mapping out against its files).
        #[arg(long)]
        dry_run: bool,
    },
    /// The org chart.
    Org {
        #[command(subcommand)]
        what: OrgCmd,
    },
    /// The role catalog, or one role with every fact and its source.
    Roles {
        /// A role id, title or alias.
        role: Option<String>,
    },
    /// Organisation settings.
    Settings {
        #[command(subcommand)]
        what: Option<SettingsCmd>,
    },
    /// What the store holds.
    Status,
    /// KPIs: a person's role scorecard, any scope, or every team and unit (bulk CSV).
    Scorecard(ScorecardArgs),
    /// The records behind one number, and how they add up to it.
    Explain {
        /// The KPI id (see `salesorg kpis`).
        kpi: String,
        /// person:ID, team:ID, unit:ID or company.
        #[arg(long, default_value = "company")]
        scope: String,
        /// 2024-03, FY2024-Q1, FY2024 or 2024-01-15..2024-02-15 (default: this quarter).
        #[arg(long)]
        period: Option<String>,
        /// Observe open records as of this date instead of today.
        #[arg(long)]
        as_of: Option<String>,
        /// Show at most this many records (0: all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only the records of this kind (won, lost, lead, call, …).
        #[arg(long)]
        kind: Option<String>,
        /// Only the records holding this text, in any case, in their kind, id, owner, date
        /// or detail ("price", "incomplete", a rep's name).
        #[arg(long)]
        find: Option<String>,
        /// Make the drill-down this many more times and print how long each took to
        /// standard error (a benchmark of the first render of a drill-down page).
        #[arg(long, default_value_t = 0)]
        repeat: usize,
    },
    /// A KPI's history: its value for a scope in each of the periods leading up to one,
    /// with its quota or target.
    Trend {
        /// The KPI id (see `salesorg kpis`).
        kpi: String,
        /// person:ID, team:ID, unit:ID or company.
        #[arg(long, default_value = "company")]
        scope: String,
        /// The last period: 2024-03, FY2024-Q1, FY2024 or 2024-01-15..2024-02-15 (default:
        /// this quarter); the ones before it are of the same length.
        #[arg(long)]
        period: Option<String>,
        /// How many periods, 1 to 36 (default: 12 months, 8 quarters, 5 years or 8 ranges).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=36))]
        periods: Option<u16>,
        /// Each period before one under way (or named to a day) to the same day of its own:
        /// where each stood at this point of it.
        #[arg(long)]
        same_day: bool,
        /// Observe open records as of this date instead of today.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Every rep of a scope, each over their own book, ranked by a KPI (a leaderboard); with
    /// --teams, every first-line team.
    Reps {
        /// team:ID, unit:ID or company.
        #[arg(long, default_value = "company")]
        scope: String,
        /// 2024-03, FY2024-Q1, FY2024 or 2024-01-15..2024-02-15 (default: this quarter).
        #[arg(long)]
        period: Option<String>,
        /// Observe open records as of this date instead of today.
        #[arg(long)]
        as_of: Option<String>,
        /// The KPIs to show (default: those the rep role is measured by, and the quota).
        #[arg(long)]
        kpi: Vec<String>,
        /// The KPI to rank by (default: quota attainment).
        #[arg(long)]
        sort: Option<String>,
        /// asc or desc (default: highest first, lowest for a KPI better lower).
        #[arg(long, value_parser = ["asc", "desc"])]
        dir: Option<String>,
        /// Rank every first-line team (a leader with a rep reporting to them) instead, by
        /// the KPIs a Sales Manager is measured by.
        #[arg(long)]
        teams: bool,
    },
    /// Every KPI of the spec with its formula.
    Kpis,
    /// Serve the web app and the JSON API on the same store.
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Roles (catalog ids, comma-separated) that see the whole company (default: every
        /// role whose catalog scope is the company).
        #[arg(long, env = "SALESORG_COMPANY_ROLES", value_delimiter = ',')]
        company_roles: Vec<String>,
        /// Mark the session cookie Secure (set this when serving behind TLS).
        #[arg(long)]
        secure_cookies: bool,
        /// Serve as if today were this date (demos).
        #[arg(long)]
        today: Option<String>,
        /// Do not make the company-wide passes over every standard quarter, month and
        /// year after each load (they make any view over such periods a roll-up, and cost
        /// about 45 MB per million opportunities); views then make the passes they need.
        #[arg(long)]
        no_standard_passes: bool,
        /// How many MB of company-wide passes over other periods (a date range's, say) to
        /// keep for their next visitors, least recently used dropped first: each is kept
        /// compact once its page is out, about 20-35 MB at 10M opportunities.
        #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
        pass_cache_mb: u32,
    },
    /// User accounts: add, reset-password, disable, enable, list, token.
    User {
        #[command(subcommand)]
        what: UserCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add a user linked to a person in the org (by the source's own person id). The
    /// password comes from standard input with --password-stdin, else one is generated
    /// and printed once.
    Add {
        username: String,
        /// The person this account signs in as.
        #[arg(long)]
        person: Option<String>,
        /// May manage users, imports and configuration, and read the audit log.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (ends the user's sessions).
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: sessions end, tokens stop working.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Every user.
    List,
    /// API tokens: create USER [--name N], revoke USER ID, list USER.
    Token {
        #[command(subcommand)]
        what: TokenCmd,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Create a token; its secret is printed once.
    Create {
        username: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Revoke a token by id.
    Revoke { username: String, id: i64 },
    /// A user's tokens (never their secrets).
    List { username: String },
}

#[derive(Args, Debug)]
pub struct ScorecardArgs {
    /// A person's role scorecard: their role's KPIs over their scope, with previous
    /// period, last year, target and each direct report.
    #[arg(long, conflicts_with_all = ["scope", "all"])]
    pub person: Option<String>,
    /// Any scope: person:ID, team:ID, unit:ID or company (repeatable).
    #[arg(long, conflicts_with = "all")]
    pub scope: Vec<String>,
    /// Every team: and unit: scope × every period of --grain from --from to --to.
    #[arg(long)]
    pub all: bool,
    /// The period: 2024-03, FY2024-Q1, FY2024 or 2024-01-15..2024-02-15 (default: this quarter; repeatable).
    #[arg(long)]
    pub period: Vec<String>,
    /// With --all: month, quarter or year.
    #[arg(long, value_enum, default_value_t = GrainArg::Quarter)]
    pub grain: GrainArg,
    /// With --all: the first period (default: the one holding the first record).
    #[arg(long)]
    pub from: Option<String>,
    /// With --all: the last period (default: the one holding today).
    #[arg(long)]
    pub to: Option<String>,
    /// Only these KPIs (repeatable or comma-separated).
    #[arg(long)]
    pub kpi: Vec<String>,
    /// Observe open records as of this date instead of today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Print load and compute timings to standard error.
    #[arg(long)]
    pub timings: bool,
    /// Benchmarking: compute the scorecard this many times on the loaded data and print
    /// each time (implies --timings).
    #[arg(long, default_value_t = 1, hide = true)]
    pub repeat: u32,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrainArg {
    Month,
    Quarter,
    Year,
}

#[derive(Subcommand, Debug)]
pub enum OrgCmd {
    /// Print the reporting tree with roles and spans of control.
    Show {
        /// The date the tree is taken at (default: today).
        #[arg(long)]
        as_of: Option<String>,
        /// Start at this person (their source id or full name).
        #[arg(long)]
        root: Option<String>,
        /// Stop after this many levels.
        #[arg(long)]
        depth: Option<usize>,
    },
    /// Who a person reported to, who reported to them, and their units, on a date.
    Person {
        id: String,
        #[arg(long)]
        as_of: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SettingsCmd {
    /// Show every setting.
    Show,
    /// Set one setting, e.g. `settings set fiscal_year_start_month 2`.
    Set { key: String, value: String },
    /// Apply a TOML file of settings.
    Load { file: PathBuf },
}

/// A progress bar on a terminal, nothing otherwise.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new() -> Bar {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} {pos}/{len} [{elapsed_precise}] {per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Bar(Some(b))
        } else {
            Bar(None)
        }
    }
    fn done(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn update(&self, what: &str, done: u64, total: u64) {
        if let Some(b) = &self.0 {
            b.set_message(what.to_owned());
            if total > 0 {
                b.set_length(total);
            } else {
                b.set_length(done);
            }
            b.set_position(done);
        }
    }
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

fn date_arg(s: &Option<String>, what: &str) -> Result<Option<Date>> {
    s.as_deref()
        .map(|d| parse_date(d).with_context(|| format!("--{what}")))
        .transpose()
}

pub fn catalog(g: &Global) -> Result<Catalog> {
    match &g.catalog {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the catalog {}", p.display()))?;
            Catalog::with_override(&text).with_context(|| format!("in {}", p.display()))
        }
        None => Ok(Catalog::builtin()?),
    }
}

fn open(g: &Global) -> Result<Store> {
    Store::open(&g.db).map_err(|e| match e {
        // (names the store itself)
        e @ salesorg_store::StoreError::Open { .. } => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!(
            "opening the store {}",
            salesorg_store::redact(&g.db)
        )),
    })
}

pub fn run() -> Result<()> {
    let cli = Cli::parse();
    let g = &cli.global;
    check_format(&cli.command, g.format)?;
    match &cli.command {
        Command::Demo {
            people,
            opportunities,
            seed,
            end,
            activities_per_opp,
            prospecting_calls,
            replace,
            export_salesforce,
        } => {
            let end = date_arg(end, "end")?.unwrap_or_else(today);
            if !(0.0..=200.0).contains(prospecting_calls) {
                bail!(
                    "--prospecting-calls is a rep's calls a day: from 0 to 200, not {prospecting_calls}"
                );
            }
            let spec = DemoSpec {
                people: *people,
                opportunities: *opportunities,
                seed: *seed,
                end,
                activities_per_opp: *activities_per_opp,
                prospecting_calls: *prospecting_calls,
            };
            let bar = Bar::new();
            let started = std::time::Instant::now();
            salesorg_engine::demo::check_end(end)?;
            if let Some(dir) = export_salesforce {
                let mut sink = salesorg_engine::sfexport::SalesforceExport::create(dir, end)?;
                let sum = generate(&spec, &mut sink, &bar)?;
                sink.finish()?;
                bar.done();
                note!(
                    "Salesforce export written to {} in {:.1}s: {sum}",
                    dir.display(),
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            let mut store = open(g)?;
            if !store.is_empty()? && !replace {
                bail!(
                    "the store {} already holds data; pass --replace to overwrite it, or choose another --db",
                    salesorg_store::redact(&g.db)
                );
            }
            let bulk = store.begin_bulk()?;
            let sum = store.atomic(|s| -> Result<_> {
                s.clear_data()?;
                let suspended = s.suspend_indexes()?;
                let sum = generate(&spec, &mut StoreSink(s), &bar)?;
                if suspended {
                    s.restore_indexes()?;
                }
                Ok(sum)
            })?;
            if bulk {
                store.end_bulk()?;
            }
            bar.done();
            note!(
                "demo org generated in {:.1}s into {} ({}): {sum}",
                started.elapsed().as_secs_f64(),
                salesorg_store::redact(&g.db),
                store.backend()
            );
            let cat = catalog(g)?;
            let org = store.org()?;
            let people = store.people()?;
            output::org_tree(&org, &people, &cat, end, None, Some(3), g.format)?;
            let accounts = demo_accounts(&mut store, &org, &people, end)?;
            note!(
                "\nsign-in accounts of the demo (password {DEMO_PASSWORD:?}): {}",
                accounts.join(", ")
            );
            note!(
                "next: `salesorg serve` and open http://127.0.0.1:8080 · `salesorg org show` for the whole tree · `salesorg status` for counts"
            );
        }
        Command::Import {
            source,
            path,
            effective,
            skip_bad_rows,
            rejects,
            default_owner,
            mapping,
            dry_run,
        } => {
            let source = Source::parse(source).map_err(|e| anyhow!(e))?;
            let opts = ImportOptions {
                effective: date_arg(effective, "effective")?,
                today: Some(today()),
                skip_bad_rows: *skip_bad_rows,
                rejects: rejects.clone(),
                default_owner: default_owner.clone(),
                mapping: mapping.clone(),
                dry_run: *dry_run,
            };
            let mut store = open(g)?;
            let bar = Bar::new();
            let started = std::time::Instant::now();
            let res = import(&mut store, source, path, &opts, &bar);
            bar.done();
            let sum = res?;
            // (a dry run writes nothing, not even to the audit log)
            if !dry_run {
                let _ = store.audit(
                    salesorg_web::now(),
                    Some("cli"),
                    "import",
                    &format!("{source:?} {}: {sum}", path.display()),
                    None,
                );
            }
            outln!("{sum}");
            let total = started.elapsed();
            let mut parts: Vec<String> = sum
                .phases
                .iter()
                .map(|(k, d)| format!("{k} {:.1}s", d.as_secs_f64()))
                .collect();
            let accounted: std::time::Duration = sum.phases.iter().map(|(_, d)| *d).sum();
            parts.push(format!(
                "{} {:.1}s",
                if *dry_run { "roll back" } else { "commit" },
                total.saturating_sub(accounted).as_secs_f64()
            ));
            note!("took {:.2}s ({})", total.as_secs_f64(), parts.join(", "));
        }
        Command::Org { what } => {
            let mut store = open(g)?;
            let cat = catalog(g)?;
            let org = store.org()?;
            let people = store.people()?;
            match what {
                OrgCmd::Show { as_of, root, depth } => {
                    let d = date_arg(as_of, "as-of")?.unwrap_or_else(today);
                    let root = match root {
                        Some(r) => Some(
                            store
                                .find_person(r)?
                                .ok_or_else(|| no_such_person(&people, r))?
                                .id,
                        ),
                        None => None,
                    };
                    output::org_tree(&org, &people, &cat, d, root.as_ref(), *depth, g.format)?;
                }
                OrgCmd::Person { id, as_of } => {
                    let d = date_arg(as_of, "as-of")?.unwrap_or_else(today);
                    let p = store
                        .find_person(id)?
                        .ok_or_else(|| no_such_person(&people, id))?;
                    output::person(&org, &people, &p, d, g.format)?;
                }
            }
        }
        Command::Roles { role } => {
            let cat = catalog(g)?;
            match role {
                None => output::roles(&cat, g.format)?,
                Some(r) => {
                    let role = cat.find(r).ok_or_else(|| {
                        anyhow!("no role {r:?} in the catalog; known: {}", role_ids(&cat))
                    })?;
                    output::role(&cat, role, g.format)?;
                }
            }
        }
        Command::Settings { what } => {
            let mut store = open(g)?;
            let mut s = store.settings()?;
            match what {
                None | Some(SettingsCmd::Show) => {}
                Some(SettingsCmd::Set { key, value }) => {
                    s.set(key, value)?;
                    store.save_settings(&s)?;
                    store.audit(
                        salesorg_web::now(),
                        Some("cli"),
                        "settings_changed",
                        &format!("{key} = {value}"),
                        None,
                    )?;
                }
                Some(SettingsCmd::Load { file }) => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    // (the error begins with the line and column: `file:line:column: reason`)
                    s.apply_toml(&text)
                        .map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
                    store.save_settings(&s)?;
                    store.audit(
                        salesorg_web::now(),
                        Some("cli"),
                        "settings_changed",
                        &format!("loaded {}", file.display()),
                        None,
                    )?;
                }
            }
            output::settings(&s, g.format)?;
        }
        Command::Status => {
            let mut store = open(g)?;
            let counts = store.counts()?;
            let imports = store.imports()?;
            let version = store.schema_version()?;
            let rates = store.rates()?;
            let quotas = store.quotas()?;
            output::status(
                &salesorg_store::redact(&g.db),
                &store.backend().to_string(),
                version,
                &counts,
                &imports,
                &rates,
                &quotas,
                g.format,
            )?;
        }
        Command::Scorecard(a) => scorecard(g, a)?,
        Command::Explain {
            kpi,
            scope,
            period,
            as_of,
            limit,
            kind,
            find,
            repeat,
        } => {
            let k = one_kpi(kpi)?;
            let (engine, _, today) = engine_as_of(g, as_of, true)?;
            // (one drill-down: nothing to make ahead for a next one, such as the index by
            // day of each owner's rows, 77 ms at 10M deals for a few milliseconds saved)
            if *repeat == 0 {
                engine.keep_nothing_for_next();
            }
            let scope = scope_of(&engine, scope)?;
            let period = period_or_default(&engine, period.as_deref(), today)?;
            let ex = salesorg_engine::scorecard::explain(&engine, k, scope, period, today)?;
            let mut ms = Vec::with_capacity(*repeat);
            for _ in 0..*repeat {
                let t = std::time::Instant::now();
                // as the web app makes a first render: the value and the first and last pages
                let again = salesorg_engine::scorecard::explain_ends_in(
                    &engine,
                    &salesorg_core::scorecard::Lens::everything(),
                    k,
                    scope,
                    period,
                    today,
                )?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                drop(again);
            }
            if !ms.is_empty() {
                note!("explain ms: {} for {} records", runs_summary(&ms), ex.len());
            }
            let filter =
                salesorg_engine::scorecard::RecordFilter::new(kind.as_deref(), find.as_deref());
            let order = (!filter.is_empty())
                .then(|| ex.filtered(&engine, &ex.in_date_order(&engine), &filter));
            let filtered = order.as_deref().map(|o| (&filter, o));
            output::explanation(&engine, &ex, filtered, *limit, g.format)?;
        }
        Command::Reps {
            scope,
            period,
            as_of,
            kpi,
            sort,
            dir,
            teams,
        } => {
            let (engine, cat, today) = engine_as_of(g, as_of, false)?;
            let scope = scope_of(&engine, scope)?;
            let period = period_or_default(&engine, period.as_deref(), today)?;
            let of = if *teams {
                salesorg_engine::leaderboard::BoardOf::Teams
            } else {
                salesorg_engine::leaderboard::BoardOf::Reps
            };
            let kpis = of
                .kpis_asked(&cat, kpi)
                .map_err(|e| anyhow!("--kpi: {e}"))?;
            let (by, desc) =
                salesorg_engine::leaderboard::board_order(&kpis, sort.as_deref(), dir.as_deref());
            if let Some(s) = sort.as_deref().filter(|s| *s != by) {
                bail!(
                    "--sort {s}: rank by one of the KPIs shown: {}",
                    kpis.join(", ")
                );
            }
            let board = salesorg_engine::leaderboard::board(
                &engine,
                &salesorg_core::scorecard::Lens::everything(),
                scope,
                period,
                today,
                of,
                kpis,
                by,
                desc,
                &|s, ps, k| engine.run(s, ps, k, today),
            )?;
            output::leaderboard(&engine, &board, g.format)?;
        }
        Command::Trend {
            kpi,
            scope,
            period,
            periods,
            same_day,
            as_of,
        } => {
            let k = one_kpi(kpi)?;
            let (engine, _, today) = engine_as_of(g, as_of, false)?;
            let scope = scope_of(&engine, scope)?;
            let period = period_or_default(&engine, period.as_deref(), today)?;
            let n = periods.map_or_else(
                || salesorg_engine::trend::default_length(&engine, &period),
                usize::from,
            );
            let t = salesorg_engine::trend::trend_by(
                &engine,
                scope,
                period,
                k,
                n,
                *same_day,
                today,
                &|s, ps, ks| engine.run(s, ps, ks, today),
            )?;
            output::trend(&engine, &t, g.format)?;
        }
        Command::Kpis => output::kpis(g.format)?,
        Command::Serve {
            listen,
            company_roles,
            secure_cookies,
            today,
            no_standard_passes,
            pass_cache_mb,
        } => {
            let cat = catalog(g)?;
            // each a role of the catalog, by id, title or alias, kept by its id (a name that
            // matched no role had been taken, and nobody saw the company through it)
            let ids = company_roles
                .iter()
                .map(|r| {
                    cat.find(r).map(|role| role.id.clone()).ok_or_else(|| {
                        anyhow!(
                            "--company-roles: no role {r:?} in the catalog; known: {}",
                            role_ids(&cat)
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut cfg = salesorg_web::Config::new(&g.db, cat);
            if !ids.is_empty() {
                cfg.company_roles = salesorg_web::CompanyRoles(Some(ids));
            }
            cfg.policy.secure_cookie = *secure_cookies;
            cfg.today = date_arg(today, "today")?;
            cfg.snapshot = true;
            cfg.standard_passes = !*no_standard_passes;
            cfg.grid_cache_bytes = (*pass_cache_mb as usize) << 20;
            salesorg_web::serve(cfg, *listen)?;
        }
        Command::User { what } => user(g, what)?,
    }
    Ok(())
}

/// The catalog's role ids, for an error that names a role it does not hold.
fn role_ids(cat: &Catalog) -> String {
    cat.roles()
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Timings in milliseconds as the benchmarks read them: "min M median M (N runs: each run)".
fn runs_summary(ms: &[f64]) -> String {
    let mut sorted = ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let runs: Vec<String> = ms.iter().map(|t| format!("{t:.1}")).collect();
    format!(
        "min {:.1} median {:.1} ({} runs: {})",
        sorted.first().copied().unwrap_or(0.0),
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
        ms.len(),
        runs.join(" ")
    )
}

/// The password of the demo's accounts (the demo's data is made up; never use it for a real org).
const DEMO_PASSWORD: &str = "salesorg-demo";

/// Accounts for the demo: an admin and one person of each kind of viewer, so the web app
/// can be tried at once. Existing usernames are left as they are.
fn demo_accounts(
    store: &mut Store,
    org: &salesorg_core::org::OrgHistory,
    people: &[salesorg_core::records::Person],
    end: Date,
) -> Result<Vec<String>> {
    let hash = salesorg_web::auth::hash_password(DEMO_PASSWORD)?;
    let now = salesorg_web::now();
    let active = |role: &str| {
        people
            .iter()
            .filter(|p| p.role.as_ref().is_some_and(|r| r.as_str() == role) && p.left.is_none())
            .find(|p| {
                org.manager_on(&p.id, end).is_some() || !org.direct_reports(&p.id, end).is_empty()
            })
            .map(|p| p.id.to_string())
    };
    let mut out = Vec::new();
    for (user, role) in [
        ("admin", None),
        ("cro", Some("cro")),
        ("vp", Some("vp_inside_sales")),
        ("director", Some("director_sales")),
        ("lead", Some("inside_sales_team_lead")),
        ("rep", Some("sales_rep")),
    ] {
        let person = match role {
            Some(r) => match active(r) {
                Some(p) => Some(p),
                None => continue,
            },
            None => None,
        };
        if store.user_by_name(user)?.is_none() {
            store.create_user(user, person.as_deref(), &hash, role.is_none(), now)?;
        }
        out.push(match role {
            Some(r) => format!("{user} ({r})"),
            None => format!("{user} (admin)"),
        });
    }
    Ok(out)
}

fn read_password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        salesorg_web::auth::check_new_password(&p)?;
        return Ok((p, false));
    }
    Ok((salesorg_web::auth::random_hex(10)?, true))
}

fn user(g: &Global, what: &UserCmd) -> Result<()> {
    use salesorg_web::auth;
    let mut store = open(g)?;
    let now = salesorg_web::now();
    let find = |store: &mut Store, name: &str| -> Result<salesorg_store::User> {
        store
            .user_by_name(name)?
            .ok_or_else(|| anyhow!("there is no user {name:?}"))
    };
    match what {
        UserCmd::Add {
            username,
            person,
            admin,
            password_stdin,
        } => {
            if let Some(p) = person {
                match store.find_person(p)? {
                    Some(x) if x.id.as_str() == p => {}
                    Some(x) => bail!(
                        "--person takes a person's id, and {p:?} is {}'s name: did you mean \
                         --person {}?",
                        x.name,
                        x.id
                    ),
                    None => return Err(no_such_person(&store.people()?, p)),
                }
            }
            if person.is_none() && !admin {
                bail!("a user who is not an admin needs --person (the person they sign in as)");
            }
            let (pw, generated) = read_password(*password_stdin)?;
            let u = store.create_user(
                username,
                person.as_deref(),
                &auth::hash_password(&pw)?,
                *admin,
                now,
            )?;
            store.audit(
                now,
                Some("cli"),
                "user_added",
                &format!(
                    "{} (person {:?}, admin {})",
                    u.username, u.person_id, u.is_admin
                ),
                None,
            )?;
            outln!("added user {} (id {})", u.username, u.id);
            if generated {
                outln!("password: {pw}");
            }
        }
        UserCmd::ResetPassword {
            username,
            password_stdin,
        } => {
            let u = find(&mut store, username)?;
            let (pw, generated) = read_password(*password_stdin)?;
            store.set_password(u.id, &auth::hash_password(&pw)?, now)?;
            store.audit(now, Some("cli"), "password_reset", &u.username, None)?;
            outln!("password of {} reset; their sessions ended", u.username);
            if generated {
                outln!("password: {pw}");
            }
        }
        UserCmd::Disable { username } | UserCmd::Enable { username } => {
            let disable = matches!(what, UserCmd::Disable { .. });
            let u = find(&mut store, username)?;
            store.set_disabled(u.id, disable)?;
            let action = if disable {
                "user_disabled"
            } else {
                "user_enabled"
            };
            store.audit(now, Some("cli"), action, &u.username, None)?;
            outln!(
                "{} {}",
                u.username,
                if disable { "disabled" } else { "enabled" }
            );
        }
        UserCmd::List => {
            let rows: Vec<Vec<String>> = store
                .users()?
                .iter()
                .map(|u| {
                    vec![
                        u.id.to_string(),
                        u.username.clone(),
                        u.person_id.clone().unwrap_or_default(),
                        if u.is_admin { "yes" } else { "no" }.into(),
                        if u.disabled { "disabled" } else { "active" }.into(),
                    ]
                })
                .collect();
            output::listing(
                &["id", "username", "person", "admin", "status"],
                rows,
                "no users yet: `salesorg user add NAME --person ID` adds one",
                g.format,
            )?;
        }
        UserCmd::Token { what } => match what {
            TokenCmd::Create { username, name } => {
                let u = find(&mut store, username)?;
                let (secret, t) = auth::create_token(&mut store, u.id, name, now)?;
                store.audit(
                    now,
                    Some("cli"),
                    "token_created",
                    &format!("{} for {}", t.prefix, u.username),
                    None,
                )?;
                outln!(
                    "token {} for {} (id {}); it is shown only now:",
                    t.name,
                    u.username,
                    t.id
                );
                outln!("{secret}");
            }
            TokenCmd::Revoke { username, id } => {
                let u = find(&mut store, username)?;
                if !store.revoke_token(u.id, *id, now)? {
                    bail!("{} has no live token {id}", u.username);
                }
                store.audit(
                    now,
                    Some("cli"),
                    "token_revoked",
                    &format!("{id} of {}", u.username),
                    None,
                )?;
                outln!("revoked");
            }
            TokenCmd::List { username } => {
                let u = find(&mut store, username)?;
                let rows = store
                    .tokens_of(u.id)?
                    .into_iter()
                    .map(|t| {
                        vec![
                            t.id.to_string(),
                            t.name,
                            format!("{}…", t.prefix),
                            if t.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "live"
                            }
                            .into(),
                        ]
                    })
                    .collect();
                output::listing(
                    &["id", "name", "starts", "status"],
                    rows,
                    &format!("{username} has no API tokens"),
                    g.format,
                )?;
            }
        },
    }
    Ok(())
}

/// The KPI a command about one KPI names.
fn one_kpi(kpi: &str) -> Result<&'static str> {
    let k = salesorg_engine::scorecard::parse_kpis(&[kpi.to_owned()])?;
    Ok(*k.first().ok_or_else(|| anyhow!("name a KPI"))?)
}

/// The store's scorecard engine (with the records' ids where a command lists records), the
/// catalog, and the day `--as-of` names (else today).
fn engine_as_of(
    g: &Global,
    as_of: &Option<String>,
    ids: bool,
) -> Result<(salesorg_core::scorecard::Engine, Catalog, Date)> {
    let mut store = open(g)?;
    let cat = catalog(g)?;
    let today = date_arg(as_of, "as-of")?.unwrap_or_else(today);
    let (engine, _) = salesorg_engine::scorecard::load(&mut store, &cat, ids, true, &Bar::new())?;
    Ok((engine, cat, today))
}

/// The period `--period` names, else [`default_period`].
fn period_or_default(
    engine: &salesorg_core::scorecard::Engine,
    period: Option<&str>,
    today: Date,
) -> Result<salesorg_core::period::Period> {
    Ok(match period {
        Some(p) => salesorg_core::period::Period::parse(p, &engine.book.settings.fiscal)?,
        None => default_period(engine, today),
    })
}

fn default_period(
    engine: &salesorg_core::scorecard::Engine,
    today: Date,
) -> salesorg_core::period::Period {
    // (the quarter of the data's last day when it ended well before today)
    salesorg_core::period::Period::containing(
        &engine.book.settings.fiscal,
        salesorg_core::period::Grain::Quarter,
        engine.current_day(today),
    )
}

/// The rows of a one-off CSV export made and written at a time (see
/// [`salesorg_core::scorecard::Engine::run_each`]): enough to format on two cores.
const CSV_WINDOW_ROWS: usize = 6_000;

fn scorecard(g: &Global, a: &ScorecardArgs) -> Result<()> {
    use salesorg_core::period::{Grain, Period};
    use salesorg_engine::scorecard as sc;
    let started = std::time::Instant::now();
    let mut store = open(g)?;
    let cat = catalog(g)?;
    let today = date_arg(&a.as_of, "as-of")?.unwrap_or_else(today);
    let kpis = sc::parse_kpis(&a.kpi)?;
    let bar = Bar::new();
    let (engine, timings) = sc::load(&mut store, &cat, false, true, &bar)?;
    bar.done();
    let loaded = started.elapsed();
    let cal = engine.book.settings.fiscal;
    let parse_period = |p: &str| Period::parse(p, &cal).with_context(|| format!("period {p:?}"));
    let mut periods: Vec<Period> = a
        .period
        .iter()
        .map(|p| parse_period(p))
        .collect::<Result<_>>()?;
    let mut out: Box<dyn std::io::Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let compute_start = std::time::Instant::now();
    if let Some(who) = &a.person {
        let p = engine.person(who).ok_or_else(|| {
            let meant = engine
                .unscoped_nearest_person(who)
                .map(|p| format!(": did you mean {} ({})?", p.id, p.name))
                .unwrap_or_default();
            anyhow!("no person with id or name {who:?} in the store{meant}")
        })?;
        let period = periods
            .first()
            .copied()
            .unwrap_or_else(|| default_period(&engine, today));
        let card = sc::person_scorecard(
            &engine,
            &cat,
            p,
            period,
            today,
            (!kpis.is_empty()).then(|| kpis.clone()),
        )?;
        output::person_scorecard(&engine, &card, g.format, &mut out)?;
    } else {
        let kpis = if kpis.is_empty() {
            sc::default_kpis()
        } else {
            kpis
        };
        let scopes: Vec<salesorg_core::scorecard::Scope> = if a.all {
            let grain = match a.grain {
                GrainArg::Month => Grain::Month,
                GrainArg::Quarter => Grain::Quarter,
                GrainArg::Year => Grain::Year,
            };
            let first = engine.first_day().unwrap_or(today);
            let from = match &a.from {
                Some(p) => parse_period(p)?.start,
                None => first,
            };
            let to = match &a.to {
                Some(p) => parse_period(p)?.last_day(),
                None => today,
            };
            if to < from {
                bail!(
                    "--to {} comes before --from {}",
                    a.to.clone().unwrap_or_else(|| format!(
                        "(today, {})",
                        salesorg_core::date::fmt_date(today)
                    )),
                    a.from.clone().unwrap_or_else(|| format!(
                        "(the first record, {})",
                        salesorg_core::date::fmt_date(first)
                    ))
                );
            }
            periods =
                salesorg_core::scorecard::bulk_periods(&cal, grain, from, to).map_err(|e| {
                    anyhow!(
                        "--from {} --to {} is {e} (a coarser --grain or a narrower range)",
                        a.from.as_deref().unwrap_or("(the first record)"),
                        a.to.as_deref().unwrap_or("(today)"),
                    )
                })?;
            let end = periods.last().map(|p| p.end).unwrap_or(to);
            let all = engine.all_team_and_unit_scopes(from, end);
            if all.is_empty() {
                // (a header alone would leave the reader guessing)
                note!(
                    "no team: or unit: scopes: nobody led anyone over these periods and the org has no units (the company's numbers: --scope company)"
                );
            }
            all
        } else {
            if periods.is_empty() {
                periods.push(default_period(&engine, today));
            }
            if a.scope.is_empty() {
                vec![salesorg_core::scorecard::Scope::Company]
            } else {
                a.scope
                    .iter()
                    .map(|s| scope_of(&engine, s))
                    .collect::<Result<_>>()?
            }
        };
        let fmt = if a.all && g.format == Format::Table {
            Format::Csv
        } else {
            g.format
        };
        if a.repeat <= 1 {
            engine.keep_nothing_for_next();
        }
        if a.repeat <= 1 && fmt == Format::Csv {
            // a one-off CSV is written as its rows are made, a window of them at a time,
            // each window's given back for the next's (the bulk export's rows were 50 MB
            // of its peak at 10M deals)
            let window = (CSV_WINDOW_ROWS / periods.len().max(1)).max(1);
            let mut first = true;
            let mut n = 0;
            engine.run_each(&scopes, &periods, &kpis, today, window, &mut |rows| {
                if std::mem::take(&mut first) {
                    sc::csv_header(&kpis, &mut out)?;
                }
                sc::rows_csv_body(&engine, &rows, &kpis, &mut out)?;
                n += rows.len();
                engine.recycle(rows);
                anyhow::Ok(())
            })?;
            if first {
                sc::csv_header(&kpis, &mut out)?;
            }
            out.flush()?;
            if a.timings {
                note!(
                    "compute and write {:.1} ms for {n} rows",
                    compute_start.elapsed().as_secs_f64() * 1e3
                );
            }
        } else {
            let mut rows = engine.run(&scopes, &periods, &kpis, today)?;
            let computed = compute_start.elapsed();
            if a.repeat > 1 {
                let mut times = vec![computed.as_secs_f64() * 1e3];
                let (mut passes, mut rollups) = (Vec::new(), Vec::new());
                let everything = salesorg_core::scorecard::Lens::everything();
                for _ in 1..a.repeat {
                    let t = std::time::Instant::now();
                    // the last run's rows are given back first (and timed), as a server
                    // gives back a response's: the next run's rows take their memory
                    engine.recycle(std::mem::take(&mut rows));
                    let mut passed = t;
                    rows = engine.run_lapped(
                        &everything,
                        &scopes,
                        &periods,
                        &kpis,
                        today,
                        &mut || passed = std::time::Instant::now(),
                    )?;
                    let end = std::time::Instant::now();
                    times.push((end - t).as_secs_f64() * 1e3);
                    passes.push((passed - t).as_secs_f64() * 1e3);
                    rollups.push((end - passed).as_secs_f64() * 1e3);
                }
                note!("warm compute ms: {}", runs_summary(&times));
                note!("  of which the pass ms: {}", runs_summary(&passes));
                note!("  and the roll-up ms: {}", runs_summary(&rollups));
                // the memory floor: the pass's columns read once on as many threads, no work
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
                let (mut floors, mut bytes) = (Vec::new(), 0u64);
                for _ in 1..a.repeat {
                    let t = std::time::Instant::now();
                    let book = &engine.book;
                    let read: Vec<(u64, u64)> = std::thread::scope(|sc| {
                        let hs: Vec<_> = (0..threads)
                            .map(|k| sc.spawn(move || book.read_pass_columns(k, threads)))
                            .collect();
                        hs.into_iter().filter_map(|h| h.join().ok()).collect()
                    });
                    floors.push(t.elapsed().as_secs_f64() * 1e3);
                    bytes = read.iter().map(|r| r.1).sum();
                    std::hint::black_box(read);
                }
                note!(
                    "  memory floor ms (the pass's columns, {} MB, read once on {threads} threads): {}",
                    bytes >> 20,
                    runs_summary(&floors)
                );
                // the server's path: the pass made once for the data and the day (as its
                // standard passes are), and every row rolled up from it on each request (the
                // first run makes the classes of segments that the grid keeps for the
                // others); the rows printed are the last of these runs
                let need = salesorg_core::scorecard::Need::of(&kpis);
                let mut grid = engine.grid(&periods, today, need)?;
                // (kept as the server keeps its standard passes: comparison cells brief)
                grid.keep_compact();
                let mut kept = Vec::new();
                for _ in 1..a.repeat {
                    let t = std::time::Instant::now();
                    engine.recycle(std::mem::take(&mut rows));
                    rows = engine.run_grid(&grid, &everything, &scopes, &periods, &kpis, today)?;
                    kept.push(t.elapsed().as_secs_f64() * 1e3);
                }
                note!(
                    "warm from kept cells ms (the pass made once, and with it the first run's \
                 classes of segments; every row rolled up from them, as the server answers \
                 the bulk export): {}",
                    runs_summary(&kept)
                );
            }
            output::scorecard_rows(&engine, &rows, &kpis, fmt, &mut out)?;
            out.flush()?;
            if a.timings {
                note!(
                    "compute {:.1} ms for {} rows",
                    computed.as_secs_f64() * 1e3,
                    rows.len()
                );
            }
            // the process ends here: its memory goes back with it, at once, instead of
            // through a free for each of the rows' values
            std::mem::forget(rows);
        }
    }
    out.flush()?;
    if a.timings {
        let phases: Vec<String> = timings
            .phases
            .iter()
            .zip(&timings.rss_mb)
            .map(|((k, d), m)| format!("{k} {:.2}s → {m} MB", d.as_secs_f64()))
            .collect();
        note!(
            "load {:.2}s ({}), total {:.2}s",
            loaded.as_secs_f64(),
            phases.join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    // the same for the book's columns (1.9 GB at 10M opportunities): one unmapping
    // when the process exits
    std::mem::forget(engine);
    Ok(())
}

/// A scope given on the command line, and where it names no one, the one it was most likely
/// meant to be ([`salesorg_core::scorecard::Engine::unscoped_nearest_scope`]: the command
/// line's user holds the whole store).
fn scope_of(
    engine: &salesorg_core::scorecard::Engine,
    s: &str,
) -> Result<salesorg_core::scorecard::Scope> {
    engine
        .scope(s)
        .map_err(|e| match engine.unscoped_nearest_scope(s) {
            Some(near) => anyhow!("{e}: did you mean {near}?"),
            None => e.into(),
        })
}

/// The error for a person the store has no one by (`find_person`: an id or a unique name),
/// with the one most likely meant where one is near ([`salesorg_core::names::nearest`]) and
/// no one else has that name.
fn no_such_person(people: &[salesorg_core::records::Person], typed: &str) -> anyhow::Error {
    // (a name two people share names neither)
    let near =
        salesorg_core::names::nearest_holder(typed, people, |p| [p.id.as_str(), p.name.as_str()]);
    match near {
        Some(p) => anyhow!(
            "no person with id or unique name {typed:?} in the store: did you mean {} ({})?",
            p.id,
            p.name
        ),
        None => anyhow!("no person with id or unique name {typed:?} in the store"),
    }
}
