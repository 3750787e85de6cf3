//! The role catalog: every role the seeds describe, with scope, reporting lines, span of
//! control, experience, education, comp band, quota, KPIs, responsibilities, skills on the
//! seeds' five dimensions, authority, next roles and challenges. Each fact carries the seed
//! it comes from. The default catalog (`catalog/roles.toml`) is compiled into the binary; a
//! user file can replace or add roles by id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::kpi::is_kpi;

/// The catalog shipped with salesorg.
pub const DEFAULT_CATALOG: &str = include_str!("../catalog/roles.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    Sales,
    InsideSales,
    SalesOps,
    /// Roles over every sales function (Head of Sales, CRO, CSO).
    Executive,
}

/// The slice of the org a role answers for (spec §1 scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Company,
    MultiRegion,
    Region,
    Department,
    Team,
    #[serde(rename = "self")]
    OwnBook,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Company => "company",
            ScopeKind::MultiRegion => "multi_region",
            ScopeKind::Region => "region",
            ScopeKind::Department => "department",
            ScopeKind::Team => "team",
            ScopeKind::OwnBook => "self",
        }
    }
}

/// A statement taken from a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub text: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRef {
    /// A catalog role id, or `external:Title` for a role outside sales (CEO, COO).
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub min: u32,
    pub max: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Years {
    pub min: u32,
    /// `None` for "N+ years".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub source: String,
}

/// A money range in whole currency units; `open_top` for "$200,000+".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min: u64,
    pub max: u64,
    #[serde(default)]
    pub open_top: bool,
    pub currency: String,
    pub source: String,
}

/// Bonus as a percentage range of base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Percent {
    pub min: u32,
    pub max: u32,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comp {
    #[serde(default)]
    pub base: Vec<Band>,
    #[serde(default)]
    pub bonus_pct_of_base: Vec<Percent>,
    #[serde(default)]
    pub total_comp_up_to: Vec<Band>,
    #[serde(default)]
    pub other: Vec<Fact>,
    #[serde(default)]
    pub equity: Vec<Fact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiRef {
    pub id: String,
    pub source: String,
}

/// The seeds' five skill dimensions (001 "Skill Set Comparison").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skills {
    #[serde(default)]
    pub leadership: Vec<Fact>,
    #[serde(default)]
    pub sales_expertise: Vec<Fact>,
    #[serde(default)]
    pub financial_acumen: Vec<Fact>,
    #[serde(default)]
    pub technology: Vec<Fact>,
    #[serde(default)]
    pub communication: Vec<Fact>,
}

