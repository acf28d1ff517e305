//! The console's usage page (admins): call minutes of the last six months as bars, the chosen
//! month's minutes per day as bars, and its engine and provider usage (recognition seconds,
//! synthesized characters, model tokens, tool calls) for the month and per day, from the API's
//! usage reads.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::Viewer;
use super::{frame, refused};
use crate::api::usage::{self, UsageItemView, UsageView};
use crate::api::{extract, now_ms, ApiState};

/// `YYYY-MM`, `back` months before the month of `unix_ms`.
fn month_before(unix_ms: i64, back: i64) -> String {
    let (y, m, _) = parley_store::usage::civil_date(unix_ms);
    let index = y * 12 + (m - 1) - back;
    format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

/// Call minutes (rounded up) in counters.
pub fn minutes_of(items: &[UsageItemView]) -> i64 {
    (items.iter().filter(|i| i.metric == "call_seconds").map(|i| i.quantity).sum::<i64>().max(0) + 59) / 60
}

fn minutes(u: &UsageView) -> i64 {
    minutes_of(&u.items)
}

/// Sums a metric's counters (all providers).
fn total_of(items: &[UsageItemView], metric: &str) -> i64 {
    items.iter().filter(|i| i.metric == metric).map(|i| i.quantity).sum()
}

/// A month's `what` per day as bars (31 slots; days without usage empty); `id` names the
/// chart's title for screen readers.
fn day_chart(u: &UsageView, id: &str, what: &str, value: &dyn Fn(&[UsageItemView]) -> i64) -> Markup {
    let per_day: Vec<(usize, &str, i64)> = u.days.iter().filter_map(|d| Some((d.day.get(8..10)?.parse::<usize>().ok()?, d.day.as_str(), value(&d.items)))).collect();
    let top = per_day.iter().map(|d| d.2).max().unwrap_or(0).max(1);
    html! {
        figure {
            svg.chart viewBox="0 0 248 80" role="img" aria-labelledby=(id) {
                title id=(id) { (what) " per day in " (u.month) }
                @for (day, date, n) in &per_day {
                    @let h = 60 * n / top;
                    rect x=((day - 1) * 8 + 1) y=(64 - h) width="6" height=(h) { title { (date) ": " (n) " " (what.to_lowercase()) } }
                }
                @for day in [1, 10, 20, 30] { text x=((day - 1) * 8 + 4) y="76" text-anchor="middle" { (day) } }
                line x1="0" y1="64.5" x2="248" y2="64.5" {}
            }
            figcaption { (what) " per day in " (u.month) " (UTC)" }
        }
    }
}

/// The engine metrics charted per day, with what they are called on the page.
const ENGINE_METRICS: [(&str, &str); 5] = [("asr_seconds", "Recognition seconds"), ("tts_characters", "Synthesized characters"), ("llm_turns", "Model turns"), ("llm_tokens", "Model tokens"), ("tool_calls", "Tool calls")];

/// The month's per-day charts: call minutes, then each engine metric it used.
fn day_charts(u: &UsageView) -> Markup {
    let used: Vec<(&str, &str)> = ENGINE_METRICS.into_iter().filter(|(m, _)| u.days.iter().any(|d| total_of(&d.items, m) > 0)).collect();
    html! {
        (day_chart(u, "per-day-minutes", "Call minutes", &minutes_of))
        @for (metric, what) in used {
            (day_chart(u, &format!("per-day-{metric}"), what, &|items| total_of(items, metric)))
        }
    }
}

fn chart(months: &[UsageView]) -> Markup {
    let top = months.iter().map(minutes).max().unwrap_or(0).max(1);
    html! {
        figure {
            svg.chart viewBox="0 0 240 80" role="img" aria-labelledby="minutes-title" {
                title id="minutes-title" { "Call minutes per month" }
                @for (i, u) in months.iter().enumerate() {
                    @let h = 60 * minutes(u) / top;
                    rect x=(i * 40 + 6) y=(64 - h) width="28" height=(h) { title { (u.month) ": " (minutes(u)) " minutes" } }
                    text x=(i * 40 + 20) y="76" text-anchor="middle" { (&u.month[2..]) }
                }
                line x1="0" y1="64.5" x2="240" y2="64.5" {}
            }
            figcaption { "Call minutes per month (UTC)" }
        }
    }
}

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

pub async fn show(State(s): State<ApiState>, v: Viewer, Query(q): Query<MonthQuery>) -> Response {
    let now = now_ms();
    let mut months = Vec::new();
    for back in (0..6).rev() {
        let month = Some(month_before(now, back));
        match usage::usage(State(s.clone()), v.caller.clone(), extract::Path(v.tenant.clone()), extract::Query(usage::UsageQuery { month })).await {
            Ok(axum::Json(u)) => months.push(u),
            Err(e) => return refused(&v, e),
        }
    }
    let chosen = match q.month {
        Some(month) if !months.iter().any(|u| u.month == month) => match usage::usage(State(s.clone()), v.caller.clone(), extract::Path(v.tenant.clone()), extract::Query(usage::UsageQuery { month: Some(month) })).await {
            Ok(axum::Json(u)) => u,
            Err(e) => return refused(&v, e),
        },
        Some(month) => months.iter().find(|u| u.month == month).cloned().unwrap_or(UsageView { month, items: Vec::new(), days: Vec::new() }),
        None => months.last().cloned().unwrap_or(UsageView { month: month_before(now, 0), items: Vec::new(), days: Vec::new() }),
    };
    let body = html! {
        (chart(&months))
        form.filters method="get" action="/usage" {
            label { "Month" input name="month" value=(chosen.month) pattern="[0-9]{4}-(0[1-9]|1[0-2])" required; }
            button type="submit" { "Show" }
        }
        h2 { "Usage in " (chosen.month) }
        @if chosen.items.is_empty() { p { "Nothing used." } } @else {
            table {
                thead { tr { th { "What" } th { "Provider" } th { "Quantity" } } }
                tbody { @for i in &chosen.items { tr { td { (i.metric.replace('_', " ")) } td { (i.provider) } td { (i.quantity) } } } }
            }
        }
        @if !chosen.days.is_empty() {
            h2 { "Per day" }
            (day_charts(&chosen))
            table {
                thead { tr { th { "Day (UTC)" } th { "What" } th { "Provider" } th { "Quantity" } } }
                tbody {
                    @for d in &chosen.days {
                        @for (k, i) in d.items.iter().enumerate() {
                            tr { td { @if k == 0 { (d.day) } } td { (i.metric.replace('_', " ")) } td { (i.provider) } td { (i.quantity) } }
                        }
                    }
                }
            }
        }
    };
    frame(&v, "Usage", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_drawn_by_day() {
        let item = |q| UsageItemView { metric: "call_seconds".into(), provider: "sip".into(), quantity: q };
        let day = |d: &str, q| crate::api::usage::DayUsageView { day: d.into(), items: vec![item(q), UsageItemView { metric: "asr_seconds".into(), provider: "embedded".into(), quantity: q / 2 }] };
        let u = UsageView { month: "2026-12".into(), items: vec![item(3_660)], days: vec![day("2026-12-01", 61), day("2026-12-31", 3_599)] };
        let html = day_charts(&u).into_string();
        assert!(html.contains("2026-12-01: 2 call minutes") && html.contains("2026-12-31: 60 call minutes"), "{html}");
        assert!(html.contains("x=\"241\" y=\"4\" width=\"6\" height=\"60\""), "the 31st is the last slot, full height: {html}");
        assert!(html.contains("Recognition seconds per day in 2026-12") && html.contains("2026-12-31: 1799 recognition seconds") && !html.contains("Synthesized characters"), "a chart for each metric the month used: {html}");
    }

    #[test]
    fn every_metered_engine_has_a_chart() {
        let charted: Vec<&str> = ENGINE_METRICS.iter().map(|m| m.0).collect();
        assert_eq!(parley_store::usage::METRICS.iter().copied().filter(|m| *m != "call_seconds").collect::<Vec<_>>(), charted);
    }

    #[test]
    fn months_count_back_across_years() {
        let dec_2026 = 1_796_083_200_000; // 2026-12-01
        assert_eq!(month_before(dec_2026, 0), "2026-12");
        assert_eq!(month_before(dec_2026, 11), "2026-01");
        assert_eq!(month_before(dec_2026, 12), "2025-12");
    }
}
