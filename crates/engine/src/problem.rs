//! Input problems, each pinned to `file:line:column` with a reason, and the list of them an
//! import refuses a batch with.

use std::fmt;

/// One problem in an input file. `line` 0 means the whole file; `column` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub column: Option<usize>,
    pub reason: String,
}

impl Problem {
    pub fn file(file: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            line: 0,
            column: None,
            reason: reason.into(),
        }
    }
    pub fn at(file: &str, line: u64, column: Option<usize>, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            line,
            column,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.reason),
            (l, None) => write!(f, "{}:{l}: {}", self.file, self.reason),
            (l, Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.reason),
        }
    }
}

/// Every problem found in a batch, in file and line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

/// How many problems are printed before "and N more".
pub const SHOWN: usize = 200;

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.0.dedup();
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the import was refused and nothing was written: {} problem{}",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )?;
        for p in self.0.iter().take(SHOWN) {
            writeln!(f, "{p}")?;
        }
        if self.0.len() > SHOWN {
            writeln!(f, "... and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}
