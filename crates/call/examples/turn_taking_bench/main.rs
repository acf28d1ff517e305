//! Turn-taking benchmark: how long the agent waits after the caller's last word, and how often
//! it takes the turn while the caller is only pausing mid-sentence.
//!
//! The set is recorded human speech (the Asterisk core prompts, through a mu-law line):
//! - finished turns: the first 40 prompts of 1.5-6 s, as the recognizer bench uses them;
//! - turns with a pause in the middle: fragments Asterisk itself strings together ("you have"
//!   ... "two new messages", "the person at extension" ... "two zero four", an order number
//!   read out "one zero" ... "zero four"), joined with a pause of 300, 500 or 700 ms. Taking
//!   the turn before the second part starts is a cut-in. Recorded apart, each fragment ends
//!   with the falling voice of a finished prompt;
//! - turns with the speaker's own pause: 15 prompts read as one sentence with a pause inside
//!   ("I'm sorry, | but I was unable to ..."), the longest pause stretched to 300, 500 or 700
//!   ms. Here the voice before the pause is that of someone who goes on.
//!
//! Each turn runs through the real [`CallPipeline`] in simulated time after the agent's
//! greeting, with the real recognizer (Whisper tiny.en, 2 threads): when the pipeline asks for
//! a recognition the bench decodes at once and hands the text back as many simulated ms later
//! as the decode took. The wait is from the last sample above -40 dBFS of the turn to the
//! pipeline's `TurnTaken` (the agent has the words).
//!
//! Usage: `cargo run --release -p parley-call --example turn_taking_bench -- [--silero]
//! [--smart-turn [--sounds-finished P]] [--pitch-judge MAX] [--end MS] [--finished MS] [--judged MS] [--closed MS] [--unfinished MS]
//! [--speculate MS] [--noise SNR_DB] [-v]`
//! (needs `scripts/setup.sh --test-peers`). With `--pitch` it runs no turn: it says how far the
//! speaker's voice falls at each pause inside a turn and at each finished turn's end
//! ([`pitch::fall_at`]).

mod pitch;
#[path = "../../../speech/tests/common/prompts.rs"]
mod prompts;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parley_agent::spec::AgentSpec;
use parley_call::{CallPipeline, Config, Output};
use parley_speech::silero::{self, SileroModel};
use parley_speech::smart_turn::{self, SmartTurnModel};
use parley_speech::vad::EndpointerConfig;
use parley_speech::whisper_cpp::{WhisperCppConfig, WhisperCppRecognizer, WhisperModel};
use parley_speech::{Recognizer, Utterance};

const FRAME: usize = 160;

/// Mid-sentence pauses: (first part, second part), each a list of prompts said in a run.
const PAUSED: &[(&[&str], &[&str])] = &[
    (&["vm-youhave"], &["digits/2", "vm-INBOX", "vm-messages"]),
    (&["vm-theperson"], &["digits/2", "digits/0", "digits/4"]),
    (&["digits/1", "digits/0"], &["digits/0", "digits/4"]),
    (&["digits/1", "digits/0", "digits/0"], &["digits/7"]),
    (&["conf-thereare"], &["digits/3", "confbridge-participants"]),
    (&["if-correct-press"], &["digits/1"]),
    (&["digits/4", "digits/2", "digits/7", "digits/1"], &["astcc-followed-by-the-pound-key"]),
    (&["you-entered"], &["digits/5", "digits/5", "digits/1"]),
    (&["confbridge-leave-in"], &["vm-press", "digits/5"]),
    (&["vm-toenternumber"], &["vm-tocancel"]),
    (&["at-tone-time-exactly"], &["digits/3", "digits/oclock"]),
    (&["vm-youhave", "digits/1", "vm-INBOX", "vm-message"], &["vm-and", "digits/2", "vm-Old", "vm-messages"]),
];

const PAUSES_MS: [usize; 3] = [300, 500, 700];

