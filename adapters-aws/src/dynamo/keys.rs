//! Where each kind of record lives (`pk`) and which listing it belongs to (`gsi1pk`).

pub const KEY_LIST: &str = "key";
pub const SESSION_LIST: &str = "session";
pub const DEAD_LIST: &str = "dead";
pub const PARKED_LIST: &str = "parked";
pub const CONFIG: &str = "config";
/// Config attributes are stored as `cfg.<name>`, beside `pk`, in the one config item.
pub const CONFIG_ATTR: &str = "cfg.";

pub fn api_key(hash_hex: &str) -> String {
    format!("key#{hash_hex}")
}
pub fn session(id: &str) -> String {
    format!("session#{id}")
}
pub fn job(id: &str) -> String {
    format!("job#{id}")
}
pub fn idem(key: &str) -> String {
    format!("idem#{key}")
}
pub fn record(key: &str) -> String {
    format!("rec#{key}")
}
pub fn counter(key: &str) -> String {
    format!("ctr#{key}")
}
pub fn dead(id: &str) -> String {
    format!("dead#{id}")
}
/// The listing of jobs created in one minute and never updated since (a sparse index: the
/// first update of a job removes its `gsi1` keys). One listing a minute spreads the writes.
pub fn unstarted(created_at_ms: i64) -> String {
    format!("unstarted#{}", created_at_ms.div_euclid(60_000))
}
/// The creation time a `by_time` sort key starts with.
pub fn time_of(sort_key: &str) -> Option<i64> {
    sort_key.get(..13)?.parse().ok()
}
pub fn parked(job_id: &str) -> String {
    format!("parked#{job_id}")
}
/// Sort key of a listing ordered by time: 13-digit milliseconds, then the id.
pub fn by_time(ms: i64, id: &str) -> String {
    format!("{:013}#{id}", ms.max(0))
}
