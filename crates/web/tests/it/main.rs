//! Integration tests of the server on SQLite and PostgreSQL: the access matrix (every
//! route × viewer × target inside and outside their scope), sessions, CSRF, throttling,
//! tokens, disabled users, the OpenAPI document, a real TCP server, and the web app
//! driven in headless Chromium.

mod access;
mod browser;
mod fixture;
mod pages;
mod security;