/// Prompts read as one sentence whose speaker paused inside it (a comma or a breath of 150 ms
/// or more): the longest of those pauses is stretched to each of [`PAUSES_MS`]. Unlike the
/// joined fragments above, the words before the pause were said with the voice of someone who
/// goes on, as a caller's hesitation is.
const INSIDE: &[&str] = &[
    "agent-newlocation",   // Please enter a new extension, | followed by pound.
    "confbridge-pin",      // ... followed by the pound, | or hash key.
    "dictate/both_help",   // press * to toggle pause, | press # to enter a new dictation filename
    "dictate/record_help", // press 1 to switch to playback mode, | press 8 to truncate ...
    "dir-instr",           // If this is the person you are looking for press 1 now, otherwise ...
    "followme/options",    // press 1 to accept this call, | or 2 to reject it
    "followme/sorry",      // I'm sorry, | but I was unable to locate the person you are calling
    "privacy-incorrect",   // I'm sorry, | that number is not valid.
    "privacy-prompt",      // Please enter your phone number, | starting with the area code.
    "vm-rec-temp",         // After the tone, | say your temporary message, and then press ...
    "vm-saveoper",         // press 1 to accept this recording, otherwise, please continue to hold
    "vm-tempgreeting2",    // press 1 to record your temporary greeting, | or press 2 to erase ...
    "vm-tmpexists",        // There is a temporary greeting, | which overrides your standard greetings.
    "vm-whichbox",         // To leave a message, | please enter a mailbox number.
    "vm-forward",          // Press 1 to enter an extension, | press 2 to use the directory
];

/// Which part of the set a turn is from.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A whole prompt, said without a long pause.
    Whole,
    /// Fragments recorded apart, joined with a pause.
    Joined,
    /// One sentence with its speaker's own pause stretched.
    Inside,
}

struct Turn {
    name: String,
    kind: Kind,
    pcm: Vec<i16>,
    /// Sample where the part after the pause starts (`None`: no pause).
    resumes_at: Option<usize>,
    /// The last sample of speech.
    speech_end: usize,
    /// What is said (the prompts' transcripts).
    text: String,
}

/// Where speech starts and ends in `pcm`: 10 ms windows above -40 dBFS.
fn speech_span(pcm: &[i16]) -> (usize, usize) {
    let loud: Vec<bool> = pcm.chunks(80).map(|w| (w.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / w.len() as f64).sqrt() > 328.0).collect();
    let first = loud.iter().position(|&l| l).unwrap_or(0);
    let last = loud.iter().rposition(|&l| l).unwrap_or(0);
    (first * 80, ((last + 1) * 80).min(pcm.len()))
}

/// `pcm`'s speech with its longest pause inside (10 ms windows under -40 dBFS, at least 150
/// ms) made `pause_ms` long, and where the speech resumes after it.
fn stretched(pcm: &[i16], pause_ms: usize) -> Option<(Vec<i16>, usize)> {
    let (a, b) = speech_span(pcm);
    let speech = &pcm[a..b];
    let quiet: Vec<bool> = speech.chunks(80).map(|w| (w.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / w.len() as f64).sqrt() <= 328.0).collect();
    let (mut best, mut run_start) = ((0, 0), None);
    for (i, &q) in quiet.iter().chain(std::iter::once(&false)).enumerate() {
        match (q, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(s)) => {
                if i - s > best.1 - best.0 {
                    best = (s, i);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    if best.1 - best.0 < 15 {
        return None;
    }
    let mut out = speech[..best.0 * 80].to_vec();
    out.extend(std::iter::repeat_n(0i16, pause_ms * 8));
    let resumes_at = out.len();
    out.extend_from_slice(&speech[best.1 * 80..]);
    Some((out, resumes_at))
}

/// What prompts said in a run say.
fn text_of(names: &[&str]) -> String {
    names.iter().map(|n| prompts::text_of(n).unwrap_or_else(|| panic!("{n}: no transcript"))).collect::<Vec<_>>().join(" ")
}

/// Prompts said in a run: each trimmed to its speech, 60 ms apart.
fn said(names: &[&str]) -> Vec<i16> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.extend(std::iter::repeat_n(0i16, 480));
        }
        let pcm = prompts::by_name(name);
        let (a, b) = speech_span(&pcm);
        out.extend_from_slice(&pcm[a..b]);
    }
    out
}

