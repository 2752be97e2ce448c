//! The wasm allocator: power-of-two size classes with one free list each,
//! carved from memory grown on demand. A freed block goes back to its class's
//! list and is reused by the next allocation of that class; blocks are never
//! split or merged.
//!
//! Why not a general-purpose allocator: talc (the smallest we tried) cost
//! ~1.7 KB of the gzipped module, this one ~0.2 KB. The engine's allocations
//! are small strings and vectors of a few recurring sizes (keys, identities,
//! entries, the store's index), for which classes waste at most half a block
//! and reuse is exact; the one large buffer (a call's input, see `abi.rs`) is
//! kept and reused, and large bodies are hashed in pieces of it, never held
//! whole. wasm memory never shrinks, whichever allocator runs.
//!
//! wasm32 without threads only: one thread, no locking.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

/// Blocks are 16-byte aligned; larger alignments are refused (none is asked for).
const ALIGN: usize = 16;
/// The smallest block: 16 bytes (class 4).
const MIN_CLASS: u32 = 4;
/// One class per power of two up to 2^31 (2 GiB, half of wasm32's memory).
const CLASSES: usize = 32;
const PAGE: usize = 65536;

struct Heap {
    /// Free list heads by class (a block's first word holds the next; 0 ends a list).
    free: [usize; CLASSES],
    /// Where fresh blocks are carved from, and the end of grown memory.
    top: usize,
    end: usize,
}

/// The global allocator (see the module docs).
pub struct Classes(UnsafeCell<Heap>);

// SAFETY: wasm32 without the atomics feature runs one thread.
unsafe impl Sync for Classes {}

impl Classes {
    /// An empty heap; memory is taken from `memory.grow` on first use.
    pub const fn new() -> Self {
        Classes(UnsafeCell::new(Heap { free: [0; CLASSES], top: 0, end: 0 }))
    }
}

impl Default for Classes {
    fn default() -> Self {
        Self::new()
    }
}

/// The class of a layout: the power of two its block has (`None` if too large).
fn class(l: Layout) -> Option<usize> {
    if l.align() > ALIGN {
        return None;
    }
    let bits = usize::BITS - l.size().max(1).saturating_sub(1).leading_zeros();
    let c = bits.max(MIN_CLASS) as usize;
    (c < CLASSES).then_some(c)
}

unsafe impl GlobalAlloc for Classes {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let Some(c) = class(l) else { return core::ptr::null_mut() };
        // SAFETY: one thread, and no allocation happens while this borrow lives.
        let h = unsafe { &mut *self.0.get() };
        let Some(head) = h.free.get_mut(c) else { return core::ptr::null_mut() };
        if *head != 0 {
            let block = *head;
            // SAFETY: a free block's first word holds the next free block of its class.
            *head = unsafe { *(block as *const usize) };
            return block as *mut u8;
        }
        let size = 1usize << c;
        let mem_end = core::arch::wasm32::memory_size(0) * PAGE;
        if h.end != mem_end {
            // First use, or memory grown by someone else: carve after all of it.
            h.top = mem_end;
            h.end = mem_end;
        }
        let block = (h.top + ALIGN - 1) & !(ALIGN - 1);
        let Some(need) = block.checked_add(size) else { return core::ptr::null_mut() };
        if need > h.end {
            let pages = (need - h.end).div_ceil(PAGE);
            let Some(before) = Some(core::arch::wasm32::memory_grow(0, pages)).filter(|p| *p != usize::MAX) else {
                return core::ptr::null_mut();
            };
            if before * PAGE != h.end {
                return core::ptr::null_mut(); // cannot happen: checked above, one thread
            }
            h.end += pages * PAGE;
        }
        h.top = need;
        block as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, l: Layout) {
        let Some(c) = class(l) else { return };
        // SAFETY: as in `alloc`.
        let h = unsafe { &mut *self.0.get() };
        if let Some(head) = h.free.get_mut(c) {
            // SAFETY: the block is ours again, at least 16 bytes and 16-aligned.
            unsafe { *(ptr as *mut usize) = *head };
            *head = ptr as usize;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `l.align()` is valid, as it was for the old block.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, l.align()) };
        if class(l) == class(new) {
            return ptr; // the block already has room
        }
        // SAFETY: GlobalAlloc's contract; the copy is within both blocks.
        unsafe {
            let out = self.alloc(new);
            if !out.is_null() {
                core::ptr::copy_nonoverlapping(ptr, out, l.size().min(new_size));
                self.dealloc(ptr, l);
            }
            out
        }
    }
}
