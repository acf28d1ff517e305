//! The call's own vocabulary towards the leg that carries it (a SIP dialog or a Twilio Media
//! Stream): what a call task asks of its leg ([`LegCommand`]) and how a call ended
//! ([`CallEnd`]). Each driver translates: the SIP driver to BYE, REFER and a consult INVITE for
//! its dialog, the Twilio driver to closing the stream and a call update through Twilio's API.
//! Neither the call task nor the stream driver handles a SIP call id.

use parley_sip::endpoint::EndReason;
use parley_sip::uri::Uri;

/// What a call asks of its leg.
#[derive(Debug)]
pub enum LegCommand {
    /// End the call (after the audio already sent has played, where the leg can tell).
    Hangup,
    /// Hand the caller to this URI (SIP REFER; on a stream, a call update that dials it).
    Transfer(Uri),
    /// A warm transfer: call the person, through the outbound gate's first half (`None` when
    /// the gate said no). The leg answers `ConsultStarted` or `ConsultEnded`.
    Consult(Option<Box<crate::outbound::Prepared>>),
    /// Hang up the warm transfer's call to the person, if one was placed.
    EndConsult,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallEnd {
    /// The caller hung up.
    CallerHungUp,
    /// The caller hung up before the answer.
    Cancelled,
    /// The agent hung up (or the call task ended it).
    AgentHungUp,
    /// The caller's side never confirmed the answer.
    NoAck,
    /// The caller's side stopped refreshing the session.
    SessionExpired,
    /// A call we placed was not answered (the final response code).
    Failed(u16),
}

impl CallEnd {
    /// The name call records and logs use.
    pub fn name(self) -> &'static str {
        match self {
            CallEnd::CallerHungUp => "remote_bye",
            CallEnd::Cancelled => "cancelled",
            CallEnd::AgentHungUp => "agent_hangup",
            CallEnd::NoAck => "no_ack",
            CallEnd::SessionExpired => "session_expired",
            CallEnd::Failed(_) => "failed",
        }
    }

    /// Whether the caller ended it.
    pub fn by_caller(self) -> bool {
        matches!(self, CallEnd::CallerHungUp | CallEnd::Cancelled)
    }
}

impl From<EndReason> for CallEnd {
    fn from(r: EndReason) -> CallEnd {
        match r {
            EndReason::RemoteBye => CallEnd::CallerHungUp,
            EndReason::Cancelled => CallEnd::Cancelled,
            EndReason::Local => CallEnd::AgentHungUp,
            EndReason::NoAck => CallEnd::NoAck,
            EndReason::SessionExpired => CallEnd::SessionExpired,
            EndReason::Failed(code) => CallEnd::Failed(code),
        }
    }
}
