//! Checks an `.xls` workbook before the spreadsheet reader (calamine) opens it. The reader
//! takes in the whole compound file and lays out every sheet as one block when it opens
//! one, trusting what the file says: a damaged file whose cells claim places past the
//! 65,536 × 256 grid made it ask for 12 to 88 GB and abort the process, and a chain of
//! sectors that loops back on itself is followed for ever. This walks the same structures
//! the same way, bounded by the file's own size, and names what is wrong.

/// The rows of an `.xls` sheet (BIFF8).
const XLS_ROWS: u64 = 65_536;
/// The columns of an `.xls` sheet (BIFF8).
const XLS_COLS: u64 = 256;

/// The compound file's sector marks (MS-CFB 2.1): the end of a chain, and the first id
/// that is no sector (the reader follows the DIFAT's chain while ids are below it).
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const RESERVED: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;

/// Why the check stopped early.
enum Stop {
    /// The file is damaged in a way the reader would not survive, or would take far more
    /// memory for than the file holds, or the reader would lay out more than salesorg reads
    /// from a workbook: refuse it, for this reason.
    Refuse(String),
    /// The reader refuses what follows with its own error: let it.
    Reader,
}

type Checked<T> = Result<T, Stop>;

/// The refusal of a damaged file, for `why`.
fn damaged(why: impl std::fmt::Display) -> Stop {
    Stop::Refuse(format!("the file is damaged: {why}"))
}

fn u16_at(b: &[u8], at: usize) -> Checked<u16> {
    let s = b.get(at..at + 2).ok_or(Stop::Reader)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Checked<u32> {
    let s = b.get(at..at + 4).ok_or(Stop::Reader)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// Why the `.xls` workbook `bytes` must not be handed to the reader, if it must not: the
/// compound file's chains loop or point past their tables, a stream claims more bytes
/// than the file holds, the file is an encrypted workbook, a sheet starts past the end of
/// the workbook, a sheet's cells (or its own stated dimensions) span more than an `.xls`
/// sheet's 65,536 × 256 cells, or all the sheets' blocks more than one such sheet.
pub(super) fn refusal(bytes: &[u8]) -> Option<String> {
    match check(bytes) {
        Err(Stop::Refuse(why)) => Some(why),
        Ok(()) | Err(Stop::Reader) => None,
    }
}

/// The compound file as the reader loads it: sectors after the header, numbered from 0.
struct Cfb<'a> {
    body: &'a [u8],
    size: usize,
    /// The last sector id the reader accepts (the file's length over the sector size).
    maxid: u32,
}

impl<'a> Cfb<'a> {
    fn sector(&self, id: u32) -> Checked<&'a [u8]> {
        if id > self.maxid {
            return Err(Stop::Reader);
        }
        let start = id as usize * self.size;
        if start >= self.body.len() {
            return Err(damaged(format!(
                "sector {id} lies past the end of the file"
            )));
        }
        Ok(&self.body[start..(start + self.size).min(self.body.len())])
    }

    /// The chain of sectors from `id` through `table`, as bytes (cut to `len` when it is
    /// not 0); `read` gives a sector's bytes. The reader follows a chain until its end mark,
    /// so one that comes back on itself, or names an id past its table, is refused.
    fn chain<'s>(
        what: &str,
        mut id: u32,
        table: &[u32],
        len: usize,
        limit: usize,
        read: impl Fn(u32) -> Checked<&'s [u8]>,
    ) -> Checked<Vec<u8>> {
        let mut out = Vec::new();
        let mut steps = 0usize;
        while id != ENDOFCHAIN {
            steps += 1;
            if steps > limit {
                return Err(damaged(format!("the chain of sectors of {what} loops")));
            }
            out.extend_from_slice(read(id)?);
            id = *table.get(id as usize).ok_or_else(|| {
                damaged(format!(
                    "the chain of sectors of {what} names sector {id}, past its allocation table of {}",
                    table.len()
                ))
            })?;
        }
        if len > 0 {
            out.truncate(len);
        }
        Ok(out)
    }
}

