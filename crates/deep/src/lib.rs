//! `pulse-deep`: the deep-learning models of issue 17 on the CPU with candle. Every model is
//! seeded and deterministic, saves and loads its weights as safetensors, and is evaluated out of
//! sample only.
//!
//! - [`dqn`]: the DQN trading agent of SPEC §4 (implements [`pulse_agents::Agent`]).
//! - [`cycle`]: the Transformer economic-cycle classifier over monthly FRED-MD features.
//! - [`nbeats`]: N-BEATS return forecasts per asset (generic blocks).

pub mod cycle;
pub mod dqn;
mod files;
pub mod nbeats;
