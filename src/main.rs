//! The provider binary: everything happens in the library.

// jemalloc instead of the C library's allocator on Linux: a refresh of 400 resources spends
// about an eighth of its instructions in glibc's malloc/free (musl's, which the static release
// builds would use, is slower still). Peak RSS stays around 15 MB. Other platforms keep their
// system allocator (docs/development/benchmark-method.md, 'Provider CPU of a refresh').
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    vnetpeer::plugin::serve(vnetpeer::resources::VnetpeerProvider)
}
