//! The server over real HTTP on loopback: one binary, one module per area.

#[macro_use]
mod support;

mod admin;
mod answer;
mod browser;
mod canned;
mod channels;
mod connections;
mod email;
mod feedback;
mod generation;
mod handoff;
mod health;
mod inbox;
mod instances;
mod limits;
mod live;
mod mailbox;
mod products;
mod provider;
mod rating;
mod team;
mod widget;
