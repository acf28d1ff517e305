//! A tenant's Twilio account for transfers on Media Streams: its `twilio` integration (config
//! `account_sid`, optional `api_base`; the secret is the auth token), and the transfer itself
//! through [`parley_connect::twilio`].

use secrecy::ExposeSecret;

use crate::Shared;

/// Redirects `call_sid` of `tenant` to `<Dial>` `target`; Twilio's status code, 404 when the
/// tenant's `twilio` integration names no account, 503 when Twilio could not be reached.
pub async fn transfer(shared: &Shared, tenant: &str, call_sid: &str, target: &str) -> u16 {
    let Ok(scope) = shared.store.tenant(tenant) else { return 404 };
    let integration = scope.list_integrations().await.ok().and_then(|l| l.into_iter().find(|i| i.kind == "twilio"));
    let Some(integration) = integration else { return 404 };
    let sid = integration.config.get("account_sid").and_then(|v| v.as_str()).unwrap_or_default();
    let base = integration.config.get("api_base").and_then(|v| v.as_str()).unwrap_or(parley_connect::twilio::API_BASE);
    let (Some(client), false) = (parley_connect::twilio::TwilioCalls::new(base, sid, &shared.egress), sid.is_empty()) else {
        tracing::warn!("the twilio integration needs an account_sid (and an https api_base) for transfers");
        return 404;
    };
    let Ok(token) = scope.integration_secret(&shared.master, &integration.id).await else { return 404 };
    client.transfer(token.expose_secret(), call_sid, target).await
}
