//! Support code for aio's fuzz targets: the shared entry points ([`harness`]) and the
//! program generator for the VM target ([`gen`]).

#[path = "harness.rs"]
pub mod harness;

pub mod gen;
