//! Page buffers aligned to the storage block size.
//!
//! Why not `Vec<u8>`: direct I/O (`O_DIRECT`) requires the memory of every read and write to be
//! aligned to the device's logical block size, and a page size chosen at run time rules out
//! `[u8; N]` arrays. [`AlignedBuf`] is a zeroed heap allocation of a run-time length aligned to
//! [`ALIGN`] (4 KiB covers every block device in use), usable as a plain `[u8]`.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every page buffer, in bytes.
pub const ALIGN: usize = 4096;

/// A zeroed, [`ALIGN`]-aligned byte buffer of fixed length: an allocation of its own, or a
/// piece of a larger region someone else owns (the buffer pool's frames, see
/// [`AlignedBuf::in_region`]).
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    /// Whether dropping the buffer frees its memory.
    owned: bool,
}

// SAFETY: the buffer owns its allocation exclusively (like a Box<[u8]>); shared references only
// read it and `&mut` access is unique, so sending or sharing it across threads is sound.
unsafe impl Send for AlignedBuf {}
// SAFETY: see above; `&AlignedBuf` only gives `&[u8]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes (`len` > 0).
    pub fn zeroed(len: usize) -> Self {
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size (asserted in `layout`).
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else { handle_alloc_error(layout) };
        AlignedBuf { ptr, len, owned: true }
    }

    /// A buffer over `len` bytes at `ptr`, which it does not free.
    ///
    /// # Safety
    ///
    /// `ptr` must be [`ALIGN`]-aligned and valid for reads and writes of `len` initialised
    /// bytes for as long as the buffer lives, and no other reference may use them meanwhile.
    pub unsafe fn in_region(ptr: NonNull<u8>, len: usize) -> Self {
        debug_assert!(len > 0 && (ptr.as_ptr() as usize).is_multiple_of(ALIGN));
        AlignedBuf { ptr, len, owned: false }
    }

    /// A buffer holding a copy of `bytes`.
    pub fn copy_of(bytes: &[u8]) -> Self {
        let mut buf = Self::zeroed(bytes.len());
        buf.copy_from_slice(bytes);
        buf
    }

    fn layout(len: usize) -> Layout {
        assert!(len > 0, "an aligned buffer cannot be empty");
        match Layout::from_size_align(len, ALIGN) {
            Ok(layout) => layout,
            Err(e) => panic!("aligned buffer of {len} bytes: {e}"),
        }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: an owned `ptr` came from `alloc_zeroed` with exactly this layout and is
            // freed once.
            unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.len)) }
        }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` initialised (zeroed) bytes for the buffer's life, and
        // the returned borrow is tied to `&self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_zeroed_and_writable() {
        for len in [4096, 8192, 16384, 32768] {
            let mut buf = AlignedBuf::zeroed(len);
            assert_eq!(buf.as_ptr() as usize % ALIGN, 0);
            assert_eq!(buf.len(), len);
            assert!(buf.iter().all(|&b| b == 0));
            buf[len - 1] = 7;
            let copy = AlignedBuf::copy_of(&buf);
            assert_eq!(copy[len - 1], 7);
            assert_eq!(copy.as_ptr() as usize % ALIGN, 0);
        }
    }
}
