//! The overview's voice-to-voice latency over the last days: for each day (UTC), the median
//! of its calls as a bar and the 90th percentile as a mark above it, drawn as SVG by the
//! server, with the figures in each day's title for screen readers and hover.

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
                    line x1="0" y1="62.5" x2=(width) y2="62.5";
                    text x="0" y="69" { (l.days.first().map(|d| d.day.as_str()).unwrap_or("")) }
                    text x=(width) y="69" text-anchor="end" { (l.days.last().map(|d| d.day.as_str()).unwrap_or("")) }
                }
                figcaption { "Voice to voice per day (UTC): bars are the median of calls, marks the p90; the slowest p90 is " (top) " ms." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::calls::DayLatencyView;

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
