//! Record ids as a drill-down book holds them: as they came (offsets into one text) while
//! the book is built, then packed where that is smaller: the prefix every id of the column
//! shares once, and each id's rest in a few bits a character, from the few characters the
//! column's ids use (digits, a CRM's base-62 letters). At 10M opportunities the demo's 63.5M
//! record ids took 1.09 GB as text; packed, 0.31 GB.

use std::borrow::Cow;

/// An id's sort key: its first 16 bytes (zero-padded) as two big-endian integers, then its
/// length capped at 17. Two keys compare as their ids' text does, unless both are 17 (two
/// ids longer than 16 bytes that share their first 16), when only the text can tell.
pub type IdHead = (u64, u64, u32);

/// The [`IdHead`] of an id's bytes.
#[inline]
pub fn id_head(b: &[u8]) -> IdHead {
    let n = b.len().min(16);
    let mut a = [0u8; 16];
    a[..n].copy_from_slice(&b[..n]);
    let hi = u64::from_be_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]);
    let lo = u64::from_be_bytes([a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]]);
    (hi, lo, b.len().min(17) as u32)
}

/// The longest prefix packed ids share that is held (a longer shared prefix is cut here,
/// on a character's boundary).
pub const MAX_PREFIX: usize = 64;
/// The most bits an id's packed rest takes.
const MAX_BITS: usize = 128;
/// What an id the packed form decodes to can be at most.
const MAX_LEN: usize = MAX_PREFIX + MAX_BITS;

/// Record ids, kept only when the book is built for `explain` (the scorecard itself
/// never needs them), and each account's id.
#[derive(Debug, Default, Clone)]
pub struct Ids {
    off: Vec<u32>,
    buf: String,
    /// The packed form; `off` and `buf` are then empty.
    packed: Option<Packed>,
}

/// Ids packed: `prefix`, then each id's rest as `width` codes of `bits` bits, low bits
/// first, in `stride` bytes an id; code 0 ends a rest shorter than `width`, code `c` is
/// the byte `alphabet[c]` (ASCII).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Packed {
    n: usize,
    prefix: String,
    width: u8,
    bits: u8,
    stride: u8,
    /// `1 << bits` bytes, every one ASCII (a code no id uses reads as `?`).
    alphabet: Vec<u8>,
    data: Vec<u8>,
}

/// The packed form's pieces, to write out and read back ([`Ids::packed_parts`],
/// [`Ids::from_packed_parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedParts<'a> {
    pub n: usize,
    pub prefix: &'a str,
    pub width: u8,
    pub bits: u8,
    pub alphabet: &'a [u8],
    pub data: &'a [u8],
}

/// How a column of ids packs: worked out from the ids alone, in any order.
struct Plan {
    prefix: usize,
    width: usize,
    bits: usize,
    stride: usize,
    /// The code of each byte (0: not used).
    code: [u8; 256],
    alphabet: Vec<u8>,
}

