//! stub
use std::path::Path;
use crate::import::{Loader, ImportOptions};
pub fn load(_l: &mut Loader<'_>, _p: &Path, _o: &ImportOptions) -> crate::Result<()> { Ok(()) }
