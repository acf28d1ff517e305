//! How a short utterance is decoded by Whisper, and the checks on what comes back.
//!
//! whisper.cpp normally encodes a padded 30 s window whatever the utterance's length (2.1 s for
//! Whisper base on 2 cores). Sizing the encoder's audio context to the utterance cuts that to
//! 0.27 s, but then Whisper may fall into repetition loops (whisper.cpp issues 1951 and 1507): it
//! writes the same phrase again and again, or far more words than anyone can say in the time.
//! What keeps it honest, measured on 40 recorded prompts (`../shared/SPEECH.md`): a margin of
//! 128 context frames past the audio, timestamps on, a cap of `5 * seconds + 8` tokens, dropping
//! non-speech tags such as `[BLANK_AUDIO]`, and a second decode over a wider context (then the
//! full window) when the text still looks like a loop. The commonest loop is cheaper: the sized
//! decode writes the caller's whole sentence and then starts it again until the token cap ("Where is order 1004? Where is
//! order 1004? Where is"); that sentence is kept once without a second decode, which on 2 cores
//! costs about 800 ms with tiny.en (it did in 5 of 12 turns of a Piper-voiced caller).
//!
//! Pure functions, so the guard is tested on its own.

/// Whisper's encoder frames per second of audio (one per 20 ms).
const FRAMES_PER_SECOND: f32 = 50.0;
/// Frames past the end of the audio.
const CONTEXT_MARGIN: i32 = 128;
/// The full window.
const FULL_CONTEXT: i32 = 1500;
/// The least context of the first fallback.
const WIDER_CONTEXT: i32 = 768;
/// More words a second than anyone says on the phone.
const MAX_WORDS_PER_SECOND: f32 = 5.0;

/// The parameters of one decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodePlan {
    /// Encoder frames (0 < ctx <= 1500).
    pub audio_ctx: i32,
    /// Most tokens per segment.
    pub max_tokens: i32,
}

impl DecodePlan {
    /// The fast plan: the context sized to `seconds` of audio.
    pub fn sized(seconds: f32) -> DecodePlan {
        let ctx = (seconds * FRAMES_PER_SECOND).ceil() as i32 + CONTEXT_MARGIN;
        DecodePlan { audio_ctx: ctx.clamp(CONTEXT_MARGIN, FULL_CONTEXT), max_tokens: token_cap(seconds) }
    }

    /// The first fallback: a context at least 768 frames wide (twice the sized one for longer
    /// utterances). On 12 questions in a Piper voice, each with 7 lengths of silence before it
    /// and decoded with and without a hint, 14 of 168 sized decodes looped; at 768 frames all 14
    /// gave the sentence once with the right number, in 515-609 ms against 1.1-1.9 s for the
    /// full window (2 threads; BENCHMARKS.md, session 26).
    pub fn wider(seconds: f32) -> DecodePlan {
        let ctx = (2 * DecodePlan::sized(seconds).audio_ctx).max(WIDER_CONTEXT);
        DecodePlan { audio_ctx: ctx.min(FULL_CONTEXT), max_tokens: token_cap(seconds) }
    }

    /// The last fallback: the full 30 s window.
    pub fn full(seconds: f32) -> DecodePlan {
        DecodePlan { audio_ctx: FULL_CONTEXT, max_tokens: token_cap(seconds) }
    }

    /// Whether this is already the full window.
    pub fn is_full(&self) -> bool {
        self.audio_ctx >= FULL_CONTEXT
    }
}

fn token_cap(seconds: f32) -> i32 {
    (5.0 * seconds).ceil() as i32 + 8
}

/// What a decode gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Plausible text (possibly empty: nothing was said).
    Text(String),
    /// Looks like a loop; the best-effort text with the repeats removed.
    Suspect(String),
}

