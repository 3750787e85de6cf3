//! Server-rendered SVG charts: no script, no CDN. Each chart is a `<figure>` with an
//! accessible name and description, and a data table as its text alternative.

use std::fmt::Write as _;

use crate::pages::esc;

const W: f64 = 640.0;
const H: f64 = 260.0;
/// The least left margin, for the y axis's labels (wider when they need it: [`margin`]).
const L: f64 = 64.0;
const R: f64 = 16.0;
const T: f64 = 16.0;
const B: f64 = 40.0;

/// One series of a line chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<Option<f64>>,
}

/// The gridlines of an axis from 0 to at least `max`: about four, at 1, 2, 2.5 or 5 times
/// a power of ten; with `whole` (counts), only at whole numbers (a chart of 1 rep had
/// labelled its lines 0, 0, 0, 1, 1).
fn ticks(max: f64, whole: bool) -> Vec<f64> {
    if max <= 0.0 {
        return vec![0.0, 1.0];
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw && (!whole || s.fract() == 0.0))
        .unwrap_or(10.0 * mag);
    let step = if whole { step.max(1.0) } else { step };
    // (less a hair: 0.6 / 0.2 is 3.0000000000000004 in floating point, and a fourth step
    // had drawn a gridline at 80% above the plot of a win rate whose axis tops at 60%)
    (0..=((max / step - 1e-9).ceil() as i64))
        .map(|i| i as f64 * step)
        .collect()
}

/// A short number: 1.2M, 350k, 12.5.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn open(id: &str, title: &str, desc: &str, out: &mut String) {
    let _ = write!(
        out,
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{t}</figcaption><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" preserveAspectRatio=\"xMidYMid meet\"><title id=\"{id}-t\">{t}</title><desc id=\"{id}-d\">{d}</desc>",
        t = esc(title),
        d = esc(desc)
    );
}

/// The left margin that the y axis's longest label fits in (at the ticks' 11px, a
/// character is at most about 6.6px wide): "USD 600.0M" had been cut to "SD 600.0M".
fn margin(top: f64, whole: bool, fmt: &dyn Fn(f64) -> String) -> f64 {
    let longest = ticks(top, whole)
        .into_iter()
        .map(|t| fmt(t).chars().count())
        .max()
        .unwrap_or(0);
    L.max(10.0 + 6.6 * longest as f64)
}

/// Draws the grid and both axes' labels, the plot starting at `l` from the left.
fn axes(
    out: &mut String,
    l: f64,
    top: f64,
    whole: bool,
    x_labels: &[String],
    fmt: &dyn Fn(f64) -> String,
) {
    for t in ticks(top, whole) {
        let y = H - B - (t / top.max(1e-9)) * (H - T - B);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - R,
            l - 6.0,
            y + 4.0,
            esc(&fmt(t))
        );
    }
    let n = x_labels.len().max(1);
    let every = n.div_ceil(12);
    for (i, label) in x_labels.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let x = l + (i as f64 + 0.5) * (W - l - R) / n as f64;
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            H - B + 16.0,
            esc(label)
        );
    }
}

fn data_table(out: &mut String, head: &[String], rows: &[Vec<String>]) {
    out.push_str("<details class=\"data\"><summary>Data</summary><table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<th scope=\"row\">{}</th>", esc(c));
            } else {
                let _ = write!(out, "<td class=\"num\">{}</td>", esc(c));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></details></figure>");
}

fn top_of(vals: impl Iterator<Item = f64>, whole: bool) -> f64 {
    let m = vals.fold(0.0f64, f64::max);
    ticks(m, whole).last().copied().unwrap_or(1.0).max(1e-9)
}

fn legend(out: &mut String, items: &[(&str, &str)]) {
    let mut x = L;
    for (name, class) in items {
        let _ = write!(
            out,
            "<rect class=\"{class}\" x=\"{x:.0}\" y=\"{}\" width=\"10\" height=\"10\"/><text class=\"tick\" x=\"{:.0}\" y=\"{}\">{}</text>",
            H - 14.0,
            x + 14.0,
            H - 5.0,
            esc(name)
        );
        x += 24.0 + name.len() as f64 * 6.5;
    }
}

