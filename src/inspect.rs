//! Binary inspection: format, architecture, OS and linking of an executable,
//! read from its headers with the `object` crate. Nothing is run and no
//! external tool is called.
//!
//! [`inspect`] reads the file lazily through [`ReadCache`]: only the headers,
//! program headers / load commands, the dynamic section and the strings they
//! point at are read, so large binaries are not loaded into memory.
//!
//! - ELF: dynamic when it has a `PT_INTERP` or any `DT_NEEDED` (a static-pie
//!   has neither and counts as static). The OS comes from `EI_OSABI`, else
//!   from an ABI note (`GNU` ABI tag, `FreeBSD`, `NetBSD`, `OpenBSD`,
//!   `Android`), else it is taken to be `linux`.
//! - Mach-O: dynamic when it loads a dylinker or dylibs (listed as needed).
//!   A universal (fat) file is described by its first slice; [`Binary::slices`]
//!   lists the architectures of all slices.
//! - PE: dynamic when it imports DLLs (listed as needed).

use std::fs::File;
use std::path::{Path, PathBuf};

use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _};
use object::read::macho::{FatArch, LoadCommandVariant, MachHeader, MachOFatFile};
use object::read::pe::{ImageNtHeaders, PeFile};
use object::{
    Architecture, Endian as _, Endianness, FileKind, LittleEndian as LE, ReadCache, ReadRef,
    StringTable, elf, macho, pe,
};

use crate::manifest::model::{BinaryFormat, Inspect};

/// What an executable's headers say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    pub format: BinaryFormat,
    /// Go-style architecture name (`amd64`, `arm64`, `386`, …); one the
    /// manifest has no name for is `object`'s name, lowercased.
    pub arch: String,
    /// `linux`, `darwin`, `windows`, `freebsd`, … when the file tells.
    pub os: Option<String>,
    /// 32 or 64.
    pub bits: u8,
    pub linking: Linking,
    /// Architectures of every slice of a universal Mach-O, in file order;
    /// empty for any other file. The other fields describe the first slice.
    pub slices: Vec<String>,
}

/// How an executable finds its libraries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linking {
    Static,
    Dynamic {
        /// ELF `PT_INTERP` or Mach-O dylinker.
        interpreter: Option<String>,
        /// `DT_NEEDED` entries, dylibs or imported DLLs, in file order.
        needed: Vec<String>,
    },
}

/// Why a file could not be inspected.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InspectError {
    /// The file could not be opened or read.
    #[error("cannot read `{}`: {error}", path.display())]
    #[diagnostic(code("vendor::inspect::io"))]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The file is not ELF, Mach-O or PE; says what it looks like instead.
    #[error("not an executable: {0}")]
    #[diagnostic(code("vendor::inspect::not-executable"))]
    NotExecutable(String),

    /// The file has an executable's magic but its headers cannot be read.
    #[error("truncated or malformed {format}: {reason}")]
    #[diagnostic(code("vendor::inspect::malformed"))]
    Malformed {
        format: &'static str,
        reason: String,
    },
}

impl Binary {
    /// One line in the manner of `file`, e.g. `ELF 64-bit x86-64
    /// (linux/amd64), statically linked`.
    pub fn describe(&self) -> String {
        let format = format_name(self.format);
        let machine = match self.arch.as_str() {
            "amd64" => "x86-64",
            "arm64" => "aarch64",
            "386" => "i386",
            arch => arch,
        };
        let target = match &self.os {
            Some(os) => format!("{os}/{}", self.arch),
            None => self.arch.clone(),
        };
        let mut line = if self.slices.is_empty() {
            format!("{format} {}-bit {machine} ({target})", self.bits)
        } else {
            let slices = self.slices.join(", ");
            format!(
                "{format} universal ({slices}), first {}-bit {machine} ({target})",
                self.bits
            )
        };
        match &self.linking {
            Linking::Static => line.push_str(", statically linked"),
            Linking::Dynamic {
                interpreter,
                needed,
            } => {
                line.push_str(", dynamically linked");
                for detail in dynamic_details(interpreter, needed) {
                    line.push_str(", ");
                    line.push_str(&detail);
                }
            }
        }
        line
    }
}

/// Inspects the executable at `path`, reading only the parts it needs. A
/// read failure after opening shows as [`InspectError::Malformed`].
pub fn inspect(path: &Path) -> Result<Binary, InspectError> {
    let io = |error| InspectError::Io {
        path: path.to_owned(),
        error,
    };
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(not_executable("not a regular file"));
    }
    let file = File::open(path).map_err(io)?;
    inspect_data(&ReadCache::new(file))
}

/// Inspects an executable held in memory.
pub fn inspect_bytes(data: &[u8]) -> Result<Binary, InspectError> {
    inspect_data(data)
}

