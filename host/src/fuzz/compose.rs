//! Compose files (after the import work merges).