impl Plan {
    /// The plan for ids `all`, when packing them takes fewer bytes than their text and
    /// offsets do.
    fn of<'a>(all: impl Iterator<Item = &'a str> + Clone) -> Option<Plan> {
        Plan::of_each(|f| all.clone().for_each(f))
    }

    /// [`Plan::of`] for ids that `each` hands to its argument one at a time (called
    /// twice: ids read back from packed chunks are not held).
    fn of_each(each: impl Fn(&mut dyn FnMut(&str))) -> Option<Plan> {
        let mut first: Option<String> = None;
        let mut prefix = 0usize;
        let (mut n, mut text) = (0usize, 0usize);
        each(&mut |id: &str| {
            match &first {
                None => {
                    first = Some(id.to_owned());
                    prefix = id.len();
                }
                Some(f) => {
                    let same = f.as_bytes()[..prefix]
                        .iter()
                        .zip(id.as_bytes())
                        .take_while(|(a, b)| a == b)
                        .count();
                    prefix = same;
                }
            }
            n += 1;
            text += id.len();
        });
        let f = first?;
        prefix = prefix.min(MAX_PREFIX);
        while !f.is_char_boundary(prefix) {
            prefix -= 1;
        }
        let mut used = [false; 256];
        let mut width = 0usize;
        each(&mut |id: &str| {
            let rest = &id.as_bytes()[prefix.min(id.len())..];
            width = width.max(rest.len());
            for &b in rest {
                used[b as usize] = true;
            }
        });
        if used[128..].iter().any(|&u| u) || width > MAX_BITS {
            return None;
        }
        let k = used.iter().filter(|&&u| u).count();
        // (code 0 ends an id; k codes more)
        let bits = (usize::BITS - k.leading_zeros()).max(1) as usize;
        if width * bits > MAX_BITS {
            return None;
        }
        let stride = (width * bits).div_ceil(8);
        let raw = text + 4 * (n + 1);
        if n.checked_mul(stride)? >= raw {
            return None;
        }
        let mut code = [0u8; 256];
        let mut alphabet = vec![b'?'; 1 << bits];
        let mut c = 0usize;
        for (b, _) in used.iter().enumerate().filter(|(_, u)| **u) {
            c += 1;
            code[b] = c as u8;
            alphabet[c] = b as u8;
        }
        Some(Plan {
            prefix,
            width,
            bits,
            stride,
            code,
            alphabet,
        })
    }

    fn pack<'a>(&self, all: impl Iterator<Item = &'a str>, prefix: &str) -> Packed {
        self.pack_each(|f| all.for_each(f), prefix)
    }

    /// [`Plan::pack`] for ids that `each` hands to its argument one at a time.
    fn pack_each(&self, each: impl FnOnce(&mut dyn FnMut(&str)), prefix: &str) -> Packed {
        let mut data = Vec::new();
        let mut n = 0usize;
        each(&mut |id: &str| {
            let mut v = 0u128;
            for (j, &b) in id.as_bytes()[self.prefix.min(id.len())..]
                .iter()
                .enumerate()
            {
                v |= u128::from(self.code[b as usize]) << (j * self.bits);
            }
            data.extend_from_slice(&v.to_le_bytes()[..self.stride]);
            n += 1;
        });
        Packed {
            n,
            prefix: prefix.to_owned(),
            width: self.width as u8,
            bits: self.bits as u8,
            stride: self.stride as u8,
            alphabet: self.alphabet.clone(),
            data,
        }
    }
}

impl Packed {
    /// Id `i` written into `buf`: its length there (0 past the end).
    #[inline]
    fn decode(&self, i: usize, buf: &mut [u8; MAX_LEN]) -> usize {
        let s = usize::from(self.stride);
        // (ids that are all their prefix take no bytes: the count says where they end)
        let Some(bytes) = self.data.get(i * s..i * s + s).filter(|_| i < self.n) else {
            return 0;
        };
        let p = self.prefix.len();
        buf[..p].copy_from_slice(self.prefix.as_bytes());
        let mut w = [0u8; 16];
        w[..s].copy_from_slice(bytes);
        let mut v = u128::from_le_bytes(w);
        let mask = (1u128 << self.bits) - 1;
        let mut len = p;
        for _ in 0..self.width {
            let c = (v & mask) as usize;
            if c == 0 {
                break;
            }
            buf[len] = self.alphabet[c];
            len += 1;
            v >>= self.bits;
        }
        len
    }
}