/// Problems of `binary` against what the manifest asks (`want`) and the
/// platform the file was installed for (`platform`, `os/arch`; `None` for a
/// platform-independent item, whose OS and architecture are not checked).
/// Empty = passes.
pub fn problems(binary: &Binary, want: &Inspect, platform: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(format) = want.format
        && format != binary.format
    {
        problems.push(format!(
            "{}, expected {}",
            format_name(binary.format),
            format_name(format)
        ));
    }
    if let Some(platform) = platform {
        let (os, arch) = platform.split_once('/').unwrap_or((platform, ""));
        let arch_ok = binary.arch == arch || binary.slices.iter().any(|slice| slice == arch);
        let built_arch = if binary.slices.is_empty() {
            binary.arch.clone()
        } else {
            format!("{} (universal)", binary.slices.join(", "))
        };
        let built_os = binary.os.as_deref().unwrap_or(format_name(binary.format));
        let built = match (os_matches(binary, os), arch_ok) {
            (true, true) => None,
            (true, false) => Some(built_arch),
            (false, true) => Some(built_os.to_owned()),
            (false, false) => Some(format!("{built_os}/{built_arch}")),
        };
        if let Some(built) = built {
            problems.push(format!("built for {built} but installed for {platform}"));
        }
    }
    if want.r#static
        && let Linking::Dynamic {
            interpreter,
            needed,
        } = &binary.linking
    {
        let details = dynamic_details(interpreter, needed).join("; ");
        let details = if details.is_empty() {
            details
        } else {
            format!(" ({details})")
        };
        problems.push(format!(
            "dynamically linked{details}, but `static: true` is set"
        ));
    }
    problems
}

/// The platform this process runs on, as `os/arch` in the manifest's naming
/// (`linux/amd64`).
pub fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => Architecture::X86_64,
        "x86" => Architecture::I386,
        "aarch64" => Architecture::Aarch64,
        "arm" => Architecture::Arm,
        "riscv64" => Architecture::Riscv64,
        "loongarch64" => Architecture::LoongArch64,
        "s390x" => Architecture::S390x,
        "powerpc64" => Architecture::PowerPc64,
        "powerpc" => Architecture::PowerPc,
        "mips64" | "mips64r6" => Architecture::Mips64,
        "mips" | "mips32r6" => Architecture::Mips,
        "sparc64" => Architecture::Sparc64,
        other => return format!("{os}/{other}"),
    };
    format!("{os}/{}", go_arch(arch, cfg!(target_endian = "little")))
}

/// Name of the qemu user-mode emulator for a Go-style architecture
/// (`arm64` → `qemu-aarch64`), `None` when there is none.
pub fn qemu_for(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "qemu-x86_64",
        "386" => "qemu-i386",
        "arm64" => "qemu-aarch64",
        "arm" => "qemu-arm",
        "riscv64" => "qemu-riscv64",
        "ppc64le" => "qemu-ppc64le",
        "ppc64" => "qemu-ppc64",
        "ppc" => "qemu-ppc",
        "s390x" => "qemu-s390x",
        "mips" => "qemu-mips",
        "mipsle" => "qemu-mipsel",
        "mips64" => "qemu-mips64",
        "mips64le" => "qemu-mips64el",
        "loong64" => "qemu-loongarch64",
        "sparc64" => "qemu-sparc64",
        _ => return None,
    })
}

fn inspect_data<'data, R: ReadRef<'data>>(data: R) -> Result<Binary, InspectError> {
    let len = data.len().unwrap_or(0);
    let head = data.read_bytes_at(0, len.min(512)).unwrap_or(&[]);
    match FileKind::parse(data) {
        Ok(FileKind::Elf32) => return elf_binary::<elf::FileHeader32<Endianness>, R>(data, 32),
        Ok(FileKind::Elf64) => return elf_binary::<elf::FileHeader64<Endianness>, R>(data, 64),
        Ok(FileKind::MachO32) => {
            return macho_binary::<macho::MachHeader32<Endianness>, R>(data, 0);
        }
        Ok(FileKind::MachO64) => {
            return macho_binary::<macho::MachHeader64<Endianness>, R>(data, 0);
        }
        Ok(FileKind::MachOFat32) if !is_java_class(head) => {
            return fat_binary::<macho::FatArch32, R>(data);
        }
        Ok(FileKind::MachOFat64) => return fat_binary::<macho::FatArch64, R>(data),
        Ok(FileKind::Pe32) => return pe_binary::<pe::ImageNtHeaders32, R>(data),
        Ok(FileKind::Pe64) => return pe_binary::<pe::ImageNtHeaders64, R>(data),
        Ok(FileKind::Coff | FileKind::CoffBig | FileKind::CoffImport) => {
            return Err(not_executable("COFF object file"));
        }
        Ok(FileKind::DyldCache) => return Err(not_executable("dyld shared cache")),
        Err(error) => {
            if let Some(format) = magic_format(head) {
                return Err(malformed(format)(error));
            }
        }
        Ok(_) => {}
    }
    Err(not_executable(looks_like(head)))
}

