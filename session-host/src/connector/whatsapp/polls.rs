//! Votes on the polls this session sent. A vote arrives encrypted under the poll's secret (the
//! `messageSecret` the poll went out with) and names options by their SHA-256: so each poll
//! sent keeps its secret and options in the blob store (`sessions/<id>/polls/<messageId>.json`,
//! deleted with the session), and a vote is decrypted with whatsapp-rust's own poll crypto and
//! its hashes mapped back to the option names.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use wagate_core::SessionId;
use wagate_core::ports::Blobs;
use whatsapp_rust::wacore::poll::{
    PollVoteAddressing, PollVoteCiphertext, compute_option_hash, decrypt_poll_vote_with_fallback,
};

/// What a sent poll keeps for its votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    /// The poll's 32-byte secret, base64.
    pub secret: String,
    pub options: Vec<String>,
}

/// An encrypted vote, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedVote {
    /// The poll's WhatsApp message id.
    pub poll_id: String,
    pub enc_payload: Vec<u8>,
    pub enc_iv: Vec<u8>,
}

fn key(session: &SessionId, poll_id: &str) -> String {
    // Message ids are WhatsApp's (hex and letters); anything else is hashed into the key.
    let safe = if !poll_id.is_empty()
        && poll_id.len() <= 128
        && poll_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        poll_id.to_owned()
    } else {
        hex::encode(&compute_option_hash(poll_id)[..16])
    };
    format!("sessions/{session}/polls/{safe}.json")
}

/// Keeps a sent poll's secret and options.
pub async fn remember(
    blobs: &dyn Blobs,
    session: &SessionId,
    poll_id: &str,
    secret: &[u8; 32],
    options: &[String],
) -> anyhow::Result<()> {
    let record = PollRecord {
        secret: B64.encode(secret),
        options: options.to_vec(),
    };
    blobs
        .put(&key(session, poll_id), serde_json::to_vec(&record)?.into())
        .await
        .context("storing the poll's secret")?;
    Ok(())
}

/// The secret poll `poll_id` goes out with: the one stored for it (a resend after a crash must
/// keep it, or the votes on the copy the recipients have would not open), or a new one, stored
/// before the poll is sent.
pub async fn secret_for(
    blobs: &dyn Blobs,
    session: &SessionId,
    poll_id: &str,
    options: &[String],
) -> anyhow::Result<[u8; 32]> {
    if let Some(r) = recall(blobs, session, poll_id).await?
        && let Ok(bytes) = B64.decode(&r.secret)
        && let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(secret);
    }
    let secret: [u8; 32] = rand::random();
    remember(blobs, session, poll_id, &secret, options).await?;
    Ok(secret)
}

/// The poll `poll_id` this session sent, if it did.
pub async fn recall(
    blobs: &dyn Blobs,
    session: &SessionId,
    poll_id: &str,
) -> anyhow::Result<Option<PollRecord>> {
    let Some(bytes) = blobs.get(&key(session, poll_id)).await? else {
        return Ok(None);
    };
    Ok(Some(
        serde_json::from_slice(&bytes).context("reading a poll record")?,
    ))
}