/// Checks the segments' text for an utterance of `seconds`; `prompt` is the hint the decoder
/// was given (a decoder that heard nothing may echo it back).
pub fn check(segments: &[String], seconds: f32, prompt: Option<&str>) -> Checked {
    let joined = segments.join(" ");
    let stripped = strip_tags(&joined);
    let mut words: Vec<&str> = stripped.split_whitespace().collect();
    if let Some(word) = one_word_loop(&words, seconds) {
        return Checked::Text(word);
    }
    if let Some(kept) = sentence_said_again(&words) {
        words.truncate(kept);
    }
    let collapsed = collapse_repeats(&words);
    let text = collapsed.join(" ");
    if prompt.is_some_and(|p| same_words(p, &text)) {
        return Checked::Text(String::new());
    }
    let too_many = words.len() as f32 > MAX_WORDS_PER_SECOND * seconds + 3.0;
    if collapsed.len() < words.len() || too_many || runaway_digits(&text) || digits_in_a_cycle(&text) {
        let plausible = ((MAX_WORDS_PER_SECOND * seconds) as usize + 3).max(1);
        return Checked::Suspect(collapsed.into_iter().take(plausible).collect::<Vec<_>>().join(" "));
    }
    Checked::Text(text)
}

/// Text without `[...]`, `(...)` and `*...*` spans (non-speech tags such as `[BLANK_AUDIO]`,
/// `(music)`, `*coughs*`).
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut closing: Option<char> = None;
    for c in text.chars() {
        match closing {
            Some(end) if c == end => {
                closing = None;
                out.push(' ');
            }
            Some(_) => {}
            None => match c {
                '[' => closing = Some(']'),
                '(' => closing = Some(')'),
                '*' => closing = Some('*'),
                _ => out.push(c),
            },
        }
    }
    out
}

/// Removes a phrase of two words or more said three times or more in a row (a decoder loop:
/// "I'm sorry. I'm sorry. I'm sorry."), keeping it once. Single words repeat in real speech
/// ("no, no, no", "one one two"), and so do pairs said twice, so those stay; but not a number
/// of two digits or more ("1042. 1042. 1042.": nobody reads out their order number three
/// times in one breath, and the digits would run together into a longer one).
fn collapse_repeats<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let key = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let keys: Vec<String> = words.iter().map(|w| key(w)).collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        let shortest = if keys[i].chars().filter(char::is_ascii_digit).count() >= 2 { 1 } else { 2 };
        for len in shortest..=(words.len() - i) / 3 {
            let phrase = &keys[i..i + len];
            let mut reps = 1;
            while i + (reps + 1) * len <= words.len() && keys[i + reps * len..i + (reps + 1) * len] == *phrase {
                reps += 1;
            }
            if reps >= 3 {
                out.extend_from_slice(&words[i..i + len]);
                i += reps * len;
                // A last copy cut short where the decoder ran out of tokens ("1042. 10") goes too.
                let tail = &keys[i..];
                let last = tail.len().saturating_sub(1);
                if tail.len() <= len && tail.iter().enumerate().all(|(j, k)| *k == phrase[j] || (j == last && phrase[j].starts_with(k.as_str()))) {
                    i = words.len();
                }
                continue 'outer;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out
}

/// The same digit 7 times or more in a row ("1,000,000,000,000", "1-0-0-0-0-0-0-0"): the loop
/// of a decoder that keeps writing zeros. A run goes on over thousands separators and over a
/// dash or space between single digits, not over one after a group ("800-000-0000" is a phone
/// number, not a loop). Nobody reads out an order or card number like that.
fn runaway_digits(text: &str) -> bool {
    let (mut last, mut run, mut group) = (None, 0, 0);
    for c in text.chars() {
        if c.is_ascii_digit() {
            run = if last == Some(c) { run + 1 } else { 1 };
            last = Some(c);
            group += 1;
            if run >= 7 {
                return true;
            }
            continue;
        }
        let goes_on = match c {
            ',' | '.' => true,
            '-' | ' ' => group <= 1,
            _ => false,
        };
        if !goes_on {
            (last, run) = (None, 0);
        }
        group = 0;
    }
    false
}

/// Digits read out one by one that go round a short cycle at least twice and on ("0, 4, 4, 0,
/// 4, 4, 0, 4", heard in "one zero … zero four" with a 700 ms pause inside): a decoder loop over digits
/// that [`collapse_repeats`] misses because the last copy is cut short. A run of at least 8
/// single digits that repeats with a period `p` of 2 or more, where `2p + 2` digits fit in it.
fn digits_in_a_cycle(text: &str) -> bool {
    let mut runs: Vec<Vec<char>> = vec![Vec::new()];
    for token in text.split(|c: char| c.is_whitespace() || c == '-') {
        let t = token.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | ':' | '?' | '!'));
        let mut chars = t.chars();
        match (chars.next(), chars.next()) {
            (Some(d), None) if d.is_ascii_digit() => runs.last_mut().expect("one run at least").push(d),
            _ if t.is_empty() => {}
            _ => runs.push(Vec::new()),
        }
    }
    runs.iter().any(|run| {
        let n = run.len();
        n >= 8 && (2..=(n - 2) / 2).any(|p| (0..n - p).all(|i| run[i] == run[i + p]))
    })
}

