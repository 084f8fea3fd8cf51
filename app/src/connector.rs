//! Which WhatsApp a session host talks to (`WA_CONNECTOR`): the real network through
//! whatsapp-rust, or the simulated one. Chosen here once for `wagate local` and `wagate host`.

use std::path::Path;
use std::sync::Arc;

use wagate_core::ports::Blobs;
use wagate_host::connector::simulated::SimOptions;
use wagate_host::connector::{Connector, ConnectorKind, WhatsAppConnector, WhatsAppOptions};
use wagate_host::{HostDeps, SessionHost, SimNetwork};

use crate::Config;

/// The session host of `config.connector` over `deps`, and the simulated network when that is
/// the connector. Credentials and the simulator's log live under `data_dir`.
pub fn session_host(
    config: &Config,
    deps: HostDeps,
    data_dir: &Path,
) -> anyhow::Result<(SessionHost, Option<Arc<SimNetwork>>)> {
    let blobs: Arc<dyn Blobs> = deps.blobs.clone();
    match config.connector {
        ConnectorKind::Simulated => {
            let sim = simulated(config, blobs, data_dir)?;
            let host = SessionHost::new(deps, config.host.clone(), sim.clone(), Some(sim.clone()));
            Ok((host, Some(sim)))
        }
        ConnectorKind::WhatsApp => {
            let mut options = WhatsAppOptions::new(data_dir.join("whatsapp"));
            options.proxy = config.https_proxy.clone();
            options.media_caps = config.api.media.caps;
            let wa: Arc<dyn Connector> = Arc::new(WhatsAppConnector::new(blobs, options));
            Ok((SessionHost::new(deps, config.host.clone(), wa, None), None))
        }
    }
}

/// The simulated network, its log under `data_dir/sim`.
pub fn simulated(
    config: &Config,
    blobs: Arc<dyn Blobs>,
    data_dir: &Path,
) -> anyhow::Result<Arc<SimNetwork>> {
    let mut options = SimOptions::new(data_dir.join("sim"));
    options.qr_interval = config.host.sim_qr_interval;
    SimNetwork::open(blobs, options)
}
