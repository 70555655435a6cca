"""What a built wheel holds, checked before it is installed anywhere.

    python wheels/check_wheel.py WHEEL SOURCE_PACKAGE_DIR

The compiled modules are the ``.pyx`` of the source package (the core's
``_*.pyx`` and the plugins' per-request parts). For each, the
wheel must hold the extension module, its ``.pyi`` stub and its ``.pxd``
declarations; ``py.typed`` must be there; no Cython source (``.pyx``), no C
generated from it, no annotation HTML. Every extension module must be stripped:
an ELF file without a ``.symtab`` section nor any ``.debug_*`` one. The
platform tag must be manylinux_2_17 (manylinux2014) or older, and the wheel at
most MAX_BYTES. Prints one line: the wheel's size, packed and unpacked; exits 1
naming every problem found.
"""
from __future__ import annotations

import re
import struct
import sys
import zipfile
from pathlib import Path

MAX_BYTES = 1_500_000           # 1.5 MB: about 1.05 MB today, 6.5-6.9 MB with debug information
OLDEST_GLIBC_MINOR = 17         # manylinux_2_17 = manylinux2014 (SPEC §10)
SOURCE_SUFFIXES = (".pyx", ".c", ".html")


def elf_sections(data: bytes) -> list[str]:
    """The section names of a 64-bit little-endian ELF file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    entsize, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * entsize) for i in range(count)]
    names_at = headers[names_index][4]           # sh_offset of the section-name table
    sections = []
    for header in headers:
        start = names_at + header[0]
        sections.append(data[start:data.index(b"\0", start)].decode("ascii"))
    return sections


def problems(wheel: zipfile.ZipFile, name: str, modules: list[str]) -> list[str]:
    found = []
    names = set(wheel.namelist())
    tags = re.findall(r"manylinux_2_(\d+)_", name)
    if not tags or min(int(minor) for minor in tags) > OLDEST_GLIBC_MINOR:
        found.append("platform tag is not manylinux_2_%d or older" % OLDEST_GLIBC_MINOR)
    if "fastcore/py.typed" not in names:
        found.append("no fastcore/py.typed")
    for module in modules:
        for suffix in (".pyi", ".pxd"):
            if "fastcore/%s%s" % (module, suffix) not in names:
                found.append("no fastcore/%s%s" % (module, suffix))
        compiled = [n for n in names if re.fullmatch(r"fastcore/%s\..*\.so" % module, n)]
        if len(compiled) != 1:
            found.append("%d extension modules for %s" % (len(compiled), module))
        for member in compiled:
            left = [s for s in elf_sections(wheel.read(member))
                    if s == ".symtab" or s.startswith(".debug")]
            if left:
                found.append("%s is not stripped (%s)" % (member, " ".join(left)))
    found += ["%s: a source file" % n for n in sorted(names) if n.endswith(SOURCE_SUFFIXES)]
    return found


def main(argv: list[str]) -> int:
    path, package = Path(argv[0]), Path(argv[1])
    modules = sorted(p.relative_to(package).with_suffix("").as_posix()
                     for p in package.rglob("*.pyx"))
    with zipfile.ZipFile(path) as wheel:
        found = problems(wheel, path.name, modules)
        unpacked = sum(info.file_size for info in wheel.infolist())
    size = path.stat().st_size
    if size > MAX_BYTES:
        found.append("%d bytes, more than %d" % (size, MAX_BYTES))
    print("%s: %.2f MB (%.2f MB unpacked), %d compiled modules"
          % (path.name, size / 1e6, unpacked / 1e6, len(modules)))
    for problem in found:
        print("  " + problem, file=sys.stderr)
    return 1 if found or not modules else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
