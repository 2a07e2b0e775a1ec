//! End-to-end tests against a real Docker Engine and the local stand-in
//! images (`tests/images/build.sh`).

mod docker;
mod standin_images;