impl Ids {
    /// Adds an id after the others (to ids as they came: packed ids are first unpacked).
    pub fn push(&mut self, id: &str) {
        if self.packed.is_some() {
            *self = self.unpacked();
        }
        if self.off.is_empty() {
            self.off.push(0);
        }
        self.buf.push_str(id);
        self.off.push(self.buf.len() as u32);
    }
    /// Id `i` (empty past the end): borrowed from ids as they came, made from packed ones.
    pub fn get(&self, i: usize) -> Cow<'_, str> {
        match &self.packed {
            None => Cow::Borrowed(self.raw(i)),
            Some(_) => Cow::Owned(self.with(i, str::to_owned)),
        }
    }
    fn raw(&self, i: usize) -> &str {
        match (self.off.get(i), self.off.get(i + 1)) {
            (Some(&a), Some(&b)) => self.buf.get(a as usize..b as usize).unwrap_or(""),
            _ => "",
        }
    }
    /// `f` of id `i` (empty past the end), made without an allocation.
    #[inline]
    pub fn with<R>(&self, i: usize, f: impl FnOnce(&str) -> R) -> R {
        match &self.packed {
            None => f(self.raw(i)),
            Some(p) => {
                let mut buf = [0u8; MAX_LEN];
                let len = p.decode(i, &mut buf);
                // (the prefix is text and every code's byte ASCII: always text)
                f(std::str::from_utf8(&buf[..len]).unwrap_or(""))
            }
        }
    }
    /// Whether any id could hold `needle` (lower-cased) in any case: `false` only for
    /// packed ids none of whose characters (the shared prefix's and the codes') is one of
    /// the needle's, so that a text filter need not read one of them back (a rep's name
    /// against `ACT-F00000121`).
    pub fn may_hold(&self, needle: &str) -> bool {
        let Some(p) = &self.packed else {
            return true;
        };
        let mut has = [false; 128];
        for &b in p.prefix.as_bytes().iter().chain(&p.alphabet) {
            if b.is_ascii() {
                has[usize::from(b.to_ascii_lowercase())] = true;
            }
        }
        !needle.is_ascii()
            || needle
                .bytes()
                .all(|b| has[usize::from(b.to_ascii_lowercase())])
    }
    /// The sort key of id `i` ([`id_head`]).
    #[inline]
    pub fn head(&self, i: usize) -> IdHead {
        self.with(i, |s| id_head(s.as_bytes()))
    }
    /// Lets go of the room ids as they came have past their length.
    pub fn shrink_to_fit(&mut self) {
        self.off.shrink_to_fit();
        self.buf.shrink_to_fit();
    }
    /// How many ids are held.
    pub fn len(&self) -> usize {
        match &self.packed {
            None => self.off.len().saturating_sub(1),
            Some(p) => p.n,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_kept(&self) -> bool {
        self.packed.is_some() || !self.off.is_empty()
    }
    /// Whether the ids are packed (see [`Ids::packed`]).
    pub fn is_packed(&self) -> bool {
        self.packed.is_some()
    }
    /// The bytes the ids take in memory.
    pub fn bytes(&self) -> usize {
        match &self.packed {
            None => self.off.len() * 4 + self.buf.len(),
            Some(p) => p.data.len() + p.prefix.len() + p.alphabet.len(),
        }
    }
    /// The offsets and the text of ids as they came, for writing them out (`None` when
    /// they are packed: [`Ids::packed_parts`]).
    pub fn parts(&self) -> Option<(&[u32], &str)> {
        self.packed
            .is_none()
            .then_some((self.off.as_slice(), self.buf.as_str()))
    }
    /// The packed form's pieces, for writing them out.
    pub fn packed_parts(&self) -> Option<PackedParts<'_>> {
        self.packed.as_ref().map(|p| PackedParts {
            n: p.n,
            prefix: &p.prefix,
            width: p.width,
            bits: p.bits,
            alphabet: &p.alphabet,
            data: &p.data,
        })
    }
    /// Rebuilds ids from [`Ids::parts`]; `None` when the offsets do not fit the text.
    pub fn from_parts(off: Vec<u32>, buf: String) -> Option<Ids> {
        let ok = off.windows(2).all(|w| w[0] <= w[1])
            && off.last().is_none_or(|&l| l as usize == buf.len())
            && off.iter().all(|&o| buf.is_char_boundary(o as usize));
        ok.then_some(Ids {
            off,
            buf,
            packed: None,
        })
    }
    /// Rebuilds packed ids from [`Ids::packed_parts`]' pieces; `None` when they do not fit
    /// together. Any data then reads as text: a code no id used reads as `?`.
    pub fn from_packed_parts(
        n: usize,
        prefix: String,
        width: u8,
        bits: u8,
        alphabet: Vec<u8>,
        data: Vec<u8>,
    ) -> Option<Ids> {
        let (w, b) = (usize::from(width), usize::from(bits));
        let stride = (w * b).div_ceil(8);
        let ok = (1..=8).contains(&b)
            && w * b <= MAX_BITS
            && prefix.len() <= MAX_PREFIX
            && alphabet.len() == 1 << b
            && alphabet.is_ascii()
            && n.checked_mul(stride) == Some(data.len());
        ok.then_some(Ids {
            off: Vec::new(),
            buf: String::new(),
            packed: Some(Packed {
                n,
                prefix,
                width,
                bits,
                stride: stride as u8,
                alphabet,
                data,
            }),
        })
    }
    /// The ids packed where that takes fewer bytes; as they are otherwise.
    pub fn packed(self) -> Ids {
        if self.packed.is_some() || !self.is_kept() {
            return self;
        }
        self.packed_in(0..self.len()).unwrap_or(self)
    }
    /// Ids as they came (`self`), packed in the order `order` gives, when packing them takes
    /// fewer bytes (the plan is made from all of them, in any order).
    fn packed_in(&self, order: impl Iterator<Item = usize>) -> Option<Ids> {
        let plan = Plan::of((0..self.len()).map(|i| self.raw(i)))?;
        let prefix = &self.raw(0)[..plan.prefix];
        Some(Ids {
            packed: Some(plan.pack(order.map(|i| self.raw(i)), prefix)),
            ..Ids::default()
        })
    }
    /// Ids as they came, from packed ones.
    fn unpacked(&self) -> Ids {
        let mut out = Ids::default();
        for i in 0..self.len() {
            self.with(i, |s| out.push(s));
        }
        out
    }
    /// The ids in the order `perm` gives (id `perm[k]` at `k`), packed where that takes
    /// fewer bytes.
    pub(crate) fn permuted(&self, perm: &[u32]) -> Ids {
        if !self.is_kept() {
            return Ids::default();
        }
        if self.packed.is_none() {
            if let Some(p) = self.packed_in(perm.iter().map(|&i| i as usize)) {
                return p;
            }
            let mut out = Ids::default();
            for &i in perm {
                out.push(self.raw(i as usize));
            }
            return out;
        }
        // packed: each id's fixed-width bytes copied to its new place (no id read back,
        // and no copy of the ids as they came: a load packs a column as soon as nothing
        // looks its ids up any more, then sorts it)
        let Some(p) = &self.packed else {
            return Ids::default();
        };
        let s = usize::from(p.stride);
        let mut data = Vec::with_capacity(perm.len() * s);
        for &i in perm {
            let i = i as usize;
            match p.data.get(i * s..i * s + s).filter(|_| i < p.n) {
                Some(bytes) => data.extend_from_slice(bytes),
                // (an index past the end: an empty id, as `get` reads one)
                None => return self.unpacked().permuted(perm),
            }
        }
        Ids {
            packed: Some(Packed {
                n: perm.len(),
                prefix: p.prefix.clone(),
                width: p.width,
                bits: p.bits,
                stride: p.stride,
                alphabet: p.alphabet.clone(),
                data,
            }),
            ..Ids::default()
        }
    }
}

