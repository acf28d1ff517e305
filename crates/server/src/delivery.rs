//! Post-call delivery. A call task seals its document into the outbox (under a per-item data
//! key, see `parley_store::outbox`) and wakes this worker; the worker opens due items, signs
//! and posts them, deletes each on a 2xx (destroying its key), retries failures with capped
//! exponential backoff, and shreds what is still undelivered at the 72 h hard limit. Items
//! survive a restart: the next `parley serve` picks them up. An agent's post-call mail is an
//! item of its own (destination `email:<agent>`), sent through the tenant's `smtp` integration
//! to the addresses the agent names when it is sent, under the same rules.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parley_connect::webhook::{DeliveryError, WebhookSender};
use parley_store::audit::Event;
use parley_store::crypto::MasterKey;
use secrecy::ExposeSecret;
use parley_store::outbox::Due;
use parley_store::Store;
use tokio::sync::{watch, Notify};

use crate::api::now_ms;
use crate::metrics::Metrics;

/// Wait before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... capped at 10 minutes.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    1000i64.saturating_mul(1i64 << attempts.clamp(0, 20)).min(600_000)
}

/// The worker's shared parts.
pub struct Delivery {
    /// The store.
    pub store: Store,
    /// Opens the sealed items.
    pub master: Arc<MasterKey>,
    /// Signs and posts.
    pub sender: WebhookSender,
    /// The operator's policy for tenants' mail servers.
    pub egress: parley_connect::egress::Egress,
    /// PEM certificates trusted for tenants' mail servers besides the Mozilla roots.
    pub smtp_roots: Vec<Vec<u8>>,
    /// Notified when an item is enqueued.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

impl Delivery {
    /// Runs until `shutdown` turns true, then makes one last pass over what is due.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let stopping = *shutdown.borrow();
            let now = now_ms();
            self.expire(now).await;
            let due = match self.store.platform().due(now, 32).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "reading the outbox failed");
                    Vec::new()
                }
            };
            let full = due.len() == 32;
            for item in due {
                self.attempt(item).await;
            }
            if stopping {
                return;
            }
            if full {
                continue;
            }
            let next = self.store.platform().next_outbox_event_ms().await.ok().flatten();
            let wait = next.map_or(60_000, |t| (t - now_ms()).clamp(0, 60_000));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    async fn attempt(&self, item: Due) {
        let Ok(scope) = self.store.tenant(&item.tenant_id) else { return };
        let body = match scope.open_item(&self.master, &item.id).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(call = %item.call_id, error = %e, "opening an outbox item failed");
                let _ = scope.retry_later(&item.id, now_ms() + retry_delay_ms(item.attempts), "does-not-open").await;
                return;
            }
        };
        if let Some(agent) = item.destination.strip_prefix(EMAIL) {
            return self.mail(&scope, &item, agent, &body).await;
        }
        // A tenant's documents go to its webhook integration, signed with that integration's
        // secret; the demo tenant's go to --demo-webhook, signed with the installation's.
        let sent = match item.destination.strip_prefix("integration:") {
            Some(id) => match webhook_of(&scope, &self.master, id).await {
                Ok((url, secret)) => self.sender.send_signed_with(secret.expose_secret().as_bytes(), &url, &item.id, body.to_vec(), now_ms() / 1000).await,
                Err(e) => Err(e),
            },
            None => self.sender.send(&item.destination, &item.id, body.to_vec(), now_ms() / 1000).await,
        };
        match sent {
            Ok(()) => {
                drop(body);
                if let Err(e) = scope.delivered(&item.id).await {
                    tracing::error!(call = %item.call_id, error = %e, "removing a delivered item failed");
                }
                self.finished(&scope, &item.call_id, "delivered").await;
                self.metrics.webhooks_delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let reason = match e {
                    DeliveryError::Status(code) => code.to_string(),
                    DeliveryError::Unreachable(ref why) if why == NO_INTEGRATION => NO_INTEGRATION.to_string(),
                    // Coarse: the tenant learns that its URL is refused, not what lies there.
                    DeliveryError::Refused(_) => "url_refused".to_string(),
                    _ => "unreachable".to_string(),
                };
                tracing::warn!(call = %item.call_id, attempt = item.attempts + 1, reason = %reason, "webhook delivery failed");
                let code = reason.parse::<i64>().unwrap_or(0);
                if let Err(e) = self.store.op_event(&item.tenant_id, "webhook.failed", code, &reason, now_ms()).await {
                    tracing::warn!(error = %e, "recording an operational event failed");
                }
                if let Err(e) = scope.retry_later(&item.id, now_ms() + retry_delay_ms(item.attempts), &reason).await {
                    tracing::error!(call = %item.call_id, error = %e, "rescheduling an outbox item failed");
                }
            }
        }
    }

    /// Sends an agent's post-call mail; on failure, tries again later.
    async fn mail(&self, scope: &parley_store::TenantScope, item: &Due, agent: &str, document: &[u8]) {
        match self.send_mail(scope, agent, document).await {
            Ok(()) => {
                if let Err(e) = scope.delivered(&item.id).await {
                    tracing::error!(call = %item.call_id, error = %e, "removing a delivered mail failed");
                }
                let ev = Event { actor: "system:delivery", action: "outbox.mailed", object_id: &item.call_id, at_ms: now_ms() };
                if let Err(e) = scope.audit(&ev).await {
                    tracing::error!(call = %item.call_id, error = %e, "auditing a mail failed");
                }
            }
            Err(reason) => {
                tracing::warn!(call = %item.call_id, attempt = item.attempts + 1, reason = %reason, "mail delivery failed");
                if let Err(e) = self.store.op_event(&item.tenant_id, "email.failed", 0, &reason, now_ms()).await {
                    tracing::warn!(error = %e, "recording an operational event failed");
                }
                if let Err(e) = scope.retry_later(&item.id, now_ms() + retry_delay_ms(item.attempts), &reason).await {
                    tracing::error!(call = %item.call_id, error = %e, "rescheduling an outbox item failed");
                }
            }
        }
    }

    /// The mail for `document`, to the addresses `agent` names now, through the tenant's `smtp`
    /// integration. Errors are coarse reasons for the tenant's events.
    async fn send_mail(&self, scope: &parley_store::TenantScope, agent: &str, document: &[u8]) -> Result<(), String> {
        use parley_connect::email::{render, MailError, Smtp};
        let integration = scope.list_integrations().await.map_err(|_| "store".to_string())?.into_iter().find(|i| i.kind == "smtp").ok_or("no-smtp-integration")?;
        let password = scope.integration_secret(&self.master, &integration.id).await.map_err(|_| "no-smtp-integration".to_string())?;
        let smtp = Smtp::from_config(&integration.config, password).map_err(|e| e.to_string())?;
        let stored = scope.get_agent(agent).await.map_err(|_| "agent-gone".to_string())?;
        let spec = parley_agent::spec::AgentSpec::from_yaml(&stored.spec).map_err(|_| "agent-unreadable".to_string())?;
        let Some(email) = spec.email else { return Err("agent-sends-no-mail".into()) };
        let doc: serde_json::Value = serde_json::from_slice(document).map_err(|_| "document".to_string())?;
        let (subject, body) = render(&doc, email.transcript);
        smtp.send(&self.egress, &self.smtp_roots, &email.to, &subject, body).await.map_err(|e| match e {
            MailError::Refused => "address_refused".to_string(),
            MailError::Settings(_) => "settings".to_string(),
            MailError::Server(why) => why,
        })
    }

    async fn expire(&self, now: i64) {
        match self.store.platform().shred_expired(now).await {
            Ok(lost) => {
                for e in lost {
                    if e.destination.starts_with(EMAIL) {
                        tracing::warn!(call = %e.call_id, "post-call mail shredded undelivered after 72 h");
                        if let Err(err) = self.store.op_event(&e.tenant_id, "email.failed", 0, "shredded_after_72h", now).await {
                            tracing::warn!(error = %err, "recording an operational event failed");
                        }
                        continue;
                    }
                    tracing::warn!(call = %e.call_id, "post-call document shredded undelivered after 72 h");
                    if let Err(err) = self.store.op_event(&e.tenant_id, "webhook.expired", 0, "shredded_after_72h", now).await {
                        tracing::warn!(error = %err, "recording an operational event failed");
                    }
                    if let Ok(scope) = self.store.tenant(&e.tenant_id) {
                        self.finished(&scope, &e.call_id, "expired").await;
                    }
                    self.metrics.webhooks_failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => tracing::error!(error = %e, "shredding expired outbox items failed"),
        }
    }

    async fn finished(&self, scope: &parley_store::TenantScope, call_id: &str, status: &str) {
        if let Err(e) = scope.set_webhook_status(call_id, status).await {
            tracing::error!(call = %call_id, error = %e, "updating the webhook status failed");
        }
        let action = format!("outbox.{status}");
        let ev = Event { actor: "system:delivery", action: &action, object_id: call_id, at_ms: now_ms() };
        if let Err(e) = scope.audit(&ev).await {
            tracing::error!(call = %call_id, error = %e, "auditing a delivery failed");
        }
    }
}

const NO_INTEGRATION: &str = "no-webhook-integration";

/// The destination prefix of an agent's post-call mail (`email:<agent>`).
pub const EMAIL: &str = "email:";

/// The URL and signing secret of the webhook integration a document was queued for, or, when
/// the tenant has replaced it since, of the one it has now (documents are the tenant's, not the
/// integration's: replacing a webhook strands nothing).
async fn webhook_of(scope: &parley_store::TenantScope, master: &MasterKey, id: &str) -> Result<(String, secrecy::SecretString), DeliveryError> {
    let missing = || DeliveryError::Unreachable(NO_INTEGRATION.into());
    let integration = match scope.get_integration(id).await {
        Ok(i) => i,
        Err(_) => scope.list_integrations().await.map_err(|_| missing())?.into_iter().find(|i| i.kind == "webhook").ok_or_else(missing)?,
    };
    let id = integration.id.as_str();
    let url = integration.config.get("url").and_then(|u| u.as_str()).filter(|u| u.starts_with("http://") || u.starts_with("https://")).ok_or_else(missing)?;
    let secret = scope.integration_secret(master, id).await.map_err(|_| missing())?;
    Ok((url.to_string(), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_cap() {
        assert_eq!(retry_delay_ms(0), 1000);
        assert_eq!(retry_delay_ms(1), 2000);
        assert_eq!(retry_delay_ms(5), 32_000);
        assert_eq!(retry_delay_ms(10), 600_000);
        assert_eq!(retry_delay_ms(i64::MAX), 600_000);
        assert_eq!(retry_delay_ms(-3), 1000);
    }
}