/// How long (seconds, with the pause after it) an utterance of one word is at most.
const ONE_WORD_SECONDS: f32 = 1.6;

/// Number words: one said over and over may be part of a number read out ("one one one one").
const NUMBER_WORDS: &[&str] = &["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "double", "triple", "hundred", "thousand"];

/// A short utterance decoded as one word over and over to the token cap ("yes. Yes. Yes. Yes.
/// Yes. Yes.", "Ok Okay Okay Okay ...", "Bye bye bye bye ..."): the sized decode's loop over a
/// one-word answer, which a wider decode reads as the word once, 350-400 ms later (about 450
/// ms in all for "Yes." against 85 ms for "No thanks."). The word once, but not a number word
/// or one with digits: those go to the wider decode.
fn one_word_loop(words: &[&str], seconds: f32) -> Option<String> {
    if seconds > ONE_WORD_SECONDS || words.len() < 4 {
        return None;
    }
    let key = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let unit = key(words[1]);
    let last = words.len() - 1;
    // The first copy may be a shorter form ("Ok" before "Okay"), the last one cut short.
    let same = |i: usize, w: &str| {
        let k = key(w);
        k == unit || ((i == 0 || i == last) && !k.is_empty() && unit.starts_with(&k))
    };
    let number = unit.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&unit.as_str());
    let word = words[1].trim_end_matches(|c: char| !c.is_alphanumeric());
    // Closed as a sentence: a copy closed with a comma or "..." would read as the caller going on.
    let mark = if words[1].ends_with('?') { '?' } else { '.' };
    (!unit.is_empty() && !number && words.iter().enumerate().all(|(i, w)| same(i, w))).then(|| format!("{word}{mark}"))
}

/// Where text that ends in a sentence followed by that same sentence again (twice or more, the
/// last copy possibly cut short, even inside its last word: the decoder ran out of tokens) should
/// end: after the first copy.
/// The sentence has three words or more and one closing mark, and starts the text or follows one.
fn sentence_said_again(words: &[&str]) -> Option<usize> {
    let key = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let keys: Vec<String> = words.iter().map(|w| key(w)).collect();
    let closes = |w: &str| w.ends_with(['.', '?', '!']);
    for start in (0..words.len()).filter(|&i| i == 0 || closes(words[i - 1])) {
        for len in 3..=(words.len() - start) / 2 {
            let end = start + len;
            if words[start..end - 1].iter().any(|w| closes(w)) {
                break;
            }
            // The token cap may cut the last word of the last copy short ("... order 100").
            let same = |j: usize| {
                let said = &keys[start + (j - end) % len];
                keys[j] == *said || (j + 1 == words.len() && !closes(words[j]) && !keys[j].is_empty() && said.starts_with(&keys[j]))
            };
            if closes(words[end - 1]) && (end..words.len()).all(same) {
                return Some(end);
            }
        }
    }
    None
}