/// Ids as a load takes them, one at a time, when none is looked up before the load ends
/// (the activities'): packed a chunk of [`GrowingIds::CHUNK`] at a time, each chunk with a
/// plan of its own, then made one column by [`GrowingIds::finish`] (a column's plan needs
/// all its ids). Held as they came to the end, the 40.5M activity ids of the 10M demo
/// were 0.69 GB of a load's peak; packed by chunks, about 0.2 GB.
#[derive(Debug, Default)]
pub struct GrowingIds {
    done: Vec<Ids>,
    tail: Ids,
}

impl GrowingIds {
    /// Ids a chunk.
    pub const CHUNK: usize = 1 << 20;

    pub fn push(&mut self, id: &str) {
        self.tail.push(id);
        if self.tail.len() >= Self::CHUNK {
            let chunk = std::mem::take(&mut self.tail).packed();
            self.done.push(chunk);
        }
    }
    pub fn len(&self) -> usize {
        self.done.iter().map(Ids::len).sum::<usize>() + self.tail.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `f` of every id, in order.
    fn each(&self, f: &mut dyn FnMut(&str)) {
        for c in self.done.iter().chain(std::iter::once(&self.tail)) {
            for i in 0..c.len() {
                c.with(i, &mut *f);
            }
        }
    }
    /// The ids as one column: packed where that takes fewer bytes (as [`Ids::packed`]
    /// packs them), else as they came.
    pub fn finish(self) -> Ids {
        if self.done.is_empty() {
            return self.tail.packed();
        }
        let Some(plan) = Plan::of_each(|f| self.each(f)) else {
            let mut out = Ids::default();
            self.each(&mut |s| out.push(s));
            return out;
        };
        let mut first = String::new();
        self.done[0].with(0, |s| first = s[..plan.prefix].to_owned());
        Ids {
            packed: Some(plan.pack_each(|f| self.each(f), &first)),
            ..Ids::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(ids: &[&str]) -> Ids {
        let mut out = Ids::default();
        for id in ids {
            out.push(id);
        }
        out
    }

    fn all(ids: &Ids) -> Vec<String> {
        (0..ids.len()).map(|i| ids.get(i).into_owned()).collect()
    }

    #[test]
    fn ids_of_a_few_characters_pack_and_read_back_the_same() {
        let given: Vec<String> = (0..1000)
            .map(|i| {
                if i % 7 == 0 {
                    format!("ACT-F{i:08}")
                } else {
                    format!("ACT-{i:09}")
                }
            })
            .collect();
        let text: Vec<&str> = given.iter().map(String::as_str).collect();
        let ids = raw(&text);
        let before = ids.bytes();
        let packed = ids.clone().packed();
        assert!(packed.is_packed());
        assert_eq!(all(&packed), given);
        // "ACT-" once, then 9 characters of 11 (and the end) in 4 bits: 5 bytes an id
        assert_eq!(packed.packed_parts().unwrap().prefix, "ACT-");
        assert_eq!(packed.bytes(), 5 * 1000 + 4 + 16);
        assert!(before > 3 * packed.bytes());
        for i in [0, 7, 999] {
            assert_eq!(packed.head(i), ids.head(i));
            assert_eq!(packed.with(i, str::len), given[i].len());
        }
        assert_eq!(packed.get(1000), "");
    }

    #[test]
    fn ids_that_are_all_their_prefix_take_no_bytes_each() {
        let packed = raw(&["SAME-1", "SAME-1", "SAME-1"]).packed();
        assert!(packed.is_packed());
        assert_eq!(all(&packed), ["SAME-1"; 3]);
        assert_eq!(packed.get(3), "");
        let one = raw(&["ONLY"]).packed();
        assert_eq!(
            (one.len(), one.get(0), one.get(1)),
            (1, "ONLY".into(), "".into())
        );
    }

    #[test]
    fn a_text_no_id_could_hold_is_told_without_reading_them() {
        let given: Vec<String> = (0..100).map(|i| format!("ACT-F{i:08}")).collect();
        let text: Vec<&str> = given.iter().map(String::as_str).collect();
        let packed = raw(&text).packed();
        for (needle, may) in [
            ("maya", false),
            ("act-f", true),
            ("f0000", true),
            ("x", false),
        ] {
            assert_eq!(packed.may_hold(needle), may, "{needle}");
            let found =
                (0..packed.len()).any(|i| packed.with(i, |s| s.to_lowercase().contains(needle)));
            assert!(may || !found, "{needle}");
        }
        // ids as they came, and a needle beyond ASCII, are always looked at
        assert!(raw(&text).may_hold("maya"));
        assert!(packed.may_hold("é"));
    }

    #[test]
    fn ids_of_differing_lengths_end_where_they_end() {
        let given = [
            "SURVEY-1-1",
            "SURVEY-1-10",
            "SURVEY-22-3",
            "SURVEY-",
            "SURVEY-9",
        ];
        let packed = raw(&given).packed();
        assert!(packed.is_packed());
        assert_eq!(all(&packed), given);
    }

    #[test]
    fn salesforce_ids_pack_past_their_shared_prefix() {
        let given: Vec<String> = (0..200u32)
            .map(|i| {
                let a = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
                let c = |k: u32| a[(k % 62) as usize] as char;
                format!(
                    "0065g00000{}{}{}{}{}AAA",
                    c(i),
                    c(i / 3),
                    c(i * 7),
                    c(i / 11),
                    c(i + 5)
                )
            })
            .collect();
        let text: Vec<&str> = given.iter().map(String::as_str).collect();
        let ids = raw(&text);
        let packed = ids.clone().packed();
        assert!(packed.is_packed());
        assert_eq!(all(&packed), given);
        assert!(packed.bytes() < ids.bytes() / 2);
    }

    #[test]
    fn ids_that_would_not_be_smaller_stay_as_they_came() {
        // (non-ASCII, and too many characters for the bits an id may take)
        let odd = raw(&["ünï", "çødé"]);
        assert!(!odd.clone().packed().is_packed());
        let long: String = (0..130)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let long = raw(&[&long, "x"]);
        assert!(!long.clone().packed().is_packed());
        assert_eq!(all(&long.clone().packed()), all(&long));
        let none = Ids::default().packed();
        assert!(!none.is_kept());
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn a_prefix_is_cut_on_a_character_boundary() {
        // (the ids share "é"'s first byte only; the rest is ASCII but for the é / è)
        let given = ["xé1", "xè2"];
        let packed = raw(&given).packed();
        assert_eq!(all(&packed), given);
    }

    /// Ids taken a chunk at a time make the column the same ids make at once: packed
    /// alike (the prefix and alphabet of all of them, not of the first chunk's), and as
    /// they came where they do not pack.
    #[test]
    fn ids_grown_by_chunks_are_the_column_the_same_ids_make() {
        let n = GrowingIds::CHUNK * 2 + 17;
        // (the later chunks' ids use characters and lengths the first's do not)
        let id = |i: usize| {
            if i < GrowingIds::CHUNK {
                format!("ACT-F{i:08}")
            } else {
                format!("ACT-G{}x", i * 3)
            }
        };
        let mut g = GrowingIds::default();
        let mut at_once = Ids::default();
        for i in 0..n {
            g.push(&id(i));
            at_once.push(&id(i));
        }
        assert_eq!(g.len(), n);
        let grown = g.finish();
        let packed = at_once.packed();
        assert!(grown.is_packed() && packed.is_packed());
        assert_eq!(grown.packed_parts(), packed.packed_parts());
        for i in [0, 1, GrowingIds::CHUNK - 1, GrowingIds::CHUNK, n - 1] {
            assert_eq!(grown.get(i), id(i));
        }
        // non-ASCII ids do not pack: as they came, in order
        let mut g = GrowingIds::default();
        for i in 0..GrowingIds::CHUNK + 3 {
            g.push(&format!("{i}é"));
        }
        let raw_ids = g.finish();
        assert!(!raw_ids.is_packed());
        assert_eq!(raw_ids.len(), GrowingIds::CHUNK + 3);
        assert_eq!(
            raw_ids.get(GrowingIds::CHUNK + 2),
            format!("{}é", GrowingIds::CHUNK + 2)
        );
        // a few: packed at the end, as a column of them is
        let mut g = GrowingIds::default();
        g.push("L-1");
        g.push("L-22");
        assert_eq!(all(&g.finish()), vec!["L-1", "L-22"]);
    }

    /// Packed ids permute by their bytes alone (each id's fixed width copied), to the
    /// same ids the ids as they came give: of several lengths, in a shuffled order, and
    /// ids that are all their shared prefix (no bytes each).
    #[test]
    fn packed_ids_permute_as_the_ids_they_came_as() {
        let given: Vec<String> = (0..500u32)
            .map(|i| {
                format!(
                    "ACT-{}",
                    "x7Q".repeat(1 + (i % 4) as usize) + &i.to_string()
                )
            })
            .collect();
        let text: Vec<&str> = given.iter().map(String::as_str).collect();
        // (a shuffle: a multiplier prime to the length)
        let perm: Vec<u32> = (0..500u32).map(|k| (k * 7 + 3) % 500).collect();
        let packed = raw(&text).packed();
        assert!(packed.is_packed());
        let by_bytes = packed.permuted(&perm);
        assert!(by_bytes.is_packed());
        assert_eq!(all(&by_bytes), all(&raw(&text).permuted(&perm)));
        assert_eq!(by_bytes.get(0), given[3]);
        let same = raw(&["SAME"; 40]).packed();
        let moved = same.permuted(&(0..40u32).rev().collect::<Vec<_>>());
        assert_eq!(all(&moved), vec!["SAME".to_owned(); 40]);
    }

    #[test]
    fn permuted_ids_pack_in_the_new_order() {
        let given: Vec<String> = (0..300).map(|i| format!("OPP-{i:08}")).collect();
        let text: Vec<&str> = given.iter().map(String::as_str).collect();
        let perm: Vec<u32> = (0..300u32).rev().collect();
        let p = raw(&text).permuted(&perm);
        assert!(p.is_packed());
        let want: Vec<String> = given.iter().rev().cloned().collect();
        assert_eq!(all(&p), want);
        // and packed ids permute again, and take more ids after they are unpacked
        let mut again = p.permuted(&perm);
        assert!(again.is_packed());
        assert_eq!(all(&again), given);
        again.push("OPP-x");
        assert_eq!(again.len(), 301);
        assert_eq!(again.get(300), "OPP-x");
        assert_eq!(again.get(0), "OPP-00000000");
    }

    #[test]
    fn packed_parts_read_back_and_refuse_what_does_not_fit() {
        let given: Vec<String> = (0..50).map(|i| format!("LEAD-{i:05}")).collect();
        let text: Vec<&str> = given.iter().map(String::as_str).collect();
        let p = raw(&text).packed();
        let q = p.packed_parts().unwrap();
        let back = Ids::from_packed_parts(
            q.n,
            q.prefix.to_owned(),
            q.width,
            q.bits,
            q.alphabet.to_vec(),
            q.data.to_vec(),
        )
        .unwrap();
        assert_eq!(all(&back), given);
        let short = q.data[..q.data.len() - 1].to_vec();
        let b = (q.width, q.bits, q.alphabet.to_vec());
        assert!(
            Ids::from_packed_parts(q.n, "LEAD-".into(), b.0, b.1, b.2.clone(), short).is_none()
        );
        let mut bad = b.2.clone();
        bad[3] = 0xff;
        assert!(
            Ids::from_packed_parts(q.n, "LEAD-".into(), b.0, b.1, bad, q.data.to_vec()).is_none()
        );
        assert!(
            Ids::from_packed_parts(q.n, "LEAD-".into(), b.0, 9, b.2, q.data.to_vec()).is_none()
        );
        // any data reads as text, a code no id used as "?"
        let stride = q.data.len() / q.n;
        let junk = vec![0xffu8; q.n * stride];
        let j = Ids::from_packed_parts(q.n, "L".into(), q.width, q.bits, q.alphabet.to_vec(), junk)
            .unwrap();
        assert!(j.get(0).starts_with('L'));
        assert!(j.get(0).is_ascii());
    }
}
