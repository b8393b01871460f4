//! Compile-fail and pass cases for `oauth_clients!`, run by `tests/ui.rs` with trybuild.
//! Each file under `tests/fail/<category>/` holds one mistake (except `several-mistakes.rs`)
//! next to the compiler output it must produce.