/// A line chart of one or more series over the same x labels.
pub fn lines(
    id: &str,
    title: &str,
    desc: &str,
    x: &[String],
    series: &[Series],
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let mut out = String::new();
    open(id, title, desc, &mut out);
    let top = top_of(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        false,
    );
    let l = margin(top, false, fmt);
    axes(&mut out, l, top, false, x, fmt);
    let n = x.len().max(1);
    for s in series {
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in s.values.iter().enumerate() {
            let Some(v) = v else {
                pen = false;
                continue;
            };
            let px = l + (i as f64 + 0.5) * (W - l - R) / n as f64;
            let py = H - B - (v / top) * (H - T - B);
            let _ = write!(d, "{}{px:.1},{py:.1} ", if pen { "L" } else { "M" });
            pen = true;
            let _ = write!(
                out,
                "<circle class=\"{}\" cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3\"><title>{}: {}</title></circle>",
                s.class,
                esc(&x[i]),
                esc(&fmt(*v))
            );
        }
        let _ = write!(
            out,
            "<path class=\"line {}\" d=\"{}\"/>",
            s.class,
            d.trim_end()
        );
    }
    legend(
        &mut out,
        &series.iter().map(|s| (s.name, s.class)).collect::<Vec<_>>(),
    );
    out.push_str("</svg>");
    let mut head = vec![String::new()];
    head.extend(series.iter().map(|s| s.name.to_owned()));
    let rows: Vec<Vec<String>> = x
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut r = vec![l.clone()];
            r.extend(
                series
                    .iter()
                    .map(|s| s.values[i].map(fmt).unwrap_or_else(|| "—".into())),
            );
            r
        })
        .collect();
    data_table(&mut out, &head, &rows);
    out
}

/// Horizontal bars, one per label (leaderboards, funnels). `notes` are printed beside each bar.
pub fn hbars(
    id: &str,
    title: &str,
    desc: &str,
    labels: &[String],
    values: &[f64],
    notes: &[String],
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let mut out = String::new();
    let rowh = 26.0;
    let h = T + rowh * labels.len().max(1) as f64 + 8.0;
    let _ = write!(
        out,
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{t}</figcaption><svg viewBox=\"0 0 {W} {h}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">{t}</title><desc id=\"{id}-d\">{d}</desc>",
        t = esc(title),
        d = esc(desc)
    );
    let left = 150.0;
    let max = values.iter().copied().fold(0.0f64, f64::max).max(1e-9);
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let y = T + i as f64 * rowh;
        let w = (v / max) * (W - left - 250.0);
        let note = notes.get(i).map(String::as_str).unwrap_or("");
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.0}\"><title>{}: {}</title></rect><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{} {}</text>",
            left - 8.0,
            y + 15.0,
            esc(&truncate(l, 22)),
            rowh - 8.0,
            esc(l),
            esc(&fmt(*v)),
            left + w + 6.0,
            y + 15.0,
            esc(&fmt(*v)),
            esc(note)
        );
    }
    if labels.is_empty() {
        // (no bars: a blank chart had looked like one that failed to draw)
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"middle\">Nothing in this period.</text>",
            W / 2.0,
            T + 15.0
        );
    }
    out.push_str("</svg>");
    let rows: Vec<Vec<String>> = labels
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (l, v))| {
            vec![
                l.clone(),
                fmt(*v),
                notes.get(i).cloned().unwrap_or_default(),
            ]
        })
        .collect();
    data_table(
        &mut out,
        &[String::new(), "value".into(), String::new()],
        &rows,
    );
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Vertical bars stacked by series (e.g. open pipeline by close month × forecast category),
/// or a histogram when there is one series.
pub fn vbars(
    id: &str,
    title: &str,
    desc: &str,
    x: &[String],
    series: &[(&str, &str, Vec<f64>)],
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let mut out = String::new();
    open(id, title, desc, &mut out);
    let totals: Vec<f64> = (0..x.len())
        .map(|i| series.iter().map(|s| s.2[i]).sum())
        .collect();
    // (counts, such as reps per band, are gridded at whole numbers)
    let whole = series.iter().all(|s| s.2.iter().all(|v| v.fract() == 0.0));
    let top = top_of(totals.iter().copied(), whole);
    let l = margin(top, whole, fmt);
    axes(&mut out, l, top, whole, x, fmt);
    let n = x.len().max(1);
    let slot = (W - l - R) / n as f64;
    for i in 0..x.len() {
        let mut base = 0.0;
        for (name, class, vals) in series {
            let v = vals[i];
            if v <= 0.0 {
                continue;
            }
            let y0 = H - B - (base / top) * (H - T - B);
            let y1 = H - B - ((base + v) / top) * (H - T - B);
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{:.1}\" y=\"{y1:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} · {}: {}</title></rect>",
                l + i as f64 * slot + slot * 0.15,
                slot * 0.7,
                (y0 - y1).max(0.5),
                esc(&x[i]),
                esc(name),
                esc(&fmt(v))
            );
            base += v;
        }
    }
    if series.len() > 1 {
        legend(
            &mut out,
            &series.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(),
        );
    }
    out.push_str("</svg>");
    let mut head = vec![String::new()];
    head.extend(series.iter().map(|s| s.0.to_owned()));
    let rows: Vec<Vec<String>> = x
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut r = vec![l.clone()];
            r.extend(series.iter().map(|s| fmt(s.2[i])));
            r
        })
        .collect();
    data_table(&mut out, &head, &rows);
    out
}

