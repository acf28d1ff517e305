//! A call's timeline on its page: each reply as a bar split by stage (end-of-turn wait,
//! recognition, agent, synthesis), drawn to one scale so slow replies stand out, and each
//! tool call with its time and outcome, in the order they happened. Pure markup.

use maud::{html, Markup};

use crate::api::calls::{TimelineView, TurnView};

/// The stages of a reply: name, ms, style class.
pub fn stages(eot: i64, asr: i64, agent: i64, tts: i64) -> [(&'static str, i64, &'static str); 4] {
    [("End of turn", eot, "seg-eot"), ("Recognition", asr, "seg-asr"), ("Agent", agent, "seg-agent"), ("Synthesis", tts, "seg-tts")]
}

/// Where each stage's rectangle goes on a bar `width` wide for `scale` ms: (x, width).
pub fn segments(parts: &[(&str, i64, &str)], width: i64, scale: i64) -> Vec<(i64, i64)> {
    let scale = scale.max(1);
    let mut x = 0;
    parts
        .iter()
        .map(|p| {
            let w = width * p.1.max(0) / scale;
            x += w;
            (x - w, w)
        })
        .collect()
}

/// `m:ss.d` after the answer.
fn clock(ms: i64) -> String {
    let ms = ms.max(0);
    format!("{}:{:02}.{}", ms / 60_000, ms / 1000 % 60, ms % 1000 / 100)
}

enum Row<'a> {
    Reply(usize, &'a TurnView),
    Tool(&'a crate::api::calls::ToolView),
}

fn reply_bar(t: &TurnView, scale: i64) -> Markup {
    let parts = stages(t.end_of_turn_ms, t.recognition_ms, t.agent_ms, t.synthesis_ms);
    let label = format!("{} ms: end of turn {} ms, recognition {} ms, agent {} ms, synthesis {} ms", t.voice_to_voice_ms, t.end_of_turn_ms, t.recognition_ms, t.agent_ms, t.synthesis_ms);
    html! {
        svg.turn viewBox="0 0 300 12" role="img" aria-label=(label) {
            @for ((name, ms, class), (x, w)) in parts.iter().zip(segments(&parts, 300, scale)) {
                rect class=(class) x=(x) y="1" width=(w) height="10" { title { (name) " " (ms) " ms" } }
            }
        }
        " " (t.voice_to_voice_ms) " ms"
    }
}

/// The timeline section of a call's page.
pub fn timeline(t: &TimelineView) -> Markup {
    let scale = t.turns.iter().map(|t| t.end_of_turn_ms.max(0) + t.recognition_ms.max(0) + t.agent_ms.max(0) + t.synthesis_ms.max(0)).max().unwrap_or(1);
    let mut rows: Vec<(i64, Row)> = t.turns.iter().enumerate().map(|(i, turn)| (turn.at_ms, Row::Reply(i + 1, turn))).collect();
    rows.extend(t.tools.iter().map(|tool| (tool.at_ms, Row::Tool(tool))));
    rows.sort_by_key(|r| r.0);
    html! {
        @if rows.is_empty() { p { "No replies or tool calls were recorded." } } @else {
            table.timeline {
                caption.visually-hidden { "Replies and tool calls in order, with their times" }
                thead { tr { th scope="col" { "After the answer" } th scope="col" { "What" } th scope="col" { "Time (voice to voice, by stage)" } } }
                tbody {
                    @for (at, row) in &rows {
                        tr {
                            td { (clock(*at)) }
                            @match row {
                                Row::Reply(n, turn) => { td { "Reply " (n) } td { (reply_bar(turn, scale)) } }
                                Row::Tool(tool) => { td { "Tool " code { (tool.tool) } ": " (tool.outcome) } td { (tool.ms) " ms" } }
                            }
                        }
                    }
                }
            }
            ul.legend {
                @for (name, _, class) in stages(0, 0, 0, 0) { li { span class=(format!("swatch {class}")) {} (name) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::calls::ToolView;

    #[test]
    fn replies_and_tools_come_in_time_order_on_one_scale() {
        let turn = |at_ms, eot| TurnView { at_ms, end_of_turn_ms: eot, recognition_ms: 100, agent_ms: 0, synthesis_ms: 100, voice_to_voice_ms: eot + 200, answer_ms: None };
        let t = TimelineView { turns: vec![turn(4_000, 400), turn(65_200, 1_000)], tools: vec![ToolView { at_ms: 4_500, tool: "find_<order>".into(), ms: 120, outcome: "found".into() }] };
        let html = timeline(&t).into_string();
        let (first, tool, second) = (html.find("Reply 1").unwrap(), html.find("find_&lt;order&gt;").unwrap(), html.find("Reply 2").unwrap());
        assert!(first < tool && tool < second, "{html}");
        assert!(html.contains("0:04.0") && html.contains("1:05.2") && html.contains("120 ms"), "{html}");
        // The slowest reply fills the bar; the other is drawn to the same scale.
        assert!(html.contains("x=\"0\" y=\"1\" width=\"250\"") && html.contains("x=\"0\" y=\"1\" width=\"100\""), "{html}");
        assert!(timeline(&TimelineView { turns: vec![], tools: vec![] }).into_string().contains("No replies"));
    }
}
