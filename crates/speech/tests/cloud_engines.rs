//! The cloud engines against in-repo fakes of their providers (`parley-fakes`, which follow
//! the documented wire formats): what goes over the wire, what comes back, and each way a
//! provider fails (a refused key, an error status or close code, a cut connection, no answer).

use std::sync::Arc;
use std::time::Duration;

use parley_fakes::deepgram::FakeDeepgram;
use parley_fakes::elevenlabs::FakeElevenLabs;
use parley_fakes::openai::{FakeOpenAi, Seen};
use parley_fakes::{tone_share, Behaviour, KEY};
use parley_speech::cloud::deepgram::DeepgramRecognizer;
use parley_speech::cloud::elevenlabs::ElevenLabsVoice;
use parley_speech::cloud::openai::{OpenAiRecognizer, OpenAiVoice};
use parley_speech::cloud::{Account, Dial};
use parley_speech::failover::StreamingVoice;
use parley_speech::{Recognizer, SpeechError, Utterance};

/// Plain loopback connections (the server dials through its egress policy instead).
struct Loopback;

impl Dial for Loopback {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<tokio::net::TcpStream>> + Send + 'a>> {
        Box::pin(tokio::net::TcpStream::connect((host, port)))
    }
}

fn account(base: &str, key: &str) -> Account {
    Account { api_base: base.to_string(), key: key.to_string().into() }
}

/// Two seconds of a loud 300 Hz tone standing in for a caller's words.
fn words() -> Vec<i16> {
    (0..16000).map(|i| ((i as f32 * 300.0 * std::f32::consts::TAU / 8000.0).sin() * 6000.0) as i16).collect()
}

async fn spoken(voice: &dyn StreamingVoice, text: &str) -> Result<Vec<i16>, SpeechError> {
    let mut rx = voice.stream(text);
    let mut all = Vec::new();
    while let Some(chunk) = rx.recv().await {
        all.extend(chunk?);
    }
    Ok(all)
}

/// How many connections the fake has seen once it has seen `n` (or after 10 s): a loaded
/// machine may take longer than a fixed sleep to open the spare.
async fn opened_at_least(fake: &FakeDeepgram, n: usize) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake.opened() < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.opened()
}