/// One period of a [`history`] chart: its label, the drill-down it links to, its value and
/// target (each `None` where undefined or unset), and whether it is still under way.
pub struct Step<'a> {
    pub label: &'a str,
    pub href: &'a str,
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// The value and target as the data table shows them (exactly, not as the axis does).
    pub value_text: String,
    pub target_text: String,
    /// Why the value is undefined, in words, where it is.
    pub why: Option<&'a str>,
    /// For a period counted to a day of it (under way, or asked for to a day): which day
    /// of how many ("to day 51 of 92"); its point is drawn hollow.
    pub part: Option<String>,
}

/// The gridlines of an axis over `lo..=hi` (`lo` ≤ 0 ≤ `hi`): [`ticks`]' steps over the
/// whole span, from a whole step at or below `lo`.
fn ticks_between(lo: f64, hi: f64, whole: bool) -> Vec<f64> {
    if lo >= 0.0 {
        return ticks(hi, whole);
    }
    let span = ticks(hi - lo, whole);
    let step = span.get(1).copied().unwrap_or(1.0).max(1e-9);
    let first = (lo / step - 1e-9).floor() as i64;
    let last = (hi / step - 1e-9).ceil().max(0.0) as i64;
    (first..=last.max(first + 1))
        .map(|i| i as f64 * step)
        .collect()
}

