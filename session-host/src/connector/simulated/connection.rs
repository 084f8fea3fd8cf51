//! The simulated network as a [`Connector`]: one [`SimConnection`] per connected session.

use super::*;

#[async_trait]
impl Connector for SimNetwork {
    async fn connect(
        &self,
        session: &SessionId,
        _settings: &SessionSettings,
    ) -> anyhow::Result<Connected> {
        let Some(net) = self.me.upgrade() else {
            bail!("the simulated network is shutting down");
        };
        let creds = self.load_creds(session).await?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let mut st = self.state();
        st.next_link += 1;
        let link_id = st.next_link;
        let mut link = Link {
            id: link_id,
            tx,
            account: creds.clone(),
            pairing_phone: None,
            qr_task: None,
            silent_since: None,
        };
        match creds {
            Some(account) => {
                tracing::info!(session_id = %session, "simulated connection opened with stored credentials");
                link.emit(session, ConnectorEvent::Open { account });
            }
            None => {
                tracing::info!(session_id = %session, "simulated connection waiting for a QR scan");
                let keys = QrKeys::generate();
                link.emit(
                    session,
                    ConnectorEvent::Qr {
                        code: keys.payload(),
                    },
                );
                link.qr_task = Some(self.start_qr_rotation(session.clone(), link_id, keys));
            }
        }
        // Replacing the old link drops its sender, which ends the old event stream.
        st.links.insert(session.clone(), link);
        Ok(Connected {
            connection: Arc::new(SimConnection {
                net,
                session: session.clone(),
                link_id,
            }),
            events: rx,
        })
    }
}

/// A session's connection to the simulated network.
struct SimConnection {
    net: Arc<SimNetwork>,
    session: SessionId,
    link_id: u64,
}

impl SimConnection {
    /// Removes this connection's link (if it is still the live one) and returns it.
    fn take_link(&self) -> Option<Link> {
        let mut st = self.net.state();
        if st
            .links
            .get(&self.session)
            .is_some_and(|l| l.id == self.link_id)
        {
            st.links.remove(&self.session)
        } else {
            None
        }
    }
}

#[async_trait]
impl Connection for SimConnection {
    fn last_traffic_ms(&self) -> Option<i64> {
        self.net.last_traffic(&self.session, self.link_id)
    }

    async fn send(
        &self,
        to: &Jid,
        msg: &OutboundMessage,
        wa_message_id: &str,
    ) -> Result<SendReceipt, SendError> {
        self.net
            .send(&self.session, self.link_id, to, msg, wa_message_id)
            .await
    }

    async fn act(
        &self,
        to: &Jid,
        action: &Action,
        wa_message_id: &str,
    ) -> Result<ActionResult, SendError> {
        let delay = self.net.state().send_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.net
            .act(&self.session, self.link_id, to, action, wa_message_id)
            .await
    }

    async fn pair_code(&self, phone: &str) -> anyhow::Result<String> {
        let digits = normalize_phone(phone, "phone")?;
        let mut st = self.net.state();
        let Some(link) = st
            .links
            .get_mut(&self.session)
            .filter(|l| l.id == self.link_id)
        else {
            bail!("connection closed");
        };
        if link.account.is_some() {
            bail!("session {} is already linked", self.session);
        }
        link.pairing_phone = Some(digits);
        Ok(pairing_code())
    }

    async fn logout(&self) -> anyhow::Result<()> {
        self.net
            .blobs
            .delete(&creds_key(&self.session))
            .await
            .context("deleting simulated credentials")?;
        if let Some(link) = self.take_link() {
            link.emit(&self.session, ConnectorEvent::LoggedOut);
        }
        tracing::info!(session_id = %self.session, "simulated session logged out");
        Ok(())
    }