fn same_words(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> Vec<String> {
        s.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).filter(|w| !w.is_empty()).collect()
    };
    let (a, b) = (norm(a), norm(b));
    !b.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_one_word_answer_said_over_and_over_is_the_word_once() {
        for (said, word) in [(" yes. Yes. Yes. Yes. Yes. Yes.", "Yes."), (" Ok Okay Okay Okay Okay Okay Okay Okay", "Okay."), (" Bye bye bye bye bye bye bye bye bye bye bye bye", "bye."), (" No. No. No. N", "No."), (" correct, correct, correct, correct,", "correct."), (" Hello? Hello? Hello? Hello?", "Hello?")] {
            assert_eq!(check(&segs(&[said]), 1.0, None), Checked::Text(word.to_string()), "{said}");
        }
        // A longer utterance may have said more than the word: the wider decode decides.
        assert!(matches!(check(&segs(&[" Yes. Yes. Yes. Yes. Yes. Yes."]), 2.5, None), Checked::Suspect(_)));
        // A digit said over and over may be part of a number.
        assert!(matches!(check(&segs(&[" one one one one one one one one one one one"]), 1.0, None), Checked::Suspect(_)));
        assert!(matches!(check(&segs(&[" 1. 1. 1. 1. 1. 1. 1. 1."]), 1.0, None), Checked::Suspect(_)));
        // Two words said in turn are no one-word loop.
        assert!(matches!(check(&segs(&[" Yes. No. Yes. No. Yes. No. Yes. No."]), 1.0, None), Checked::Suspect(_)));
    }

    #[test]
    fn the_context_fits_the_utterance_with_a_margin() {
        assert_eq!(DecodePlan::sized(2.0), DecodePlan { audio_ctx: 228, max_tokens: 18 });
        assert_eq!(DecodePlan::sized(0.0).audio_ctx, 128);
        assert_eq!(DecodePlan::sized(60.0).audio_ctx, 1500);
        assert!(DecodePlan::full(2.0).is_full() && !DecodePlan::sized(2.0).is_full());
        assert_eq!(DecodePlan::wider(2.0).audio_ctx, 768);
        assert_eq!(DecodePlan::wider(10.0).audio_ctx, 1256);
        assert!(DecodePlan::wider(20.0).is_full());
    }

    #[test]
    fn speech_passes_unchanged() {
        let c = check(&segs(&[" My order number is 1004."]), 2.5, None);
        assert_eq!(c, Checked::Text("My order number is 1004.".into()));
    }

    #[test]
    fn a_number_that_runs_away_is_suspect() {
        for looped in ["My order number is 1,000,000,000,000,000,000,000,000,", "It's on a 1-0-0-0-0-0-0-0", "It's 1, 0, 0, 0, 0, 0, 0, 0."] {
            assert!(matches!(check(&segs(&[looped]), 2.5, None), Checked::Suspect(_)), "{looped}");
        }
        for looped in ["0, 4, 4, 0, 4, 4, 0, 4", "It's 1 2 1 2 1 2 1 2.", "1-0-5-1-0-5-1-0"] {
            assert!(matches!(check(&segs(&[looped]), 4.0, None), Checked::Suspect(_)), "{looped}");
        }
        // Whisper tiny.en on "ten forty two" and "one thousand five" in the hibari voice.
        for (looped, once) in [("1042. 1042. 1042. 1042. 1042. 10", "1042."), ("1,05. 1,05. 1,05. 1,05. 1", "1,05."), ("1009 1009 1009", "1009")] {
            assert_eq!(check(&segs(&[looped]), 1.5, None), Checked::Suspect(once.into()), "{looped}");
        }
        for said in ["Order 1000004.", "Call me on 1-800-000-0000.", "It's 1, 0, 0, 0, 4.", "It costs 1,000,000 dollars.", "Ten 0 0 0 0 0", "1 2 3 4 1 2 3 4", "4 4 0 4 4 0 4", "No, no, no.", "It's 1009, 1009."] {
            assert_eq!(check(&segs(&[said]), 3.0, None), Checked::Text(said.into()), "{said}");
        }
    }

    #[test]
    fn non_speech_tags_are_dropped() {
        assert_eq!(check(&segs(&["[BLANK_AUDIO]"]), 1.0, None), Checked::Text(String::new()));
        assert_eq!(check(&segs(&[" (coughs) Yes, please.", " [Music]"]), 1.5, None), Checked::Text("Yes, please.".into()));
    }

    #[test]
    fn a_loop_is_suspect_and_collapsed() {
        let c = check(&segs(&[" I'm sorry. I'm sorry. I'm sorry. I'm sorry."]), 3.0, None);
        assert_eq!(c, Checked::Suspect("I'm sorry.".into()));
        let c = check(&segs(&[" Hello, I need help", " with my order, with my order, with my order, with my order"]), 3.0, None);
        assert_eq!(c, Checked::Suspect("Hello, I need help with my order,".into()));
    }

    #[test]
    fn a_sentence_said_again_is_kept_once_without_a_second_decode() {
        let once = |parts: &[&str], seconds: f32| check(&segs(parts), seconds, None);
        assert_eq!(once(&[" What are your opening hours? What are your opening hours? What are your opening"], 1.6), Checked::Text("What are your opening hours?".into()));
        assert_eq!(once(&[" Where is order 1002?", " Where is order 1002?"], 2.4), Checked::Text("Where is order 1002?".into()));
        assert_eq!(once(&[" Hello. Where is order 1004? Where is order 1004? Where is order 1004? Where is order"], 3.0), Checked::Text("Hello. Where is order 1004?".into()));
        // The last copy cut short inside a word (Piper joe, tiny.en, with the number hint).
        assert_eq!(once(&[" Hello, I need help. Hello, I need help. Hello, I need help. Hello, I ne"], 1.5), Checked::Text("Hello, I need help.".into()));
        assert_eq!(once(&[" Order 1006, please. Order 1006, please. Order 1006, please. Order 100"], 2.0), Checked::Text("Order 1006, please.".into()));
        assert_eq!(once(&[" I want to check order 1007. I want to check order 1007. I want to check order 100"], 2.6), Checked::Text("I want to check order 1007.".into()));
        // Not a sentence over again: a short one, one without its closing mark, or words after it.
        assert_eq!(once(&[" No thanks. No thanks."], 1.5), Checked::Text("No thanks. No thanks.".into()));
        assert_eq!(once(&[" order one two order one two"], 2.0), Checked::Text("order one two order one two".into()));
        assert_eq!(once(&[" It is late. It is late. Bye."], 3.0), Checked::Text("It is late. It is late. Bye.".into()));
        assert_eq!(once(&[" It is late. It is late. It's"], 3.0), Checked::Text("It is late. It is late. It's".into()));
    }

    #[test]
    fn real_repeats_are_kept() {
        assert_eq!(check(&segs(&[" No, no, no."]), 1.5, None), Checked::Text("No, no, no.".into()));
        assert_eq!(check(&segs(&[" one one two three"]), 2.0, None), Checked::Text("one one two three".into()));
        assert_eq!(check(&segs(&[" thank you thank you"]), 1.5, None), Checked::Text("thank you thank you".into()));
    }

    #[test]
    fn more_words_than_the_time_allows_is_suspect() {
        let long = "a b c d e f g h i j k l m n o p q r s t";
        match check(&segs(&[long]), 1.0, None) {
            Checked::Suspect(t) => assert_eq!(t.split(' ').count(), 8),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_echoed_prompt_means_nothing_was_heard() {
        assert_eq!(check(&segs(&[" Order number:"]), 1.0, Some("order number")), Checked::Text(String::new()));
        assert_eq!(check(&segs(&[" Order number 55."]), 1.0, Some("order number")), Checked::Text("Order number 55.".into()));
    }
}