fn elf_binary<'data, Elf, R>(data: R, bits: u8) -> Result<Binary, InspectError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let bad = malformed("ELF");
    let header = Elf::parse(data).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    match header.e_type(endian) {
        elf::ET_REL => return Err(not_executable("ELF relocatable object")),
        elf::ET_CORE => return Err(not_executable("ELF core dump")),
        _ => {}
    }
    let segments = header.program_headers(endian, data).map_err(bad)?;
    let mut interpreter = None;
    let mut needed = Vec::new();
    for segment in segments {
        if let Some(path) = segment.interpreter(endian, data).map_err(bad)? {
            interpreter = Some(lossy(path));
        }
        if let Some(dynamic) = segment.dynamic(endian, data).map_err(bad)? {
            needed = elf_needed::<Elf, R>(endian, data, segments, dynamic)?;
        }
    }
    let little = header.is_little_endian();
    let arch = match (header.e_machine(endian), bits == 64) {
        (elf::EM_X86_64, true) => Architecture::X86_64,
        (elf::EM_X86_64, false) => Architecture::X86_64_X32,
        (elf::EM_386, _) => Architecture::I386,
        (elf::EM_AARCH64, true) => Architecture::Aarch64,
        (elf::EM_AARCH64, false) => Architecture::Aarch64_Ilp32,
        (elf::EM_ARM, _) => Architecture::Arm,
        (elf::EM_RISCV, true) => Architecture::Riscv64,
        (elf::EM_RISCV, false) => Architecture::Riscv32,
        (elf::EM_PPC64, _) => Architecture::PowerPc64,
        (elf::EM_PPC, _) => Architecture::PowerPc,
        (elf::EM_S390, true) => Architecture::S390x,
        (elf::EM_MIPS, true) => Architecture::Mips64,
        (elf::EM_MIPS, false) if header.e_flags(endian).contains(elf::EF_MIPS_ABI2) => {
            Architecture::Mips64_N32
        }
        (elf::EM_MIPS, false) => Architecture::Mips,
        (elf::EM_LOONGARCH, true) => Architecture::LoongArch64,
        (elf::EM_LOONGARCH, false) => Architecture::LoongArch32,
        (elf::EM_SPARCV9, true) => Architecture::Sparc64,
        (elf::EM_SPARC, false) => Architecture::Sparc,
        (elf::EM_68K, false) => Architecture::M68k,
        (elf::EM_IA_64, _) => Architecture::Ia64,
        (elf::EM_ALPHA, true) => Architecture::Alpha,
        (elf::EM_PARISC, _) => Architecture::Hppa,
        (elf::EM_SH, false) => Architecture::SuperH,
        (elf::EM_CSKY, _) => Architecture::Csky,
        (elf::EM_HEXAGON, _) => Architecture::Hexagon,
        _ => Architecture::Unknown,
    };
    Ok(Binary {
        format: BinaryFormat::Elf,
        arch: go_arch(arch, little),
        os: elf_os::<Elf, R>(header, endian, data, segments).map(str::to_owned),
        bits,
        linking: linking(interpreter, needed),
        slices: Vec::new(),
    })
}

/// `DT_NEEDED` names, found through `DT_STRTAB` mapped by the `PT_LOAD`
/// segments (section headers may be missing).
fn elf_needed<'data, Elf, R>(
    endian: Endianness,
    data: R,
    segments: &[Elf::ProgramHeader],
    dynamic: &[Elf::Dyn],
) -> Result<Vec<String>, InspectError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let (mut offsets, mut strtab, mut strsz) = (Vec::new(), None, 0);
    for entry in dynamic {
        let value: u64 = entry.d_val(endian).into();
        match entry.d_tag(endian) {
            elf::DT_NULL => break,
            elf::DT_NEEDED => offsets.push(value),
            elf::DT_STRTAB => strtab = Some(value),
            elf::DT_STRSZ => strsz = value,
            _ => {}
        }
    }
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || InspectError::Malformed {
        format: "ELF",
        reason: "DT_NEEDED names lie outside the file".to_owned(),
    };
    let address = strtab.ok_or_else(bad)?;
    let start = segments
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_LOAD)
        .find_map(|segment| {
            let delta = address.checked_sub(segment.p_vaddr(endian).into())?;
            (delta < segment.p_filesz(endian).into())
                .then(|| Into::<u64>::into(segment.p_offset(endian)).checked_add(delta))?
        })
        .ok_or_else(bad)?;
    let strings = StringTable::new(data, start, start.saturating_add(strsz));
    offsets
        .into_iter()
        .map(|offset| {
            let offset = u32::try_from(offset).map_err(|_| bad())?;
            strings.get(offset).map(lossy).map_err(|()| bad())
        })
        .collect()
}

