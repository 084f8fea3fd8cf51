//! Contract suites for the ports, run against every adapter family.
