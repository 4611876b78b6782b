//! End-to-end tests of the `frontdesk` binary: each test runs the real
//! command in a temporary data directory, as an owner or a script would, and
//! checks what it prints. The knowledge comes from a small slice of Banking77
//! kept in `tests/data/` (see its README); `demo.rs` uses the sample shop the binary
//! carries, from `demo/`.
//!
//! The PostgreSQL story in `postgres.rs` runs only when
//! `FRONTDESK_TEST_POSTGRES_URL` names a database it may create schemas in.

mod answer_batch;
mod ask;
mod assess;
mod channels;
mod demo;
mod eval;
mod generate;
mod import;
mod model;
mod postgres;
mod products;
mod serve;
mod support;
mod team;