/// The OS an ELF file is for: `EI_OSABI`, else an ABI note, else `linux`.
/// `None` for an OS ABI this does not know (e.g. standalone).
fn elf_os<'data, Elf, R>(
    header: &Elf,
    endian: Endianness,
    data: R,
    segments: &[Elf::ProgramHeader],
) -> Option<&'static str>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    match header.e_ident().os_abi {
        elf::ELFOSABI_SYSV | elf::ELFOSABI_ARM_AEABI | elf::ELFOSABI_ARM => {}
        elf::ELFOSABI_GNU => return Some("linux"),
        elf::ELFOSABI_FREEBSD => return Some("freebsd"),
        elf::ELFOSABI_NETBSD => return Some("netbsd"),
        elf::ELFOSABI_OPENBSD => return Some("openbsd"),
        elf::ELFOSABI_SOLARIS => return Some("solaris"),
        elf::ELFOSABI_AIX => return Some("aix"),
        elf::ELFOSABI_HURD => return Some("hurd"),
        _ => return None,
    }
    for segment in segments {
        let Ok(Some(mut notes)) = segment.notes(endian, data) else {
            continue;
        };
        while let Ok(Some(note)) = notes.next() {
            let os = match note.name() {
                b"GNU" if note.n_type(endian) == elf::NT_GNU_ABI_TAG => {
                    let Some(&[a, b, c, d]) = note.desc().get(..4) else {
                        continue;
                    };
                    match endian.read_u32([a, b, c, d]) {
                        elf::ELF_NOTE_OS_LINUX => "linux",
                        elf::ELF_NOTE_OS_GNU => "hurd",
                        elf::ELF_NOTE_OS_SOLARIS2 => "solaris",
                        elf::ELF_NOTE_OS_FREEBSD => "freebsd",
                        _ => continue,
                    }
                }
                b"FreeBSD" => "freebsd",
                b"NetBSD" => "netbsd",
                b"OpenBSD" => "openbsd",
                b"Android" => "android",
                _ => continue,
            };
            return Some(os);
        }
    }
    Some("linux")
}

fn macho_binary<'data, Mach, R>(data: R, offset: u64) -> Result<Binary, InspectError>
where
    Mach: MachHeader<Endian = Endianness>,
    R: ReadRef<'data>,
{
    let bad = malformed("Mach-O");
    let header = Mach::parse(data, offset).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    if header.filetype(endian) == macho::MH_OBJECT {
        return Err(not_executable("Mach-O object file"));
    }
    let mut commands = header.load_commands(endian, data, offset).map_err(bad)?;
    let (mut interpreter, mut needed) = (None, Vec::new());
    while let Some(command) = commands.next().map_err(bad)? {
        match command.variant().map_err(bad)? {
            LoadCommandVariant::LoadDylinker(dylinker) => {
                interpreter = Some(lossy(command.string(endian, dylinker.name).map_err(bad)?));
            }
            LoadCommandVariant::Dylib(dylib) => {
                needed.push(lossy(
                    command.string(endian, dylib.dylib.name).map_err(bad)?,
                ));
            }
            _ => {}
        }
    }
    Ok(Binary {
        format: BinaryFormat::MachO,
        arch: macho_arch(header.cputype(endian)),
        os: Some("darwin".to_owned()),
        bits: if header.is_type_64() { 64 } else { 32 },
        linking: linking(interpreter, needed),
        slices: Vec::new(),
    })
}

fn fat_binary<'data, Fat: FatArch, R: ReadRef<'data>>(data: R) -> Result<Binary, InspectError> {
    let bad = malformed("Mach-O");
    let fat = MachOFatFile::<Fat>::parse(data).map_err(bad)?;
    let first = fat
        .arches()
        .first()
        .ok_or_else(|| InspectError::Malformed {
            format: "Mach-O",
            reason: "universal binary without slices".to_owned(),
        })?;
    let offset = first.file_range().0;
    let mut binary = match FileKind::parse_at(data, offset).map_err(bad)? {
        FileKind::MachO32 => macho_binary::<macho::MachHeader32<Endianness>, R>(data, offset)?,
        FileKind::MachO64 => macho_binary::<macho::MachHeader64<Endianness>, R>(data, offset)?,
        _ => {
            return Err(InspectError::Malformed {
                format: "Mach-O",
                reason: "the first slice of the universal binary is not Mach-O".to_owned(),
            });
        }
    };
    binary.slices = fat
        .arches()
        .iter()
        .map(|slice| macho_arch(slice.cputype()))
        .collect();
    Ok(binary)
}

fn macho_arch(cputype: macho::CpuType) -> String {
    let arch = match cputype {
        macho::CPU_TYPE_X86_64 => Architecture::X86_64,
        macho::CPU_TYPE_X86 => Architecture::I386,
        macho::CPU_TYPE_ARM64 => Architecture::Aarch64,
        macho::CPU_TYPE_ARM64_32 => Architecture::Aarch64_Ilp32,
        macho::CPU_TYPE_ARM => Architecture::Arm,
        macho::CPU_TYPE_POWERPC64 => Architecture::PowerPc64,
        macho::CPU_TYPE_POWERPC => Architecture::PowerPc,
        _ => Architecture::Unknown,
    };
    // Only PowerPC Mach-O files are big-endian.
    go_arch(arch, true)
}