/// A KPI's history: its value in each period as a line (each point a link to that period's
/// drill-down; a period counted to a day of it drawn hollow), its target as a dashed line where
/// one is set, an axis that reaches below zero for a value that does (a growth, an NPS),
/// and the data table with each period a link.
pub fn history(
    id: &str,
    name: &str,
    title: &str,
    desc: &str,
    steps: &[Step],
    whole: bool,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let mut out = String::new();
    open(id, title, desc, &mut out);
    let all = || steps.iter().flat_map(|s| [s.value, s.target]).flatten();
    let lo = all().fold(0.0f64, f64::min);
    let hi = all().fold(0.0f64, f64::max);
    let ts = ticks_between(lo, hi, whole);
    let (lo, hi) = (
        ts.first().copied().unwrap_or(0.0),
        ts.last().copied().unwrap_or(1.0),
    );
    let span = (hi - lo).max(1e-9);
    let l = ts
        .iter()
        .map(|t| fmt(*t).chars().count())
        .max()
        .map_or(L, |n| L.max(10.0 + 6.6 * n as f64));
    let y = |v: f64| H - B - ((v - lo) / span) * (H - T - B);
    for t in &ts {
        let _ = write!(
            out,
            "<line class=\"grid{}\" x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            if *t == 0.0 && lo < 0.0 { " zero" } else { "" },
            W - R,
            l - 6.0,
            y(*t) + 4.0,
            esc(&fmt(*t)),
            y = y(*t),
        );
    }
    let n = steps.len().max(1);
    let x = |i: usize| l + (i as f64 + 0.5) * (W - l - R) / n as f64;
    // (every label that fits: twelve months' "2025-11" side by side had run together)
    let widest = steps
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    let every = ((n as f64 * (widest as f64 * 6.6 + 8.0)) / (W - l - R))
        .ceil()
        .max(1.0) as usize;
    for (i, s) in steps.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            H - B + 16.0,
            esc(s.label)
        );
    }
    let mut path = |class: &str, pick: &dyn Fn(&Step) -> Option<f64>| {
        let mut d = String::new();
        let mut pen = false;
        for (i, s) in steps.iter().enumerate() {
            match pick(s) {
                Some(v) => {
                    let _ = write!(d, "{}{:.1},{:.1} ", if pen { "L" } else { "M" }, x(i), y(v));
                    pen = true;
                }
                None => pen = false,
            }
        }
        if !d.is_empty() {
            let _ = write!(out, "<path class=\"line {class}\" d=\"{}\"/>", d.trim_end());
        }
    };
    path("s2", &|s| s.target);
    path("s1", &|s| s.value);
    for (i, s) in steps.iter().enumerate() {
        let Some(v) = s.value else { continue };
        let _ = write!(
            out,
            "<a href=\"{}\"><circle class=\"s1{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"><title>{}: {}{}</title></circle></a>",
            esc(s.href),
            if s.part.is_some() { " open" } else { "" },
            x(i),
            y(v),
            esc(s.label),
            esc(&fmt(v)),
            s.part
                .as_ref()
                .map_or_else(String::new, |p| format!(" ({})", esc(p)))
        );
    }
    let mut keys = vec![(name, "s1")];
    if steps.iter().any(|s| s.target.is_some()) {
        keys.push(("Target", "s2"));
    }
    legend(&mut out, &keys);
    let _ = write!(
        out,
        "</svg><details class=\"data\"><summary>Data</summary><table><thead><tr><th scope=\"col\">Period</th><th scope=\"col\">{}</th><th scope=\"col\">Target</th></tr></thead><tbody>",
        esc(name)
    );
    for s in steps {
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><a href=\"{}\">{}</a>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(s.href),
            esc(s.label),
            s.part
                .as_ref()
                .map_or_else(String::new, |p| format!(" ({})", esc(p))),
            match (s.value, s.why) {
                (None, Some(why)) => format!("— <span class=\"why\">({})</span>", esc(why)),
                _ => esc(&s.value_text),
            },
            esc(&s.target_text)
        );
    }
    out.push_str("</tbody></table></details></figure>");
    out
}

