//! The console's pages as HTML (maud: every interpolated string is escaped; names a tenant
//! controls are put in `<bdi>`, so a right-to-left override in one cannot reorder the page
//! around it). Pure functions of what the API returned: no I/O here.

use maud::{html, Markup, DOCTYPE};
use parley_store::latency_days::nearest_rank;
use parley_store::usage::civil_date;

use crate::api::calls::{CallPageView, CallView, LatencyDays, LatencyView};
use crate::api::kept::KeptTranscript;
use crate::api::usage::{LimitsView, OpEventView, UsageView};

/// Who a page is for.
#[derive(Clone, Copy)]
pub enum SignedIn<'a> {
    /// Nobody yet (the sign-in forms).
    Nobody,
    /// A tenant's user: the tenant, their role, the form token.
    Tenant { tenant: &'a str, role: &'a str, csrf: &'a str },
    /// An operator: the form token.
    Operator { csrf: &'a str },
}

/// The page frame: navigation, who is signed in, the sign-out form.
pub fn layout(title: &str, who: SignedIn, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Parley" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                header {
                    a.brand href="/" { "Parley" }
                    @match who {
                        SignedIn::Nobody => {},
                        SignedIn::Tenant { tenant, role, csrf } => {
                            nav aria-label="Main" {
                                a href="/" { "Overview" }
                                a href="/calls" { "Calls" }
                                a href="/agents" { "Agents" }
                                a href="/privacy" { "Privacy" }
                                @if matches!(role, "admin" | "owner") { a href="/usage" { "Usage" } a href="/settings" { "Settings" } }
                            }
                            div.who {
                                span { "Tenant " bdi { (tenant) } " · " (role) }
                                (sign_out_form("/sign-out", csrf))
                            }
                        },
                        SignedIn::Operator { csrf } => {
                            nav aria-label="Main" { a href="/operator" { "Tenants" } }
                            div.who {
                                span { "Operator" }
                                (sign_out_form("/operator/sign-out", csrf))
                            }
                        },
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn sign_out_form(action: &str, csrf: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Sign out" }
        }
    }
}

/// The sign-in form of a tenant's users, or (`tenant: None`) of operators; `error` says why
/// the last try failed.
pub fn sign_in(form_token: &str, tenant: Option<&str>, email: &str, error: Option<&str>) -> Markup {
    let action = if tenant.is_some() { "/sign-in" } else { "/operator/sign-in" };
    layout(
        if tenant.is_some() { "Sign in" } else { "Operator sign-in" },
        SignedIn::Nobody,
        html! {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.sign-in method="post" action=(action) {
                input type="hidden" name="form_token" value=(form_token);
                @if let Some(tenant) = tenant { label { "Tenant" input name="tenant" required autocomplete="organization" value=(tenant); } }
                label { "Email" input name="email" type="email" required autocomplete="username" value=(email); }
                label { "Password" input name="password" type="password" required autocomplete="current-password"; }
                button type="submit" { "Sign in" }
            }
            @if tenant.is_some() { p { a href="/operator/sign-in" { "Operators sign in here." } } } @else { p { a href="/sign-in" { "A tenant's users sign in here." } } }
        },
    )
}

/// `YYYY-MM-DD HH:MM` (UTC) of a unix-ms time.
pub fn when(unix_ms: i64) -> String {
    let (y, m, d) = civil_date(unix_ms);
    let minutes = unix_ms.rem_euclid(86_400_000) / 60_000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// What the overview shows; sections the signed-in role may not read are `None`.
pub struct Overview {
    /// Calls since midnight UTC (at most one page).
    pub today: CallPageView,
    /// Midnight UTC, unix ms.
    pub day_start_ms: i64,
    pub limits: Option<LimitsView>,
    pub usage: Option<UsageView>,
    pub events: Option<Vec<OpEventView>>,
    /// Voice to voice per day, the last 14 days.
    pub latency: LatencyDays,
}

/// Calls per hour of the day as bars, drawn as SVG by the server (no script, no CDN).
fn calls_per_hour(calls: &[CallView], day_start_ms: i64) -> Markup {
    let mut hours = [0u32; 24];
    for c in calls {
        let h = (c.started_ms - day_start_ms).div_euclid(3_600_000);
        if let Some(n) = usize::try_from(h).ok().and_then(|h| hours.get_mut(h)) {
            *n += 1;
        }
    }
    let top = hours.iter().copied().max().unwrap_or(0).max(1);
    html! {
        figure {
            svg.chart viewBox="0 0 240 64" role="img" aria-labelledby="per-hour-title" {
                title id="per-hour-title" { "Calls per hour today (UTC)" }
                @for (h, n) in hours.iter().enumerate() {
                    @let height = 60 * n / top;
                    rect x=(h * 10 + 1) y=(62 - height) width="8" height=(height) { title { (format!("{h:02}:00 {n} calls")) } }
                }
                line x1="0" y1="62.5" x2="240" y2="62.5" {}
            }
            figcaption { "Calls per hour today (UTC)" }
        }
    }
}

/// Today's post-call deliveries by state (`delivered`, `pending`, `expired`, `none` for calls
/// with nothing to deliver), the ones that did not arrive first.
fn delivery(calls: &[CallView]) -> Markup {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for c in calls {
        *counts.entry(c.webhook_status.as_str()).or_default() += 1;
    }
    let trouble: usize = counts.iter().filter(|(k, _)| !matches!(**k, "delivered" | "none")).map(|(_, n)| n).sum();
    html! {
        h2 { "Delivery today" }
        @if calls.is_empty() { p { "No calls yet." } } @else {
            p { @if trouble == 0 { "Every document due today was delivered." } @else { (trouble) " call(s) whose documents have not arrived (yet)." } }
            ul.summary { @for (state, n) in &counts { li { (state) ": " (n) } } }
        }
    }
}

/// The overview page's body.
pub fn overview(o: &Overview) -> Markup {
    let mut v2v: Vec<i64> = o.today.calls.iter().filter_map(|c| c.latency.as_ref().map(|l| l.voice_to_voice_ms)).collect();
    v2v.sort_unstable();
    let minutes = o.usage.as_ref().map(|u| super::usage_page::minutes_of(&u.items));
    let more = if o.today.next_cursor.is_some() { "+" } else { "" };
    html! {
        section.cards aria-label="Today" {
            div.card { h2 { "Calls today" } p.figure { (o.today.calls.len()) (more) } }
            div.card {
                h2 { "Voice to voice today" }
                @match (nearest_rank(&v2v, 0.5), nearest_rank(&v2v, 0.9)) {
                    (Some(p50), Some(p90)) => {
                        p.figure { (p50) " ms" }
                        p { "median of calls; p90 " (p90) " ms" }
                    },
                    _ => { p { "No answered turns yet." } },
                }
            }
            @if let Some(m) = minutes {
                div.card {
                    h2 { "Minutes this month" }
                    p.figure { (m) }
                    @if let Some(l) = o.limits.as_ref().filter(|l| l.max_minutes_per_month > 0) {
                        meter min="0" max=(l.max_minutes_per_month) value=(m) { (m) " of " (l.max_minutes_per_month) }
                        p { "of " (l.max_minutes_per_month) " allowed" }
                    }
                }
            }
        }
        (calls_per_hour(&o.today.calls, o.day_start_ms))
        (super::latency_chart::histogram(&v2v))
        h2 { "Voice to voice, last 14 days" }
        (super::latency_chart::chart(&o.latency))
        (delivery(&o.today.calls))
        @if let Some(events) = &o.events {
            h2 { "Recent operational events" }
            @if events.is_empty() { p { "None." } } @else {
                table {
                    thead { tr { th { "When (UTC)" } th { "Kind" } th { "Code" } th { "Detail" } } }
                    tbody { @for e in events { tr { td { (when(e.at_ms)) } td { (e.kind) } td { (e.code) } td { bdi { (e.detail) } } } } }
                }
            }
        }
    }
}

/// The calls page's filters as the form gave them (dates `YYYY-MM-DD`, UTC, both included).
#[derive(Default)]
pub struct CallFilters<'a> {
    pub outcome: &'a str,
    pub agent: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// Midnight UTC of a `YYYY-MM-DD` date, unix ms (days-from-civil, the inverse of `civil_date`).
pub fn day_start_ms(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let ms = (era * 146_097 + doe - 719_468) * 86_400_000;
    // A day past the month's end (2026-02-30) comes back as another date: refused.
    (when(ms).get(..10) == Some(date.trim())).then_some(ms)
}

/// The calls page's body: the filter form, a page of calls, the link to the next.
pub fn calls(page: &CallPageView, f: &CallFilters) -> Markup {
    let (outcome, agent) = (f.outcome, f.agent);
    html! {
        form.filters method="get" action="/calls" {
            label { "Outcome" input name="outcome" value=(outcome); }
            label { "Agent" input name="agent" value=(agent); }
            label { "From (UTC)" input name="from" type="date" value=(f.from); }
            label { "To (UTC)" input name="to" type="date" value=(f.to); }
            button type="submit" { "Filter" }
        }
        @if page.calls.is_empty() { p { "No calls." } } @else {
            table {
                thead { tr { th { "Started (UTC)" } th { "Agent" } th { "Caller" } th { "Outcome" } th { "Turns" } th { "Voice to voice" } th { "Delivery" } } }
                tbody {
                    @for c in &page.calls {
                        tr {
                            td { a href=(format!("/calls/{}", c.id)) { (when(c.started_ms)) } }
                            td.name { bdi { (c.agent) } }
                            td { bdi { (c.caller_masked) } }
                            td { (c.outcome) }
                            td { (c.turns) }
                            td { @match c.latency.as_ref().map(|l| l.voice_to_voice_ms) { Some(ms) => { (ms) " ms" }, None => { "–" } } }
                            td { (c.webhook_status) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &page.next_cursor {
            @let query = serde_urlencoded_pairs(&[("cursor", next.as_str()), ("outcome", outcome), ("agent", agent), ("from", f.from), ("to", f.to)]);
            p { a href=(format!("/calls?{query}")) { "Older calls" } }
        }
    }
}

/// Where a call's turns spent their time (medians over its replies), as one stacked bar.
fn latency_bar(l: &LatencyView) -> Markup {
    let parts = super::timeline::stages(l.end_of_turn_ms, l.recognition_ms, l.agent_ms, l.synthesis_ms);
    let total = parts.iter().map(|p| p.1.max(0)).sum::<i64>();
    let segments: Vec<(&str, i64, &str, i64, i64)> = parts.iter().zip(super::timeline::segments(&parts, 400, total)).map(|(&(name, ms, class), (x, w))| (name, ms, class, x, w)).collect();
    html! {
        figure {
            svg.latency viewBox="0 0 400 24" role="img" aria-labelledby="latency-title" {
                title id="latency-title" { "Median time per reply, by stage" }
                @for (name, ms, class, x, w) in segments {
                    rect class=(class) x=(x) y="2" width=(w) height="20" { title { (name) " " (ms) " ms" } }
                }
            }
            figcaption {
                ul.legend {
                    @for (name, ms, class) in parts { li { span class=(format!("swatch {class}")) {} (name) " " (ms) " ms" } }
                }
                "Voice to voice: median " (l.voice_to_voice_ms) " ms, p90 " (l.voice_to_voice_p90_ms) " ms, over " (l.replies) " replies."
            }
        }
    }
}

/// A call's page: its facts, where its replies spent their time, and its transcript and
/// recording where the policy keeps them (`kept`: `None` when the role may not read them).
pub fn call(c: &CallView, transcript: Option<Option<&KeptTranscript>>, recording: Option<bool>) -> Markup {
    let seconds = (c.ended_ms - c.answered_ms.unwrap_or(c.started_ms)).max(0) / 1000;
    html! {
        dl.facts {
            dt { "Started (UTC)" } dd { (when(c.started_ms)) }
            dt { "Talked" } dd { (seconds / 60) " min " (seconds % 60) " s" }
            dt { "Agent" } dd { bdi { (c.agent) } }
            dt { "Caller" } dd { bdi { (c.caller_masked) } }
            dt { "Number called" } dd { bdi { (c.callee) } }
            dt { "Transport" } dd { (c.transport) }
            dt { "Outcome" } dd { (c.outcome) }
            dt { "How it ended" } dd { (c.end_reason) }
            dt { "Routing" } dd { (c.routing) }
            dt { "Turns" } dd { (c.turns) " (" (c.retries) " not understood)" }
            dt { "Delivery" } dd { (c.webhook_status) }
        }
        h2 { "Latency" }
        @match &c.latency { Some(l) => (latency_bar(l)), None => p { "No replies were measured." } }
        @if let Some(t) = &c.timeline { h2 { "Timeline" } (super::timeline::timeline(t)) }
        h2 { "Transcript" }
        @match transcript {
            None => p { "Only admins read kept transcripts." },
            Some(None) => p { "Not kept: the data policy keeps no transcript of this call." },
            Some(Some(t)) => {
                p { "Kept until " (when(t.expires_ms)) " UTC." }
                ol.transcript {
                    @for turn in t.transcript.as_array().into_iter().flatten() {
                        li { strong { (turn["speaker"].as_str().unwrap_or("?")) ": " } bdi { (turn["text"].as_str().unwrap_or("")) } }
                    }
                }
            }
        }
        h2 { "Recording" }
        @match recording {
            None => p { "Only admins hear kept recordings." },
            Some(false) => p { "Not kept: the data policy records no calls." },
            Some(true) => audio controls preload="none" src=(format!("/calls/{}/recording", c.id)) { a href=(format!("/calls/{}/recording", c.id)) { "Download the recording" } },
        }
    }
}

/// A query string of the non-empty pairs.
fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    q.finish()
}

/// A page for an error the API gave.
pub fn problem(message: &str) -> Markup {
    html! { p.error role="alert" { (message) } p { a href="/" { "Back to the overview" } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(agent: &str) -> CallView {
        let s = |v: &str| v.to_string();
        CallView {
            id: s("c1"), agent: s(agent), caller_masked: s("+1555***0100"), caller_hash: s("h"), callee: s("demo"), transport: s("udp"),
            started_ms: 1_764_650_000_000, answered_ms: None, ended_ms: 1_764_650_060_000, outcome: s("answered"),
            end_reason: s("caller_hung_up"), routing: s("agent"), turns: 3, retries: 0, webhook_status: s("delivered"), latency: None, timeline: Default::default(),
        }
    }

    #[test]
    fn tenant_strings_are_escaped_and_isolated() {
        let page = CallPageView { calls: vec![call("<script>alert(1)</script>\u{202e}evil")], next_cursor: None };
        let out = calls(&page, &CallFilters { outcome: "\"><img src=x>", ..Default::default() }).into_string();
        assert!(!out.contains("<script>alert"), "{out}");
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(out.contains("<bdi>&lt;script&gt;"), "the name is isolated: {out}");
        assert!(!out.contains("<img src=x>"));
    }

    #[test]
    fn dates_are_utc_midnights_and_impossible_ones_are_refused() {
        assert_eq!(day_start_ms("1970-01-01"), Some(0));
        assert_eq!(day_start_ms("2026-12-31"), Some(1_798_675_200_000));
        assert_eq!(day_start_ms("2024-02-29"), Some(1_709_164_800_000));
        for bad in ["2026-02-30", "2026-13-01", "26-1-1", "", "2026-01-01x", "x"] {
            assert_eq!(day_start_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_are_utc_dates_and_minutes() {
        assert_eq!(when(0), "1970-01-01 00:00");
        assert_eq!(when(1_798_761_599_999), "2026-12-31 23:59");
    }
}