fn check(bytes: &[u8]) -> Checked<()> {
    // the header (MS-CFB 2.2), read as the reader reads it
    if bytes.get(..8) != Some(&super::OLE_SIGNATURE[..]) {
        return Err(Stop::Reader);
    }
    let (size, header) = match u16_at(bytes, 30)? {
        9 => (512usize, 512usize),
        12 => (4096, 4096),
        _ => return Err(Stop::Reader),
    };
    if u16_at(bytes, 32)? != 6 {
        return Err(Stop::Reader);
    }
    let body = bytes.get(header..).ok_or(Stop::Reader)?;
    let cfb = Cfb {
        body,
        size,
        maxid: u32::try_from(bytes.len() / size).unwrap_or(u32::MAX),
    };
    let sectors = body.len().div_ceil(size);
    let claims = |what: &str, n: u32| -> Checked<usize> {
        // (a count of sectors the reader sets room aside for)
        if n as usize > sectors {
            return Err(damaged(format!(
                "its header counts {n} sectors of {what}, and the file holds {sectors}"
            )));
        }
        Ok(n as usize)
    };
    let dir_len = claims("directory", u32_at(bytes, 40)?)?;
    claims("allocation table", u32_at(bytes, 44)?)?;
    let dir_start = u32_at(bytes, 48)?;
    let mini_fat_start = u32_at(bytes, 60)?;
    let mini_fat_len = claims("mini allocation table", u32_at(bytes, 64)?)?;
    let difat_start = u32_at(bytes, 68)?;

    // the allocation table's own table (the DIFAT): 109 ids in the header, then a chain of
    // sectors, each ending with the next one's id
    let mut difat: Vec<u32> = u32s(&bytes[76..512]).collect();
    let mut id = difat_start;
    let mut steps = 0;
    while id < RESERVED {
        steps += 1;
        if steps > sectors {
            return Err(damaged("the chain of its allocation table's sectors loops"));
        }
        difat.extend(u32s(cfb.sector(id)?));
        id = difat.pop().unwrap_or(ENDOFCHAIN);
    }
    let mut fat = Vec::new();
    for id in difat.into_iter().filter(|&id| id < DIFSECT) {
        fat.extend(u32s(cfb.sector(id)?));
    }
    let big = |id| cfb.sector(id);
    let dirs = Cfb::chain(
        "the directory",
        dir_start,
        &fat,
        dir_len * size,
        sectors,
        big,
    )?;
    // each entry: its name (UTF-16), its first sector and its length (MS-CFB 2.6)
    let entries: Vec<(String, u32, u64)> = dirs
        .chunks(128)
        .filter(|e| e.len() == 128)
        .map(|e| {
            let units: Vec<u16> = e[..64]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            let len = if size == 512 {
                u64::from(u32::from_le_bytes([e[120], e[121], e[122], e[123]]))
            } else {
                u64::from_le_bytes(e[120..128].try_into().unwrap_or([0; 8]))
            };
            let start = u32::from_le_bytes([e[116], e[117], e[118], e[119]]);
            (String::from_utf16_lossy(&units), start, len)
        })
        .collect();
    let stated = |name: &str, len: u64| -> Checked<usize> {
        if len > bytes.len() as u64 {
            return Err(damaged(format!(
                "its stream {name:?} says it holds {len} bytes, and the file holds {}",
                bytes.len()
            )));
        }
        Ok(len as usize)
    };
    let Some(root) = entries.first() else {
        return Err(Stop::Reader);
    };
    // (an .xlsx or .xlsb saved with a password is a compound file too, holding the
    // workbook encrypted (MS-OFFCRYPTO): the reader would look for an .xls's stream in it)
    if entries.iter().any(|e| e.0 == "EncryptedPackage") {
        return Err(Stop::Refuse(
            "the workbook is encrypted with a password (saved with \"Encrypt with Password\"): save it without the password, or export CSV".into(),
        ));
    }
    // the mini stream (in the root entry's chain), and its allocation table
    let (mini, mini_fat) = if mini_fat_len > 0 {
        let len = stated(&root.0, root.2)?;
        let mini = Cfb::chain("the mini stream", root.1, &fat, len, sectors, big)?;
        let table = Cfb::chain(
            "the mini allocation table",
            mini_fat_start,
            &fat,
            mini_fat_len * size,
            sectors,
            big,
        )?;
        (mini, u32s(&table).collect::<Vec<u32>>())
    } else {
        (Vec::new(), Vec::new())
    };
    let mini_sector = |id: u32| -> Checked<&[u8]> {
        let start = id as usize * 64;
        mini.get(start..start + 64).ok_or_else(|| {
            damaged(format!(
                "mini sector {id} lies past the end of the mini stream"
            ))
        })
    };
    // the workbook stream, "Workbook" (BIFF8) or "Book" (BIFF5), as the reader finds it
    let mut stream = None;
    for name in ["Workbook", "Book"] {
        if let Some(e) = entries.iter().find(|e| e.0 == name) {
            let len = stated(name, e.2)?;
            let what = format!("stream {name:?}");
            stream = Some(if len < 4096 {
                Cfb::chain(&what, e.1, &mini_fat, len, mini.len() / 64 + 1, mini_sector)?
            } else {
                Cfb::chain(&what, e.1, &fat, len, sectors, big)?
            });
            break;
        }
    }
    let Some(stream) = stream else {
        return Err(Stop::Reader);
    };
    check_sheets(&stream)
}

