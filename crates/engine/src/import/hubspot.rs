//! stub
use crate::import::{ImportOptions, Loader};
use std::path::Path;
pub fn load(_l: &mut Loader<'_>, _p: &Path, _o: &ImportOptions) -> crate::Result<()> {
    Ok(())
}