impl Skills {
    pub fn dimensions(&self) -> [(&'static str, &[Fact]); 5] {
        [
            ("leadership", &self.leadership),
            ("sales expertise", &self.sales_expertise),
            ("financial acumen", &self.financial_acumen),
            ("technology", &self.technology),
            ("communication", &self.communication),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextRole {
    pub role: String,
    /// Typical years before the move, as the seed gives it (`2-4`, `8-10+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub function: Function,
    /// 1 head of sales, 2 VP, 3 director, 4 first-line manager, 5 individual contributor.
    pub level: u8,
    pub scope: ScopeKind,
    pub carries_quota: bool,
    #[serde(default)]
    pub summary: Vec<Fact>,
    #[serde(default)]
    pub reports_to: Vec<RoleRef>,
    #[serde(default)]
    pub manages: Vec<Fact>,
    #[serde(default)]
    pub span: Vec<Span>,
    #[serde(default)]
    pub experience: Vec<Years>,
    #[serde(default)]
    pub education: Vec<Fact>,
    #[serde(default)]
    pub comp: Comp,
    #[serde(default)]
    pub kpis: Vec<KpiRef>,
    #[serde(default)]
    pub responsibilities: Vec<Fact>,
    #[serde(default)]
    pub skills: Skills,
    #[serde(default)]
    pub decision_authority: Vec<Fact>,
    #[serde(default)]
    pub budget_authority: Vec<Fact>,
    #[serde(default)]
    pub next_roles: Vec<NextRole>,
    #[serde(default)]
    pub challenges: Vec<Fact>,
    /// When to create this role rather than the one below it (002 "Choosing Between").
    #[serde(default)]
    pub hire_when: Vec<Fact>,
}

impl Role {
    /// The KPI ids of this role's default scorecard, in catalog order.
    pub fn kpi_ids(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for k in &self.kpis {
            if !v.contains(&k.id.as_str()) {
                v.push(&k.id);
            }
        }
        v
    }
    /// The widest span range any source gives.
    /// Why a span of control of `span` direct reports is outside the role's range, if it is.
    pub fn span_flag(&self, span: usize) -> Option<String> {
        let (lo, hi) = self.span_range()?;
        let s = span as u32;
        (s < lo || s > hi).then(|| format!("span {span} outside {lo}–{hi} for {}", self.title))
    }
    pub fn span_range(&self) -> Option<(u32, u32)> {
        let min = self.span.iter().map(|s| s.min).min()?;
        let max = self.span.iter().map(|s| s.max).max()?;
        Some((min, max))
    }
    fn sources(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        v.extend(self.summary.iter().map(|f| f.source.as_str()));
        v.extend(self.reports_to.iter().map(|f| f.source.as_str()));
        v.extend(self.manages.iter().map(|f| f.source.as_str()));
        v.extend(self.span.iter().map(|f| f.source.as_str()));
        v.extend(self.experience.iter().map(|f| f.source.as_str()));
        v.extend(self.education.iter().map(|f| f.source.as_str()));
        v.extend(self.comp.base.iter().map(|f| f.source.as_str()));
        v.extend(
            self.comp
                .bonus_pct_of_base
                .iter()
                .map(|f| f.source.as_str()),
        );
        v.extend(self.comp.total_comp_up_to.iter().map(|f| f.source.as_str()));
        v.extend(self.comp.other.iter().map(|f| f.source.as_str()));
        v.extend(self.comp.equity.iter().map(|f| f.source.as_str()));
        v.extend(self.kpis.iter().map(|f| f.source.as_str()));
        v.extend(self.responsibilities.iter().map(|f| f.source.as_str()));
        for (_, facts) in self.skills.dimensions() {
            v.extend(facts.iter().map(|f| f.source.as_str()));
        }
        v.extend(self.decision_authority.iter().map(|f| f.source.as_str()));
        v.extend(self.budget_authority.iter().map(|f| f.source.as_str()));
        v.extend(self.next_roles.iter().map(|f| f.source.as_str()));
        v.extend(self.challenges.iter().map(|f| f.source.as_str()));
        v.extend(self.hire_when.iter().map(|f| f.source.as_str()));
        v
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    sources: BTreeMap<String, String>,
    #[serde(default)]
    role: Vec<Role>,
}

/// A validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    sources: BTreeMap<String, String>,
    roles: Vec<Role>,
}

impl Catalog {
    /// The catalog compiled into salesorg.
    pub fn builtin() -> Result<Catalog, CoreError> {
        Catalog::parse(DEFAULT_CATALOG)
    }

    pub fn parse(text: &str) -> Result<Catalog, CoreError> {
        let f: CatalogFile = toml::from_str(text).map_err(|e| CoreError::Catalog(e.to_string()))?;
        let c = Catalog {
            sources: f.sources,
            roles: f.role,
        };
        c.validate()?;
        Ok(c)
    }

    /// The built-in catalog with a user's file laid over it: a role with the same id
    /// replaces the built-in one, a new id adds a role, and new sources are added.
    pub fn with_override(text: &str) -> Result<Catalog, CoreError> {
        let base = Catalog::builtin()?;
        let f: CatalogFile = toml::from_str(text).map_err(|e| CoreError::Catalog(e.to_string()))?;
        let mut sources = base.sources;
        sources.extend(f.sources);
        let mut roles = base.roles;
        for r in f.role {
            match roles.iter_mut().find(|x| x.id == r.id) {
                Some(slot) => *slot = r,
                None => roles.push(r),
            }
        }
        let c = Catalog { sources, roles };
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), CoreError> {
        let mut problems = Vec::new();
        let ids: Vec<&str> = self.roles.iter().map(|r| r.id.as_str()).collect();
        for (i, r) in self.roles.iter().enumerate() {
            if ids[..i].contains(&r.id.as_str()) {
                problems.push(format!("role id {:?} appears twice", r.id));
            }
            if !(1..=5).contains(&r.level) {
                problems.push(format!("{}: level {} is not 1..5", r.id, r.level));
            }
            for s in r.sources() {
                if !self.sources.contains_key(s) {
                    problems.push(format!("{}: unknown source {s:?}", r.id));
                }
            }
            for k in &r.kpis {
                if !is_kpi(&k.id) {
                    problems.push(format!("{}: {}", r.id, crate::kpi::unknown_kpi(&k.id)));
                }
            }
            let refs = r
                .reports_to
                .iter()
                .map(|x| x.role.as_str())
                .chain(r.next_roles.iter().map(|x| x.role.as_str()));
            for target in refs {
                if !target.starts_with("external:") && !ids.contains(&target) {
                    problems.push(format!("{}: refers to unknown role {target:?}", r.id));
                }
            }
            for s in &r.span {
                if s.min > s.max {
                    problems.push(format!("{}: span {}..{} is reversed", r.id, s.min, s.max));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Catalog(problems.join("; ")))
        }
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }
    pub fn sources(&self) -> &BTreeMap<String, String> {
        &self.sources
    }
    /// Finds a role by id, title or alias, ignoring case.
    pub fn find(&self, key: &str) -> Option<&Role> {
        let k = key.trim().to_lowercase();
        self.roles.iter().find(|r| {
            r.id == k
                || r.title.to_lowercase() == k
                || r.aliases.iter().any(|a| a.to_lowercase() == k)
        })
    }
    /// Maps a job title from a CRM (e.g. `Director, Inside Sales - EMEA`) to a role by the
    /// longest title or alias it contains.
    pub fn match_title(&self, title: &str) -> Option<&Role> {
        let t = normalize_title(title);
        self.roles
            .iter()
            .flat_map(|r| {
                std::iter::once(&r.title)
                    .chain(r.aliases.iter())
                    .map(move |a| (r, normalize_title(a)))
            })
            .filter(|(_, a)| !a.trim().is_empty() && t.contains(a.as_str()))
            .max_by_key(|(_, a)| a.len())
            .map(|(r, _)| r)
    }
    /// One role as a catalog file of its own (with the catalog's sources), which `--catalog`
    /// lays over the built-in catalog.
    pub fn role_toml(&self, r: &Role) -> String {
        self.file_toml(vec![r.clone()])
    }
    pub fn to_toml(&self) -> String {
        self.file_toml(self.roles.clone())
    }
    /// A catalog file of `roles` with the catalog's sources.
    fn file_toml(&self, role: Vec<Role>) -> String {
        toml::to_string_pretty(&CatalogFile {
            sources: self.sources.clone(),
            role,
        })
        .unwrap_or_default()
    }
}

/// Lower case, punctuation and filler words dropped, "vice president" as "vp", padded with
/// spaces so that matches fall on word boundaries: "Vice President, Sales" → " vp sales ".
fn normalize_title(s: &str) -> String {
    let cleaned: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let cleaned = format!(" {cleaned} ").replace(" vice president ", " vp ");
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .filter(|w| !matches!(*w, "of" | "the" | "and" | "for"))
        .collect();
    format!(" {} ", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid_and_complete() {
        let c = Catalog::builtin().unwrap();
        for title in [
            "Head of Sales",
            "CRO",
            "CSO",
            "VP of Sales",
            "VP of Inside Sales",
            "VP of Sales Operations",
            "Director of Sales",
            "Director of Inside Sales",
            "Director of Sales Operations",
            "Sales Manager",
            "Regional Manager",
            "Inside Sales Team Lead",
            "Sales Representative",
            "Sales Operations Analyst",
            "CRM Administrator",
            "Sales Support Specialist",
            "Sales Enablement Specialist",
            "Sales Analyst",
        ] {
            assert!(c.find(title).is_some(), "{title} missing");
        }
        let dis = c.find("director_inside_sales").unwrap();
        let bases: Vec<(u64, u64, &str)> = dis
            .comp
            .base
            .iter()
            .map(|b| (b.min, b.max, b.source.as_str()))
            .collect();
        assert!(bases.contains(&(100_000, 150_000, "000")));
        assert!(bases.contains(&(120_000, 200_000, "001")));
        assert_eq!(
            c.match_title("Director, Inside Sales").unwrap().id,
            "director_inside_sales"
        );
        assert_eq!(
            c.match_title("Senior Inside Sales Team Lead").unwrap().id,
            "inside_sales_team_lead"
        );
        assert_eq!(
            c.match_title("Vice President, Sales").unwrap().id,
            "vp_sales"
        );
        assert_eq!(
            c.match_title("North American Sales Manager").unwrap().id,
            "sales_manager"
        );
        assert!(c.match_title("Microphone technician").is_none());
    }

    #[test]
    fn override_replaces_by_id_and_is_validated() {
        let c = Catalog::with_override(
            "[[role]]\nid='sales_rep'\ntitle='Account Executive'\nfunction='sales'\nlevel=5\nscope='self'\ncarries_quota=true\n",
        )
        .unwrap();
        assert_eq!(c.find("sales_rep").unwrap().title, "Account Executive");
        let e = Catalog::with_override(
            "[[role]]\nid='x'\ntitle='X'\nfunction='sales'\nlevel=5\nscope='self'\ncarries_quota=true\nkpis=[{id='happiness', source='000'}]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a KPI"), "{e}");
    }
}