/// The records of a BIFF stream from its start, as the reader splits them: a type, a
/// length and as many bytes; the CONTINUE records (0x003C) that follow a record are part
/// of it.
fn records(mut s: &[u8]) -> impl Iterator<Item = Checked<(u16, &[u8])>> {
    std::iter::from_fn(move || {
        if s.is_empty() {
            return None;
        }
        let head = |s: &[u8]| -> Checked<(u16, usize)> {
            let t = u16_at(s, 0)?;
            let len = usize::from(u16_at(s, 2)?);
            if s.len() < len + 4 {
                return Err(Stop::Reader);
            }
            Ok((t, len))
        };
        let (t, len) = match head(s) {
            Ok(h) => h,
            Err(e) => return Some(Err(e)),
        };
        let data = &s[4..4 + len];
        s = &s[4 + len..];
        while s.len() > 4 && u16_at(s, 0).is_ok_and(|t| t == 0x003C) {
            match head(s) {
                Ok((_, len)) => s = &s[4 + len..],
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok((t, data)))
    })
}

/// The rows and columns from the first to the last of a sheet's cells (from 0), and the
/// farthest of them.
#[derive(Default)]
struct Extent(Option<(u32, u32, u32, u32)>, (u32, u32));

impl Extent {
    fn add(&mut self, (row, col): (u32, u32)) {
        let (r0, r1, c0, c1) = self.0.unwrap_or((row, row, col, col));
        self.0 = Some((r0.min(row), r1.max(row), c0.min(col), c1.max(col)));
        if (col, row) > (self.1.1, self.1.0) {
            self.1 = (row, col);
        }
    }

    /// The cells of the block the reader lays out, from the first row and column to the
    /// last; refused past an `.xls` sheet's grid.
    fn block(&self, sheet: &str, what: &str) -> Checked<u64> {
        let Some((r0, r1, c0, c1)) = self.0 else {
            return Ok(0);
        };
        let rows = u64::from(r1 - r0) + 1;
        let cols = u64::from(c1 - c0) + 1;
        if rows * cols > XLS_ROWS * XLS_COLS {
            return Err(damaged(format!(
                "the {what} of sheet {sheet:?} span {rows} rows by {cols} columns (they reach {}), more than the {XLS_ROWS} rows by {XLS_COLS} columns an .xls sheet holds",
                super::cell_name((u64::from(self.1.0), u64::from(self.1.1)))
            )));
        }
        Ok(rows * cols)
    }
}

/// The workbook stream's sheets (MS-XLS): where each starts (its BoundSheet8 record in the
/// globals), and the places of its cells and formulas and its DIMENSIONS record.
fn check_sheets(stream: &[u8]) -> Checked<()> {
    let mut sheets = Vec::new();
    let mut biff8 = true;
    for r in records(stream) {
        let (t, data) = r?;
        match t {
            // BOF: the version
            0x0809 => {
                let v = u16_at(data, 0)?;
                let dt = u16_at(data, 2).unwrap_or(0);
                let earlier = matches!(v, 0x0200 | 0x0002 | 0x0007 | 0x0300 | 0x0400 | 0x0500);
                biff8 = !(earlier || v == 0 && dt == 0x1000);
            }
            // BoundSheet8: the sheet's start and its name (a short string)
            0x0085 => {
                let pos = u32_at(data, 0)? as usize;
                let cch = usize::from(*data.get(6).ok_or(Stop::Reader)?);
                let name = if biff8 && data.get(7).is_some_and(|f| f & 1 != 0) {
                    let units: Vec<u16> = data
                        .get(8..)
                        .unwrap_or_default()
                        .chunks_exact(2)
                        .take(cch)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16_lossy(&units)
                } else {
                    let from = if biff8 { 8 } else { 7 };
                    let b = data.get(from..).unwrap_or_default();
                    b.iter().take(cch).map(|&c| char::from(c)).collect()
                };
                sheets.push((pos, name));
            }
            0x000A => break,
            _ => {}
        }
    }
    let mut laid_out = Vec::new();
    for (pos, name) in sheets {
        let Some(sheet) = stream.get(pos..) else {
            return Err(damaged(format!(
                "sheet {name:?} starts at byte {pos} of the workbook stream, which holds {}",
                stream.len()
            )));
        };
        let (mut cells, mut formulas) = (Extent::default(), Extent::default());
        let mut formula_at = (0, 0);
        for r in records(sheet) {
            let (t, data) = r?;
            let at = || -> Checked<(u32, u32)> {
                Ok((u32::from(u16_at(data, 0)?), u32::from(u16_at(data, 2)?)))
            };
            match t {
                // DIMENSIONS: the reader sets aside room for the block it states
                0x0200 => {
                    let (rf, rl, cf, cl) = match data.len() {
                        10 => (
                            u32::from(u16_at(data, 0)?),
                            u32::from(u16_at(data, 2)?),
                            u32::from(u16_at(data, 4)?),
                            u32::from(u16_at(data, 6)?),
                        ),
                        14 => (
                            u32_at(data, 0)?,
                            u32_at(data, 4)?,
                            u32::from(u16_at(data, 8)?),
                            u32::from(u16_at(data, 10)?),
                        ),
                        _ => return Err(Stop::Reader),
                    };
                    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
                    let (rows, cols) = if rl >= 1 && cl >= 1 {
                        (
                            u64::from((rl - 1).wrapping_sub(rf).wrapping_add(1)),
                            u64::from((cl - 1).wrapping_sub(cf).wrapping_add(1)),
                        )
                    } else {
                        (1, 1)
                    };
                    if rows.saturating_mul(cols) > XLS_ROWS * XLS_COLS {
                        return Err(damaged(format!(
                            "sheet {name:?} states it spans {rows} rows by {cols} columns, more than the {XLS_ROWS} rows by {XLS_COLS} columns an .xls sheet holds"
                        )));
                    }
                }
                // a number, a label, a boolean or error, an RK number, a shared string
                0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD => cells.add(at()?),
                // a formula's result, and its text
                0x0006 => {
                    formula_at = at()?;
                    cells.add(formula_at);
                    formulas.add(formula_at);
                }
                // a formula's text result, at the formula's place
                0x0207 => cells.add(formula_at),
                // several RK numbers in a row, from a first column on
                0x00BD => {
                    let (row, first) = at()?;
                    let n = (data.len().saturating_sub(6) / 6) as u32;
                    if n > 0 {
                        cells.add((row, first));
                        cells.add((row, first + n - 1));
                    }
                }
                0x000A => break,
                _ => {}
            }
        }
        let blocks = cells.block(&name, "cells")? + formulas.block(&name, "formulas")?;
        laid_out.push((name, blocks));
    }
    // (the reader lays out every sheet, and its formulas, when the workbook is opened: a
    // sound workbook's blocks come to more than one whole sheet only where it is far larger
    // than the file a damaged one can be)
    let total: u64 = laid_out.iter().map(|(_, n)| n).sum();
    if total > XLS_ROWS * XLS_COLS {
        let each: Vec<String> = laid_out
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name:?} {n}"))
            .collect();
        return Err(Stop::Refuse(format!(
            "its sheets' cells span {total} cells in all ({}), more than the {} of one whole .xls sheet, which is as much as salesorg reads from an .xls workbook: save the sheet as .xlsx or CSV",
            each.join(", "),
            XLS_ROWS * XLS_COLS
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compound file of 512-byte sectors holding `stream` as "Workbook": sector 0 is the
    /// allocation table, sector 1 the directory; a stream of 4096 bytes or more from
    /// sector 2 on, a shorter one in the mini stream (its table sector 2, the mini stream
    /// from sector 3 on, as the root entry's chain).
    fn compound(stream: &[u8]) -> Vec<u8> {
        let mini = stream.len() < 4096;
        // (the sectors after the directory: the mini table and the mini stream, or the
        // stream)
        let body: Vec<u8> = if mini {
            let k = stream.len().div_ceil(64);
            let mut table = vec![0xFFFF_FFFFu32; 128];
            for (i, next) in table.iter_mut().enumerate().take(k) {
                *next = if i + 1 == k { ENDOFCHAIN } else { i as u32 + 1 };
            }
            let mut b: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
            b.extend(stream);
            b
        } else {
            stream.to_vec()
        };
        let n = body.len().div_ceil(512) as u32;
        let mut h = vec![0u8; 512];
        h[..8].copy_from_slice(&crate::csvread::OLE_SIGNATURE);
        h[26..28].copy_from_slice(&3u16.to_le_bytes());
        h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        h[30..32].copy_from_slice(&9u16.to_le_bytes());
        h[32..34].copy_from_slice(&6u16.to_le_bytes());
        h[44..48].copy_from_slice(&1u32.to_le_bytes());
        h[48..52].copy_from_slice(&1u32.to_le_bytes());
        h[56..60].copy_from_slice(&4096u32.to_le_bytes());
        let (mini_start, mini_len) = if mini { (2u32, 1u32) } else { (ENDOFCHAIN, 0) };
        h[60..64].copy_from_slice(&mini_start.to_le_bytes());
        h[64..68].copy_from_slice(&mini_len.to_le_bytes());
        h[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        for i in 0..109 {
            let id: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            h[76 + 4 * i..80 + 4 * i].copy_from_slice(&id.to_le_bytes());
        }
        let mut fat = vec![0xFFFF_FFFFu32; 128];
        fat[0] = 0xFFFF_FFFD;
        fat[1] = ENDOFCHAIN;
        // (the stream's chain, or the mini table's sector and the mini stream's chain)
        let chains: Vec<(u32, u32)> = if mini {
            vec![(2, 1), (3, n - 1)]
        } else {
            vec![(2, n)]
        };
        for (from, len) in chains {
            for i in 0..len {
                let id = from + i;
                fat[id as usize] = if i + 1 == len { ENDOFCHAIN } else { id + 1 };
            }
        }
        let mut out = h;
        out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
        let mut dir = vec![0u8; 512];
        let mut entry = |at: usize, name: &str, kind: u8, start: u32, len: u32| {
            for (i, u) in name.encode_utf16().enumerate() {
                dir[at + 2 * i..at + 2 * i + 2].copy_from_slice(&u.to_le_bytes());
            }
            dir[at + 64..at + 66].copy_from_slice(&((name.len() as u16 + 1) * 2).to_le_bytes());
            dir[at + 66] = kind;
            for k in [68, 72, 76] {
                dir[at + k..at + k + 4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            }
            dir[at + 116..at + 120].copy_from_slice(&start.to_le_bytes());
            dir[at + 120..at + 124].copy_from_slice(&len.to_le_bytes());
        };
        if mini {
            let k = stream.len().div_ceil(64) as u32;
            entry(0, "Root Entry", 5, 3, k * 64);
            entry(128, "Workbook", 2, 0, stream.len() as u32);
        } else {
            entry(0, "Root Entry", 5, ENDOFCHAIN, 0);
            entry(128, "Workbook", 2, 2, stream.len() as u32);
        }
        out.extend(dir);
        out.extend(body);
        out.resize(512 + 512 * (2 + n as usize), 0);
        out
    }

    fn record(t: u16, data: &[u8]) -> Vec<u8> {
        let mut r = t.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    /// A workbook stream of one sheet, "S", whose records are `cells` (a BOF and EOF
    /// around each part, padded to 4096 bytes with a record the reader skips).
    fn workbook(cells: &[Vec<u8>]) -> Vec<u8> {
        let mut s = small_workbook(cells);
        while s.len() < 4096 {
            s.extend(record(0x0001, &[0; 100]));
        }
        s
    }

    /// [`workbook`] unpadded (kept in the mini stream).
    fn small_workbook(cells: &[Vec<u8>]) -> Vec<u8> {
        let bof = record(0x0809, &[0, 6, 5, 0, 0, 0, 0, 0]);
        let globals_len = bof.len() + (4 + 9) + 4;
        let mut s = bof.clone();
        // its start, visible, a worksheet, and its name: 1 character, not UTF-16
        let mut sheet = (globals_len as u32).to_le_bytes().to_vec();
        sheet.extend([0, 0, 1, 0, b'S']);
        s.extend(record(0x0085, &sheet));
        s.extend(record(0x000A, &[]));
        assert_eq!(s.len(), globals_len);
        s.extend(bof);
        for c in cells {
            s.extend(c);
        }
        s.extend(record(0x000A, &[]));
        s
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend([0; 10]);
        record(0x0203, &d)
    }

    #[test]
    fn a_sound_workbook_passes_and_calamine_reads_it() {
        use calamine::Reader;
        // (the whole grid passes; calamine is shown a smaller sheet)
        let whole = compound(&workbook(&[number(0, 0), number(65_535, 255)]));
        assert_eq!(refusal(&whole), None);
        let book = compound(&workbook(&[number(0, 0), number(9, 3)]));
        assert_eq!(refusal(&book), None);
        let mut x = calamine::Xls::new(std::io::Cursor::new(book)).expect("opens");
        assert_eq!(x.sheet_names(), vec!["S".to_owned()]);
        let range = x.worksheet_range("S").expect("reads");
        assert_eq!(range.get_size(), (10, 4));
    }

    #[test]
    fn a_workbook_in_the_mini_stream_passes_and_a_loop_in_its_chain_is_refused() {
        use calamine::Reader;
        let book = compound(&small_workbook(&[number(0, 0), number(4, 2)]));
        assert_eq!(refusal(&book), None);
        let mut x = calamine::Xls::new(std::io::Cursor::new(book.clone())).expect("opens");
        assert_eq!(x.worksheet_range("S").expect("reads").get_size(), (5, 3));
        // the mini table (sector 2, after the header and two sectors) sends the stream's
        // second mini sector back to its first
        let mut looped = book.clone();
        let at = 512 + 2 * 512 + 4;
        looped[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            refusal(&looped).as_deref(),
            Some("the file is damaged: the chain of sectors of stream \"Workbook\" loops")
        );
        // or past the mini stream's end
        let mut past = book.clone();
        past[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
        assert_eq!(
            refusal(&past).as_deref(),
            Some("the file is damaged: mini sector 100 lies past the end of the mini stream")
        );
        // cells past the grid, read through the mini stream
        let far = compound(&small_workbook(&[number(0, 0), number(65_535, 65_535)]));
        assert!(refusal(&far).is_some_and(|w| w.contains("65536 rows by 65536 columns")));
    }

    #[test]
    fn cells_past_the_grid_are_refused_naming_the_farthest() {
        let book = compound(&workbook(&[number(0, 0), number(1_000, 40_000)]));
        let why = refusal(&book).expect("refused");
        assert_eq!(
            why,
            "the file is damaged: the cells of sheet \"S\" span 1001 rows by 40001 columns (they reach BGDM1001), more than the 65536 rows by 256 columns an .xls sheet holds"
        );
        // (and a MulRk reaching past it, from its first column and count)
        let mut d = 7u16.to_le_bytes().to_vec();
        d.extend(65_000u16.to_le_bytes());
        d.extend([0; 6 * 3]);
        d.extend(65_002u16.to_le_bytes());
        let book = compound(&workbook(&[number(65_535, 0), record(0x00BD, &d)]));
        assert!(refusal(&book).is_some_and(|w| w.contains("65529 rows by 65003 columns")));
    }

    #[test]
    fn blocks_past_one_whole_sheet_in_all_are_refused() {
        // a whole sheet of cells, and one formula: the formulas are laid out too
        let mut f = 3u16.to_le_bytes().to_vec();
        f.extend(3u16.to_le_bytes());
        f.extend([0; 18]);
        let book = compound(&workbook(&[
            number(0, 0),
            number(65_535, 255),
            record(0x0006, &f),
        ]));
        assert_eq!(
            refusal(&book).as_deref(),
            Some(
                "its sheets' cells span 16777217 cells in all (\"S\" 16777217), more than the 16777216 of one whole .xls sheet, which is as much as salesorg reads from an .xls workbook: save the sheet as .xlsx or CSV"
            )
        );
    }

    #[test]
    fn stated_dimensions_past_the_grid_are_refused() {
        let mut d = 0u32.to_le_bytes().to_vec();
        d.extend(u32::MAX.to_le_bytes());
        d.extend([0, 0, 2, 0, 0, 0]);
        let why = refusal(&compound(&workbook(&[record(0x0200, &d)]))).expect("refused");
        assert!(
            why.contains("states it spans 4294967295 rows by 2 columns"),
            "{why}"
        );
    }

    #[test]
    fn a_looping_chain_or_an_id_past_the_table_is_refused() {
        let good = compound(&workbook(&[number(1, 1)]));
        // the stream's second sector points back to its first
        let mut looped = good.clone();
        let at = 512 + 4 * 3;
        looped[at..at + 4].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            refusal(&looped).as_deref(),
            Some("the file is damaged: the chain of sectors of stream \"Workbook\" loops")
        );
        // (the reader's last sector id is the file's length over 512: past its end)
        let mut past = good.clone();
        let last = (good.len() / 512) as u32;
        past[at..at + 4].copy_from_slice(&last.to_le_bytes());
        assert!(refusal(&past).is_some_and(|w| w.contains("past the end of the file")));
        // a stream that claims more than the file
        let mut long = good.clone();
        let at = 512 * 2 + 128 + 120;
        long[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(refusal(&long).is_some_and(|w| w.contains("says it holds 4294967295 bytes")));
        // the DIFAT's own chain looping on a sector
        let mut difat = good.clone();
        difat[68..72].copy_from_slice(&0u32.to_le_bytes());
        let fat = 512;
        difat[fat + 508..fat + 512].copy_from_slice(&0u32.to_le_bytes());
        assert!(
            refusal(&difat).is_some_and(|w| w.contains("loops")),
            "{:?}",
            refusal(&difat)
        );
    }

    #[test]
    fn an_encrypted_workbook_is_refused_saying_so() {
        let mut book = compound(&workbook(&[number(1, 1)]));
        // (the second directory entry renamed: an encrypted workbook's package)
        let at = 512 + 512 + 128;
        book[at..at + 64].fill(0);
        for (i, u) in "EncryptedPackage".encode_utf16().enumerate() {
            book[at + 2 * i..at + 2 * i + 2].copy_from_slice(&u.to_le_bytes());
        }
        assert_eq!(
            refusal(&book).as_deref(),
            Some(
                "the workbook is encrypted with a password (saved with \"Encrypt with Password\"): save it without the password, or export CSV"
            )
        );
    }

    #[test]
    fn a_sheet_past_the_stream_is_refused() {
        let mut s = workbook(&[number(1, 1)]);
        // the BoundSheet8 record follows the BOF (4 + 8 bytes): its position is its data
        s[12 + 4..12 + 8].copy_from_slice(&9_999_999u32.to_le_bytes());
        let why = refusal(&compound(&s)).expect("refused");
        assert!(why.contains("sheet \"S\" starts at byte 9999999"), "{why}");
    }

    #[test]
    fn what_is_not_a_compound_file_is_left_to_the_reader_and_one_cut_short_is_refused() {
        assert_eq!(refusal(b""), None);
        assert_eq!(refusal(b"Id,Name\n1,a\n"), None);
        // (a file cut short is damaged: its directory lies past its end)
        let mut cut = compound(&workbook(&[number(1, 1)]));
        cut.truncate(600);
        assert_eq!(
            refusal(&cut).as_deref(),
            Some("the file is damaged: sector 1 lies past the end of the file")
        );
    }
}
