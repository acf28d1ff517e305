//! Charging a card captured in payment mode ([`parley_call::payment`]) with the tenant's
//! `stripe` integration.

use std::sync::Arc;

use parley_agent::conversation::{PaymentRequest, PaymentResult};
use parley_connect::payment::capture::CardDetails;
use parley_connect::payment::stripe::{Stripe, API_BASE};
use parley_connect::payment::{ChargeOutcome, ChargeRequest};
use secrecy::ExposeSecret;

use crate::Shared;

/// Charges `card` with the tenant's `stripe` integration (config `api_base`, default Stripe's
/// API; secret: the secret key). No integration, or no answer: [`PaymentResult::Unavailable`].
pub async fn charge(shared: Arc<Shared>, tenant: String, call_id: String, business: String, request: PaymentRequest, card: CardDetails) -> PaymentResult {
    let Ok(scope) = shared.store.tenant(&tenant) else { return PaymentResult::Unavailable };
    let integration = match scope.list_integrations().await {
        Ok(list) => list.into_iter().find(|i| i.kind == "stripe"),
        Err(e) => {
            tracing::error!(error = %e, "looking up the tenant's payment integration failed");
            None
        }
    };
    let Some(integration) = integration else {
        tracing::info!(call = %call_id, outcome = "unavailable", "payment not taken: no stripe integration");
        return PaymentResult::Unavailable;
    };
    let base = integration.config.get("api_base").and_then(|v| v.as_str()).unwrap_or(API_BASE).to_string();
    let client = match Stripe::new(&base, &shared.egress) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(call = %call_id, error = %e, "payment integration misconfigured");
            return PaymentResult::Unavailable;
        }
    };
    let secret = match scope.integration_secret(&shared.master, &integration.id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(call = %call_id, error = %e, "opening the payment integration's secret failed");
            return PaymentResult::Unavailable;
        }
    };
    let attempt = hex::encode(rand::random::<[u8; 4]>());
    let req = ChargeRequest {
        amount_cents: request.amount_cents,
        currency: request.currency.clone(),
        description: format!("{business}: {} (phone payment)", request.reference),
        metadata: vec![("reference".into(), request.reference.clone()), ("parley_call".into(), call_id.clone())],
        idempotency_key: format!("parley-{call_id}-{}-{attempt}", request.reference.replace(' ', "-")),
    };
    let outcome = client.charge(secret.expose_secret(), &req, &card).await;
    drop(card);
    tracing::info!(call = %call_id, outcome = outcome.as_str(), "payment");
    match outcome {
        ChargeOutcome::Approved { reference } => PaymentResult::Approved(reference),
        ChargeOutcome::Declined { code } => PaymentResult::Declined(code),
        ChargeOutcome::Failed { reason } => {
            tracing::warn!(call = %call_id, reason = %reason, "payment processor failed");
            PaymentResult::Unavailable
        }
    }
}
