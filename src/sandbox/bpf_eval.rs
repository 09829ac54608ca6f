//! A minimal classic-BPF interpreter for seccomp programs, so tests can evaluate the compiled
//! filters on syscall numbers this kernel does not even implement (`kexec_load`, `init_module`,
//! x32 numbers on a kernel without x32) — the filter's verdict is checked directly, not only via
//! the kernel. Supports exactly the instructions seccompiler and our x32 guard emit; anything else
//! yields `None` from [`try_eval`] so a test fails loudly.
#![expect(
    clippy::cast_possible_truncation,
    reason = "32-bit BPF loads read one half of a 64-bit seccomp_data field"
)]

use seccompiler::sock_filter;

/// `struct seccomp_data` (little-endian word view).
#[derive(Debug, Clone, Copy)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// A syscall of the build target's native architecture.
    pub fn native(nr: u32, args: [u64; 6]) -> Self {
        #[cfg(target_arch = "x86_64")]
        let arch = 0xc000_003e;
        #[cfg(target_arch = "aarch64")]
        let arch = 0xc000_00b7;
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let arch = 0;
        Self {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        }
    }

    fn word(&self, offset: u32) -> Option<u32> {
        match offset {
            0 => Some(self.nr),
            4 => Some(self.arch),
            8 => Some(self.instruction_pointer as u32),
            12 => Some((self.instruction_pointer >> 32) as u32),
            16..=60 if offset.is_multiple_of(4) => {
                let i = ((offset - 16) / 8) as usize;
                let a = *self.args.get(i)?;
                Some(if (offset - 16).is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                })
            }
            _ => None,
        }
    }
}

/// Run `prog` on `data`; `None` on an unsupported instruction or a malformed program.
pub fn try_eval(prog: &[sock_filter], data: &SeccompData) -> Option<u32> {
    let mut acc: u32 = 0;
    let mut pc: usize = 0;
    // Classic BPF only jumps forward, so this terminates; bound it anyway.
    for _ in 0..=prog.len() {
        let ins = prog.get(pc)?;
        let k = ins.k;
        match ins.code {
            0x20 => acc = data.word(k)?,              // LD | W | ABS
            0x54 => acc &= k,                         // ALU | AND | K
            0x06 => return Some(k),                   // RET | K
            0x05 => pc = pc.checked_add(k as usize)?, // JMP | JA
            0x15 | 0x25 | 0x35 | 0x45 => {
                let cond = match ins.code {
                    0x15 => acc == k,  // JEQ
                    0x25 => acc > k,   // JGT
                    0x35 => acc >= k,  // JGE
                    _ => acc & k != 0, // JSET
                };
                let off = if cond { ins.jt } else { ins.jf };
                pc = pc.checked_add(off as usize)?;
            }
            _ => return None,
        }
        pc = pc.checked_add(1)?;
    }
    None
}

/// Like [`try_eval`], panicking on unsupported programs (tests only).
#[expect(
    clippy::panic,
    reason = "a test helper: an unsupported program is a test bug"
)]
pub fn eval(prog: &[sock_filter], data: &SeccompData) -> u32 {
    match try_eval(prog, data) {
        Some(v) => v,
        None => panic!("unsupported or malformed BPF program"),
    }
}