fn set() -> Vec<Turn> {
    let lead = vec![0i16; 4000];
    let mut turns = Vec::new();
    for p in prompts::load(1.5, 6.0, 40) {
        let mut pcm = lead.clone();
        pcm.extend_from_slice(&p.pcm);
        let speech_end = lead.len() + speech_span(&p.pcm).1;
        turns.push(Turn { name: p.name, kind: Kind::Whole, pcm, resumes_at: None, speech_end, text: p.text });
    }
    for (first, second) in PAUSED {
        for pause in PAUSES_MS {
            let mut pcm = lead.clone();
            pcm.extend(said(first));
            pcm.extend(std::iter::repeat_n(0i16, pause * 8));
            let resumes_at = pcm.len();
            pcm.extend(said(second));
            let speech_end = pcm.len();
            turns.push(Turn { name: format!("{} | {} ({pause} ms)", first.join(" "), second.join(" ")), kind: Kind::Joined, pcm, resumes_at: Some(resumes_at), speech_end, text: format!("{} {}", text_of(first), text_of(second)) });
        }
    }
    for name in INSIDE {
        for pause in PAUSES_MS {
            let (speech, resumes_at) = stretched(&prompts::by_name(name), pause).unwrap_or_else(|| panic!("{name}: no pause of 150 ms inside"));
            let mut pcm = lead.clone();
            pcm.extend(speech);
            let speech_end = pcm.len();
            turns.push(Turn { name: format!("{name}, its own pause ({pause} ms)"), kind: Kind::Inside, pcm, resumes_at: Some(lead.len() + resumes_at), speech_end, text: text_of(&[name]) });
        }
    }
    turns
}

/// What happened to one turn: when the agent took it (ms from the start of the audio).
struct Outcome {
    taken_ms: Option<u64>,
    decodes: usize,
    /// What the recognizer heard, in order (shown with `-v`).
    heard: Vec<String>,
    /// Caller turns the conversation had at the end: 1 after a cut-in taken back.
    turns: u32,
    /// The agent's audio sent after it took the turn until the far end was told to drop what it
    /// holds (of a cut-in: what the caller heard of the cut reply).
    agent_heard_ms: u64,
    /// What the agent heard the caller say, all turns joined (the transcript's caller lines).
    caller_text: String,
    /// From the turn's start to when the text the agent took came from the recognizer (ms).
    text_ms: Option<u64>,
    /// Time spent decoding, all decodes of the turn (ms).
    decode_ms: u64,
}

/// The engines a turn runs with.
struct Engines {
    silero: Option<SileroModel>,
    asr: WhisperCppRecognizer,
    /// Smart Turn, and the probability from which a sentence counts as sounding finished.
    smart_turn: Option<(SmartTurnModel, f32)>,
    /// `--pitch-judge MAX`: the sound's judge is the voice's fall instead ([`pitch::fall_at`]):
    /// a sentence whose voice ends at MAX of the speaker's median pitch or under sounds finished.
    pitch_judge: Option<f32>,
    rt: tokio::runtime::Runtime,
}

