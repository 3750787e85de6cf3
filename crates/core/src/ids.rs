//! Identifier newtypes. Every id is the source system's own id (a Salesforce Id, a HubSpot
//! record id, a Maven agent name), trimmed and non-empty, parsed once at the boundary.

use std::fmt;

use crate::CoreError;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an id: surrounding white space is dropped; empty ids and ids with
            /// control characters are refused.
            pub fn parse(raw: &str) -> Result<Self, CoreError> {
                let t = raw.trim();
                if t.is_empty() {
                    return Err(CoreError::Parse(concat!("empty ", $what, " id").into()));
                }
                if t.chars().any(char::is_control) {
                    return Err(CoreError::Parse(format!(
                        concat!($what, " id {:?} contains a control character"), t)));
                }
                if t.len() > 255 {
                    return Err(CoreError::Parse(concat!($what, " id is longer than 255 bytes").into()));
                }
                Ok(Self(t.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = CoreError;
            fn try_from(s: String) -> Result<Self, CoreError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, CoreError> {
                Self::parse(s)
            }
        }
    };
}

string_id!(/// A person in the org (a CRM user, an employee, a Maven agent or manager).
    PersonId, "person");
string_id!(/// An org unit: company, region, department or team.
    UnitId, "unit");
string_id!(/// A role in the catalog, such as `vp_inside_sales`.
    RoleId, "role");
string_id!(/// A customer account.
    AccountId, "account");
string_id!(/// A lead.
    LeadId, "lead");
string_id!(/// An opportunity (deal).
    OppId, "opportunity");
string_id!(/// An activity: call, email, meeting or task.
    ActivityId, "activity");