    async fn reject_call(&self, call: &IncomingCall) -> anyhow::Result<()> {
        let mut st = self.net.state();
        st.rejected_calls.push(call.call_id.clone());
        // A test's record, not a log: the most recent ones.
        if st.rejected_calls.len() > super::REMEMBER_CALLS {
            st.rejected_calls.remove(0);
        }
        drop(st);
        tracing::info!(session_id = %self.session, call_id = %call.call_id, "simulated call rejected");
        Ok(())
    }

    async fn chat_state(&self, to: &Jid, state: ChatState) -> anyhow::Result<()> {
        self.net.record_chat_state(&self.session, to, state);
        Ok(())
    }

    async fn check_numbers(&self, numbers: &[String]) -> anyhow::Result<Vec<NumberCheck>> {
        let linked = self
            .net
            .state()
            .links
            .get(&self.session)
            .is_some_and(|l| l.id == self.link_id && l.account.is_some());
        if !linked {
            bail!("not logged in");
        }
        Ok(self.net.check_numbers(numbers))
    }

    async fn profile(&self, number: &str) -> anyhow::Result<ContactProfile> {
        let check = self.check_numbers(&[number.to_owned()]).await?;
        match check.into_iter().next() {
            Some(c) if c.on_whatsapp => Ok(ContactProfile {
                jid: c.jid.unwrap_or_default(),
                about: Some("Hey there! I am using WhatsApp.".into()),
                picture_url: Some(format!("https://pps.whatsapp.net/simulated/{number}.jpg")),
                business: c.business,
                business_name: c.business.then(|| format!("Shop {number}")),
                lid: None,
                number: c.number,
            }),
            _ => {
                return Err(crate::connector::SendError::Permanent(format!(
                    "{number} is not on WhatsApp"
                ))
                .into());
            }
        }
    }

    async fn business_profile(&self, number: &str) -> anyhow::Result<BusinessProfile> {
        let profile = self.profile(number).await?;
        if !profile.business {
            return Err(crate::connector::SendError::Permanent(format!(
                "{number} is not a business account"
            ))
            .into());
        }
        Ok(BusinessProfile {
            jid: profile.jid,
            description: Some(format!("Simulated shop {number}")),
            address: Some("1 Simulated Street".into()),
            email: Some(format!("shop{number}@example.com")),
            websites: vec![format!("https://shop{number}.example.com")],
            categories: vec!["Shopping & Retail".into()],
        })
    }

    async fn blocklist(&self) -> anyhow::Result<Vec<Jid>> {
        self.net
            .with_world(&self.session, self.link_id, |_, _| Ok(()))?;
        Ok(self.net.blocklist(&self.session))
    }

    async fn groups(&self) -> anyhow::Result<Vec<GroupInfo>> {
        self.net.groups_of(&self.session, self.link_id)
    }

    async fn group(&self, jid: &Jid) -> anyhow::Result<GroupInfo> {
        self.net.with_world(&self.session, self.link_id, |w, me| {
            Ok(w.group_of(jid, me)?.info())
        })
    }

    async fn invite_link(&self, group: &Jid) -> anyhow::Result<String> {
        self.net.with_world(&self.session, self.link_id, |w, me| {
            w.invite_link(group, me)
        })
    }

    async fn invite_info(&self, code: &str) -> anyhow::Result<GroupInfo> {
        let code = wagate_core::invite_code(code)?.to_owned();
        self.net.with_world(&self.session, self.link_id, |w, _| {
            let mut info = w.by_code(&code)?.info();
            // An invite's preview shows the group, not who is in it.
            info.participants.clear();
            Ok(info)
        })
    }

    async fn join_requests(&self, group: &Jid) -> anyhow::Result<Vec<JoinRequest>> {
        self.net.with_world(&self.session, self.link_id, |w, me| {
            w.join_requests(group, me)
        })
    }

    async fn download_media(
        &self,
        message_id: &str,
        handle: &serde_json::Value,
        max_bytes: u64,
        out: &mut dyn BlobWriter,
    ) -> anyhow::Result<()> {
        self.net.download(message_id, handle, max_bytes, out).await
    }

    async fn disconnect(&self) {
        self.take_link();
    }
}