fn run_turn(turn: &Turn, cfg: &EndpointerConfig, engines: &Engines) -> Outcome {
    let Engines { silero: model, asr, smart_turn, pitch_judge, rt } = engines;
    let t0 = Instant::now();
    let config = Config { agent: AgentSpec::demo(), caller: "+15550100004".into(), answered_unix_ms: 1_796_000_000_000, record: false, endpointer: cfg.clone(), voice_model: model.clone(), prepare_replies: false, ask_model_ahead: false, local_tools: None, encoder: None, judge_turns: smart_turn.is_some() || pitch_judge.is_some() };
    let mut p = CallPipeline::new(config, t0);
    let mut now = t0;
    let mut seq = 0u16;
    let mut pending: Vec<(u64, String, Instant)> = Vec::new();
    let mut judgements: Vec<(u64, f32, Instant)> = Vec::new();
    let mut decodes = 0;
    let mut heard = Vec::new();
    let mut taken: Option<Instant> = None;
    let (mut agent_heard_ms, mut cleared) = (0, false);
    let mut speaking_since: Option<Instant> = None;
    let mut agent_quiet_for = 0;
    let (mut decode_ms, mut delivered_at, mut text_at) = (0u64, None, None);
    let mut fed = 0usize;
    let mut start_feeding: Option<Instant> = None;
    let limit = t0 + Duration::from_secs(60);
    while now < limit {
        // Silence until the greeting is over, then the turn, then 3 s of silence.
        let frame: Vec<i16> = match start_feeding {
            Some(_) if fed < turn.pcm.len() => {
                let mut f = turn.pcm[fed..(fed + FRAME).min(turn.pcm.len())].to_vec();
                fed += FRAME;
                f.resize(FRAME, 0);
                f
            }
            _ => vec![0; FRAME],
        };
        if let Some(start) = start_feeding {
            // A turn taken before the last word: on to the end, to see whether it is taken back.
            let cut = taken.is_some_and(|t| t.duration_since(start) < Duration::from_millis(turn.speech_end as u64 / 8));
            if now.duration_since(start) > Duration::from_millis(turn.pcm.len() as u64 / 8 + 3000) || (taken.is_some() && !cut) {
                break;
            }
        }
        for (turn_no, text, at) in std::mem::take(&mut pending) {
            if at <= now {
                p.handle_recognized(now, turn_no, &text);
                delivered_at = Some(now);
            } else {
                pending.push((turn_no, text, at));
            }
        }
        for (turn_no, probability, at) in std::mem::take(&mut judgements) {
            if at <= now {
                p.handle_turn_judged(now, turn_no, probability);
            } else {
                judgements.push((turn_no, probability, at));
            }
        }
        seq = seq.wrapping_add(1);
        p.handle_audio(now, seq, frame);
        p.handle_timeout(now, None);
        let mut sent_sound = false;
        while let Some(o) = p.poll_output() {
            match o {
                Output::Audio { samples, .. } => {
                    let sound = samples.iter().any(|&s| s != 0);
                    sent_sound |= sound;
                    // The cut reply's audio the caller heard.
                    if sound && taken.is_some() && !cleared {
                        agent_heard_ms += 20;
                    }
                }
                Output::Synthesize(prompt) => {
                    // The agent's voice: quiet tone so the playout runs its length (10 ms a character).
                    let audio: Vec<i16> = (0..prompt.text.len() * 80).map(|i| if i % 2 == 0 { 1 } else { -1 }).collect();
                    p.handle_synthesized(prompt.id, audio.into());
                    p.handle_synthesis_done(prompt.id);
                }
                Output::Recognize { turn: turn_no, audio, speech_end, urgency, hint } => {
                    let started = Instant::now();
                    let text = rt.block_on(asr.transcribe(Utterance { pcm: &audio, speech_end, urgency, hint: hint.as_deref() })).unwrap_or_default();
                    decodes += 1;
                    decode_ms += started.elapsed().as_millis() as u64;
                    heard.push(text.clone());
                    pending.push((turn_no, text, now + started.elapsed()));
                }
                Output::CancelRecognition(turn_no) => {
                    pending.retain(|(t, _, _)| *t != turn_no);
                    judgements.retain(|(t, _, _)| *t != turn_no);
                }
                Output::JudgeTurn { turn: turn_no, audio } => {
                    let started = Instant::now();
                    // The pipeline's own threshold is 0.5: map this run's onto it.
                    let mut seen = 1.0;
                    if let Some((model, finished_from)) = smart_turn {
                        let probability = model.complete_probability(&audio).expect("smart turn runs");
                        heard.push(format!("(sounds finished: {probability:.2})"));
                        seen = if probability >= *finished_from { seen } else { 0.0 };
                    }
                    if let Some(max) = pitch_judge {
                        let fall = pitch::fall_at(&audio, audio.len()).unwrap_or(1.0);
                        heard.push(format!("(voice ends at {fall:.2})"));
                        seen = if fall <= *max { seen } else { 0.0 };
                    }
                    judgements.push((turn_no, seen, now + started.elapsed()));
                }
                Output::ClearAudio if taken.is_some() => cleared = true,
                Output::TurnTaken if start_feeding.is_some() => {
                    taken.get_or_insert(now);
                    text_at = delivered_at;
                }
                _ => {}
            }
        }
        if start_feeding.is_none() {
            agent_quiet_for = if sent_sound { 0 } else { agent_quiet_for + 1 };
            if sent_sound {
                speaking_since.get_or_insert(now);
            }
            if speaking_since.is_some() && agent_quiet_for > 10 {
                start_feeding = Some(now + Duration::from_millis(20));
            }
        }
        now += Duration::from_millis(20);
    }
    let start = start_feeding.unwrap_or(t0);
    let finished = p.finish(now);
    let caller_text = parley_connect::document::transcript_for_model(&finished.transcript).lines().filter_map(|l| l.strip_prefix("Caller: ")).collect::<Vec<_>>().join(" ");
    let since_start = |t: Instant| t.saturating_duration_since(start).as_millis() as u64;
    Outcome { taken_ms: taken.map(since_start), decodes, heard, turns: finished.conversation.turns, agent_heard_ms, caller_text, text_ms: text_at.map(since_start), decode_ms }
}

