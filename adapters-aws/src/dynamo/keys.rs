//! Where each kind of record lives (`pk`) and which listing it belongs to (`gsi1pk`).

pub const KEY_LIST: &str = "key";
pub const SESSION_LIST: &str = "session";
pub const DEAD_LIST: &str = "dead";
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
pub fn counter(key: &str) -> String {
    format!("ctr#{key}")
}
pub fn dead(id: &str) -> String {
    format!("dead#{id}")
}
/// Sort key of a listing ordered by time: 13-digit milliseconds, then the id.
pub fn by_time(ms: i64, id: &str) -> String {
    format!("{:013}#{id}", ms.max(0))
}