/// A sparkline: a KPI's values over its history ([`history`]'s points) as a small line
/// scaled to their own lowest and highest, the last point marked (hollow when counted to a
/// day of it), for a scorecard's card; `text` is its accessible name, in words and numbers.
/// Nothing where fewer than two values are defined.
pub fn spark(values: &[Option<f64>], last_part: bool, text: &str) -> String {
    const SW: f64 = 120.0;
    const SH: f64 = 28.0;
    const PAD: f64 = 4.0;
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    if defined.len() < 2 {
        return String::new();
    }
    let lo = defined.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = defined.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let n = values.len().max(2);
    let x = |i: usize| PAD + i as f64 * (SW - 2.0 * PAD) / (n - 1) as f64;
    let y = |v: f64| match hi - lo {
        d if d > 0.0 => SH - PAD - (v - lo) / d * (SH - 2.0 * PAD),
        _ => SH / 2.0,
    };
    let mut d = String::new();
    let mut pen = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if pen { "L" } else { "M" },
                    x(i),
                    y(*v)
                );
                pen = true;
            }
            None => pen = false,
        }
    }
    let mut out = format!(
        "<svg class=\"spark\" viewBox=\"0 0 {SW} {SH}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title><path class=\"line s1\" d=\"{}\"/>",
        d.trim_end(),
        t = esc(text)
    );
    if let Some((i, Some(v))) = values.iter().enumerate().next_back() {
        let _ = write!(
            out,
            "<circle class=\"s1{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"/>",
            if last_part { " open" } else { "" },
            x(i),
            y(*v)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::{L, margin, ticks};

    /// The y axis's labels fit left of the plot: "USD 600.0M" (ten characters) had been
    /// drawn from 0.5px left of the picture, cut to "SD 600.0M".
    #[test]
    fn the_left_margin_fits_the_longest_label() {
        let money = |v: f64| format!("USD {}", super::short(v));
        assert_eq!(money(600e6), "USD 600.0M");
        let m = margin(600e6, false, &money);
        assert!(m - 6.0 - 10.0 * 6.6 >= 0.0, "{m}");
        // short labels keep the usual margin
        assert_eq!(margin(60.0, true, &|v| format!("{v}")), L);
    }

    #[test]
    fn counts_are_gridded_at_whole_numbers_and_amounts_finely() {
        assert_eq!(ticks(1.0, true), vec![0.0, 1.0]);
        assert_eq!(ticks(3.0, true), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(ticks(45.0, true), vec![0.0, 20.0, 40.0, 60.0]);
        assert_eq!(ticks(1.0, false), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(ticks(0.0, true), vec![0.0, 1.0]);
        // an axis's top is its own last tick, so that no gridline falls above the plot
        for m in [0.53, 0.6, 0.07, 0.3, 1.1, 45.0, 2.6e6, 7.0e-3] {
            for whole in [false, true] {
                let top = super::top_of([m].into_iter(), whole);
                let t = ticks(top, whole);
                let last = *t.last().unwrap();
                assert!(
                    (last - top).abs() <= top * 1e-9,
                    "{m} {whole}: {t:?} over {top}"
                );
            }
        }
    }

    /// A history's axis reaches below zero for a value that does (a fall in revenue, a
    /// negative NPS), in whole steps through zero; without one it starts at zero.
    #[test]
    fn a_history_axis_reaches_below_zero_through_zero() {
        use super::ticks_between;
        assert_eq!(ticks_between(0.0, 1.0, false), ticks(1.0, false));
        let t = ticks_between(-0.3, 0.5, false);
        let want = [-0.4, -0.2, 0.0, 0.2, 0.4, 0.6];
        assert_eq!(t.len(), want.len(), "{t:?}");
        assert!(
            t.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
            "{t:?}"
        );
        let t = ticks_between(-35.0, 0.0, true);
        assert!(
            t.contains(&0.0) && t[0] <= -35.0 && *t.last().unwrap() >= 0.0,
            "{t:?}"
        );
        // a point at the axis's ends is inside it
        let steps = [super::Step {
            label: "FY2025",
            href: "/explain",
            value: Some(-0.3),
            target: None,
            value_text: "-30.0%".into(),
            target_text: "—".into(),
            why: None,
            part: None,
        }];
        let svg = super::history("h", "NPS", "t", "d", &steps, false, &|v| format!("{v:.1}"));
        assert!(svg.contains("class=\"grid zero\""), "{svg}");
    }
}