fn pe_binary<'data, Pe: ImageNtHeaders, R: ReadRef<'data>>(
    data: R,
) -> Result<Binary, InspectError> {
    let bad = malformed("PE");
    let file = PeFile::<Pe, R>::parse(data).map_err(bad)?;
    let mut needed = Vec::new();
    if let Some(imports) = file.import_table().map_err(bad)? {
        let mut descriptors = imports.descriptors().map_err(bad)?;
        while let Some(descriptor) = descriptors.next().map_err(bad)? {
            needed.push(lossy(imports.name(descriptor.name.get(LE)).map_err(bad)?));
        }
    }
    let arch = match file.nt_headers().file_header().machine.get(LE) {
        pe::IMAGE_FILE_MACHINE_AMD64 => Architecture::X86_64,
        pe::IMAGE_FILE_MACHINE_I386 => Architecture::I386,
        pe::IMAGE_FILE_MACHINE_ARM64 | pe::IMAGE_FILE_MACHINE_ARM64EC => Architecture::Aarch64,
        pe::IMAGE_FILE_MACHINE_ARMNT
        | pe::IMAGE_FILE_MACHINE_ARM
        | pe::IMAGE_FILE_MACHINE_THUMB => Architecture::Arm,
        pe::IMAGE_FILE_MACHINE_RISCV64 => Architecture::Riscv64,
        pe::IMAGE_FILE_MACHINE_RISCV32 => Architecture::Riscv32,
        _ => Architecture::Unknown,
    };
    Ok(Binary {
        format: BinaryFormat::Pe,
        arch: go_arch(arch, true),
        os: Some("windows".to_owned()),
        bits: if file.nt_headers().is_type_64() {
            64
        } else {
            32
        },
        linking: linking(None, needed),
        slices: Vec::new(),
    })
}

/// Go's name for an architecture; `object`'s name, lowercased, for others.
fn go_arch(arch: Architecture, little_endian: bool) -> String {
    let (little, big) = match arch {
        Architecture::X86_64 => ("amd64", "amd64"),
        Architecture::I386 => ("386", "386"),
        Architecture::Aarch64 => ("arm64", "arm64be"),
        Architecture::Arm => ("arm", "armbe"),
        Architecture::Riscv64 => ("riscv64", "riscv64"),
        Architecture::LoongArch64 => ("loong64", "loong64"),
        Architecture::S390x => ("s390x", "s390x"),
        Architecture::PowerPc64 => ("ppc64le", "ppc64"),
        Architecture::PowerPc => ("ppcle", "ppc"),
        Architecture::Mips64 => ("mips64le", "mips64"),
        Architecture::Mips64_N32 => ("mips64p32le", "mips64p32"),
        Architecture::Mips => ("mipsle", "mips"),
        Architecture::Sparc64 => ("sparc64", "sparc64"),
        other => return format!("{other:?}").to_lowercase(),
    };
    (if little_endian { little } else { big }).to_owned()
}

/// Whether a binary can belong to a platform whose OS is `os`. An ELF file
/// marked (or taken to be) `linux` is accepted for any ELF platform.
fn os_matches(binary: &Binary, os: &str) -> bool {
    let family = match os {
        "windows" => BinaryFormat::Pe,
        "darwin" | "ios" => BinaryFormat::MachO,
        _ => BinaryFormat::Elf,
    };
    match binary.os.as_deref() {
        _ if binary.format != family => false,
        Some(built) if family == BinaryFormat::Elf => {
            built == os || built == "linux" || (built == "solaris" && os == "illumos")
        }
        _ => true,
    }
}

fn linking(interpreter: Option<String>, needed: Vec<String>) -> Linking {
    if interpreter.is_none() && needed.is_empty() {
        Linking::Static
    } else {
        Linking::Dynamic {
            interpreter,
            needed,
        }
    }
}

fn dynamic_details(interpreter: &Option<String>, needed: &[String]) -> Vec<String> {
    let mut details = Vec::new();
    if let Some(interpreter) = interpreter {
        details.push(format!("interpreter {interpreter}"));
    }
    if !needed.is_empty() {
        details.push(format!("needs {}", needed.join(", ")));
    }
    details
}

