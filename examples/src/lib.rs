//! The example apps' shared parts: the provider declaration, the embedded local provider, a
//! file-backed token store, and page rendering. `src/bin/` holds the apps: `app` (axum, the
//! main example), `actix` (the same on actix-web) and `cli` (a command-line login).

pub mod actix_app;
pub mod cli;
pub mod page;
pub mod providers;
pub mod store;
pub mod web;
