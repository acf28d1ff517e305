//! The console's usage page (admins): call minutes of the last six months as bars, and the
//! month's engine and provider usage (recognition seconds, synthesized characters, model
//! tokens, tool calls), from the API's usage reads.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::Viewer;
use super::{frame, refused};
use crate::api::usage::{self, UsageView};
use crate::api::{extract, now_ms, ApiState};

/// `YYYY-MM`, `back` months before the month of `unix_ms`.
fn month_before(unix_ms: i64, back: i64) -> String {
    let (y, m, _) = parley_store::usage::civil_date(unix_ms);
    let index = y * 12 + (m - 1) - back;
    format!("{:04}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1)
}

fn minutes(u: &UsageView) -> i64 {
    (u.items.iter().filter(|i| i.metric == "call_seconds").map(|i| i.quantity).sum::<i64>().max(0) + 59) / 60
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
                line x1="0" y1="64.5" x2="240" y2="64.5";
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
        Some(month) => months.iter().find(|u| u.month == month).cloned().unwrap_or(UsageView { month, items: Vec::new() }),
        None => months.last().cloned().unwrap_or(UsageView { month: month_before(now, 0), items: Vec::new() }),
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
    };
    frame(&v, "Usage", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_back_across_years() {
        let dec_2026 = 1_796_083_200_000; // 2026-12-01
        assert_eq!(month_before(dec_2026, 0), "2026-12");
        assert_eq!(month_before(dec_2026, 11), "2026-01");
        assert_eq!(month_before(dec_2026, 12), "2025-12");
    }
}