fn percentile(sorted: &[i64], p: f32) -> i64 {
    sorted.get(((sorted.len() as f32 - 1.0) * p).round() as usize).copied().unwrap_or(0)
}

/// `--pitch`: the voice's fall at each pause point of the set (the first part of each joined
/// turn, each speaker's own pause) against its fall at the end of the 40 finished turns.
fn pitch_report() {
    let fall = |pcm: &[i16], end: usize| pitch::fall_at(pcm, end).unwrap_or(f32::NAN);
    let mut ends: Vec<f32> = prompts::load(1.5, 6.0, 40).iter().map(|p| fall(&p.pcm, speech_span(&p.pcm).1)).collect();
    ends.sort_by(f32::total_cmp);
    let at = |q: f32| ends[((ends.len() - 1) as f32 * q).round() as usize];
    let (low, high) = (at(0.1), at(0.9));
    println!("finished turns' ends ({}): median {:.2}, 10-90% {low:.2}-{high:.2} of the speaker's median pitch", ends.len(), at(0.5));
    let mut pauses: Vec<(String, f32)> = PAUSED.iter().map(|(first, _)| (format!("{} | (joined)", text_of(first)), said(first))).map(|(name, pcm)| (name, fall(&pcm, pcm.len()))).collect();
    for name in INSIDE {
        let pcm = prompts::by_name(name);
        let (a, _) = speech_span(&pcm);
        let (_, resumes_at) = stretched(&pcm, PAUSES_MS[0]).unwrap_or_else(|| panic!("{name}: no pause of 150 ms inside"));
        pauses.push((format!("{name} | (its own pause)"), fall(&pcm, a + resumes_at - PAUSES_MS[0] * 8)));
    }
    let like_ends = pauses.iter().filter(|(_, f)| *f <= high).count();
    for (name, f) in &pauses {
        println!("  {f:.2} {}{name}", if *f <= high { "falls like an end: " } else { "" });
    }
    println!("pause points that fall as far as 9 in 10 finished ends (to {high:.2} or under): {like_ends}/{}", pauses.len());
    let turns = set();
    let ends_falling = turns.iter().filter(|t| fall(&t.pcm, t.speech_end) <= high).count();
    println!("turns of the whole set whose last words fall as far: {ends_falling}/{}", turns.len());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--pitch") {
        return pitch_report();
    }
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<u64>().ok());
    let verbose = args.iter().any(|a| a == "-v");
    let mut cfg = EndpointerConfig::default();
    if let Some(ms) = value("--end") {
        cfg.end_silence = Duration::from_millis(ms);
    }
    if let Some(ms) = value("--finished") {
        cfg.finished_silence = Duration::from_millis(ms);
    }
    if let Some(ms) = value("--judged") {
        cfg.judged_silence = Duration::from_millis(ms);
    }
    if let Some(ms) = value("--unfinished") {
        cfg.unfinished_silence = Duration::from_millis(ms);
    }
    if let Some(ms) = value("--closed") {
        cfg.closed_silence = Duration::from_millis(ms);
    }
    if let Some(ms) = value("--speculate") {
        cfg.speculate_after = (ms > 0).then(|| Duration::from_millis(ms));
    }
    let noise = value("--noise");
    let dir = PathBuf::from(std::env::var("PARLEY_SPEECH_DIR").unwrap_or_else(|_| format!("{}/.local/share/parley/speech", std::env::var("HOME").unwrap_or_default())));
    let model = args.iter().any(|a| a == "--silero").then(|| SileroModel::load(&dir.join("libonnxruntime.so"), &silero::model_path(&dir)).expect("Silero VAD installed by scripts/setup.sh"));
    let smart_turn = args.iter().any(|a| a == "--smart-turn").then(|| {
        let from = args.iter().position(|a| a == "--sounds-finished").and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<f32>().ok()).unwrap_or(parley_call::SOUNDS_FINISHED);
        (SmartTurnModel::load(&dir.join("libonnxruntime.so"), &smart_turn::model_path(&dir)).expect("Smart Turn installed by scripts/setup.sh"), from)
    });
    let asr = WhisperCppRecognizer::load(&WhisperCppConfig { model_path: WhisperModel::TinyEn.path_under(&dir), decoders: 1, threads: 2 }).expect("tiny.en installed by scripts/setup.sh");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let pitch_judge = args.iter().position(|a| a == "--pitch-judge").and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<f32>().ok());
    let engines = Engines { silero: model, asr, smart_turn, pitch_judge, rt };

    let turns = set();
    let (mut waits, mut cut_ins, mut missed, mut decodes) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let (mut taken_back, mut cut_heard) = (0, Vec::new());
    let kinds = [(Kind::Whole, "whole"), (Kind::Joined, "joined"), (Kind::Inside, "own pause")];
    let (mut of_kind, mut cut_of_kind, mut waits_of_kind) = ([0usize; 3], [0usize; 3], [Vec::new(), Vec::new(), Vec::new()]);
    // Word errors of what the agent heard against what was said, and when the text it took came
    // after the last word, by kind; the time all decodes took.
    let (mut word_errors, mut words, mut text_after, mut decode_ms) = ([0usize; 3], [0usize; 3], [Vec::new(), Vec::new(), Vec::new()], 0u64);
    for turn in &turns {
        let noisy;
        let turn = match noise {
            Some(snr) => {
                noisy = Turn { name: turn.name.clone(), kind: turn.kind, pcm: prompts::with_noise(&turn.pcm, snr as f32), resumes_at: turn.resumes_at, speech_end: turn.speech_end, text: turn.text.clone() };
                &noisy
            }
            None => turn,
        };
        let k = kinds.iter().position(|(kind, _)| *kind == turn.kind).unwrap_or(0);
        of_kind[k] += 1;
        let outcome = run_turn(turn, &cfg, &engines);
        decodes += outcome.decodes;
        decode_ms += outcome.decode_ms;
        let end_ms = turn.speech_end as i64 / 8;
        let (e, n) = parley_speech::wer::errors(&turn.text, &outcome.caller_text);
        word_errors[k] += e;
        words[k] += n;
        if let Some(t) = outcome.text_ms.filter(|&t| t as i64 >= end_ms) {
            text_after[k].push(t as i64 - end_ms);
        }
        // Taken before the caller's last word: the agent cut in (in a pause we made, or in one
        // the recorded speaker made).
        match outcome.taken_ms {
            None => missed.push(turn.name.clone()),
            Some(t) if (t as i64) < end_ms => {
                let back = outcome.turns == 1;
                taken_back += usize::from(back);
                if back {
                    cut_heard.push(outcome.agent_heard_ms as i64);
                }
                cut_ins.push(format!("{} (taken at {t} ms, the last word ended at {end_ms} ms{})", turn.name, if back { format!("; taken back after {} ms of the reply", outcome.agent_heard_ms) } else { String::new() }));
                cut_of_kind[k] += 1;
            }
            Some(t) => {
                waits.push(t as i64 - end_ms);
                waits_of_kind[k].push(t as i64 - end_ms);
            }
        }
        if verbose {
            println!("  {:<70} taken {:?} ms, speech ended {end_ms} ms, heard {:?}, took {:?}, text at {:?} ms", turn.name, outcome.taken_ms, outcome.heard, outcome.caller_text, outcome.text_ms);
        }
    }
    waits.sort_unstable();
    println!(
        "level{}{}{} | end {} ms, finished {} ms, judged {} ms, closed {} ms, unfinished {} ms, speculate {:?} ms{} | {} turns | wait after the last word: median {} ms, p90 {} ms | cut-ins {}/{} ({:.1}%; {}) | not taken {} | decodes {}",
        if engines.silero.is_some() { " + Silero" } else { "" },
        engines.smart_turn.as_ref().map(|(_, from)| format!(", Smart Turn from {from}")).unwrap_or_default(),
        engines.pitch_judge.map(|max| format!(", the voice's fall to {max}")).unwrap_or_default(),
        cfg.end_silence.as_millis(),
        cfg.finished_silence.as_millis(),
        cfg.judged_silence.as_millis(),
        cfg.closed_silence.as_millis(),
        cfg.unfinished_silence.as_millis(),
        cfg.speculate_after.map(|d| d.as_millis()),
        noise.map(|n| format!(", noise {n} dB SNR")).unwrap_or_default(),
        turns.len(),
        percentile(&waits, 0.5),
        percentile(&waits, 0.9),
        cut_ins.len(),
        turns.len(),
        100.0 * cut_ins.len() as f32 / turns.len() as f32,
        kinds.iter().enumerate().map(|(k, (_, label))| format!("{label} {}/{}", cut_of_kind[k], of_kind[k])).collect::<Vec<_>>().join(", "),
        missed.len(),
        decodes
    );
    // Each kind's median (p90) of `ms`, labelled.
    let by_kind = |ms: &mut [Vec<i64>; 3]| -> String {
        let of_kind = kinds.iter().zip(ms.iter_mut()).map(|((_, label), v)| {
            v.sort_unstable();
            format!("{label} {} ({}) ms", percentile(v, 0.5), percentile(v, 0.9))
        });
        of_kind.collect::<Vec<_>>().join(", ")
    };
    println!("  wait after the last word by kind, median (p90): {}", by_kind(&mut waits_of_kind));
    let wer = |e: usize, n: usize| 100.0 * e as f32 / n.max(1) as f32;
    let wer_by_kind: Vec<String> = kinds.iter().enumerate().map(|(k, (_, label))| format!("{label} {:.1}%", wer(word_errors[k], words[k]))).collect();
    println!("  words the agent took, WER: {:.1}% ({})", wer(word_errors.iter().sum(), words.iter().sum()), wer_by_kind.join(", "));
    let mut all: Vec<i64> = text_after.concat();
    all.sort_unstable();
    println!("  the taken text came after the last word, median (p90): {} ({}) ms; {}; decoding took {decode_ms} ms in all", percentile(&all, 0.5), percentile(&all, 0.9), by_kind(&mut text_after));
    cut_heard.sort_unstable();
    println!("  cut-ins taken back (the agent stopped and answered the whole turn): {taken_back}/{}; the cut reply heard before it stopped: median {} ms, max {} ms", cut_ins.len(), percentile(&cut_heard, 0.5), cut_heard.last().copied().unwrap_or(0));
    for c in cut_ins {
        println!("  cut in: {c}");
    }
    for m in missed {
        println!("  not taken: {m}");
    }
}