fn format_name(format: BinaryFormat) -> &'static str {
    match format {
        BinaryFormat::Elf => "ELF",
        BinaryFormat::MachO => "Mach-O",
        BinaryFormat::Pe => "PE",
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn not_executable(what: impl Into<String>) -> InspectError {
    InspectError::NotExecutable(what.into())
}

fn malformed(format: &'static str) -> impl Fn(object::Error) -> InspectError + Copy {
    move |error| InspectError::Malformed {
        format,
        reason: error.to_string(),
    }
}

/// The executable format whose magic `head` starts with.
fn magic_format(head: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"\x7fELF", "ELF"),
        (b"\xfe\xed\xfa\xce", "Mach-O"),
        (b"\xce\xfa\xed\xfe", "Mach-O"),
        (b"\xfe\xed\xfa\xcf", "Mach-O"),
        (b"\xcf\xfa\xed\xfe", "Mach-O"),
        (b"\xca\xfe\xba\xbe", "Mach-O"),
        (b"\xca\xfe\xba\xbf", "Mach-O"),
        (b"MZ", "PE"),
    ];
    let (_, format) = MAGICS.iter().find(|(magic, _)| head.starts_with(magic))?;
    (!is_java_class(head)).then_some(*format)
}

/// Java class files share the universal Mach-O magic; their version field
/// is far larger than any slice count.
fn is_java_class(head: &[u8]) -> bool {
    match head {
        [0xca, 0xfe, 0xba, 0xbe, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]) >= 30,
        _ => false,
    }
}

/// What a file that is not an executable looks like, from its first bytes.
fn looks_like(head: &[u8]) -> String {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"PK\x03\x04", "zip archive"),
        (b"\xfd7zXZ\0", "xz-compressed data"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
        (b"BZh", "bzip2-compressed data"),
        (b"!<arch>\n", "ar archive"),
        (b"\0asm", "WebAssembly module"),
        (b"\xca\xfe\xba\xbe", "Java class file"),
    ];
    if head.is_empty() {
        return "empty file".to_owned();
    }
    if let Some(rest) = head.strip_prefix(b"#!") {
        return script(rest);
    }
    if let Some((_, what)) = MAGICS.iter().find(|(magic, _)| head.starts_with(magic)) {
        return (*what).to_owned();
    }
    if head.get(257..262) == Some(b"ustar") {
        return "tar archive".to_owned();
    }
    if let Some(text) = as_text(head) {
        let start = text.trim_start().to_ascii_lowercase();
        let html = start.starts_with("<!doctype html") || start.starts_with("<html");
        return (if html { "HTML document" } else { "text" }).to_owned();
    }
    let bytes: Vec<String> = head.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("unknown format (first bytes {})", bytes.join(" "))
}

/// `shell script (#!/bin/sh)`, or `script (#!…)` for other interpreters.
fn script(rest: &[u8]) -> String {
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let line: String = lossy(line).trim().chars().take(80).collect();
    let mut words = line.split_whitespace();
    let mut program = words.next().unwrap_or_default();
    if program.rsplit('/').next() == Some("env") {
        program = words
            .find(|word| !word.starts_with('-'))
            .unwrap_or_default();
    }
    let name = program.rsplit('/').next().unwrap_or_default();
    let kind = if name.ends_with("sh") {
        "shell script"
    } else {
        "script"
    };
    format!("{kind} (#!{line})")
}