/// The option names a vote picked (none: the vote was taken back). `addressing` names the poll's
/// creator (this account) and the voter as the vote was keyed; `fallback` the same pair in the
/// other namespace (phone number or LID), tried when the first does not open it.
pub fn decrypt(
    record: &PollRecord,
    vote: &EncryptedVote,
    addressing: PollVoteAddressing<'_>,
    fallback: Option<PollVoteAddressing<'_>>,
) -> anyhow::Result<Vec<String>> {
    let secret = B64
        .decode(&record.secret)
        .context("a poll record's secret")?;
    let hashes = decrypt_poll_vote_with_fallback(
        PollVoteCiphertext {
            enc_payload: &vote.enc_payload,
            enc_iv: &vote.enc_iv,
        },
        &secret,
        &vote.poll_id,
        addressing,
        fallback,
    )?;
    Ok(hashes
        .iter()
        .filter_map(|h| {
            record
                .options
                .iter()
                .find(|o| compute_option_hash(o).as_slice() == h.as_slice())
                .cloned()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::wacore::poll::encrypt_poll_vote_with_secret;

    use super::*;

    const CREATOR: &str = "628111111111@s.whatsapp.net";
    const VOTER: &str = "628222222222@s.whatsapp.net";

    fn record(secret: [u8; 32]) -> PollRecord {
        PollRecord {
            secret: B64.encode(secret),
            options: vec!["Rice".into(), "Noodles".into(), "Soup".into()],
        }
    }

    /// A vote for `picked` as the voter's phone encrypts it.
    fn vote(secret: &[u8; 32], picked: &[&str], creator: &str, voter: &str) -> EncryptedVote {
        let hashes: Vec<Vec<u8>> = picked
            .iter()
            .map(|o| compute_option_hash(o).to_vec())
            .collect();
        let (payload, iv) =
            encrypt_poll_vote_with_secret(&hashes, secret, "3EB0POLL", creator, voter).unwrap();
        EncryptedVote {
            poll_id: "3EB0POLL".into(),
            enc_payload: payload,
            enc_iv: iv.to_vec(),
        }
    }

    fn as_sent() -> PollVoteAddressing<'static> {
        PollVoteAddressing {
            poll_creator_jid: CREATOR,
            voter_jid: VOTER,
        }
    }

    #[test]
    fn a_vote_opens_to_the_option_names_it_picked() {
        let secret = [7u8; 32];
        let v = vote(&secret, &["Noodles", "Soup"], CREATOR, VOTER);
        assert_eq!(
            decrypt(&record(secret), &v, as_sent(), None).unwrap(),
            ["Noodles", "Soup"]
        );
        let none = vote(&secret, &[], CREATOR, VOTER);
        assert!(
            decrypt(&record(secret), &none, as_sent(), None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_wrong_secret_or_voter_does_not_open_it_but_the_other_namespace_can() {
        let secret = [7u8; 32];
        let v = vote(&secret, &["Rice"], CREATOR, VOTER);
        assert!(decrypt(&record([8u8; 32]), &v, as_sent(), None).is_err());
        let other = PollVoteAddressing {
            poll_creator_jid: CREATOR,
            voter_jid: "628333333333@s.whatsapp.net",
        };
        assert!(decrypt(&record(secret), &v, other, None).is_err());
        // Keyed under LIDs, opened through the fallback pair.
        let lids = vote(
            &secret,
            &["Rice"],
            "11111111111111@lid",
            "22222222222222@lid",
        );
        let lid_pair = PollVoteAddressing {
            poll_creator_jid: "11111111111111@lid",
            voter_jid: "22222222222222@lid",
        };
        assert_eq!(
            decrypt(&record(secret), &lids, as_sent(), Some(lid_pair)).unwrap(),
            ["Rice"]
        );
    }

    #[tokio::test]
    async fn a_polls_secret_is_kept_before_the_send_and_reused_on_a_resend() {
        let dir = tempfile::TempDir::new().unwrap();
        let blobs = wagate_local::FsBlobs::new(dir.path().to_path_buf(), false).unwrap();
        let s = SessionId::parse("shop").unwrap();
        let options = vec!["Rice".to_owned(), "Noodles".to_owned()];
        let first = secret_for(&blobs, &s, "3EB0POLL", &options).await.unwrap();
        let again = secret_for(&blobs, &s, "3EB0POLL", &options).await.unwrap();
        assert_eq!(first, again, "a resend keeps the secret");
        assert_ne!(
            first,
            secret_for(&blobs, &s, "3EB0OTHER", &options).await.unwrap()
        );
        let kept = recall(&blobs, &s, "3EB0POLL").await.unwrap().unwrap();
        assert_eq!(kept.options, options);
        // A vote made with it opens.
        let v = vote(&first, &["Rice"], CREATOR, VOTER);
        assert_eq!(decrypt(&kept, &v, as_sent(), None).unwrap(), ["Rice"]);
        assert!(recall(&blobs, &s, "3EB0NONE").await.unwrap().is_none());
    }

    #[test]
    fn poll_keys_stay_inside_the_sessions_prefix() {
        let s = SessionId::parse("shop").unwrap();
        assert_eq!(key(&s, "3EB0ABC"), "sessions/shop/polls/3EB0ABC.json");
        let odd = key(&s, "../../etc/passwd");
        assert!(
            odd.starts_with("sessions/shop/polls/") && !odd.contains(".."),
            "{odd}"
        );
    }
}
