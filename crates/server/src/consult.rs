//! Warm transfer, the call task's side: the consult leg to the person (placed by the SIP
//! task), the briefing the agent speaks to them while the caller holds, then the bridge: the
//! caller's audio goes to the person and theirs to the caller, 20 ms at a time on the call's
//! clock; keys pressed on either side are passed on as RFC 4733 events. Neither side of the
//! bridged conversation reaches the recognizer, the transcript or the recording: it is
//! between two people.

use std::sync::Arc;
use std::time::Duration;

use parley_call::playout::Playout;
use parley_media::jitter::{Frame, JitterBuffer};
use parley_media::pacer::FRAME_SAMPLES;
use parley_speech::Synthesizer;
use tokio::time::Instant;

use crate::media_io::{Media, MediaIn};

use crate::voice::{Synthesized, Voice};
use crate::Shared;

/// Where a warm transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The person's phone is ringing; the caller holds.
    Dialing,
    /// The person answered and hears the briefing; the caller holds.
    Briefing,
    /// Caller and person talk.
    Bridged,
}

/// See the module docs.
pub struct Consult {
    /// The leg has placed the call to the person (it is hung up when the call task ends).
    pub placed: bool,
    phase: Phase,
    media: Option<Media>,
    jitter: JitterBuffer,
    playout: Playout,
    voice: Voice,
    briefing: String,
    ts: u32,
    marker: bool,
}

impl Consult {
    /// A transfer starting: the person is being called; `briefing` is what they will hear.
    pub fn new(briefing: String, synth: Arc<dyn Synthesizer>) -> Consult {
        Consult {
            placed: false,
            phase: Phase::Dialing,
            media: None,
            jitter: JitterBuffer::adaptive(Duration::from_millis(20), Duration::from_millis(200)),
            playout: Playout::default(),
            // The briefing is about this caller: nothing of it is kept.
            voice: Voice::new(synth, "", Arc::default()),
            briefing,
            ts: 0,
            marker: true,
        }
    }

    /// Where the transfer is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The person answered on `media`: the briefing starts.
    pub fn answered(&mut self, media: Media) {
        self.media = Some(media);
        self.phase = Phase::Briefing;
        self.playout.say(std::mem::take(&mut self.briefing), false);
    }

    /// The next thing from the person (pending until they answer; cancel-safe).
    pub async fn recv(&mut self) -> MediaIn {
        match self.media.as_mut() {
            Some(m) => m.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Audio from the person.
    pub fn push(&mut self, now: Instant, seq: u16, pcm: Vec<i16>) {
        self.jitter.push(now.into_std(), seq, pcm);
    }

    /// Once bridged, passes a key the caller pressed on to the person; false before (the key is
    /// the agent's) or when their side takes no telephone-events.
    pub fn forward_key(&mut self, key: char) -> bool {
        self.phase == Phase::Bridged && self.media.as_mut().is_some_and(|m| m.send_key(key))
    }

    /// One 20 ms tick once the person answered: plays the briefing to them, then carries
    /// audio both ways. `from_caller` is the caller's next frame, if one is due; returns the
    /// frame for the caller (silence while they hold).
    pub async fn tick(&mut self, shared: &Shared, now: Instant, from_caller: Option<Vec<i16>>) -> Vec<i16> {
        let silence = || vec![0i16; FRAME_SAMPLES];
        let Some(media) = self.media.as_mut() else { return silence() };
        let (to_person, to_caller) = match self.phase {
            Phase::Dialing => return silence(),
            Phase::Briefing => {
                if let Some(prompt) = self.playout.refill(FRAME_SAMPLES) {
                    self.voice.start(&shared.prompts, prompt);
                }
                while let Some(s) = self.voice.try_recv(&shared.prompts) {
                    match s {
                        Synthesized::Audio(id, audio) => self.playout.synthesized(id, audio),
                        Synthesized::Done(id) => self.playout.synthesis_done(id),
                    }
                }
                // The person's audio waits until the bridge.
                while self.jitter.pop(now.into_std()).is_some() {}
                match self.playout.next_frame(FRAME_SAMPLES) {
                    Some(f) => (f, silence()),
                    None if self.playout.busy() => (silence(), silence()),
                    None => {
                        tracing::info!("transfer briefing played; bridging");
                        self.phase = Phase::Bridged;
                        self.marker = true;
                        (silence(), silence())
                    }
                }
            }
            Phase::Bridged => {
                let heard = match self.jitter.pop(now.into_std()) {
                    Some(Frame::Audio(p) | Frame::Concealed(p)) => p,
                    None => silence(),
                };
                (from_caller.unwrap_or_else(silence), heard)
            }
        };
        if media.send(&to_person, self.ts, self.marker).await {
            shared.metrics.rtp_sent(Instant::now().saturating_duration_since(now));
        }
        self.ts = self.ts.wrapping_add(FRAME_SAMPLES as u32);
        self.marker = false;
        to_caller
    }
}
