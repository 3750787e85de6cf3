//! Integration tests of the server on SQLite and PostgreSQL: the access matrix (every
//! route × viewer × target inside and outside their scope), sessions, CSRF, throttling,
//! tokens, disabled users, the OpenAPI document, and a real TCP server.

mod access;
mod fixture;
mod security;