/// `head` as text: valid UTF-8 (a character cut off at the end is allowed)
/// without control characters other than whitespace.
fn as_text(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let printable = |c: char| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0c');
    text.chars().all(printable).then_some(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ARM64_DYNAMIC: &[u8] = include_bytes!("../tests/fixtures/bin/hello-linux-arm64-dynamic");
    const AMD64_STATIC: &[u8] = include_bytes!("../tests/fixtures/bin/hello-linux-amd64-static");

    fn push32(out: &mut Vec<u8>, values: &[u32]) {
        for value in values {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// A little-endian 64-bit Mach-O executable that loads dyld and libSystem.
    fn macho(cputype: u32) -> Vec<u8> {
        let dyld = b"/usr/lib/dyld\0\0\0\0\0\0\0";
        let dylib = b"/usr/lib/libSystem.B.dylib\0\0\0\0\0";
        let sizes = [12 + dyld.len() as u32, 24 + dylib.len() as u32];
        let mut out = Vec::new();
        push32(
            &mut out,
            &[0xfeed_facf, cputype, 0, 2, 2, sizes[0] + sizes[1], 0, 0],
        );
        push32(&mut out, &[0xe, sizes[0], 12]);
        out.extend_from_slice(dyld);
        push32(&mut out, &[0xc, sizes[1], 24, 0, 0x1_0000, 0x1_0000]);
        out.extend_from_slice(dylib);
        out
    }

    /// A PE32+ x86-64 image with one section that imports KERNEL32.dll.
    fn pe64() -> Vec<u8> {
        let mut out = vec![0u8; 0x400];
        out[..2].copy_from_slice(b"MZ");
        out[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        out[0x40..0x44].copy_from_slice(b"PE\0\0");
        let file_header = [
            0x64, 0x86, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 240, 0, 0x22, 0,
        ];
        out[0x44..0x58].copy_from_slice(&file_header);
        let optional = 0x58;
        out[optional..optional + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        out[optional + 108..optional + 112].copy_from_slice(&16u32.to_le_bytes());
        out[optional + 120..optional + 124].copy_from_slice(&0x1000u32.to_le_bytes());
        out[optional + 124..optional + 128].copy_from_slice(&40u32.to_le_bytes());
        let section = optional + 240;
        out[section..section + 8].copy_from_slice(b".idata\0\0");
        let mut header = Vec::new();
        push32(&mut header, &[0x200, 0x1000, 0x200, 0x200]);
        out[section + 8..section + 24].copy_from_slice(&header);
        let mut descriptor = Vec::new();
        push32(&mut descriptor, &[0, 0, 0, 0x1040, 0x1080]);
        out[0x200..0x214].copy_from_slice(&descriptor);
        out[0x240..0x24d].copy_from_slice(b"KERNEL32.dll\0");
        out
    }

    #[test]
    fn elf_fixtures() {
        let binary = inspect_bytes(AMD64_STATIC).unwrap();
        assert_eq!(
            (
                binary.format,
                binary.arch.as_str(),
                binary.os.as_deref(),
                binary.bits
            ),
            (BinaryFormat::Elf, "amd64", Some("linux"), 64)
        );
        assert_eq!(binary.linking, Linking::Static);
        assert_eq!(
            binary.describe(),
            "ELF 64-bit x86-64 (linux/amd64), statically linked"
        );

        let binary = inspect_bytes(ARM64_DYNAMIC).unwrap();
        assert_eq!(binary.arch, "arm64");
        assert_eq!(
            binary.linking,
            Linking::Dynamic {
                interpreter: Some("/lib/ld-linux-aarch64.so.1".to_owned()),
                needed: vec!["libc.so.6".to_owned()],
            }
        );
        assert_eq!(
            binary.describe(),
            "ELF 64-bit aarch64 (linux/arm64), dynamically linked, \
             interpreter /lib/ld-linux-aarch64.so.1, needs libc.so.6"
        );
    }

    #[test]
    fn macho_thin_and_universal() {
        let binary = inspect_bytes(&macho(0x0100_000c)).unwrap();
        assert_eq!(binary.format, BinaryFormat::MachO);
        assert_eq!(binary.arch, "arm64");
        assert_eq!(binary.os.as_deref(), Some("darwin"));
        assert_eq!(
            binary.linking,
            Linking::Dynamic {
                interpreter: Some("/usr/lib/dyld".to_owned()),
                needed: vec!["/usr/lib/libSystem.B.dylib".to_owned()],
            }
        );

        let (amd64, arm64) = (macho(0x0100_0007), macho(0x0100_000c));
        let mut fat = Vec::new();
        for value in [0xcafe_babe_u32, 2] {
            fat.extend_from_slice(&value.to_be_bytes());
        }
        let second = 64 + amd64.len() as u32;
        for (cputype, offset, size) in [
            (0x0100_0007, 64, amd64.len() as u32),
            (0x0100_000c, second, arm64.len() as u32),
        ] {
            for value in [cputype, 0, offset, size, 3] {
                fat.extend_from_slice(&value.to_be_bytes());
            }
        }
        fat.resize(64, 0);
        fat.extend_from_slice(&amd64);
        fat.extend_from_slice(&arm64);
        let binary = inspect_bytes(&fat).unwrap();
        assert_eq!(binary.arch, "amd64");
        assert_eq!(binary.slices, ["amd64", "arm64"]);
        assert!(binary.describe().starts_with(
            "Mach-O universal (amd64, arm64), first 64-bit x86-64 (darwin/amd64), dynamically linked"
        ));
        let want = Inspect {
            format: Some(BinaryFormat::MachO),
            r#static: false,
        };
        assert!(problems(&binary, &want, Some("darwin/arm64")).is_empty());
        assert_eq!(
            problems(&binary, &want, Some("darwin/riscv64")),
            ["built for amd64, arm64 (universal) but installed for darwin/riscv64"]
        );
    }

    #[test]
    fn pe_imports() {
        let binary = inspect_bytes(&pe64()).unwrap();
        assert_eq!(
            (
                binary.format,
                binary.arch.as_str(),
                binary.os.as_deref(),
                binary.bits
            ),
            (BinaryFormat::Pe, "amd64", Some("windows"), 64)
        );
        assert_eq!(
            binary.linking,
            Linking::Dynamic {
                interpreter: None,
                needed: vec!["KERNEL32.dll".to_owned()],
            }
        );
        let want = Inspect {
            format: None,
            r#static: true,
        };
        assert_eq!(
            problems(&binary, &want, Some("linux/amd64")),
            [
                "built for windows but installed for linux/amd64",
                "dynamically linked (needs KERNEL32.dll), but `static: true` is set",
            ]
        );
    }

    #[test]
    fn not_executables() {
        let cases: [(&[u8], &str); 10] = [
            (b"", "empty file"),
            (b"#!/bin/sh\necho hi\n", "shell script (#!/bin/sh)"),
            (
                b"#!/usr/bin/env -S bash -e\n",
                "shell script (#!/usr/bin/env -S bash -e)",
            ),
            (b"#!/usr/bin/python3\n", "script (#!/usr/bin/python3)"),
            (b"\x1f\x8b\x08\0\0\0", "gzip-compressed data"),
            (b"<!DOCTYPE html>\n<html>", "HTML document"),
            (b"version: 1\nitems: {}\n", "text"),
            (b"\xca\xfe\xba\xbe\0\0\0\x34rest", "Java class file"),
            (
                &[0x64, 0x86, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                "COFF object file",
            ),
            (
                b"\x00\x01\x02\xff",
                "unknown format (first bytes 00 01 02 ff)",
            ),
        ];
        for (data, what) in cases {
            let error = inspect_bytes(data).unwrap_err();
            assert_eq!(error.to_string(), format!("not an executable: {what}"));
        }
        let mut object = AMD64_STATIC.to_vec();
        object[16] = 1; // ET_REL
        let error = inspect_bytes(&object).unwrap_err().to_string();
        assert_eq!(error, "not an executable: ELF relocatable object");
    }

    #[test]
    fn truncated_and_corrupted_inputs_never_panic() {
        for data in [ARM64_DYNAMIC, AMD64_STATIC] {
            for len in 0..data.len() {
                let result = inspect_bytes(&data[..len]);
                if len < 64 + 56 {
                    assert!(result.is_err(), "{len} bytes");
                }
            }
        }
        for len in 0..pe64().len() {
            let _ = inspect_bytes(&pe64()[..len]);
        }
        for len in 0..macho(0x0100_000c).len() {
            let _ = inspect_bytes(&macho(0x0100_000c)[..len]);
        }
        // Every single byte of the headers set to a few values.
        for data in [ARM64_DYNAMIC.to_vec(), pe64(), macho(0x0100_000c)] {
            for at in 0..data.len().min(1024) {
                for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                    let mut copy = data.clone();
                    copy[at] = value;
                    let _ = inspect_bytes(&copy);
                }
            }
        }
        let error = inspect_bytes(&AMD64_STATIC[..100]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("truncated or malformed ELF: "),
            "{error}"
        );
        let error = inspect_bytes(b"\x7fELF").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("truncated or malformed ELF: "),
            "{error}"
        );
    }

    fn binary(arch: &str, linking: Linking) -> Binary {
        Binary {
            format: BinaryFormat::Elf,
            arch: arch.to_owned(),
            os: Some("linux".to_owned()),
            bits: 64,
            linking,
            slices: Vec::new(),
        }
    }

    #[test]
    fn problems_wording() {
        let dynamic = Linking::Dynamic {
            interpreter: Some("/lib64/ld-linux-x86-64.so.2".to_owned()),
            needed: vec!["libc.so.6".to_owned()],
        };
        let want = Inspect {
            format: Some(BinaryFormat::Elf),
            r#static: true,
        };
        assert!(
            problems(
                &binary("amd64", Linking::Static),
                &want,
                Some("linux/amd64")
            )
            .is_empty()
        );
        assert_eq!(
            problems(
                &binary("arm64", dynamic.clone()),
                &want,
                Some("linux/amd64")
            ),
            [
                "built for arm64 but installed for linux/amd64",
                "dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2; needs libc.so.6), \
                 but `static: true` is set",
            ]
        );
        // Platform-independent items: the architecture is not checked.
        assert!(problems(&binary("arm64", Linking::Static), &want, None).is_empty());
        // Unmarked ELF is taken as linux and accepted on other ELF systems.
        assert!(
            problems(
                &binary("amd64", Linking::Static),
                &want,
                Some("freebsd/amd64")
            )
            .is_empty()
        );
        let mut freebsd = binary("amd64", Linking::Static);
        freebsd.os = Some("freebsd".to_owned());
        assert_eq!(
            problems(&freebsd, &want, Some("linux/arm64")),
            ["built for freebsd/amd64 but installed for linux/arm64"]
        );
        let mut macho = binary("arm64", Linking::Static);
        (macho.format, macho.os) = (BinaryFormat::MachO, Some("darwin".to_owned()));
        assert_eq!(
            problems(&macho, &want, Some("darwin/arm64")),
            ["Mach-O, expected ELF"]
        );
    }

    #[test]
    fn names() {
        assert_eq!(go_arch(Architecture::PowerPc64, true), "ppc64le");
        assert_eq!(go_arch(Architecture::PowerPc64, false), "ppc64");
        assert_eq!(go_arch(Architecture::Mips64, true), "mips64le");
        assert_eq!(go_arch(Architecture::X86_64_X32, true), "x86_64_x32");
        assert_eq!(go_arch(Architecture::Unknown, true), "unknown");
        assert_eq!(qemu_for("arm64"), Some("qemu-aarch64"));
        assert_eq!(qemu_for("amd64"), Some("qemu-x86_64"));
        assert_eq!(qemu_for("mips64le"), Some("qemu-mips64el"));
        assert_eq!(qemu_for("wasm"), None);
        assert!(host_platform().contains('/'));
    }
}
