//! The embedded synthesizer: espeak-ng (Debian). Text goes in on stdin (never on the command
//! line, where other local users could read it), 22.05 kHz WAV comes out on stdout and is
//! resampled to 8 kHz and streamed as it arrives.

use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

use crate::resample::Resampler;
use crate::{SpeechError, Synthesizer};

/// See the module docs.
#[derive(Clone, Debug)]
pub struct EspeakSynthesizer {
    /// espeak-ng voice, e.g. `en-us`.
    pub voice: String,
    /// Words per minute.
    pub rate_wpm: u32,
}

/// Starts espeak-ng with `args` (killed when the child is dropped); text goes to its stdin.
pub(crate) fn spawn(args: &[&str]) -> Result<(Child, ChildStdin, ChildStdout), SpeechError> {
    let mut child = Command::new("espeak-ng")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| SpeechError::Unavailable(format!("espeak-ng: {e}")))?;
    let stdin = child.stdin.take().ok_or_else(|| SpeechError::Unavailable("no stdin".into()))?;
    let stdout = child.stdout.take().ok_or_else(|| SpeechError::Unavailable("no stdout".into()))?;
    Ok((child, stdin, stdout))
}

impl Default for EspeakSynthesizer {
    fn default() -> Self {
        EspeakSynthesizer { voice: "en-us".into(), rate_wpm: 165 }
    }
}

impl Synthesizer for EspeakSynthesizer {
    fn voice_name(&self) -> &str {
        "espeak-ng"
    }

    fn synthesize(&self, text: &str) -> Result<mpsc::Receiver<Vec<i16>>, SpeechError> {
        let (child, mut stdin, mut stdout) = spawn(&["-v", &self.voice, "-s", &self.rate_wpm.to_string(), "--stdout"])?;
        let text = text.replace('\n', " ");
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let _child = child;
            if stdin.write_all(text.as_bytes()).await.is_err() {
                return;
            }
            drop(stdin);
            let mut header = [0u8; 44];
            if stdout.read_exact(&mut header).await.is_err() || &header[..4] != b"RIFF" {
                return;
            }
            let rate = u32::from_le_bytes([header[24], header[25], header[26], header[27]]) as usize;
            let mut resampler = Resampler::new(rate, 8000);
            let mut buf = vec![0u8; 4096];
            let mut carry: Option<u8> = None;
            loop {
                let n = match stdout.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut bytes: Vec<u8> = carry.take().into_iter().collect();
                bytes.extend_from_slice(&buf[..n]);
                if bytes.len() % 2 == 1 {
                    carry = bytes.pop();
                }
                let pcm: Vec<i16> = bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
                let out = resampler.push(&pcm);
                if !out.is_empty() && tx.send(out).await.is_err() {
                    return;
                }
            }
            let tail = resampler.finish();
            if !tail.is_empty() {
                let _ = tx.send(tail).await;
            }
        });
        Ok(rx)
    }
}
