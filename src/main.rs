//! The provider binary: everything happens in the library.

// jemalloc instead of the C library's allocator on x86-64 Linux (HCP Terraform's and most CI
// runners' platform): a refresh of 400 resources spends about an eighth of its instructions in
// glibc's malloc/free (musl's, which the static release builds use, is slower still). Peak RSS
// stays around 15 MB. Not on ARM: jemalloc fixes the page size when it is built, and some ARM
// kernels use 64 KiB pages, where a 4 KiB build cannot start. Other platforms keep their
// system allocator (docs/development/benchmark-method.md, 'Provider CPU of a refresh').
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    vnetpeer::plugin::serve(vnetpeer::resources::VnetpeerProvider)
}
