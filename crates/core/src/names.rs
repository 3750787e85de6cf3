//! Near matches for mistyped ids and names: the "did you mean" of an error.

/// The one of `among` that `typed` was most likely meant to be: the nearest by edit
/// distance (letters added, dropped, changed or two neighbours swapped; case ignored, and
/// spaces, hyphens and underscores read alike), if it is within a third of the typed
/// length (at most three edits; nothing for fewer than three letters) and no other is as near.
pub fn nearest<'a>(typed: &str, among: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let t = folded(typed);
    let limit = (t.len() / 3).min(3);
    if limit == 0 {
        return None;
    }
    let mut best: Option<(usize, &'a str)> = None;
    let mut tied = false;
    for c in among {
        let f = folded(c);
        // (a candidate whose length alone is past the limit is not compared)
        if f.len().abs_diff(t.len()) > limit {
            continue;
        }
        let d = edit_distance(&t, &f);
        match best {
            _ if d > limit => {}
            // (the same text twice, as an id and a name, is one candidate)
            Some((b, x)) if d == b && folded(x) == f => {}
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tied = true,
            _ => {
                best = Some((d, c));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, c)| c)
}

/// The one of `items` whose id or name (`keys`) is [`nearest`] to `typed`; none where
/// that near id or name is held by two of them (a guess between them would be a coin's).
pub fn nearest_holder<'a, T>(
    typed: &str,
    items: &'a [T],
    keys: impl Fn(&'a T) -> [&'a str; 2],
) -> Option<&'a T> {
    let near = nearest(typed, items.iter().flat_map(&keys))?;
    let mut held = items.iter().filter(|x| keys(x).contains(&near));
    match (held.next(), held.next()) {
        (Some(x), None) => Some(x),
        _ => None,
    }
}

fn folded(s: &str) -> Vec<char> {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours, each one edit.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let mut v = (d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1)
                    .min(d[(i - 1) * w + j - 1] + usize::from(a[i - 1] != b[j - 1]));
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_within_a_third_of_the_length_and_without_a_tie() {
        assert_eq!(nearest("abcx", ["abcd", "abce"]), None);
        assert_eq!(nearest("abdx", ["abcd", "abce", "abdd"]), Some("abdd"));
        assert_eq!(
            nearest("ava adlr", ["Ava Adler", "Ava Adams"]),
            Some("Ava Adler")
        );
        assert_eq!(nearest("AVA-ADLER", ["Ava Adler"]), Some("Ava Adler"));
        // a swap is one edit: two swaps and a letter added are three, four too many
        assert_eq!(nearest("Ava Aldre", ["Ava Adler"]), Some("Ava Adler"));
        assert_eq!(nearest("Ava Aldrex", ["Ava Adler"]), Some("Ava Adler"));
        assert_eq!(nearest("Av Aldrex", ["Ava Adler"]), None);
        // the same text as two candidates is no tie
        assert_eq!(nearest("p_0001", ["P-0001", "p 0001"]), Some("P-0001"));
        assert_eq!(nearest("x", ["y", "zz"]), None);
        assert_eq!(nearest("", ["a"]), None);
        assert_eq!(nearest("  ", ["a"]), None);
        assert_eq!(nearest("Ünïcode", ["ünicode"]), Some("ünicode"));
        // the holder of the near id or name, unless two hold it
        let held = [
            ("P1", "Dana Scott"),
            ("P2", "Dana Scott"),
            ("P3", "Lee Park"),
        ];
        let keys = |x: &(&'static str, &'static str)| [x.0, x.1];
        assert_eq!(nearest_holder("Lee Prak", &held, keys), Some(&held[2]));
        assert_eq!(nearest_holder("Dana Scot", &held, keys), None);
        assert_eq!(nearest_holder("P4", &held, keys), None);
        assert_eq!(nearest_holder("zzzzzz", &held, keys), None);
    }
}
