//! Go discovery: modules from `go.work` or the `go.mod` files below the workspace root, and in a
//! single module the services (`package main` directories or `members`) with their package-level
//! closures, read from the import sections of the `.go` files alone.

pub mod closure;
pub mod gomod;
pub mod lexer;
pub mod packages;
