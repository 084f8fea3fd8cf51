//! The handle on one live whatsapp-rust connection: sends, actions, queries, media downloads,
//! pairing, logout. What each call takes and gives is mapped by the sibling modules
//! (`outbound`, `actions`, `group_info`, `translate`), which are tested from values.

use super::*;

/// The handle on one session's WhatsApp connection.
pub(super) struct WaConnection {
    pub(super) shared: Arc<Shared>,
}

impl WaConnection {
    async fn media_bytes(&self, source: &MediaSource) -> Result<Vec<u8>, SendError> {
        match source {
            MediaSource::Url(_) => Err(SendError::Permanent(URL_MEDIA_UNSUPPORTED.into())),
            MediaSource::Blob { key, .. } => match self.shared.blobs.get(key).await {
                Ok(Some(b)) => Ok(b.to_vec()),
                Ok(None) => Err(SendError::Permanent(format!("media blob {key} is gone"))),
                Err(e) => Err(SendError::Transient(format!(
                    "reading media blob {key}: {e}"
                ))),
            },
        }
    }

    /// Fails permanently for a number WhatsApp says has no account; any doubt lets the send
    /// go ahead (the server has the last word).
    async fn check_registered(
        &self,
        to: &Jid,
        wa_to: &whatsapp_rust::Jid,
    ) -> Result<(), SendError> {
        if to.kind() != JidKind::User {
            return Ok(());
        }
        let known = self
            .shared
            .on_whatsapp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(to.user());
        if known {
            return Ok(());
        }
        match self
            .shared
            .client
            .contacts()
            .is_on_whatsapp(std::slice::from_ref(wa_to))
            .await
        {
            Ok(results) if results.iter().any(|r| r.is_registered) => {
                self.shared
                    .on_whatsapp
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(to.user().to_owned());
                Ok(())
            }
            Ok(results) if !results.is_empty() => Err(SendError::Permanent(NOT_ON_WHATSAPP.into())),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(session_id = %self.shared.session, error = %e, "could not check the recipient; sending anyway");
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Connection for WaConnection {
    /// whatsapp-rust's own count of the last frame received (keepalive pings every 15–30 s
    /// when idle keep it fresh on a live socket).
    fn last_traffic_ms(&self) -> Option<i64> {
        last_traffic(self.shared.client.stats().last_data_received_ms)
    }

    async fn send(
        &self,
        to: &Jid,
        msg: &OutboundMessage,
        wa_message_id: &str,
    ) -> Result<SendReceipt, SendError> {
        let s = &self.shared;
        let wa_to: whatsapp_rust::Jid = to
            .as_str()
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {to}: {e}")))?;
        self.check_registered(to, &wa_to).await?;
        let media = match media_of(msg) {
            None => None,
            Some((source, media_type)) => {
                let bytes = self.media_bytes(source).await?;
                if let wagate_core::MessageContent::Media { media, .. } = &msg.content {
                    check_media_size(&s.media_caps, *media, bytes.len() as u64)?;
                }
                let up = s
                    .client
                    .upload(bytes, media_type, UploadOptions::default())
                    .await
                    .map_err(|e| classify_upload(&e))?;
                Some(UploadedMedia::from(up))
            }
        };
        let secret = match &msg.content {
            // Kept before the send, and the same on a resend: votes open with it.
            wagate_core::MessageContent::Poll { options, .. } => {
                polls::secret_for(s.blobs.as_ref(), &s.session, wa_message_id, options)
                    .await
                    .map_err(|e| {
                        SendError::Transient(format!("keeping the poll's secret: {e:#}"))
                    })?
            }
            _ => rand::rng().random(),
        };
        let proto = to_proto(msg, to, media.as_ref(), secret)?;
        if let Some(audience) = &msg.status {
            let recipients: Vec<whatsapp_rust::Jid> = audience
                .recipients
                .iter()
                .map(actions::wa_jid)
                .collect::<Result<_, _>>()?;
            let options = whatsapp_rust::features::StatusSendOptions {
                message_id: Some(wa_message_id.to_owned()),
                ..Default::default()
            };
            let sent = s
                .client
                .status()
                .send_raw(
                    actions::status_message(proto, audience),
                    &recipients,
                    options,
                )
                .await
                .map_err(|e| classify_send(&e, s.logged_out.load(Ordering::SeqCst)))?;
            return Ok(SendReceipt {
                message_id: sent.message_id,
                timestamp_ms: wagate_core::clock::now_ms(),
            });
        }
        let sent = s
            .client
            .send_message_with_options(
                wa_to,
                proto,
                SendOptions::default().with_message_id(wa_message_id),
            )
            .await
            .map_err(|e| classify_send(&e, s.logged_out.load(Ordering::SeqCst)))?;
        Ok(SendReceipt {
            message_id: sent.message_id,
            timestamp_ms: wagate_core::clock::now_ms(),
        })
    }

    async fn act(
        &self,
        to: &Jid,
        action: &wagate_core::Action,
        _wa_message_id: &str,
    ) -> Result<wagate_core::ActionResult, SendError> {
        // Reactions, edits, revokes and pins replace one another on WhatsApp: carried out twice
        // (a retry), they show once, so the client's own message ids serve.
        actions::act(&self.shared, to, action).await
    }

    async fn business_profile(&self, number: &str) -> anyhow::Result<wagate_core::BusinessProfile> {
        group_info::business_profile(&self.shared.client, number).await
    }

    async fn blocklist(&self) -> anyhow::Result<Vec<Jid>> {
        let list = self
            .shared
            .client
            .blocking()
            .get_blocklist()
            .await
            .map_err(|e| anyhow::anyhow!("blocklist: {e}"))?;
        Ok(list.iter().filter_map(|e| wagate_jid(&e.jid)).collect())
    }

    async fn groups(&self) -> anyhow::Result<Vec<wagate_core::GroupInfo>> {
        group_info::participating(&self.shared.client).await
    }

    async fn group(&self, jid: &Jid) -> anyhow::Result<wagate_core::GroupInfo> {
        group_info::metadata(&self.shared.client, jid).await
    }

    async fn invite_link(&self, group: &Jid) -> anyhow::Result<String> {
        let jid = actions::wa_jid(group)?;
        self.shared
            .client
            .groups()
            .get_invite_link(jid, false)
            .await
            .map_err(|e| anyhow::anyhow!("invite link: {e}"))
    }

    async fn invite_info(&self, code: &str) -> anyhow::Result<wagate_core::GroupInfo> {
        group_info::invite_info(&self.shared.client, code).await
    }

    async fn join_requests(&self, group: &Jid) -> anyhow::Result<Vec<wagate_core::JoinRequest>> {
        group_info::join_requests(&self.shared.client, group).await
    }

    async fn reject_call(&self, call: &IncomingCall) -> anyhow::Result<()> {
        let peer: whatsapp_rust::Jid = call
            .peer
            .parse()
            .map_err(|e| anyhow::anyhow!("call peer {}: {e:?}", call.peer))?;
        let creator: whatsapp_rust::Jid = call
            .creator
            .parse()
            .map_err(|e| anyhow::anyhow!("call creator {}: {e:?}", call.creator))?;
        self.shared
            .client
            .voip()
            .reject_call(&call.call_id, &peer, &creator)
            .await
            .map_err(|e| anyhow::anyhow!("rejecting the call: {e}"))
    }

    async fn chat_state(&self, to: &Jid, state: crate::connector::ChatState) -> anyhow::Result<()> {
        let wa_to: whatsapp_rust::Jid = to
            .as_str()
            .parse()
            .map_err(|e| anyhow::anyhow!("chat {to}: {e:?}"))?;
        let chatstate = self.shared.client.chatstate();
        match state {
            crate::connector::ChatState::Composing => chatstate.send_composing(&wa_to).await,
            crate::connector::ChatState::Recording => chatstate.send_recording(&wa_to).await,
            crate::connector::ChatState::Paused => chatstate.send_paused(&wa_to).await,
        }
        .map_err(|e| anyhow::anyhow!("chat state: {e}"))
    }

    async fn check_numbers(&self, numbers: &[String]) -> anyhow::Result<Vec<NumberCheck>> {
        let jids: Vec<whatsapp_rust::Jid> = numbers
            .iter()
            .map(|n| {
                format!("{n}@s.whatsapp.net")
                    .parse()
                    .map_err(|e| anyhow::anyhow!("number {n}: {e:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let answers = self
            .shared
            .client
            .contacts()
            .is_on_whatsapp(&jids)
            .await
            .map_err(|e| anyhow::anyhow!("is_on_whatsapp: {e}"))?;
        let answers: Vec<translate::RegisteredAnswer> = answers.iter().map(Into::into).collect();
        Ok(translate::number_checks(numbers, &answers))
    }

    async fn profile(&self, number: &str) -> anyhow::Result<ContactProfile> {
        let jid: whatsapp_rust::Jid = format!("{number}@s.whatsapp.net")
            .parse()
            .map_err(|e| anyhow::anyhow!("number {number}: {e:?}"))?;
        let contacts = self.shared.client.contacts();
        let infos = contacts
            .get_user_info(std::slice::from_ref(&jid))
            .await
            .map_err(|e| anyhow::anyhow!("user info: {e}"))?;
        let Some(info) = infos.values().next() else {
            return Err(crate::connector::SendError::Permanent(format!(
                "{number} is not on WhatsApp"
            ))
            .into());
        };
        // A hidden or absent picture is no picture, not a failure.
        let picture = contacts
            .get_profile_picture(&jid, false)
            .await
            .ok()
            .flatten()
            .map(|p| p.url);
        Ok(translate::profile(
            number,
            &translate::ProfileFacts {
                jid: info.jid.clone(),
                lid: info.lid.clone(),
                about: info.status.clone(),
                business: info.is_business,
                business_name: info.verified_name.as_ref().and_then(|v| v.name.clone()),
            },
            picture,
        ))
    }

    async fn download_media(
        &self,
        message_id: &str,
        handle: &serde_json::Value,
        max_bytes: u64,
        out: &mut dyn wagate_core::ports::BlobWriter,
    ) -> anyhow::Result<()> {
        media_in::download(&self.shared.client, message_id, handle, max_bytes, out).await
    }

    async fn pair_code(&self, phone: &str) -> anyhow::Result<String> {
        let digits = wagate_core::normalize_phone(phone, "phone")?;
        let code = self
            .shared
            .client
            .pair_with_code(PairCodeOptions {
                phone_number: digits,
                ..Default::default()
            })
            .await
            .context("asking WhatsApp for a pairing code")?;
        Ok(code)
    }

    async fn logout(&self) -> anyhow::Result<()> {
        let s = &self.shared;
        // The client tells WhatsApp to unlink the device and dispatches `LoggedOut`, which the
        // pump turns into deleted credentials and the runner's `LoggedOut`.
        s.client.logout().await;
        s.logged_out.store(true, Ordering::SeqCst);
        // Offline, no event may come: delete here too (deleting twice is fine).
        s.creds.delete(&s.session).await
    }

    async fn disconnect(&self) {
        self.shared.stop.cancel();
        // Wait for the final backup and the client's flush, so a shutdown keeps them.
        let _ = tokio::time::timeout(3 * CLOSE_TIMEOUT, self.shared.finished.cancelled()).await;
    }
}

/// whatsapp-rust's `last_data_received_ms` (0: nothing yet) as the watchdog reads it.
fn last_traffic(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok().filter(|&ms| ms > 0)
}

#[cfg(test)]
mod last_traffic_tests {
    #[test]
    fn nothing_received_yet_is_unknown() {
        assert_eq!(super::last_traffic(0), None);
        assert_eq!(
            super::last_traffic(1_764_640_000_123),
            Some(1_764_640_000_123)
        );
        assert_eq!(super::last_traffic(u64::MAX), None);
    }
}
