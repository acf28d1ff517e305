//! The overview's voice-to-voice pictures, drawn as SVG by the server with the figures in each
//! shape's title for screen readers and hover: today's calls as a histogram of their median
//! voice to voice, and the last days, each day's median of calls as a bar and its 90th
//! percentile as a mark above it.

use maud::{html, Markup};

use crate::api::calls::LatencyDays;

/// The chart; a note instead when no day had an answered call.
pub fn chart(l: &LatencyDays) -> Markup {
    let top = l.days.iter().map(|d| d.voice_to_voice_p90_ms.max(d.voice_to_voice_p50_ms)).max().unwrap_or(0);
    let width = (l.days.len() * 16).max(16);
    html! {
        @if top == 0 { p { "No answered calls in the last " (l.days.len()) " days." } } @else {
            figure {
                svg.chart viewBox=(format!("0 0 {width} 70")) role="img" aria-labelledby="latency-days-title" {
                    title id="latency-days-title" { "Voice to voice per day (UTC): median and p90 of calls" }
                    @for (i, d) in l.days.iter().enumerate() {
                        @let (p50, p90) = (60 * d.voice_to_voice_p50_ms.max(0) / top, 60 * d.voice_to_voice_p90_ms.max(0) / top);
                        g {
                            title { (d.day) ": " @if d.calls == 0 { "no calls" } @else { "median " (d.voice_to_voice_p50_ms) " ms, p90 " (d.voice_to_voice_p90_ms) " ms, " (d.calls) " calls" } }
                            rect x=(i * 16 + 2) y=(62 - p50) width="12" height=(p50) {}
                            @if d.calls > 0 { rect.p90 x=(i * 16 + 1) y=(61 - p90) width="14" height="2" {} }
                        }
                    }
                    line x1="0" y1="62.5" x2=(width) y2="62.5" {}
                    text x="0" y="69" { (l.days.first().map(|d| d.day.as_str()).unwrap_or("")) }
                    text x=(width) y="69" text-anchor="end" { (l.days.last().map(|d| d.day.as_str()).unwrap_or("")) }
                }
                figcaption { "Voice to voice per day (UTC): bars are the median of calls, marks the p90; the slowest p90 is " (top) " ms." }
            }
        }
    }
}

/// The histogram's buckets: 250 ms wide up to 2 s, then one for the rest.
const BUCKET_MS: i64 = 250;
const BUCKETS: usize = 9;

/// Today's calls by their median voice to voice (`v2v_ms`, one per call that answered).
pub fn histogram(v2v_ms: &[i64]) -> Markup {
    let mut counts = [0usize; BUCKETS];
    for &ms in v2v_ms {
        counts[usize::try_from(ms.max(0) / BUCKET_MS).unwrap_or(BUCKETS - 1).min(BUCKETS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let label = |i: usize| if i + 1 == BUCKETS { format!("{} ms and more", i as i64 * BUCKET_MS) } else { format!("{} to {} ms", i as i64 * BUCKET_MS, (i as i64 + 1) * BUCKET_MS) };
    html! {
        @if !v2v_ms.is_empty() {
            figure {
                svg.chart viewBox="0 0 225 72" role="img" aria-labelledby="histogram-title" {
                    title id="histogram-title" { "Today's calls by voice to voice (median of each call)" }
                    @for (i, n) in counts.iter().enumerate() {
                        @let h = 56 * n / top;
                        rect x=(i * 25 + 2) y=(58 - h) width="21" height=(h) { title { (label(i)) ": " (n) " calls" } }
                    }
                    line x1="0" y1="58.5" x2="225" y2="58.5" {}
                    text x="2" y="68" { "0" }
                    text x="100" y="68" { "1 s" }
                    text x="223" y="68" text-anchor="end" { "2 s+" }
                }
                figcaption { "Today's calls by voice to voice (the median of each call's replies), in steps of 250 ms" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::calls::DayLatencyView;

    #[test]
    fn calls_fall_in_their_250_ms_step_and_slow_ones_in_the_last() {
        let html = histogram(&[100, 240, 600, 5_000, 2_000]).into_string();
        assert!(html.contains("0 to 250 ms: 2 calls") && html.contains("500 to 750 ms: 1 calls") && html.contains("2000 ms and more: 2 calls"), "{html}");
        assert!(html.contains("</line><text x=\"2\" y=\"68\">0</text>"), "the axis is no child of the line (an SVG line is no void element in HTML): {html}");
        assert!(histogram(&[]).into_string().is_empty());
    }

    #[test]
    fn days_are_drawn_to_the_slowest_p90() {
        let day = |day: &str, calls, p50, p90| DayLatencyView { day: day.into(), calls, voice_to_voice_p50_ms: p50, voice_to_voice_p90_ms: p90 };
        let l = LatencyDays { days: vec![day("2026-12-01", 3, 600, 1200), day("2026-12-02", 0, 0, 0)] };
        let html = chart(&l).into_string();
        assert!(html.contains("2026-12-01: median 600 ms, p90 1200 ms, 3 calls") && html.contains("2026-12-02: no calls"), "{html}");
        assert!(html.contains("y=\"32\" width=\"12\" height=\"30\"") && html.contains("class=\"p90\" x=\"1\" y=\"1\""), "{html}");
        assert!(chart(&LatencyDays { days: vec![day("2026-12-02", 0, 0, 0)] }).into_string().contains("No answered calls"));
    }
}