fn unavailable(r: Result<impl std::fmt::Debug, SpeechError>) -> String {
    match r {
        Err(SpeechError::Unavailable(why)) => why,
        other => panic!("expected the provider to be unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn deepgram_streams_the_turn_and_joins_its_final_results() {
    let fake = FakeDeepgram::start("My order number is 1004.").await;
    let r = DeepgramRecognizer::new(account(&fake.url, KEY), "", Arc::new(Loopback), Duration::from_secs(5));
    let pcm = words();
    assert_eq!(r.transcribe(Utterance::ended(&pcm)).await.unwrap(), "My order number is 1004.");
    let seen = fake.listened();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].samples, pcm.len(), "every sample arrived as linear16");
    assert!(seen[0].rms > 4000.0, "the audio is the caller's, not silence");
    for (k, v) in [("encoding", "linear16"), ("sample_rate", "8000"), ("channels", "1"), ("model", "nova-3")] {
        assert_eq!(seen[0].query.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(r.provider(), "deepgram");
}

#[tokio::test]
async fn a_warm_deepgram_recognizer_has_a_connection_open_before_the_turn() {
    let fake = FakeDeepgram::start("What are your opening hours?").await;
    let r = DeepgramRecognizer::new(account(&fake.url, KEY), "", Arc::new(Loopback), Duration::from_secs(5)).warm();
    assert_eq!(opened_at_least(&fake, 1).await, 1, "opened ahead of any turn");
    let pcm = words();
    assert_eq!(r.transcribe(Utterance::ended(&pcm)).await.unwrap(), "What are your opening hours?");
    assert_eq!(opened_at_least(&fake, 2).await, 2, "the turn used the spare, and the next spare is open");
    assert_eq!(fake.listened().len(), 1);
    assert_eq!(r.transcribe(Utterance::ended(&pcm)).await.unwrap(), "What are your opening hours?");
    assert_eq!(fake.listened().len(), 2);
}

#[tokio::test]
async fn a_spare_deepgram_closed_meanwhile_is_replaced_for_the_turn() {
    let fake = FakeDeepgram::start("hello").await;
    fake.idle_timeout(Duration::from_millis(200));
    let r = DeepgramRecognizer::new(account(&fake.url, KEY), "", Arc::new(Loopback), Duration::from_secs(5)).warm();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(fake.opened(), 1);
    fake.idle_timeout(Duration::from_secs(10));
    let pcm = words();
    assert_eq!(r.transcribe(Utterance::ended(&pcm)).await.unwrap(), "hello", "the closed spare was not used");
}

#[tokio::test]
async fn deepgram_failures_are_errors_that_name_the_reason() {
    let fake = FakeDeepgram::start("hello").await;
    let pcm = words();
    let bad_key = DeepgramRecognizer::new(account(&fake.url, "wrong"), "", Arc::new(Loopback), Duration::from_secs(5));
    assert_eq!(unavailable(bad_key.transcribe(Utterance::ended(&pcm)).await), "deepgram: unauthorized (401)");
    let r = DeepgramRecognizer::new(account(&fake.url, KEY), "", Arc::new(Loopback), Duration::from_secs(1));
    fake.behave(Behaviour::Fail(1011));
    assert_eq!(unavailable(r.transcribe(Utterance::ended(&pcm)).await), "deepgram: closed the stream (1011 NET-0000)");
    fake.behave(Behaviour::Cut);
    assert!(unavailable(r.transcribe(Utterance::ended(&pcm)).await).starts_with("deepgram: "));
    fake.behave(Behaviour::Hang);
    assert_eq!(unavailable(r.transcribe(Utterance::ended(&pcm)).await), "deepgram: no answer in time");
    let nobody = DeepgramRecognizer::new(account("http://127.0.0.1:9", KEY), "", Arc::new(Loopback), Duration::from_secs(1));
    assert!(unavailable(nobody.transcribe(Utterance::ended(&pcm)).await).starts_with("deepgram: cannot connect"));
}

#[tokio::test]
async fn openai_transcription_sends_a_wav_with_the_turns_hint() {
    let fake = FakeOpenAi::start("one zero zero four").await;
    let r = OpenAiRecognizer::new(reqwest::Client::new(), account(&fake.url, KEY), "", Duration::from_secs(5));
    let pcm = words();
    let utterance = Utterance { hint: Some("My order number is 1004."), ..Utterance::ended(&pcm) };
    assert_eq!(r.transcribe(utterance).await.unwrap(), "one zero zero four");
    let Seen::Transcription { fields, file_bytes } = &fake.seen()[0] else { panic!("a transcription") };
    assert_eq!(*file_bytes, 44 + 2 * pcm.len());
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("model"), Some("gpt-4o-mini-transcribe"));
    assert_eq!(field("prompt"), Some("My order number is 1004."));
    assert_eq!(field("response_format"), Some("json"));
}

#[tokio::test]
async fn openai_errors_are_errors() {
    let fake = FakeOpenAi::start("hello").await;
    let pcm = words();
    let bad = OpenAiRecognizer::new(reqwest::Client::new(), account(&fake.url, "wrong"), "", Duration::from_secs(5));
    assert_eq!(unavailable(bad.transcribe(Utterance::ended(&pcm)).await), "openai: unauthorized (401)");
    let r = OpenAiRecognizer::new(reqwest::Client::new(), account(&fake.url, KEY), "", Duration::from_secs(1));
    fake.behave(Behaviour::Fail(429));
    assert_eq!(unavailable(r.transcribe(Utterance::ended(&pcm)).await), "openai: rate limited (429)");
    fake.behave(Behaviour::Fail(500));
    assert_eq!(unavailable(r.transcribe(Utterance::ended(&pcm)).await), "openai: provider error (500)");
    fake.behave(Behaviour::Hang);
    assert_eq!(unavailable(r.transcribe(Utterance::ended(&pcm)).await), "openai: no answer in time");
}

#[tokio::test]
async fn openai_speech_streams_24_khz_pcm_as_8_khz() {
    let fake = FakeOpenAi::start("").await;
    let voice = OpenAiVoice::new(reqwest::Client::new(), account(&fake.url, KEY), "", "");
    let text = "Your order has shipped.";
    let audio = spoken(&voice, text).await.unwrap();
    let expected = 8000 * 60 * text.chars().count() / 1000;
    // The resampler's delay and its padding at the end add a few tens of ms.
    assert!(audio.len().abs_diff(expected) < 600, "{} samples at 8 kHz, expected about {expected}", audio.len());
    assert!(tone_share(&audio[400..audio.len() - 400], parley_fakes::openai::VOICE_HZ, 8000) > 0.8, "the provider's voice, resampled without distortion");
    let Seen::Speech(request) = &fake.seen()[0] else { panic!("a speech request") };
    assert_eq!(request["input"], text);
    assert_eq!(request["response_format"], "pcm");
    assert_eq!(request["voice"], "alloy");
}

#[tokio::test]
async fn openai_speech_cut_off_or_refused_ends_in_an_error() {
    let fake = FakeOpenAi::start("").await;
    let voice = OpenAiVoice::new(reqwest::Client::new(), account(&fake.url, KEY), "", "");
    fake.behave(Behaviour::Cut);
    assert_eq!(unavailable(spoken(&voice, "Your order has shipped on Friday morning.").await), "openai: the answer was cut off");
    fake.behave(Behaviour::Fail(503));
    assert_eq!(unavailable(spoken(&voice, "Hello.").await), "openai: provider error (503)");
}

#[tokio::test]
async fn elevenlabs_opens_says_and_closes_as_documented() {
    let fake = FakeElevenLabs::start().await;
    let voice = ElevenLabsVoice::new(account(&fake.url, KEY), "voice123", "", Arc::new(Loopback));
    let text = "We are open nine to five.";
    let audio = spoken(&voice, text).await.unwrap();
    // The text goes with a space at its end, as documented.
    assert_eq!(audio.len(), 8 * 60 * (text.chars().count() + 1), "8 kHz mu-law, not resampled");
    assert!(tone_share(&audio, parley_fakes::elevenlabs::VOICE_HZ, 8000) > 0.8);
    let session = &fake.spoken()[0];
    assert_eq!(session.voice_id, "voice123");
    assert_eq!(session.query.get("output_format").map(String::as_str), Some("ulaw_8000"));
    assert_eq!(session.query.get("model_id").map(String::as_str), Some("eleven_flash_v2_5"));
    assert_eq!(session.text, format!("{text} "));
}

#[tokio::test]
async fn elevenlabs_failures_are_errors() {
    let fake = FakeElevenLabs::start().await;
    let bad = ElevenLabsVoice::new(account(&fake.url, "wrong"), "v", "", Arc::new(Loopback));
    assert_eq!(unavailable(spoken(&bad, "Hello.").await), "elevenlabs: closed the stream (1008)");
    let voice = ElevenLabsVoice::new(account(&fake.url, KEY), "v", "", Arc::new(Loopback));
    fake.behave(Behaviour::Fail(1011));
    assert_eq!(unavailable(spoken(&voice, "Hello.").await), "elevenlabs: closed the stream (1011)");
    fake.behave(Behaviour::Cut);
    let mut rx = voice.stream("We are open nine to five on weekdays.");
    assert!(matches!(rx.recv().await, Some(Ok(_))), "some audio first");
    assert!(matches!(rx.recv().await, Some(Err(SpeechError::Unavailable(_)))), "then the cut is an error, not a quiet end");
}

/// An `https` API base is reached over TLS (`wss`), and the provider's certificate is checked
/// against the web's root certificates: a server with a self-signed one (made by openssl, as a
/// man in the middle would have) is refused before any audio leaves.
#[tokio::test]
async fn wss_refuses_a_certificate_no_root_vouches_for() {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let dir = std::env::temp_dir().join(format!("parley-wss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=api.deepgram.com"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:api.deepgram.com"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let chain = vec![rustls::pki_types::CertificateDer::from_pem_file(&cert).unwrap()];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_no_client_auth().with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, mut handshakes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tx.send(acceptor.accept(tcp).await.is_ok());
        }
    });
    let r = DeepgramRecognizer::new(account(&format!("https://127.0.0.1:{port}"), KEY), "", Arc::new(Loopback), Duration::from_secs(5));
    let why = unavailable(r.transcribe(Utterance::ended(&words())).await);
    assert!(why.starts_with("deepgram: TLS failed"), "{why}");
    assert_eq!(handshakes.recv().await, Some(false), "the TLS handshake itself was refused");
    let _ = std::fs::remove_dir_all(&dir);
}
