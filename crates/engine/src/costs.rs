//! Transaction costs: the one cost model lives in `pulse-core` ([`pulse_core::costs`]), shared
//! with the brokers; re-exported here for the engine's users.

pub use pulse_core::costs::CostModel;
