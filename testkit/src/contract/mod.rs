//! Contract suites for the ports, written once and run against every adapter family (the
//! embedded adapters under plain `cargo test`, the cloud adapters against a local emulator).
//! Each case is a public async function; [`port_contract_tests!`] expands them into one
//! `#[tokio::test]` each, given an expression per port that makes a fresh adapter.

pub mod batch;
pub mod blobs;
pub mod intake;
pub mod queue;
pub mod store;
pub mod store_delivery;
pub mod store_paging;
pub mod unstarted;

/// A text job of `session` to 628123456789, created at `at` (and never updated).
fn text_job_at(session: &wagate_core::SessionId, at: i64) -> wagate_core::Job {
    use wagate_core::{Jid, Job, KeyId, MessageContent, OutboundMessage};
    let hi = OutboundMessage::new(MessageContent::Text {
        text: "hi".into(),
        mentions: vec![],
    });
    let to = Jid::parse("628123456789").unwrap();
    Job::new(session.clone(), KeyId::from_string("key_owner"), to, hi, at)
}

pub use batch::*;
pub use blobs::*;
pub use intake::*;
pub use queue::*;
pub use store::*;
pub use store_delivery::*;
pub use store_paging::*;
pub use unstarted::*;

/// Expands every case of the three suites into a `#[tokio::test]`, in the modules
/// `store_suite`, `queue_suite` and `blobs_suite` of the calling file. Each expression is async
/// and yields a fresh adapter: an `Arc<dyn Store>`, an `Arc<dyn Queue>`, an `Arc<dyn Blobs>`.
/// The calling module must have these expressions' functions in scope.
#[macro_export]
macro_rules! port_contract_tests {
    (store: $store:expr, queue: $queue:expr, blobs: $blobs:expr $(,)?) => {
        mod store_suite {
            use super::*;
            $crate::contract_cases!($store; store_keys_roundtrip_by_hash, store_session_create_is_conditional,
                store_sessions_list_by_owner_update_and_delete, store_job_create_is_conditional_and_updates_state,
                store_idempotency_returns_the_first_value_until_it_expires, store_counter_window_semantics,
                store_concurrent_counter_hits_never_pass_the_limit, store_config_and_dead_letters,
                store_counter_unhit_never_goes_below_zero_nor_into_a_new_window,
                store_concurrent_conditional_writes_have_one_winner,
                store_missing_records_report_false_or_none, store_dead_letters_list_honours_the_limit,
                store_leases_have_one_holder_until_they_expire, store_sessions_page_by_owner_in_id_order,
                store_sessions_page_without_owner_and_keys_page, store_dead_letters_page_in_time_order,
                store_parked_sends_page_in_time_order_and_are_removed,
                store_unstarted_jobs_are_listed_by_creation_until_their_first_update,
                store_records_are_replaced_and_expire, store_delivery_notes_are_kept_per_job);
        }
        mod queue_suite {
            use super::*;
            $crate::contract_cases!($queue; queue_send_receive_ack, queue_dedup_ignores_a_repeated_id,
                queue_fifo_head_in_flight_blocks_the_rest,
                queue_fifo_groups_keep_their_own_order_and_hold_only_themselves, queue_visibility_timeout_redelivers_with_a_new_receipt,
                queue_nack_delays_and_extend_keeps_hidden, queue_long_poll_returns_when_a_message_arrives,
                queue_standard_delivers_several_and_missing_queues_are_not_found,
                queue_fifo_batch_comes_in_send_order, queue_stale_receipts_do_not_touch_a_redelivered_message,
                queue_depth_counts_in_flight_and_delayed_messages, queue_delete_drops_every_message);
        }
        mod blobs_suite {
            use super::*;
            $crate::contract_cases!($blobs; blobs_put_get_overwrite_delete_list, blobs_refuse_keys_that_could_escape,
                blobs_list_matches_by_string_prefix_and_missing_keys_are_none,
                blobs_streamed_writes_appear_whole_on_finish_and_never_on_abort);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! contract_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let adapter = $make.await;
                $crate::contract::$case(adapter).await;
            }
        )+
    };
}
